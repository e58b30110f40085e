/**
 * End to end: `npm run reconstruct` (the real page and worker in headless Chromium) on a few 7-Scenes frames given as
 * individual files, at draft resolution; the zip must pass validateMeshOutput and report.json must describe the run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/core/report';
import { validateMeshOutput } from '../../src/export/validate';

const ROOT = resolve(import.meta.dirname, '../..');
const KITCHEN = resolve(ROOT, '../shared/datasets/7scenes-redkitchen-rgbd');
const have = existsSync(KITCHEN) && existsSync(resolve(ROOT, 'dist/index.html'));
if (!have) console.warn('[e2e] ../shared/datasets or dist/ missing: reconstruct e2e skipped');
const scratch = mkdtempSync(join(tmpdir(), 'webrecon-e2e-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(!have)('npm run reconstruct', () => {
  it('turns 6 redkitchen RGB-D frames into a validated zip and report', () => {
    const frames = [150, 155, 160, 165, 170, 175];
    const files = frames.flatMap((f) => ['color.png', 'depth.png', 'pose.txt'].map((s) => join(KITCHEN, `frame-000${f}.${s}`)));
    files.push(join(KITCHEN, 'camera-intrinsics.txt'));
    const zipPath = join(scratch, 'kitchen.zip');
    const reportPath = join(scratch, 'report.json');
    const stdout = execFileSync('npx', ['tsx', 'bench/reconstruct.ts', ...files, '-o', zipPath, '--report', reportPath, '--preset', 'draft', '--quiet'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
    expect(stdout).toMatch(/feedforward \d+ vertices \d+ faces/);
    const validation = validateMeshOutput(readFileSync(zipPath));
    expect(validation.errors).toEqual([]);
    expect(validation.meshes[0].folder).toBe('feedforward');
    expect(validation.meshes[0].faces).toBeGreaterThan(5000);
    expect(validation.meshes[0].faces).toBeLessThanOrEqual(50_000);
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
    expect(report.status).toBe('success');
    expect(report.input).toMatchObject({ views: 6, depth: true, masks: false, cameras: '7scenes', heldOut: [] });
    expect(report.models).toEqual([expect.objectContaining({ name: 'feedforward', status: 'success', liveBytesAfterCleanup: 0 })]);
    expect(report.models[0].vramPeakBytes).toBeGreaterThan(0);
    expect(report.vram.liveBytesAtEnd).toBe(0);
    expect(report.cameras).toHaveLength(6);
    // The Kinect colour camera's K (camera-intrinsics.txt is the depth camera's: src/io/formats/sevenScenes.ts).
    expect(report.cameras[0].K).toEqual([[525, 0, 320], [0, 525, 240], [0, 0, 1]]);
    expect(report.stages.map((s) => s.name)).toEqual(expect.arrayContaining(['ingest', 'fusion', 'integrate', 'marching-cubes', 'decimate', 'atlas', 'bake', 'texture']));
    expect(report.meshes[0]).toMatchObject({ model: 'feedforward', obj: 'feedforward/mesh.obj', ply: 'feedforward/mesh.ply', texture: 'feedforward/texture.png' });
    expect(validation.meshes[0].texture).toMatchObject({ file: 'feedforward/texture.png', width: 1024, height: 1024 });
    const texture = (report.models[0].details as { texture: { coveredTexels: number; surfaceTexels: number } }).texture;
    expect(texture.coveredTexels / texture.surfaceTexels).toBeGreaterThan(0.9);
  });

  it('explains a capture it cannot reconstruct and exits non-zero', () => {
    const files = [150, 151, 152].map((f) => join(KITCHEN, `frame-000${f}.color.png`));
    let message = '';
    try {
      execFileSync('npx', ['tsx', 'bench/reconstruct.ts', ...files, '-o', join(scratch, 'x.zip'), '--preset', 'draft', '--quiet'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, stdio: 'pipe' });
    } catch (error) {
      message = String((error as { stderr?: string }).stderr);
    }
    // Three consecutive video frames: no camera files, so structure from motion runs, and finds no usable baseline.
    expect(message).toMatch(/failed: Structure from motion could not register the photos: no image pair suitable for initialisation \(too little parallax/);
    expect(message).toMatch(/need to overlap/);
  });
});
