/**
 * The worker's only way to the database: the API's internal endpoints (docs/internal-api.md).
 *
 * Retry policy of one call: network errors, 5xx and 429 are retried a few times with jittered
 * exponential backoff (a 429's `Retry-After` wins); every endpoint is idempotent, so repeating a
 * call is safe. A timeout is not retried here (the call already took its whole budget): it is
 * thrown as transient and the host retries the run, and so is a 409 `out_of_order` (the API's
 * refusal of a step before its predecessors, or of finish before every step, finished). Any
 * other 4xx is a `PermanentPipelineError`.
 */
import type { z } from "zod";
import { PermanentPipelineError, TransientApiError } from "./errors.js";
import {
  finishResultSchema,
  recoverResultSchema,
  runStateSchema,
  stepResultSchema,
  type FinishResult,
  type PipelineContext,
  type RecoverResult,
  type RunState,
  type StepResult,
} from "./types.js";

export interface CallOptions {
  /** Aborts the call (host shutdown, Trigger.dev cancel or maxDuration); never retried. */
  signal?: AbortSignal | undefined;
}

export interface PipelineApi {
  start(pipelineRunId: string, options?: CallOptions): Promise<RunState>;
  executeStep(
    pipelineRunId: string,
    position: number,
    context: PipelineContext,
    options?: CallOptions,
  ): Promise<StepResult>;
  finish(pipelineRunId: string, finalContext: PipelineContext, options?: CallOptions): Promise<FinishResult>;
  fail(pipelineRunId: string, error: string, options?: CallOptions): Promise<void>;
}

export interface WorkerApi {
  heartbeat(workerId: string, options?: CallOptions): Promise<void>;
  recover(workerId: string, options?: CallOptions): Promise<RecoverResult>;
}

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpClientOptions {
  baseUrl: string;
  internalKey: string;
  fetch?: FetchLike;
  /** Budget of one HTTP attempt, except `steps/execute`. */
  timeoutMs?: number;
  /** Budget of one `steps/execute` attempt: providers behind one step can take minutes. */
  stepTimeoutMs?: number;
  /** Extra attempts after the first on network errors, 5xx and 429. */
  retries?: number;
  /** Injected in tests so that backoff does not wait for real. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

export interface HttpApiOptions extends HttpClientOptions {
  orgId: string;
  companyId?: string | null;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
// Icypeas alone may take 45 s per search and a step can walk a waterfall of several providers.
export const DEFAULT_STEP_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_RETRIES = 3;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 8_000;
// A longer Retry-After is cut short: past this the host's own backoff is the better wait.
const RETRY_AFTER_MAX_MS = 30_000;
const FAIL_MESSAGE_MAX_CHARS = 2_000;
/** Error code of a 409 from steps/execute or finish: the run's stored state does not allow it yet. */
export const OUT_OF_ORDER = "out_of_order";

const ENDPOINTS = {
  start: "/api/internal/pipeline-runs/start",
  execute: "/api/internal/steps/execute",
  finish: "/api/internal/pipeline-runs/finish",
  fail: "/api/internal/pipeline-runs/fail",
  heartbeat: "/api/internal/workers/heartbeat",
  recover: "/api/internal/workers/recover",
} as const;

export function createHttpApi(options: HttpApiOptions): PipelineApi {
  const tenantHeaders: Record<string, string> = { "x-internal-org-id": options.orgId };
  if (options.companyId) tenantHeaders["x-internal-company-id"] = options.companyId;
  const post = createPoster(options, tenantHeaders);
  const stepTimeoutMs = options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;

  return {
    start: (pipelineRunId, callOptions) =>
      post(ENDPOINTS.start, { pipeline_run_id: pipelineRunId }, runStateSchema, callOptions),
    executeStep: (pipelineRunId, position, context, callOptions) =>
      post(
        ENDPOINTS.execute,
        { pipeline_run_id: pipelineRunId, position, context },
        stepResultSchema,
        callOptions,
        stepTimeoutMs,
      ),
    finish: (pipelineRunId, finalContext, callOptions) =>
      post(
        ENDPOINTS.finish,
        { pipeline_run_id: pipelineRunId, final_context: finalContext },
        finishResultSchema,
        callOptions,
      ),
    fail: async (pipelineRunId, error, callOptions) => {
      await post(
        ENDPOINTS.fail,
        { pipeline_run_id: pipelineRunId, error: error.slice(0, FAIL_MESSAGE_MAX_CHARS) },
        null,
        callOptions,
      );
    },
  };
}

/** The host-level endpoints: they concern a worker process, not a tenant, so no org headers. */
export function createWorkerApi(options: HttpClientOptions): WorkerApi {
  const post = createPoster(options, {});
  return {
    heartbeat: async (workerId, callOptions) => {
      await post(ENDPOINTS.heartbeat, { worker_id: workerId }, null, callOptions);
    },
    recover: (workerId, callOptions) =>
      post(ENDPOINTS.recover, { worker_id: workerId }, recoverResultSchema, callOptions),
  };
}

type Poster = <S extends z.ZodType | null>(
  endpoint: string,
  body: unknown,
  schema: S,
  callOptions?: CallOptions,
  timeoutMs?: number,
) => Promise<S extends z.ZodType ? z.infer<S> : unknown>;

function createPoster(options: HttpClientOptions, extraHeaders: Record<string, string>): Poster {
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retries = Math.max(0, options.retries ?? DEFAULT_RETRIES);
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const headers = {
    authorization: `Bearer ${options.internalKey}`,
    "content-type": "application/json",
    accept: "application/json",
    ...extraHeaders,
  };

  return (async (endpoint: string, body: unknown, schema: z.ZodType | null, callOptions?: CallOptions, timeoutMs?: number) => {
    const signal = callOptions?.signal;
    const budgetMs = timeoutMs ?? defaultTimeoutMs;
    const payload = JSON.stringify(body);

    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const outcome = await attemptOnce(fetchFn, `${baseUrl}${endpoint}`, headers, payload, budgetMs, signal);

      if (outcome.kind === "answer" && outcome.status >= 200 && outcome.status < 300) {
        return parseData(endpoint, outcome.text, schema);
      }

      let error: Error;
      let delayMs = backoffMs(attempt, random);
      if (outcome.kind === "timeout") {
        throw new TransientApiError(`${endpoint} did not answer within ${budgetMs} ms`, {
          endpoint,
          code: "timeout",
        });
      } else if (outcome.kind === "network") {
        error = new TransientApiError(
          `${endpoint} unreachable: ${networkMessage(outcome.error)}`,
          { endpoint, code: "network_error" },
          { cause: outcome.error },
        );
      } else {
        const envelope = parseEnvelope(outcome.text);
        const detail = envelope ? `${envelope.code}: ${envelope.message}` : `HTTP ${outcome.status}`;
        const details = { endpoint, status: outcome.status, ...(envelope ? { code: envelope.code } : {}) };
        if (outcome.status === 409 && envelope?.code === OUT_OF_ORDER) {
          // the API refused a call that came too early (an earlier step, or a step before finish,
          // not terminal yet: another delivery of this run is still at work). Our view of the run
          // is stale, so this call is not repeated: the host retries the run, which resumes from
          // the state `start` reports.
          throw new TransientApiError(`${endpoint} answered 409 (${detail})`, details);
        }
        if (outcome.status !== 429 && outcome.status < 500) {
          throw new PermanentPipelineError(`${endpoint} answered ${outcome.status} (${detail})`, details);
        }
        error = new TransientApiError(`${endpoint} answered ${outcome.status} (${detail})`, details);
        const retryAfter = parseRetryAfter(outcome.retryAfter);
        if (retryAfter !== null) delayMs = Math.min(retryAfter, RETRY_AFTER_MAX_MS);
      }

      if (attempt >= retries) throw error;
      await sleep(delayMs, signal);
    }
  }) as Poster;
}

type AttemptOutcome =
  | { kind: "answer"; status: number; text: string; retryAfter: string | null }
  | { kind: "network"; error: unknown }
  | { kind: "timeout" };

async function attemptOnce(
  fetchFn: FetchLike,
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<AttemptOutcome> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  const forwardAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", forwardAbort, { once: true });
  try {
    const response = await fetchFn(url, { method: "POST", headers, body, signal: controller.signal });
    // the body is read under the same budget: a server that stalls mid-answer is a timeout too
    const text = await response.text();
    return { kind: "answer", status: response.status, text, retryAfter: response.headers.get("retry-after") };
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    if (timedOut) return { kind: "timeout" };
    return { kind: "network", error };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", forwardAbort);
  }
}

function parseData(endpoint: string, text: string, schema: z.ZodType | null): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PermanentPipelineError(`${endpoint} answered with a body that is not JSON`, { endpoint });
  }
  if (typeof parsed !== "object" || parsed === null || !("data" in parsed)) {
    throw new PermanentPipelineError(`${endpoint} answered without a "data" member`, { endpoint });
  }
  const data = (parsed as { data: unknown }).data;
  if (schema === null) return data;
  const result = schema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new PermanentPipelineError(`${endpoint} answered outside the contract: ${issues}`, { endpoint });
  }
  return result.data;
}

function parseEnvelope(text: string): { code: string; message: string } | null {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = parsed.error?.code;
    if (typeof code !== "string") return null;
    const message = typeof parsed.error?.message === "string" ? parsed.error.message : "";
    return { code, message };
  } catch {
    return null;
  }
}

/** `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

function backoffMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  // "equal jitter": at least half the ceiling, so retries from many runs spread out but never bunch at 0
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function networkMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined;
    return typeof code === "string" ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
