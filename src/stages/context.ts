/** What every stage function gets: the GPU, the VRAM scope of the running model, cancellation and progress. */
import type { GpuContext } from '../gpu/device';
import type { VramScope } from '../gpu/vram';

export interface StageContext {
  gpu: GpuContext;
  scope: VramScope;
  signal: AbortSignal;
  /** done / total within the stage, with a short message. */
  progress(done: number, total: number, message: string): void;
  warn(message: string): void;
}
