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
