/** CRC-32 (IEEE, as zip and PNG use), slice-by-8: ~4x the speed of the byte-at-a-time table on large buffers. */
const TABLES = (() => {
  const t = new Uint32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let s = 1; s < 8; s++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[s * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length, seed = 0): number {
  const t = TABLES;
  let c = ~seed;
  let i = start;
  // Align to 4 bytes so the body can read 32-bit words.
  while (i < end && ((bytes.byteOffset + i) & 3) !== 0) c = t[(c ^ bytes[i++]) & 0xff] ^ (c >>> 8);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, (end - i) >>> 3 << 1);
  for (let w = 0; w < words.length; w += 2) {
    const one = words[w] ^ c;
    const two = words[w + 1];
    c = t[1792 + (one & 0xff)] ^ t[1536 + ((one >>> 8) & 0xff)] ^ t[1280 + ((one >>> 16) & 0xff)] ^ t[1024 + (one >>> 24)] ^
      t[768 + (two & 0xff)] ^ t[512 + ((two >>> 8) & 0xff)] ^ t[256 + ((two >>> 16) & 0xff)] ^ t[two >>> 24];
  }
  i += words.length * 4;
  while (i < end) c = t[(c ^ bytes[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
