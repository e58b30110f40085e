/**
 * Exact-size ASCII writing for large text exports: exporters run a counting pass with `fixedLength`/`uintLength`,
 * allocate one Uint8Array, then write with `writeFixed`/`writeUint`/`writeAscii`. No string concatenation.
 *
 * Numbers are written in fixed point with at most `decimals` decimals, trailing zeros trimmed ("0.5", "-12", "0").
 */

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

export function uintLength(n: number): number {
  if (n < 1e5) return n < 10 ? 1 : n < 100 ? 2 : n < 1e3 ? 3 : n < 1e4 ? 4 : 5;
  if (n < 1e10) return n < 1e6 ? 6 : n < 1e7 ? 7 : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;
  let digits = 10;
  while (n >= POW10_BIG[digits] && digits < 16) digits++;
  return digits;
}

const POW10_BIG = Array.from({ length: 17 }, (_, i) => 10 ** i);

function scaledOf(value: number, decimals: number): number {
  if (!Number.isFinite(value)) throw new Error(`export: cannot write non-finite number ${value}`);
  return Math.round(Math.abs(value) * POW10[decimals]);
}

export function fixedLength(value: number, decimals: number): number {
  const scaled = scaledOf(value, decimals);
  if (scaled === 0) return 1;
  const scale = POW10[decimals];
  const intPart = Math.floor(scaled / scale);
  let frac = scaled - intPart * scale;
  let length = (value < 0 ? 1 : 0) + uintLength(intPart);
  if (frac > 0) {
    let fracDigits = decimals;
    if (frac < 2147483648) {
      let f = frac | 0;
      while (f % 10 === 0) {
        f = (f / 10) | 0;
        fracDigits--;
      }
    } else {
      while (frac % 10 === 0) {
        frac /= 10;
        fracDigits--;
      }
    }
    length += 1 + fracDigits;
  }
  return length;
}

/** Writes `value` at `pos`; returns the position after it. */
export function writeFixed(out: Uint8Array, pos: number, value: number, decimals: number): number {
  const scaled = scaledOf(value, decimals);
  if (scaled === 0) {
    out[pos] = 48;
    return pos + 1;
  }
  if (value < 0) out[pos++] = 45;
  const scale = POW10[decimals];
  const intPart = Math.floor(scaled / scale);
  const frac = scaled - intPart * scale;
  pos = writeUint(out, pos, intPart);
  if (frac > 0) {
    // frac < 10^decimals <= 10^9 fits in int32.
    let f = frac | 0;
    let fracDigits = decimals;
    while (f % 10 === 0) {
      f = (f / 10) | 0;
      fracDigits--;
    }
    out[pos++] = 46;
    for (let i = fracDigits - 1; i >= 0; i--) {
      const q = (f / 10) | 0;
      out[pos + i] = 48 + f - q * 10;
      f = q;
    }
    pos += fracDigits;
  }
  return pos;
}

export function writeUint(out: Uint8Array, pos: number, n: number): number {
  const len = uintLength(n);
  if (n < 2147483648) {
    let v = n | 0;
    for (let i = len - 1; i >= 0; i--) {
      const q = (v / 10) | 0;
      out[pos + i] = 48 + v - q * 10;
      v = q;
    }
  } else {
    for (let i = len - 1; i >= 0; i--) {
      out[pos + i] = 48 + (n % 10);
      n = Math.floor(n / 10);
    }
  }
  return pos + len;
}

export function writeAscii(out: Uint8Array, pos: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[pos + i] = text.charCodeAt(i);
  return pos + text.length;
}
