/** Photo decoders for Node tests (the app decodes with createImageBitmap in the worker). */
import { decode as decodePng } from 'fast-png';
import { sniffImage } from '../../src/io/imageHeader';
import { workingSize, type PhotoDecoder } from '../../src/io/decode';

/** PNG via fast-png, box-downscaled to the working size; anything else throws (as a browser would for junk). */
export const decodePngInNode: PhotoDecoder = async (bytes, _mime, maxLongSide) => {
  const png = decodePng(new Uint8Array(bytes));
  if (png.depth !== 8) throw new Error('test decoder: 8-bit PNG only');
  const c = png.channels;
  const size = workingSize(png.width, png.height, maxLongSide);
  const data = new Uint8Array(size.width * size.height * 4);
  for (let y = 0; y < size.height; y++) for (let x = 0; x < size.width; x++) {
    const sx = Math.min(png.width - 1, Math.floor(((x + 0.5) * png.width) / size.width));
    const sy = Math.min(png.height - 1, Math.floor(((y + 0.5) * png.height) / size.height));
    const i = (sy * png.width + sx) * c, o = (y * size.width + x) * 4;
    data[o] = png.data[i]; data[o + 1] = png.data[i + (c >= 3 ? 1 : 0)]; data[o + 2] = png.data[i + (c >= 3 ? 2 : 0)];
    data[o + 3] = c === 4 ? png.data[i + 3] : c === 2 ? png.data[i + 1] : 255;
  }
  return { fullWidth: png.width, fullHeight: png.height, image: { width: size.width, height: size.height, data } };
};

/** Sizes from the file header only, pixels left grey: for dataset tests of matching and intrinsics, not pixels. */
export const headerOnlyDecoder: PhotoDecoder = async (bytes, _mime, maxLongSide) => {
  const header = sniffImage(new Uint8Array(bytes));
  if (!header || !header.width) throw new Error('not an image');
  const size = workingSize(header.width, header.height, maxLongSide);
  return { fullWidth: header.width, fullHeight: header.height, image: { width: size.width, height: size.height, data: new Uint8Array(size.width * size.height * 4).fill(255) } };
};
