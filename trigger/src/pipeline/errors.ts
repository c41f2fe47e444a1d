/**
 * The two kinds of failure a host must tell apart. Anything transient (network, timeout, 5xx,
 * 429) is thrown as a plain or `TransientApiError` and the host retries the whole run, which is
 * safe because `runPipeline` resumes. A `PermanentPipelineError` will not get better by retrying
 * (a 4xx, a run that does not exist, an answer outside the contract): the host records the
 * failure through `api.fail` and stops.
 */

export interface ApiErrorDetails {
  /** HTTP status of the answer, absent for network errors and timeouts. */
  status?: number;
  /** The error envelope's machine code (`{"error": {"code"}}`), when there was one. */
  code?: string;
  /** The internal endpoint, e.g. `/api/internal/steps/execute`. */
  endpoint?: string;
}

export class PermanentPipelineError extends Error {
  override name = "PermanentPipelineError";
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly endpoint: string | undefined;

  constructor(message: string, details: ApiErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.status = details.status;
    this.code = details.code;
    this.endpoint = details.endpoint;
  }
}

export class TransientApiError extends Error {
  override name = "TransientApiError";
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly endpoint: string | undefined;

  constructor(message: string, details: ApiErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.status = details.status;
    this.code = details.code;
    this.endpoint = details.endpoint;
  }
}

export function isPermanent(error: unknown): error is PermanentPipelineError {
  return error instanceof PermanentPipelineError;
}

/** A message fit for logs and for `api.fail`: never a stack, never request headers. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
