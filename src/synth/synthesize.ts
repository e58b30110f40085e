/**
 * Synthetic captures with exact ground truth: a textured OBJ rendered on WebGPU from cameras on orbits at a few
 * elevations (seeded jitter), written as a real capture would be: images/ (RGB or RGBA with the mask in alpha),
 * masks/, depth/ (16-bit millimetres), cameras.txt + images.txt (COLMAP), transforms.json, and gt.json with the
 * mesh-to-world similarity, so any tool can score a reconstruction against the exact surface.
 */
import { lookAt } from '../core/camera';
import { encodePng } from '../export/png';
import { writeColmapText, writeTransformsJson, type CameraToWrite } from '../io/formats/writers';
import { loadTexturedObj, transformRenderable } from '../io/objMesh';
import { seededRandom } from '../ml/onnxBuilder';
import type { StageContext } from '../stages/context';
import { MeshRenderer } from '../stages/render/renderMesh';

export interface SynthOptions {
  views: number;
  width: number;
  height: number;
  /** Orbit elevations in degrees; views are spread over them in turn. */
  elevationsDeg?: number[];
  /** Random jitter of azimuth / elevation in degrees, of distance and target as fractions. */
  jitterDeg?: number;
  fovXDeg?: number;
  /** The object's bounding-box diagonal in metres (the scene's stated metric size). */
  diagonalMeters?: number;
  seed?: number;
  /** One random directional light for the whole capture (else unlit albedo). */
  lighting?: boolean;
  /** Background colour 0..1, or 'random' (one per view). Default black. */
  background?: [number, number, number] | 'random';
  /** Write images as RGBA with the mask in alpha (else RGB + masks/). */
  rgba?: boolean;
  /** Path of the GT OBJ to record in gt.json. */
  meshPath: string;
}

export interface SynthResult {
  files: Record<string, Uint8Array>;
  gt: { mesh: string; worldFromMesh: number[][]; metersPerWorldUnit: number };
}

export async function synthesizeCapture(objName: string, meshFiles: Record<string, Uint8Array>, options: SynthOptions, ctx: StageContext): Promise<SynthResult> {
  const loaded = loadTexturedObj(objName, meshFiles);
  const diagonal = options.diagonalMeters ?? 1;
  const scale = diagonal / (2 * loaded.renderable.radius);
  const c = loaded.renderable.centre;
  const worldFromMesh = [scale, 0, 0, -scale * c[0], 0, scale, 0, -scale * c[1], 0, 0, scale, -scale * c[2], 0, 0, 0, 1];
  const mesh = transformRenderable(loaded.renderable, worldFromMesh);
  const rand = seededRandom(options.seed ?? 1);
  const { width, height, views } = options;
  const fovX = ((options.fovXDeg ?? 50) * Math.PI) / 180;
  const f = width / 2 / Math.tan(fovX / 2);
  const K = [f, 0, (width - 1) / 2, 0, f, (height - 1) / 2, 0, 0, 1];
  // Distance so that the bounding sphere fills ~80% of the shorter image side.
  const fovMin = 2 * Math.atan(Math.min(width, height) / 2 / f);
  const distance = mesh.radius / Math.sin(fovMin / 2) / 0.8;
  const elevations = options.elevationsDeg ?? [-10, 20, 50];
  const jitter = options.jitterDeg ?? 4;
  const lightDir = [rand() - 0.5, 0.8 + rand() * 0.2, rand() - 0.5];
  const light = options.lighting ? { direction: lightDir as [number, number, number], diffuse: 0.65, ambient: 0.35 } : undefined;
  const renderer = new MeshRenderer(ctx, mesh, width, height);
  const files: Record<string, Uint8Array> = {};
  const cameras: CameraToWrite[] = [];
  try {
    for (let i = 0; i < views; i++) {
      const el = ((elevations[i % elevations.length] + (rand() * 2 - 1) * jitter) * Math.PI) / 180;
      const az = (2 * Math.PI * i) / views + ((rand() * 2 - 1) * jitter * Math.PI) / 180;
      const d = distance * (1 + (rand() * 2 - 1) * 0.05);
      const eye = [d * Math.cos(el) * Math.cos(az), d * Math.sin(el), d * Math.cos(el) * Math.sin(az)];
      const target = [0, 1, 2].map(() => (rand() * 2 - 1) * 0.03 * mesh.radius);
      const camFromWorld = lookAt(eye, target, [0, 1, 0]);
      const bg = options.background === 'random' ? ([rand(), rand(), rand()] as [number, number, number]) : options.background ?? [0, 0, 0];
      const view = await renderer.render({ K, camFromWorld, background: bg, light });
      const name = `view_${String(i).padStart(3, '0')}`;
      const n = width * height;
      const depthMm = new Uint16Array(n);
      const mask = new Uint8Array(n);
      for (let p = 0; p < n; p++) {
        const z = view.depth[p];
        depthMm[p] = z > 0 ? Math.min(65534, Math.round(z * 1000)) : 0;
        mask[p] = z > 0 ? 255 : 0;
      }
      if (options.rgba) files[`images/${name}.png`] = encodePng({ width, height, data: view.rgba, channels: 4 });
      else {
        const rgb = new Uint8Array(n * 3);
        for (let p = 0; p < n; p++) rgb.set(view.rgba.subarray(4 * p, 4 * p + 3), 3 * p);
        files[`images/${name}.png`] = encodePng({ width, height, data: rgb, channels: 3 });
        files[`masks/${name}.png`] = encodePng({ width, height, data: mask, channels: 1 });
      }
      files[`depth/${name}.png`] = encodePng({ width, height, data: depthMm, channels: 1 });
      cameras.push({ image: `${name}.png`, K, width, height, camFromWorld });
      ctx.progress(i + 1, views, `rendered ${name}`);
    }
  } finally {
    renderer.dispose();
  }
  const enc = new TextEncoder();
  const colmap = writeColmapText(cameras);
  files['cameras.txt'] = enc.encode(colmap.camerasTxt);
  files['images.txt'] = enc.encode(colmap.imagesTxt);
  files['transforms.json'] = enc.encode(writeTransformsJson(cameras.map((c) => ({ ...c, image: `images/${c.image}` }))));
  const rows = [worldFromMesh.slice(0, 4), worldFromMesh.slice(4, 8), worldFromMesh.slice(8, 12), worldFromMesh.slice(12, 16)];
  const gt = { mesh: options.meshPath, worldFromMesh: rows, metersPerWorldUnit: 1 };
  files['gt.json'] = enc.encode(JSON.stringify({ ...gt, views, width, height, seed: options.seed ?? 1, lighting: Boolean(options.lighting), diagonalMeters: diagonal }, null, 2));
  return { files, gt };
}
