// The typed API client. Its types come from the app's own OpenAPI schema (`make console` dumps
// it and runs openapi-typescript), so a schema change that breaks a page breaks the build.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { session } from "../session";

export type Schemas = components["schemas"];
export type Role = Schemas["Role"];

export const api = createClient<paths>({ baseUrl: "" });

/** The API's error envelope (CONTRACT §3), with the field a 400/422 names when it names one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }

  /** Field paths this error is about, as dotted paths (`steps.0.fan_out`). */
  fields(): string[] {
    const d = this.details as Record<string, unknown> | unknown[] | null;
    if (Array.isArray(d)) {
      // 422: [{loc: ["body", "steps", 0, "fan_out"], msg}]
      return d.flatMap((e) => {
        const loc = (e as { loc?: unknown[] }).loc;
        return Array.isArray(loc) ? [loc.filter((p) => p !== "body").join(".")] : [];
      });
    }
    if (d && typeof d === "object" && typeof d.field === "string") {
      return [normalizeField(d.field)];
    }
    return [];
  }

  /** One message per field path (422s carry one per problem). */
  fieldMessages(): [string, string][] {
    const d = this.details;
    if (Array.isArray(d)) {
      return d.map((e) => {
        const err = e as { loc?: unknown[]; msg?: string };
        return [(err.loc ?? []).filter((p) => p !== "body").join("."), err.msg ?? this.message];
      });
    }
    return this.fields().map((f) => [f, this.message]);
  }
}

/** `steps[1].fan_out` → `steps.1.fan_out` */
export function normalizeField(field: string): string {
  return field.replace(/\[(\d+)\]/g, ".$1").replace(/^body\./, "");
}

type Answer<T> = { data?: { data: T }; error?: unknown; response: Response };

/** The `data` of a success; an `ApiError` otherwise (a network failure is status 0). */
export async function unwrap<T>(pending: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await pending;
  } catch (e) {
    throw new ApiError(0, "network_error", "The API could not be reached. Check that it is running.", String(e));
  }
  if (answer.data !== undefined && answer.response.ok) return answer.data.data;
  const body = answer.error as { error?: { code?: string; message?: string; details?: unknown } } | undefined;
  const err = body?.error;
  throw new ApiError(
    answer.response.status,
    err?.code ?? "http_error",
    err?.message ?? `The API answered ${answer.response.status}.`,
    err?.details ?? null,
  );
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = session.token();
    if (token && !request.headers.has("Authorization")) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ request, response }) {
    // a session the API no longer accepts (expired, user deactivated): back to the login page
    if (response.status === 401 && !request.url.endsWith("/api/auth/login") && session.token()) {
      session.expire("Your session has expired. Sign in again to continue.");
    }
    return response;
  },
};
api.use(auth);

function errorFrom(status: number, body: unknown): ApiError {
  const err = (body as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
  return new ApiError(
    status,
    err?.code ?? "http_error",
    err?.message ?? `The API answered ${status}.`,
    err?.details ?? null,
  );
}

/** A POST that openapi-fetch does not make for us (a multipart upload, a CSV download), with the
 * session's JWT and the same handling of errors and of a session the API no longer accepts. */
async function rawPost(path: string, init: { body: BodyInit; headers?: Record<string, string> }): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, { method: "POST", body: init.body, headers });
  } catch (e) {
    throw new ApiError(0, "network_error", "The API could not be reached. Check that it is running.", String(e));
  }
  if (response.status === 401 && token) session.expire("Your session has expired. Sign in again to continue.");
  if (!response.ok) {
    const body: unknown = await response.json().catch(() => null);
    throw errorFrom(response.status, body);
  }
  return response;
}

type SubmitCsvAnswer =
  paths["/api/v1/batch/submit-csv"]["post"]["responses"][200]["content"]["application/json"]["data"];
export type CsvPreview = Extract<SubmitCsvAnswer, { dry_run: true }>;
export type CsvSubmitResult = Extract<SubmitCsvAnswer, { dry_run: false }>;

export interface CsvUpload {
  file: File;
  blueprintId: string;
  companyId: string | null;
  mapping: Record<string, string | null>;
}

function csvForm(u: CsvUpload, dryRun: boolean): FormData {
  const form = new FormData();
  form.set("file", u.file, u.file.name);
  form.set("blueprint_id", u.blueprintId);
  if (u.companyId) form.set("company_id", u.companyId);
  if (Object.keys(u.mapping).length) form.set("mapping", JSON.stringify(u.mapping));
  form.set("dry_run", dryRun ? "true" : "false");
  return form;
}

/** `batch/submit-csv` with `dry_run`: how the API reads the file, creating nothing. */
export async function previewCsv(u: CsvUpload): Promise<CsvPreview> {
  const r = await rawPost("/api/v1/batch/submit-csv", { body: csvForm(u, true) });
  return ((await r.json()) as { data: CsvPreview }).data;
}

export async function submitCsv(u: CsvUpload): Promise<CsvSubmitResult> {
  const r = await rawPost("/api/v1/batch/submit-csv", { body: csvForm(u, false) });
  return ((await r.json()) as { data: CsvSubmitResult }).data;
}

/** `batch/export` (a POST answering text/csv) saved as a file the browser downloads. */
export async function downloadResults(submissionId: string): Promise<void> {
  const r = await rawPost("/api/v1/batch/export", {
    body: JSON.stringify({ submission_id: submissionId }),
    headers: { "Content-Type": "application/json" },
  });
  const blob = await r.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `submission-${submissionId}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // the download has its own copy once started
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
