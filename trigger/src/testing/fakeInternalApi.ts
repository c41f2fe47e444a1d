/**
 * An in-memory stand-in for the API's internal endpoints (docs/internal-api.md), for tests.
 * It keeps the semantics the pipeline relies on: monotonic status transitions (a backwards move
 * throws, so a test that provokes one fails loudly), context merge of non-null output fields,
 * fail-fast skipping, a cancel flag, and idempotent repeats on terminal rows.
 */
import type { PipelineApi } from "../pipeline/apiClient.js";
import { PermanentPipelineError, TransientApiError } from "../pipeline/errors.js";
import type {
  FinishResult,
  PipelineContext,
  RunState,
  RunStatus,
  StepResult,
  StepStatus,
} from "../pipeline/types.js";

export type OperationStatus = "found" | "verified" | "not_found" | "failed";
export interface OperationAnswer {
  status: OperationStatus;
  output?: Record<string, unknown>;
  error?: string;
}
export type Operation = (context: PipelineContext) => OperationAnswer | Promise<OperationAnswer>;

export interface FakeStepSpec {
  position: number;
  operation_id: string;
  enabled?: boolean;
  step_config?: Record<string, unknown>;
}

interface FakeStep {
  position: number;
  operation_id: string;
  enabled: boolean;
  step_config: Record<string, unknown>;
  status: StepStatus;
  output: Record<string, unknown> | null;
  context_after: PipelineContext | null;
  error_message: string | null;
  operation_run_id: string | null;
}

interface FakeRun {
  id: string;
  status: RunStatus;
  entity_type: string;
  input: PipelineContext;
  steps: FakeStep[];
  final_context: PipelineContext | null;
  error_message: string | null;
  entity_id: string | null;
  record_version: number | null;
}

export interface FakeCall {
  method: "start" | "executeStep" | "finish" | "fail";
  pipeline_run_id: string;
  position?: number;
  context?: PipelineContext;
  error?: string;
}

export interface FakeExecution {
  pipeline_run_id: string;
  position: number;
  operation_id: string;
  context: PipelineContext;
}

export interface FakeHooks {
  /** After the step is marked running, before its operation runs (e.g. cancel the run here). */
  beforeOperation?: ((runId: string, position: number) => void | Promise<void>) | undefined;
  /** After the step's result is recorded, before the answer leaves (throw here = lost answer). */
  afterRecord?: ((runId: string, position: number) => void | Promise<void>) | undefined;
  /** Answer `start` with the steps in reverse order. */
  reverseStepOrder?: boolean;
  /**
   * Like the API since issue 15: the run's last step, once succeeded, finishes the run in the same
   * call and answers `finished`. Off, the fake is an API from before, which leaves that to `finish`.
   */
  finishOnLastStep?: boolean;
}

const RUN_MOVES: Record<RunStatus, readonly RunStatus[]> = {
  queued: ["running", "failed", "canceled"],
  running: ["succeeded", "failed", "canceled"],
  succeeded: [],
  failed: [],
  canceled: [],
};

const STEP_MOVES: Record<StepStatus, readonly StepStatus[]> = {
  queued: ["running", "skipped"],
  // running → running: a retry after a crash executes the step again
  running: ["running", "succeeded", "failed", "skipped"],
  succeeded: [],
  failed: [],
  skipped: [],
};

const TERMINAL_STEP: ReadonlySet<StepStatus> = new Set(["succeeded", "failed", "skipped"]);
const TERMINAL_RUN: ReadonlySet<RunStatus> = new Set(["succeeded", "failed", "canceled"]);

export function mergeContext(context: PipelineContext, output: Record<string, unknown>): PipelineContext {
  const merged: PipelineContext = { ...context };
  for (const [key, value] of Object.entries(output)) {
    if (value !== null && value !== undefined) merged[key] = value;
  }
  return merged;
}

export class FakeInternalApi implements PipelineApi {
  readonly calls: FakeCall[] = [];
  readonly executions: FakeExecution[] = [];
  hooks: FakeHooks = {};
  private readonly runs = new Map<string, FakeRun>();
  private nextId = 1;

  constructor(private readonly operations: Record<string, Operation>) {}

  addRun(spec: {
    id?: string;
    input: PipelineContext;
    steps: FakeStepSpec[];
    status?: RunStatus;
    entity_type?: string;
  }): string {
    const id = spec.id ?? `00000000-0000-4000-8000-${String(this.nextId++).padStart(12, "0")}`;
    this.runs.set(id, {
      id,
      status: spec.status ?? "queued",
      entity_type: spec.entity_type ?? "person",
      input: structuredClone(spec.input),
      steps: spec.steps.map((s) => ({
        position: s.position,
        operation_id: s.operation_id,
        enabled: s.enabled ?? true,
        step_config: s.step_config ?? {},
        status: "queued",
        output: null,
        context_after: null,
        error_message: null,
        operation_run_id: null,
      })),
      final_context: null,
      error_message: null,
      entity_id: null,
      record_version: null,
    });
    return id;
  }

  /** The test's view of a run: a deep copy, so assertions cannot disturb the state. */
  run(id: string): FakeRun {
    return structuredClone(this.get(id));
  }

  callsOf(method: FakeCall["method"]): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** What an operator's cancel does: the run is canceled, its queued steps skipped. */
  cancel(id: string): void {
    const run = this.get(id);
    if (TERMINAL_RUN.has(run.status)) return;
    moveRun(run, "canceled");
    for (const step of run.steps) if (step.enabled && step.status === "queued") moveStep(step, "skipped");
  }

  async start(pipelineRunId: string): Promise<RunState> {
    this.calls.push({ method: "start", pipeline_run_id: pipelineRunId });
    const run = this.get(pipelineRunId);
    if (run.status === "queued") moveRun(run, "running");
    const steps = run.steps
      .filter((s) => s.enabled)
      .sort((a, b) => (this.hooks.reverseStepOrder ? b.position - a.position : a.position - b.position))
      .map((s) => ({
        position: s.position,
        operation_id: s.operation_id,
        step_config: s.step_config,
        status: s.status,
        output: s.output,
        context_after: s.context_after,
        error_message: s.error_message,
      }));
    return structuredClone({
      pipeline_run_id: run.id,
      status: run.status,
      entity_type: run.entity_type,
      input: run.input,
      steps,
    });
  }

  async executeStep(pipelineRunId: string, position: number, context: PipelineContext): Promise<StepResult> {
    this.calls.push({ method: "executeStep", pipeline_run_id: pipelineRunId, position, context: structuredClone(context) });
    const run = this.get(pipelineRunId);
    const step = run.steps.find((s) => s.enabled && s.position === position);
    if (!step) throw new PermanentPipelineError("step not found", { status: 404, code: "step_not_found" });

    // a terminal step is never executed again; a stopped run executes nothing
    if (TERMINAL_STEP.has(step.status) || TERMINAL_RUN.has(run.status)) return this.answer(run, step);

    // like the API: order is enforced, and the step gets the context its predecessors stored,
    // whatever the worker sent
    const earlier = run.steps.filter((s) => s.enabled && s.position < position);
    if (earlier.some((s) => s.status !== "succeeded" && s.status !== "skipped")) {
      throw new TransientApiError("an earlier step has not finished", { status: 409, code: "out_of_order" });
    }
    context = storedContext(run, position);
    moveStep(step, "running");
    await this.hooks.beforeOperation?.(run.id, position);
    const operation = this.operations[step.operation_id];
    if (!operation) throw new Error(`fake: no operation ${step.operation_id}`);
    this.executions.push({ pipeline_run_id: run.id, position, operation_id: step.operation_id, context: structuredClone(context) });
    const result = await operation(structuredClone(context));

    step.operation_run_id = `op-${run.id}-${position}-${this.executions.length}`;
    if (TERMINAL_STEP.has(step.status)) {
      // a concurrent delivery recorded this step first; its result stands
    } else if (result.status === "failed") {
      moveStep(step, "failed");
      step.output = result.output ?? null;
      step.error_message = result.error ?? "operation failed";
      for (const other of run.steps) {
        if (other.enabled && other.status === "queued") moveStep(other, "skipped");
      }
      if (!TERMINAL_RUN.has(run.status)) {
        moveRun(run, "failed");
        run.error_message = step.error_message;
      }
    } else {
      moveStep(step, "succeeded");
      step.output = result.output ?? {};
      step.context_after = mergeContext(context, step.output);
    }
    let finished: FinishResult | null = null;
    const last = !run.steps.some((s) => s.enabled && s.position > position && !TERMINAL_STEP.has(s.status));
    if (this.hooks.finishOnLastStep && step.status === "succeeded" && last && run.status === "running") {
      finished = this.complete(run);
    }
    await this.hooks.afterRecord?.(run.id, position);
    return { ...this.answer(run, step), finished };
  }

  private complete(run: FakeRun): FinishResult {
    moveRun(run, "succeeded");
    // like the API: built from the stored results, never from the worker's final context
    run.final_context = storedContext(run, Number.POSITIVE_INFINITY);
    run.entity_id = `entity-${run.id}`;
    run.record_version = (run.record_version ?? 0) + 1;
    return { status: run.status, entity_id: run.entity_id, record_version: run.record_version };
  }

  async finish(pipelineRunId: string, finalContext: PipelineContext): Promise<FinishResult> {
    this.calls.push({ method: "finish", pipeline_run_id: pipelineRunId, context: structuredClone(finalContext) });
    const run = this.get(pipelineRunId);
    if (!TERMINAL_RUN.has(run.status)) {
      const open = run.steps.filter((s) => s.enabled && s.status !== "succeeded" && s.status !== "skipped");
      if (open.length > 0) {
        throw new TransientApiError("a step has not finished", { status: 409, code: "out_of_order" });
      }
      return this.complete(run);
    }
    return { status: run.status, entity_id: run.entity_id, record_version: run.record_version };
  }

  async fail(pipelineRunId: string, error: string): Promise<void> {
    this.calls.push({ method: "fail", pipeline_run_id: pipelineRunId, error });
    const run = this.get(pipelineRunId);
    if (TERMINAL_RUN.has(run.status)) return;
    for (const step of run.steps) {
      if (step.enabled && (step.status === "queued" || step.status === "running")) moveStep(step, "skipped");
    }
    moveRun(run, "failed");
    run.error_message = error;
  }

  private get(id: string): FakeRun {
    const run = this.runs.get(id);
    if (!run) throw new PermanentPipelineError("pipeline run not found", { status: 404, code: "pipeline_run_not_found" });
    return run;
  }

  private answer(run: FakeRun, step: FakeStep): StepResult {
    return structuredClone({
      position: step.position,
      status: step.status,
      output: step.output,
      context_after: step.context_after,
      error_message: step.error_message,
      operation_run_id: step.operation_run_id,
      run_status: run.status,
    });
  }
}

/** The run input merged with every succeeded step before `position`: the last one's context_after. */
function storedContext(run: FakeRun, position: number): PipelineContext {
  const done = run.steps
    .filter((s) => s.enabled && s.position < position && s.status === "succeeded")
    .sort((a, b) => b.position - a.position);
  return structuredClone(done[0]?.context_after ?? run.input);
}

function moveRun(run: FakeRun, to: RunStatus): void {
  if (!RUN_MOVES[run.status].includes(to)) throw new Error(`fake: run ${run.id} cannot go ${run.status} → ${to}`);
  run.status = to;
}

function moveStep(step: FakeStep, to: StepStatus): void {
  if (!STEP_MOVES[step.status].includes(to)) {
    throw new Error(`fake: step ${step.position} cannot go ${step.status} → ${to}`);
  }
  step.status = to;
}
