import type { RgbaImage } from '../../core/mesh';

/** Per triangle corner: x y z, u v (v = 0 at the top of the texture), nx ny nz, r g b (0..1). */
export const FLOATS_PER_CORNER = 11;

export interface RenderableMesh {
  corners: Float32Array;
  texture: RgbaImage | null;
  /** The corners carry colours (used when there is no texture). */
  vertexColors?: boolean;
  /** Bounding sphere, for near/far planes. */
  centre: [number, number, number];
  radius: number;
}
