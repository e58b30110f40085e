/**
 * Optional learned features for SfM: XFeat (Potje et al., CVPR 2024) keypoints and descriptors, matched by LighterGlue,
 * both third-party ONNX models run through ORT's WebGPU EP on the shared device (the wasm EP without one). They are
 * not shipped: public/weights/third-party.json names them with their public source URL, size and sha256, and the
 * weights loader downloads, verifies and caches them on first use (tests and benchmarks read the copies in
 * ../shared/weights/third-party through a base URL instead).
 *
 * The models (noahzhy/xfeat_lightglue_onnx, Apache-2.0): the extractor takes one RGB image in 0..1 at a fixed size
 * (`inputs.images`, [1, 3, 640, 360]: 640 rows, 360 columns) and returns its top keypoints (pixels of that input),
 * 64-d descriptors and scores; the matcher takes two such sets (keypoints divided by the input's width and height)
 * and returns index pairs with a confidence.
 *
 * LEARNED_INPUT_RULE: a photo is resized to the extractor's input size without keeping its aspect ratio, as the
 * models' own runner does; when most of a capture's photos are landscape while the input is portrait (or the other
 * way round), every photo of the capture is first turned a quarter turn, so the squeeze stays small and all photos are
 * treated alike (XFeat is not rotation invariant: photos turned differently would not match). Keypoints are mapped
 * back to the photo's pixels.
 *
 * The rest of SfM is unchanged: keypoints become ImageFeatures (scale 1, orientation 0) and the descriptors a 128-byte
 * stand-in for pair retrieval above 60 images (LEARNED_RETRIEVAL_RULE: the unit descriptor's positive and negative
 * parts side by side, x 255; their dot product is the original's over the components of equal sign), while matching,
 * including MIRROR_NEIGHBOUR_RULE's extra pairs, goes through LighterGlue. Matches below LIGHTERGLUE_MIN_SCORE are
 * dropped; geometric verification does the rest.
 */
import type { RgbaImage } from '../../../core/mesh';
import { bilinearPlanes } from '../../../ml/planes';
import { WebReconError, throwIfAborted } from '../../../core/errors';
import { createSession, type OrtSessionHandle, type TensorOutput } from '../../../ml/ort';
import { defaultWeightsBase, fetchManifest, loadModelWeights, type WeightsManifest } from '../../../ml/weights';
import type { StageContext } from '../../context';
import type { ImageFeatures, PairMatches } from '../types';
import type { FeatureImageSource } from './siftGpu';

export const LEARNED_FEATURES_MODEL = 'xfeat-lighterglue';
export const LIGHTERGLUE_MIN_SCORE = 0.2;
/**
 * Graphs that run on the wasm EP by default. The extractor: on WebGPU (SwiftShader) its keypoints differ from the wasm
 * EP's, and the same 4 temple views then came out at a 12.9 deg relative-rotation median instead of 6.1 (the matcher
 * gives the same result on either EP); on the CPU it also took 3 s instead of 43 s for the 4 images there.
 */
export const LEARNED_WASM_GRAPHS: ('extractor' | 'matcher')[] = ['extractor'];

export interface LearnedFeatureOptions {
  /**
   * Where the model files are (tests, benchmarks, an offline mirror): each file is read from this base URL by its
   * name. Absent: each file's public source URL from the manifest.
   */
  baseUrl?: string;
  /** The manifest (default: <origin>/weights/third-party.json). */
  manifest?: WeightsManifest;
  /** Graphs run by the wasm (CPU) EP instead of WebGPU (default: LEARNED_WASM_GRAPHS). */
  wasmGraphs?: ('extractor' | 'matcher')[];
}

export interface LearnedFeatures {
  /**
   * Features of every image of `source` (keypoints in the pixels of the images given); `shapes` are the images' sizes
   * (any scale), known before they are decoded, for LEARNED_INPUT_RULE.
   */
  extract(ctx: StageContext, source: FeatureImageSource, shapes: { width: number; height: number }[]): Promise<ImageFeatures[]>;
  /** LighterGlue matches of the given image pairs (i < j), on the features `extract` returned last. */
  match(pairs: [number, number][], signal?: AbortSignal, progress?: (done: number, total: number) => void): Promise<PairMatches[]>;
  /** Releases both sessions (the stage's VRAM scope would at its end anyway). */
  release(): Promise<void>;
}

interface PerImage {
  /** Keypoints divided by the model input's width and height (the matcher's input). */
  norm: Float32Array;
  desc: Float32Array;
  count: number;
}

/** Loads (downloads, verifies, caches) both models and opens their sessions in the stage's VRAM scope. */
export async function loadLearnedFeatures(ctx: StageContext, options: LearnedFeatureOptions = {}): Promise<LearnedFeatures> {
  const manifest = options.manifest ?? (await fetchManifest(defaultWeightsBase(), fetch, 'third-party.json'));
  const weights = await loadModelWeights(LEARNED_FEATURES_MODEL, {
    manifest,
    ...(options.baseUrl ? { baseUrl: new URL(options.baseUrl, (globalThis as { location?: { href?: string } }).location?.href ?? 'http://localhost/').href } : { useSourceUrls: true }),
    signal: ctx.signal,
    onProgress: (loaded, total, file) => ctx.progress(loaded, total, `Downloading the learned features (${file}): ${(loaded / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`),
  });
  const shape = weights.entry.graphs.extractor.inputs.images ?? Object.values(weights.entry.graphs.extractor.inputs)[0];
  const inH = Number(shape[2]), inW = Number(shape[3]);
  if (!(inH > 0 && inW > 0)) throw new WebReconError('model', `The learned feature extractor's input size is not fixed in its manifest (${JSON.stringify(shape)}).`);
  const device = ctx.gpu?.device ?? null;
  const wasm = options.wasmGraphs ?? LEARNED_WASM_GRAPHS;
  const extractor = await createSession(weights.graphs.extractor, { label: 'xfeat', scope: ctx.scope, device: wasm.includes('extractor') ? null : device, outputsOnGpu: false });
  const matcher = await createSession(weights.graphs.matcher, { label: 'lighterglue', scope: ctx.scope, device: wasm.includes('matcher') ? null : device, outputsOnGpu: false });
  let perImage: PerImage[] = [];
  // The matcher's inputs by the manifest's names when the graph has them, else in the manifest's order.
  const inName = (name: string, k: number) => (matcher.inputNames.includes(name) ? name : matcher.inputNames[k]);
  return {
    async extract(stageCtx, source, shapes) {
      const features: ImageFeatures[] = [];
      perImage = [];
      // LEARNED_INPUT_RULE: one orientation for the whole capture, decided from the images' shapes.
      const landscape = shapes.filter((im) => im.width > im.height).length;
      const turn = landscape * 2 > shapes.length !== inW > inH;
      const planes = new Float32Array(3 * inW * inH);
      for (let k = 0; k < source.count; k++) {
        throwIfAborted(stageCtx.signal);
        const image = await source.image(k);
        // the extractor's input: RGB planes at its size (turned when LEARNED_INPUT_RULE says so), alpha ignored
        bilinearPlanes(image, inW, inH, turn, planes);
        const out = await extractor.run({ [extractor.inputNames[0]]: { location: 'cpu', data: planes, dims: [1, 3, inH, inW], dataType: 'float32' } });
        const kpT = pick(out, extractor.outputNames, 'keypoints', 0), descT = pick(out, extractor.outputNames, 'descriptors', 1);
        const n = kpT.dims[kpT.dims.length - 2] ?? 0;
        const kp = kpT.data as Float32Array, desc = descT.data as Float32Array;
        const keypoints = new Float32Array(4 * n), norm = new Float32Array(2 * n);
        for (let q = 0; q < n; q++) {
          const mx = kp[2 * q], my = kp[2 * q + 1];
          norm[2 * q] = mx / inW;
          norm[2 * q + 1] = my / inH;
          const [x, y] = toImage(mx, my, inW, inH, image.width, image.height, turn);
          keypoints.set([x, y, 1, 0], 4 * q);
        }
        features.push({ width: image.width, height: image.height, count: n, keypoints, descriptors: retrievalBytes(desc, n) });
        perImage.push({ norm, desc: desc.slice(0, 64 * n), count: n });
        stageCtx.progress(k + 1, source.count, `Learned features: ${k + 1} of ${source.count} images`);
      }
      return features;
    },
    async match(pairs, signal, progress) {
      const out: PairMatches[] = [];
      for (let p = 0; p < pairs.length; p++) {
        throwIfAborted(signal);
        const [i, j] = pairs[p];
        const a = perImage[i], b = perImage[j];
        if (!a || !b) throw new Error(`learned features: no features for image ${a ? j : i}`);
        if (!a.count || !b.count) {
          out.push({ i, j, matches: new Uint32Array(0) });
          continue;
        }
        const res = await matcher.run({
          [inName('kpts0', 0)]: { location: 'cpu', data: a.norm, dims: [1, a.count, 2], dataType: 'float32' },
          [inName('kpts1', 1)]: { location: 'cpu', data: b.norm, dims: [1, b.count, 2], dataType: 'float32' },
          [inName('desc0', 2)]: { location: 'cpu', data: a.desc, dims: [1, a.count, 64], dataType: 'float32' },
          [inName('desc1', 3)]: { location: 'cpu', data: b.desc, dims: [1, b.count, 64], dataType: 'float32' },
        });
        const m = pick(res, matcher.outputNames, 'matches', 0), s = pick(res, matcher.outputNames, 'scores', 1);
        out.push({ i, j, matches: confidentMatches(m.data as unknown as ArrayLike<number | bigint>, s.data as Float32Array, a.count, b.count) });
        progress?.(p + 1, pairs.length);
      }
      return out;
    },
    async release() {
      await extractor.release();
      await matcher.release();
    },
  };
}

function pick(out: Record<string, TensorOutput>, names: readonly string[], name: string, k: number): { data: ArrayLike<number> | BigInt64Array; dims: number[] } {
  const key = names.includes(name) ? name : names[k];
  const t = out[key];
  if (!t || t.location !== 'cpu') throw new Error(`learned features: output ${key} missing`);
  return t;
}

/** A keypoint of the model input (pixels, centres at +0.5) back in the image's pixels. */
export function toImage(mx: number, my: number, inW: number, inH: number, width: number, height: number, turn: boolean): [number, number] {
  const srcW = turn ? height : width, srcH = turn ? width : height;
  const u = (mx + 0.5) * (srcW / inW) - 0.5, v = (my + 0.5) * (srcH / inH) - 0.5;
  // turned (u, v) is image (v, H - 1 - u)
  return turn ? [v, height - 1 - u] : [u, v];
}

/** LEARNED_RETRIEVAL_RULE (see the file comment): 128 bytes per 64-d descriptor. */
export function retrievalBytes(desc: Float32Array, n: number): Uint8Array {
  const out = new Uint8Array(128 * n);
  for (let q = 0; q < n; q++) {
    let norm = 0;
    for (let k = 0; k < 64; k++) norm += desc[64 * q + k] * desc[64 * q + k];
    const s = norm > 0 ? 255 / Math.sqrt(norm) : 0;
    for (let k = 0; k < 64; k++) {
      const v = desc[64 * q + k] * s;
      out[128 * q + k] = Math.min(255, Math.round(Math.max(0, v)));
      out[128 * q + 64 + k] = Math.min(255, Math.round(Math.max(0, -v)));
    }
  }
  return out;
}

/** LighterGlue's [M, 2] index pairs with scores, those at LIGHTERGLUE_MIN_SCORE or more, as [a0, b0, a1, b1, ...]. */
export function confidentMatches(pairs: ArrayLike<number | bigint>, scores: ArrayLike<number>, countA: number, countB: number): Uint32Array {
  const out: number[] = [];
  for (let m = 0; m < scores.length; m++) {
    if (!(scores[m] >= LIGHTERGLUE_MIN_SCORE)) continue;
    const a = Number(pairs[2 * m]), b = Number(pairs[2 * m + 1]);
    if (a < 0 || b < 0 || a >= countA || b >= countB) continue;
    out.push(a, b);
  }
  return Uint32Array.from(out);
}
