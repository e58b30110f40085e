import { describe, expect, it } from 'vitest';
import { decodeAhead } from '../../src/io/decode';

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
});
