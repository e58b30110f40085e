/**
 * The reconstruction models a job can run, by name, in the order the user chose. Each entry creates a
 * BaseReconstructionModel for the job's capture. Models are added here as their issues land.
 */
import type { ModelEntry } from '../pipeline/runner';
import type { JobInput, JobOutput } from '../pipeline/jobTypes';

export const MODEL_REGISTRY: Record<string, Omit<ModelEntry<JobInput, JobOutput>, 'name'>> = {};

export function availableModels(): string[] {
  return Object.keys(MODEL_REGISTRY);
}
