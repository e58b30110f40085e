/**
 * Host side of camera_view.wgsl: packs cameras into the 80-byte `View` structs kernels read, with each view's pixel
 * offset in a concatenated per-pixel buffer. The WGSL struct is concatenated in front of the kernels that use it.
 */
import cameraViewWgsl from './camera_view.wgsl?raw';

export const CAMERA_VIEW_WGSL = cameraViewWgsl;
export const VIEW_STRUCT_BYTES = 80;

export interface PackableView {
  width: number;
  height: number;
  /** 3x3 row-major. */
  K: number[];
  /** 3x4 row-major. */
  camFromWorld: number[];
  /** Photometric gain (exposure compensation); default 1. */
  gain?: number;
}

/** The struct array and each view's pixel offset (views' pixels are laid out one after another). */
export function packViews(views: PackableView[]): { table: ArrayBuffer; offsets: number[]; pixels: number } {
  const table = new ArrayBuffer(Math.max(1, views.length) * VIEW_STRUCT_BYTES);
  const f = new Float32Array(table), u = new Uint32Array(table);
  const offsets: number[] = [];
  let offset = 0;
  views.forEach((view, k) => {
    const o = (k * VIEW_STRUCT_BYTES) / 4;
    f.set(view.camFromWorld.slice(0, 12), o);
    f.set([view.K[0], view.K[4], view.K[2], view.K[5]], o + 12);
    u.set([view.width, view.height, offset], o + 16);
    f[o + 19] = view.gain ?? 1;
    offsets.push(offset);
    offset += view.width * view.height;
  });
  return { table, offsets, pixels: offset };
}
