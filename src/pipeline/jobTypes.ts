/** What models read (the job's input) and where they put their results (files for the zip, report entries). */
import type { TexturedMesh } from '../core/mesh';
import type { MeshReport } from '../core/report';
import type { CaptureSet } from '../core/capture';
import type { JobOptions } from '../../workers/api';

export interface JobInput {
  options: JobOptions;
  capture: CaptureSet;
}

export interface JobOutput {
  /** zip path -> bytes */
  files: Record<string, Uint8Array>;
  meshes: MeshReport[];
  /** Each model's textured mesh (CPU arrays), for the models that follow it (refine reads feedforward's). */
  texturedMeshes?: Record<string, TexturedMesh>;
}
