/** Image size and format from the first bytes (PNG, JPEG, WebP, GIF, BMP, AVIF brand), without decoding. */

export interface ImageHeader {
  format: 'png' | 'jpeg' | 'webp' | 'gif' | 'bmp' | 'avif';
  width: number;
  height: number;
  /** PNG only. */
  bitDepth?: number;
  channels?: number;
}

export function sniffImage(b: Uint8Array): ImageHeader | null {
  if (b.length >= 26 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const colorType = b[25];
    const channels = colorType === 0 ? 1 : colorType === 2 ? 3 : colorType === 3 ? 1 : colorType === 4 ? 2 : 4;
    return { format: 'png', width: v.getUint32(16), height: v.getUint32(20), bitDepth: b[24], channels };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let p = 2;
    while (p + 9 < b.length) {
      if (b[p] !== 0xff) return { format: 'jpeg', width: 0, height: 0 };
      const marker = b[p + 1];
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01 || marker === 0xff) {
        p += marker === 0xff ? 1 : 2;
        continue;
      }
      const len = (b[p + 2] << 8) | b[p + 3];
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { format: 'jpeg', height: (b[p + 5] << 8) | b[p + 6], width: (b[p + 7] << 8) | b[p + 8] };
      }
      p += 2 + len;
    }
    return { format: 'jpeg', width: 0, height: 0 };
  }
  if (b.length >= 30 && String.fromCharCode(...b.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...b.subarray(8, 12)) === 'WEBP') {
    const chunk = String.fromCharCode(...b.subarray(12, 16));
    if (chunk === 'VP8X') return { format: 'webp', width: 1 + (b[24] | (b[25] << 8) | (b[26] << 16)), height: 1 + (b[27] | (b[28] << 8) | (b[29] << 16)) };
    if (chunk === 'VP8L') {
      const bits = b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24);
      return { format: 'webp', width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
    }
    return { format: 'webp', width: (b[26] | (b[27] << 8)) & 0x3fff, height: (b[28] | (b[29] << 8)) & 0x3fff };
  }
  if (b.length >= 10 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return { format: 'gif', width: b[6] | (b[7] << 8), height: b[8] | (b[9] << 8) };
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { format: 'bmp', width: v.getInt32(18, true), height: Math.abs(v.getInt32(22, true)) };
  }
  if (b.length >= 12 && String.fromCharCode(...b.subarray(4, 8)) === 'ftyp' && /avi[fs]/.test(String.fromCharCode(...b.subarray(8, 12)))) {
    return { format: 'avif', width: 0, height: 0 };
  }
  return null;
}
