import { describe, expect, it } from 'vitest';
import { cameraCentre, isRotation, projectPoint, quaternionToRotation, rotationToQuaternion, viewDirection } from '../../src/core/camera';
import { InputError } from '../../src/core/errors';
import { zipSync } from 'fflate';
import { expandZips, indexFiles, isImagePath } from '../../src/io/files';
import { parseColmapCameras, parseColmapImages } from '../../src/io/formats/colmap';
import { parseMiddleburyPar } from '../../src/io/formats/middlebury';
import { parseCameraFiles } from '../../src/io/formats/registry';
import { parseMatrix3, parsePose4 } from '../../src/io/formats/sevenScenes';
import { reprojectDepthIntrinsics } from '../../src/io/depth';
import { parseStrechaCamera } from '../../src/io/formats/strecha';
import { parseTransformsJson } from '../../src/io/formats/transforms';

const enc = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;

describe('zips in the selection', () => {
  const zip = zipSync({
    'cap/': new Uint8Array(0),
    'cap/images/a.JPG': new Uint8Array([1, 2, 3]),
    'cap/cameras.txt': new TextEncoder().encode('# none'),
    'cap/.DS_Store': new Uint8Array([9]),
    '__MACOSX/cap/._a.JPG': new Uint8Array([9]),
  });
  const input = [
    { path: './shot.png', bytes: new Uint8Array([7]).buffer as ArrayBuffer },
    { path: 'capture.zip', bytes: zip.buffer as ArrayBuffer },
    { path: 'broken.zip', bytes: enc('not a zip') },
  ];
  it('expands zips in place, leaving out folders, resource forks and hidden entries; an unreadable zip is skipped', () => {
    const { files, skipped } = expandZips(input);
    expect(files.map((f) => f.path)).toEqual(['shot.png', 'cap/images/a.JPG', 'cap/cameras.txt']);
    expect([...new Uint8Array(files[1].bytes)]).toEqual([1, 2, 3]);
    expect(skipped.map((s) => s.file)).toEqual(['broken.zip']);
    expect(skipped[0].reason).toMatch(/not a readable zip/);
  });
  it('keeps only what `keep` picks (the page: images), from zips and plain files alike', () => {
    expect(expandZips(input, isImagePath).files.map((f) => f.path)).toEqual(['shot.png', 'cap/images/a.JPG']);
    expect(['a.jpeg', 'd/b.PNG', 'c.webp', 'x.txt', 'jpg', 'd.jpg/e'].map(isImagePath)).toEqual([true, true, true, false, false, false]);
  });
  it('indexes the expanded files', () => {
    const index = indexFiles(input);
    expect(index.files.map((f) => [f.path, f.role])).toEqual([['shot.png', 'photo'], ['cap/images/a.JPG', 'photo'], ['cap/cameras.txt', 'camera']]);
    expect(index.skipped.map((s) => s.file)).toEqual(['broken.zip']);
  });
});

describe('COLMAP text', () => {
  const cameras = `# Camera list
1 PINHOLE 640 480 500 510 320.5 240.5
2 SIMPLE_RADIAL 800 600 700 400 300 0.01
3 OPENCV 100 100 90 91 50 49 0.1 0.02 0.001 0.002
`;
  // A camera at the origin looking down +z (identity), and one rotated 90 degrees about y, translated.
  const q = rotationToQuaternion([0, 0, 1, 0, 1, 0, -1, 0, 0]);
  const images = `# Image list
1 1 0 0 0 0 0 0 1 sub/a.jpg
10 20 30 -1 100.5 200.5 1
2 ${q.join(' ')} 1 2 3 2 b.jpg

3 1 0 0 0 0 0 0 3 c d.jpg
`;
  it('parses intrinsics with the half-pixel shift and distortion', () => {
    const cams = parseColmapCameras(cameras);
    expect(cams.get(1)!.K).toEqual([500, 0, 320, 0, 510, 240, 0, 0, 1]);
    expect(cams.get(2)!.K).toEqual([700, 0, 399.5, 0, 700, 299.5, 0, 0, 1]);
    expect(cams.get(2)!.distortion).toEqual({ model: 'radial', k1: 0.01, k2: 0 });
    expect(cams.get(3)!.distortion).toEqual({ model: 'opencv', k1: 0.1, k2: 0.02, p1: 0.001, p2: 0.002 });
  });
  it('parses poses, skipping point lines (also empty ones), keeping names with spaces', () => {
    const parsed = parseColmapImages(images, parseColmapCameras(cameras));
    expect(parsed.map((p) => p.image)).toEqual(['a.jpg', 'b.jpg', 'c d.jpg']);
    expect(parsed[0].camFromWorld).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    const b = parsed[1].camFromWorld!;
    expect(isRotation(b)).toBe(true);
    expect(b[2]).toBeCloseTo(1, 9);
    expect([b[3], b[7], b[11]]).toEqual([1, 2, 3]);
    expect(parsed[1].width).toBe(800);
  });
  it.each([
    ['an unknown model', '1 FISHEYE 10 10 1 2 3 4', /FISHEYE is not supported/],
    ['missing parameters', '1 PINHOLE 10 10 1 2', /needs 4 parameters, got 2/],
    ['a bad number', '1 PINHOLE 10 ten 1 2 3 4', /cameras.txt line 1/],
  ])('rejects cameras.txt with %s', (_n, text, message) => {
    expect(() => parseColmapCameras(text)).toThrow(message);
  });
  it('rejects images.txt naming an unknown camera or a bad quaternion', () => {
    const cams = parseColmapCameras(cameras);
    expect(() => parseColmapImages('1 1 0 0 0 0 0 0 9 a.jpg\n\n', cams)).toThrow(/CAMERA_ID 9 is not in cameras.txt/);
    expect(() => parseColmapImages('1 0 0 0 0 0 0 0 1 a.jpg\n\n', cams)).toThrow(/zero quaternion/);
    expect(() => parseColmapImages('1 1 0 0\n', cams)).toThrow(/images.txt line 1/);
  });
});

describe('transforms.json', () => {
  // OpenGL camera at (0, 0, 4) looking down -z at the origin (identity rotation), 800 px wide, 90 degrees fov.
  const json = JSON.stringify({
    camera_angle_x: Math.PI / 2,
    frames: [
      { file_path: './train/r_0', transform_matrix: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]] },
      { file_path: 'images/x.png', fl_x: 400, fl_y: 400, cx: 200, cy: 100, w: 400, h: 200, transform_matrix: [[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, 4], [0, 0, 0, 1]] },
    ],
  });
  it('converts the OpenGL camera to OpenCV camFromWorld', () => {
    const [a, b] = parseTransformsJson(json, 't.json');
    expect(a.image).toBe('r_0');
    expect(a.K).toBeNull();
    expect(a.fovXRadians).toBeCloseTo(Math.PI / 2);
    const p = projectPoint([400, 0, 399.5, 0, 400, 399.5, 0, 0, 1], a.camFromWorld!, 0, 0, 0);
    expect(p.depth).toBeCloseTo(4);
    expect(p.u).toBeCloseTo(399.5);
    // A point above the origin (+y world, up in OpenGL) appears higher in the image (smaller v).
    expect(projectPoint([400, 0, 399.5, 0, 400, 399.5, 0, 0, 1], a.camFromWorld!, 0, 1, 0).v).toBeLessThan(399.5);
    expect(b.K).toEqual([400, 0, 199.5, 0, 400, 99.5, 0, 0, 1]);
    expect(cameraCentre(b.camFromWorld!).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([0, 1, 4]);
  });
  it.each([
    ['invalid JSON', '{"frames": [', /not valid JSON/],
    ['no frames', '{"camera_angle_x": 1}', /no "frames" array/],
    ['a short matrix', '{"frames": [{"file_path": "a", "transform_matrix": [[1,0,0]]}]}', /frame 0 \(a\) has no valid 4x4/],
    ['no file_path', '{"frames": [{"transform_matrix": []}]}', /frame 0 has no file_path/],
  ])('rejects %s', (_n, text, message) => {
    expect(() => parseTransformsJson(text, 't.json')).toThrow(message);
  });
});

describe('Middlebury, Strecha, 7-Scenes', () => {
  it('parses *_par.txt and rejects a wrong count', () => {
    const line = 'a.png 1520.4 0 302.3 0 1525.9 246.9 0 0 1 1 0 0 0 1 0 0 0 1 0.1 0.2 0.3';
    const [cam] = parseMiddleburyPar(`1\n${line}\n`, 'x_par.txt');
    expect(cam.K![0]).toBe(1520.4);
    expect(cam.camFromWorld).toEqual([1, 0, 0, 0.1, 0, 1, 0, 0.2, 0, 0, 1, 0.3]);
    expect(() => parseMiddleburyPar(`2\n${line}\n`, 'x_par.txt')).toThrow(/says 2 images but has 1 lines/);
    expect(() => parseMiddleburyPar(`1\na.png 1 2 3\n`, 'x_par.txt')).toThrow(/line 2: expected "name" \+ 21 numbers/);
  });
  it('parses a .camera file (world-from-camera R and centre C)', () => {
    // Camera centre (1, 2, 3), looking along world +x: camera z = world x.
    const worldFromCamR = [0, 0, 1, 1, 0, 0, 0, 1, 0];
    const text = `100 0 50\n0 100 40\n0 0 1\n0 0 0\n${worldFromCamR.slice(0, 3).join(' ')}\n${worldFromCamR.slice(3, 6).join(' ')}\n${worldFromCamR.slice(6).join(' ')}\n1 2 3\n101 81\n`;
    const cam = parseStrechaCamera(text, 'dir/0001.jpg.camera');
    expect(cam.image).toBe('0001.jpg');
    expect(cam.width).toBe(101);
    expect(cameraCentre(cam.camFromWorld!).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([1, 2, 3]);
    expect(viewDirection(cam.camFromWorld!)).toEqual([1, 0, 0]);
    expect(() => parseStrechaCamera('1 2 3', 'bad.camera')).toThrow(/bad.camera: expected K/);
  });
  it('inverts 7-Scenes camera-to-world poses and reads K', () => {
    const pose = parsePose4('1 0 0 1\n0 1 0 2\n0 0 1 3\n0 0 0 1\n', 'f.pose.txt');
    expect(pose).toEqual([1, 0, 0, -1, 0, 1, 0, -2, 0, 0, 1, -3]);
    expect(parseMatrix3('585 0 320\n0 585 240\n0 0 1', 'k.txt')[4]).toBe(585);
    expect(() => parseMatrix3('0 0 0', 'k.txt')).toThrow(/positive focal/);
    expect(() => parsePose4('1 2', 'f.pose.txt')).toThrow(/4x4/);
  });
  it("7-Scenes' depth-camera K: photos get the colour K and a depth K; any other camera-intrinsics.txt is the photos' K", () => {
    const files = (k: string) => indexFiles([
      { path: 'c/camera-intrinsics.txt', bytes: enc(k) },
      { path: 'c/frame-000000.pose.txt', bytes: enc('1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n') },
    ]).files;
    const kitchen = parseCameraFiles(files('585 0 320\n0 585 240\n0 0 1'))!;
    expect(kitchen.sharedK?.K).toEqual([525, 0, 320, 0, 525, 240, 0, 0, 1]);
    expect(kitchen.depthK?.K).toEqual([585, 0, 320, 0, 585, 240, 0, 0, 1]);
    const other = parseCameraFiles(files('600 0 320\n0 600 240\n0 0 1'))!;
    expect(other.sharedK?.K).toEqual([600, 0, 320, 0, 600, 240, 0, 0, 1]);
    expect(other.depthK).toBeUndefined();
  });
  it('reprojects depth between intrinsics of one camera centre (no parallax: along each pixel ray)', () => {
    // 9x1 depth map, depth = 1 + column; the photo camera has half the focal length: its pixel x sees column 2x - 4.
    const depth = { width: 9, height: 1, meters: Float32Array.from({ length: 9 }, (_, i) => 1 + i) };
    const out = reprojectDepthIntrinsics(depth, [100, 0, 4, 0, 100, 0, 0, 0, 1], [50, 0, 4, 0, 50, 0, 0, 0, 1], 9, 1);
    expect(Array.from(out.meters)).toEqual([0, 0, 1, 3, 5, 7, 9, 0, 0]);
  });
  it('quaternions round-trip', () => {
    const r = quaternionToRotation([0.3, -0.2, 0.9, 0.1]);
    const back = quaternionToRotation(rotationToQuaternion(r));
    r.forEach((v, i) => expect(back[i]).toBeCloseTo(v, 12));
  });
});

describe('the registry', () => {
  it('recognises each format by its files and prefers poses over intrinsics only', () => {
    const set = (names: Record<string, string>) => parseCameraFiles(indexFiles(Object.entries(names).map(([path, text]) => ({ path, bytes: enc(text) }))).files);
    expect(set({ 'cameras.txt': '1 PINHOLE 4 4 1 1 2 2', 'images.txt': '1 1 0 0 0 0 0 0 1 a.png\n\n', 'K.txt': '1 0 0 0 1 0 0 0 1' })!.format).toBe('colmap');
    expect(set({ 'transforms_train.json': '{"frames": []}' })!.format).toBe('transforms.json');
    expect(set({ 'K.txt': '2 0 1 0 2 1 0 0 1' })!.sharedK!.K[0]).toBe(2);
    expect(set({ 'a.png': 'x' })).toBeNull();
  });
  it('throws InputError naming the file for malformed content', () => {
    const files = indexFiles([{ path: 'cap/cameras.txt', bytes: enc('1 PINHOLE') }, { path: 'cap/images.txt', bytes: enc('') }]).files;
    expect(() => parseCameraFiles(files)).toThrow(InputError);
    expect(() => parseCameraFiles(files)).toThrow(/cap\/cameras.txt line 1/);
  });
});
