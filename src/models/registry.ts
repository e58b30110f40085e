/**
 * The reconstruction models a job can run, by name, in the order the user chose. Each entry creates a
 * BaseReconstructionModel for the job's capture.
 */
import type { ModelEntry } from '../pipeline/runner';
import type { JobInput, JobOutput } from '../pipeline/jobTypes';
import { FeedforwardModel } from './feedforward';
import { RefineModel } from './refine';

export const MODEL_REGISTRY: Record<string, Omit<ModelEntry<JobInput, JobOutput>, 'name'>> = {
  feedforward: { weight: 1, create: (ctx) => new FeedforwardModel(ctx) },
  refine: { weight: 1, create: (ctx) => new RefineModel(ctx) },
};

export function availableModels(): string[] {
  return Object.keys(MODEL_REGISTRY);
}
