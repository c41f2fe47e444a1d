/**
 * What both hosts do around `runPipeline`: a permanent error is recorded on the run through
 * `api.fail` before the host stops retrying. If recording itself fails transiently the error
 * propagates, so the host retries rather than leaving the run `running` with nobody on it.
 */
import type { PipelineApi } from "./apiClient.js";
import { PermanentPipelineError, describeError } from "./errors.js";
import { runPipeline, type PipelineDeps, type PipelineOutcome } from "./runPipeline.js";
import type { PipelinePayload } from "./types.js";

export type HostResult =
  | { kind: "done"; outcome: PipelineOutcome }
  /** A permanent error, recorded on the run; the host must not retry. */
  | { kind: "gave_up"; error: PermanentPipelineError };

export async function runAndRecordFailure(
  payload: PipelinePayload,
  api: PipelineApi,
  deps: PipelineDeps = {},
): Promise<HostResult> {
  try {
    return { kind: "done", outcome: await runPipeline(payload, api, deps) };
  } catch (error) {
    if (!(error instanceof PermanentPipelineError)) throw error;
    await recordFailure(api, payload.pipeline_run_id, describeError(error));
    return { kind: "gave_up", error };
  }
}

/**
 * `api.fail`, tolerant of a run that does not exist (or is not visible to the payload's org):
 * there is nothing to record then. Deliberately not tied to the run's abort signal: a shutdown
 * must not stop the worker from writing down why it gave up.
 */
export async function recordFailure(api: PipelineApi, pipelineRunId: string, message: string): Promise<void> {
  try {
    await api.fail(pipelineRunId, message);
  } catch (error) {
    if (error instanceof PermanentPipelineError && error.status === 404) return;
    throw error;
  }
}
