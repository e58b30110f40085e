import { describe, expect, it } from 'vitest';
import { bakeSettingsOf, fusionOptionsOf } from '../../src/models/feedforward';
import { parseArgs } from '../../bench/reconstruct';

describe('feed-forward job options', () => {
  it('fusion takes the preset, the crop box and a voxelsPerSide override', () => {
    expect(fusionOptionsOf({ preset: 'standard', models: ['feedforward'] })).toEqual({ preset: 'standard' });
    const box = { min: [0, 0, 0] as [number, number, number], max: [1, 1, 1] as [number, number, number] };
    expect(fusionOptionsOf({ preset: 'draft', models: [], cropBox: box, fusion: { voxelsPerSide: 512 } })).toEqual({ preset: 'draft', bounds: box, voxelsPerSide: 512 });
  });
  it('the bake edge margin is 2 fusion voxels for estimated depth unless overridden, 0 for given depth', () => {
    expect(bakeSettingsOf({ preset: 'standard', models: [] }, 'plane-sweep', 0.01)).toEqual({ edgeMargin: 0.02 });
    expect(bakeSettingsOf({ preset: 'standard', models: [], texture: { edgeMarginVoxels: 0.5, exposureCompensation: false } }, 'network', 0.01)).toEqual({ edgeMargin: 0.005, exposureCompensation: false });
    expect(bakeSettingsOf({ preset: 'standard', models: [], texture: { edgeMarginVoxels: 3 } }, 'given', 0.01)).toEqual({ edgeMargin: 0 });
  });
  it('reconstruct passes --fusion and --texture through', () => {
    const a = parseArgs(['cap', '--fusion', '{"voxelsPerSide":384}', '--texture', '{"edgeMarginVoxels":1}']);
    expect(a.fusion).toEqual({ voxelsPerSide: 384 });
    expect(a.texture).toEqual({ edgeMarginVoxels: 1 });
  });
});
