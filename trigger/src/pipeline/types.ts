/**
 * The job payload both hosts receive and the shapes of the internal API's answers
 * (docs/internal-api.md). Answers are parsed, not trusted: a shape the worker does not
 * understand is a contract break, reported as a permanent error rather than guessed around.
 */
import { z } from "zod";

// guid, not uuid: any 8-4-4-4-12 hex id is accepted, as Python's uuid.UUID does on the API side.
export const pipelinePayloadSchema = z.object({
  pipeline_run_id: z.guid(),
  org_id: z.guid(),
  company_id: z.guid(),
});
export type PipelinePayload = z.infer<typeof pipelinePayloadSchema>;

export const runStatusSchema = z.enum(["queued", "running", "succeeded", "failed", "canceled"]);
export type RunStatus = z.infer<typeof runStatusSchema>;

export const stepStatusSchema = z.enum(["queued", "running", "succeeded", "failed", "skipped"]);
export type StepStatus = z.infer<typeof stepStatusSchema>;

export const TERMINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(["succeeded", "failed", "canceled"]);

export function isTerminalRun(status: RunStatus): boolean {
  return TERMINAL_RUN_STATUSES.has(status);
}

const jsonObject = z.record(z.string(), z.unknown());
export type PipelineContext = Record<string, unknown>;

export const runStepSchema = z.object({
  position: z.number().int(),
  operation_id: z.string(),
  step_config: jsonObject.nullish(),
  status: stepStatusSchema,
  output: jsonObject.nullish(),
  context_after: jsonObject.nullish(),
  error_message: z.string().nullish(),
});
export type RunStep = z.infer<typeof runStepSchema>;

/** Answer of `pipeline-runs/start`. */
export const runStateSchema = z.object({
  pipeline_run_id: z.string(),
  status: runStatusSchema,
  entity_type: z.string(),
  input: jsonObject,
  steps: z.array(runStepSchema),
});
export type RunState = z.infer<typeof runStateSchema>;

/** Answer of `pipeline-runs/finish`. */
export const finishResultSchema = z.object({
  status: runStatusSchema,
  entity_id: z.string().nullish(),
  record_version: z.number().int().nullish(),
});
export type FinishResult = z.infer<typeof finishResultSchema>;

/** Answer of `steps/execute`. */
export const stepResultSchema = z.object({
  position: z.number().int(),
  status: stepStatusSchema,
  output: jsonObject.nullish(),
  context_after: jsonObject.nullish(),
  error_message: z.string().nullish(),
  operation_run_id: z.string().nullish(),
  run_status: runStatusSchema,
  /** Why a `skipped` step did not run (`condition_not_met`, `fresh`, …). */
  skip_reason: z.string().nullish(),
  /** A provider asked for a longer wait than a step may hold a worker slot: the step is queued again. */
  retry_after_seconds: z.number().nonnegative().nullish(),
  /** The run's last step finished the run in the same call: what `finish` would answer. */
  finished: finishResultSchema.nullish(),
});
export type StepResult = z.infer<typeof stepResultSchema>;


/** Answer of `workers/recover`. */
export const recoverResultSchema = z.object({
  unlocked_workers: z.array(z.string()),
});
export type RecoverResult = z.infer<typeof recoverResultSchema>;
