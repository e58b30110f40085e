import type { RgbaImage } from '../../core/mesh';

/** Per triangle corner: x y z, u v (v = 0 at the top of the texture), nx ny nz. */
export const FLOATS_PER_CORNER = 8;

export interface RenderableMesh {
  corners: Float32Array;
  texture: RgbaImage | null;
  /** Bounding sphere, for near/far planes. */
  centre: [number, number, number];
  radius: number;
}
