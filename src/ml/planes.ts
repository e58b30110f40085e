/**
 * Network inputs from RGBA8 images: RGB planes ([3, H, W], 0..1) resampled bilinearly between pixel centres (clamped
 * at the borders), optionally from the image turned a quarter turn clockwise. The learned features' extractor input
 * (LEARNED_INPUT_RULE) and the MVS network's input when it is enlarged past the working image use it.
 */
export function bilinearPlanes(image: { width: number; height: number; data: ArrayLike<number> }, inW: number, inH: number, turn = false, out = new Float32Array(3 * inW * inH)): Float32Array {
  const srcW = turn ? image.height : image.width, srcH = turn ? image.width : image.height;
  const sx = srcW / inW, sy = srcH / inH;
  const d = image.data;
  for (let y = 0; y < inH; y++) {
    const fy = Math.min(srcH - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy), y1 = Math.min(srcH - 1, y0 + 1), wy = fy - y0;
    for (let x = 0; x < inW; x++) {
      const fx = Math.min(srcW - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx), x1 = Math.min(srcW - 1, x0 + 1), wx = fx - x0;
      // (u, v) in the turned frame -> the image's own pixel: a clockwise quarter turn maps image (c, r) to
      // (H - 1 - r, c), so turned (u, v) reads image (v, H - 1 - u).
      const at = (u: number, v: number) => (turn ? (image.height - 1 - u) * image.width + v : v * image.width + u) * 4;
      const i00 = at(x0, y0), i10 = at(x1, y0), i01 = at(x0, y1), i11 = at(x1, y1);
      for (let c = 0; c < 3; c++) {
        const top = d[i00 + c] * (1 - wx) + d[i10 + c] * wx, bottom = d[i01 + c] * (1 - wx) + d[i11 + c] * wx;
        out[c * inW * inH + y * inW + x] = (top * (1 - wy) + bottom * wy) / 255;
      }
    }
  }
  return out;
}
