/**
 * Trigger.dev host of the pipeline. Thin on purpose: everything worth testing is in
 * `src/pipeline/` and runs under vitest without the platform (a task object has no `.run`).
 * `logger` and `metadata` are only touched here, inside the Trigger runtime.
 */
import { AbortTaskRunError, logger, queue, schemaTask, wait } from "@trigger.dev/sdk";
import { createHttpApi } from "../pipeline/apiClient.js";
import { describeError } from "../pipeline/errors.js";
import { recordFailure, runAndRecordFailure } from "../pipeline/host.js";
import { apiSettingsFromEnv } from "../pipeline/settings.js";
import { PIPELINE_TASK_ID } from "../pipeline/taskId.js";
import { pipelinePayloadSchema, type PipelinePayload } from "../pipeline/types.js";

// Declared in code (v4 creates queues at deploy). The API triggers with concurrencyKey = org_id,
// so the limit applies per org: one tenant's big batch cannot starve the others.
export const pipelineRunsQueue = queue({ name: "pipeline-runs", concurrencyLimit: 20 });

function apiFor(payload: PipelinePayload) {
  const settings = apiSettingsFromEnv(process.env);
  return createHttpApi({ ...settings, orgId: payload.org_id, companyId: payload.company_id });
}

export const runPipelineTask = schemaTask({
  id: PIPELINE_TASK_ID,
  schema: pipelinePayloadSchema,
  queue: pipelineRunsQueue,
  // retry policy and maxDuration: trigger.config.ts only (the one place; see the comment there)
  run: async (payload, { signal }) => {
    for (;;) {
      const result = await runAndRecordFailure(payload, apiFor(payload), {
        signal,
        log: (event, fields) => logger.info(event, fields),
      });
      if (result.kind === "gave_up") throw new AbortTaskRunError(result.error.message);
      if (result.outcome.deferred_seconds === null) return result.outcome;
      // a provider's long Retry-After: a checkpointed wait, not a sleep holding the run's slot;
      // the run then resumes at the step that was handed back
      await wait.for({ seconds: Math.ceil(result.outcome.deferred_seconds) });
    }
  },
  // retries exhausted on a transient error: the run must not stay `running` with nobody on it.
  // Also called after AbortTaskRunError, where the run is already failed and `fail` is a no-op.
  onFailure: async ({ payload, error }) => {
    const parsed = pipelinePayloadSchema.safeParse(payload);
    if (!parsed.success) return;
    await recordFailure(apiFor(parsed.data), parsed.data.pipeline_run_id, `retries exhausted: ${describeError(error)}`);
  },
});
