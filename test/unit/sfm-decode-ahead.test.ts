import { describe, expect, it } from 'vitest';
import type { RgbaImage } from '../../src/core/mesh';
import { canDecodeResized, decodeAhead } from '../../src/stages/sfm/features/decodeAhead';

/** A decoder whose decodes finish only when the test says; records which indices were started. */
function controlledDecoder() {
  const started: number[] = [];
  const resolvers = new Map<number, (im: RgbaImage) => void>();
  const decode = (index: number) => {
    started.push(index);
    return new Promise<RgbaImage>((resolve) => resolvers.set(index, resolve));
  };
  const finish = (index: number) => resolvers.get(index)!({ width: 1, height: 1, data: Uint8Array.of(index, 0, 0, 255) });
  return { started, decode, finish };
}

describe('DECODE_AHEAD_RULE', () => {
  it('starts the next `ahead` decodes when an image is asked for, each once, and hands them out in order', async () => {
    const d = controlledDecoder();
    const source = decodeAhead(5, 2, d.decode);
    expect(source.count).toBe(5);
    expect(d.started).toEqual([]);
    const first = source.image(0);
    // Image 0 and the two after it decode together: the GPU's work on image 0 overlaps the decodes of 1 and 2.
    expect(d.started).toEqual([0, 1, 2]);
    d.finish(1); d.finish(0);
    expect((await first).data[0]).toBe(0);
    const second = source.image(1);
    expect(d.started).toEqual([0, 1, 2, 3]);
    expect((await second).data[0]).toBe(1);
    const third = source.image(2);
    expect(d.started).toEqual([0, 1, 2, 3, 4]);
    d.finish(2);
    expect((await third).data[0]).toBe(2);
    // Near the end nothing past the last image starts, and nothing starts twice.
    const fourth = source.image(3), fifth = source.image(4);
    expect(d.started).toEqual([0, 1, 2, 3, 4]);
    d.finish(4); d.finish(3);
    expect([(await fourth).data[0], (await fifth).data[0]]).toEqual([3, 4]);
  });

  it('ahead 0 decodes one image at a time, only when asked', async () => {
    const d = controlledDecoder();
    const source = decodeAhead(3, 0, d.decode);
    const a = source.image(0);
    expect(d.started).toEqual([0]);
    d.finish(0);
    await a;
    expect(d.started).toEqual([0]);
  });

  it('one-step decode only where it gives the working decoder\'s pixels: a downscale, header size = oriented size', () => {
    // Fountain: 3072x2048 stored and displayed, decoded to 1600x1067.
    expect(canDecodeResized({ width: 3072, height: 2048 }, 3072, 2048, 1600, 1067)).toBe(true);
    // An EXIF rotation by 90 degrees: the header says 4000x3000, the photo is 3000x4000.
    expect(canDecodeResized({ width: 4000, height: 3000 }, 3000, 4000, 1200, 1600)).toBe(false);
    // No resize (the working decoder does not resample a photo that fits), or no header.
    expect(canDecodeResized({ width: 1600, height: 1200 }, 1600, 1200, 1600, 1200)).toBe(false);
    expect(canDecodeResized(null, 3072, 2048, 1600, 1067)).toBe(false);
  });
});
