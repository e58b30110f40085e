import { describe, expect, it } from 'vitest';
import { canDecodeResized, decodeAhead } from '../../src/io/decode';

describe('decodeAhead', () => {
  it('keeps `ahead` decodes in flight, in order, and isolates failures', async () => {
    const started: number[] = [];
    const resolvers: ((v: string) => void)[] = [];
    const take = decodeAhead(6, (k) => {
      started.push(k);
      if (k === 2) return null; // nothing to decode for this item
      if (k === 3) throw new Error('corrupt 3'); // a synchronous throw stays with its own item
      if (k === 4) return Promise.reject(new Error('corrupt 4'));
      return new Promise<string>((resolve) => (resolvers[k] = resolve));
    }, 2);
    const first = take(0)!;
    expect(started).toEqual([0, 1, 2]);
    resolvers[1]('one'); // item 1 finishes before item 0: the order of takes is still 0, 1, ...
    resolvers[0]('zero');
    expect(await first).toBe('zero');
    expect(await take(1)!).toBe('one');
    expect(started).toEqual([0, 1, 2, 3]);
    expect(take(2)).toBeNull();
    await expect(take(3)!).rejects.toThrow('corrupt 3');
    await expect(take(4)!).rejects.toThrow('corrupt 4');
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    resolvers[5]('five');
    expect(await take(5)!).toBe('five');
  });

  it('never starts more than `ahead` + 1 items, and drops untaken failures quietly', async () => {
    const started: number[] = [];
    const take = decodeAhead(10, (k) => {
      started.push(k);
      return Promise.reject(new Error(`fail ${k}`));
    }, 3);
    await expect(take(0)!).rejects.toThrow('fail 0');
    expect(started).toEqual([0, 1, 2, 3]);
    // Items 1-3 are never taken (a cancelled job): their rejections must not surface as unhandled.
    await new Promise((r) => setTimeout(r, 10));
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
