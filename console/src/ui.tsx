import type { ComponentChildren, JSX } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api/client";
import { href, navigate } from "./router";

export function Link(props: { to: string; children: ComponentChildren } & JSX.HTMLAttributes<HTMLAnchorElement>) {
  const { to, children, ...rest } = props;
  return (
    <a
      {...rest}
      href={href(to)}
      onClick={(e) => {
        // a new tab or window stays the browser's business
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

export function Badge({ status }: { status: string }) {
  return <span class={`badge s-${status}`}>{status.replace(/_/g, " ")}</span>;
}

export interface Counts {
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  canceled: number;
}

export function Progress({ summary, label }: { summary: Counts; label: string }) {
  const done = summary.succeeded + summary.failed + summary.canceled;
  const total = Math.max(summary.total, 1);
  const pct = (n: number) => `${(100 * n) / total}%`;
  const text = `${done} of ${summary.total} finished` + (summary.failed ? `, ${summary.failed} failed` : "");
  return (
    <div class="progress-wrap">
      <div
        class="progress"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={summary.total}
        aria-valuenow={done}
        aria-valuetext={text}
      >
        <span class="seg seg-succeeded" style={{ width: pct(summary.succeeded) }} />
        <span class="seg seg-failed" style={{ width: pct(summary.failed) }} />
        <span class="seg seg-canceled" style={{ width: pct(summary.canceled) }} />
        <span class="seg seg-running" style={{ width: pct(summary.running) }} />
      </div>
      <span class="progress-text">{text}</span>
    </div>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : null;
  return (
    <div class="note note-error" role="alert">
      <strong>{e ? `${e.message}` : String(error)}</strong>
      {e && e.code !== "http_error" && <span class="muted"> ({e.code})</span>}
    </div>
  );
}

export function Json({ value, summary, open }: { value: unknown; summary: string; open?: boolean }) {
  return (
    <details class="json" open={open}>
      <summary>{summary}</summary>
      <pre tabIndex={0}>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}

export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span class="muted">—</span>;
  const d = new Date(at);
  return (
    <time dateTime={at} title={d.toISOString()}>
      {d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })}
    </time>
  );
}

/** A wide table scrolls inside its own region on a phone, reachable by keyboard. */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** Previous/Next over `useCursorPages`; `nextCursor` is the page's `next_cursor` (null: the last page). */
export function Pager(props: { label: string; pages: CursorPages; nextCursor: string | null | undefined }) {
  const { pages, nextCursor } = props;
  if (!pages.hasPrev && !nextCursor) return null;
  return (
    <nav class="pager" aria-label={props.label}>
      <button type="button" onClick={pages.prev} disabled={!pages.hasPrev}>
        ← Previous
      </button>
      <button type="button" onClick={() => nextCursor && pages.next(nextCursor)} disabled={!nextCursor}>
        Next →
      </button>
    </nav>
  );
}

/** Cursor pagination (CONTRACT §3): the cursors of the pages before this one are kept for Previous. */
export function useCursorPages(resetKey: string) {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  useEffect(() => setStack([null]), [resetKey]);
  const cursor = stack[stack.length - 1] ?? null;
  return {
    cursor,
    page: stack.length,
    hasPrev: stack.length > 1,
    next: (c: string) => setStack((s) => [...s, c]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
  };
}

export type CursorPages = ReturnType<typeof useCursorPages>;

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads on mount and when `deps` change; with `pollMs`, again every `pollMs` while the page is
 * visible and `keepPolling(data)` holds (a number it returns is the next wait instead). A poll
 * that fails keeps the last data on screen. */
export function useLoad<T>(
  fn: () => Promise<T>,
  deps: unknown[],
  opts: { pollMs?: number; keepPolling?: (d: T) => boolean | number } = {},
): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const optsRef = useRef(opts);
  optsRef.current = opts;
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (first: boolean) => {
      if (first) setLoading(true);
      try {
        const value = await fnRef.current();
        if (!alive) return;
        setData(value);
        setError(null);
        const { pollMs, keepPolling } = optsRef.current;
        const keep = keepPolling ? keepPolling(value) : true;
        if (pollMs && keep !== false) schedule(typeof keep === "number" ? keep : pollMs);
      } catch (e) {
        if (!alive) return;
        setError(e);
        // a transient failure (rate limit, restart) is retried while polling
        if (optsRef.current.pollMs && !(e instanceof ApiError && [401, 403, 404].includes(e.status))) {
          schedule(optsRef.current.pollMs * 2);
        }
      } finally {
        if (alive && first) setLoading(false);
      }
    };
    const schedule = (ms: number) => {
      timer = setTimeout(() => {
        if (document.hidden) {
          // a hidden tab asks nothing of the API; it catches up when shown again
          const onShow = () => {
            document.removeEventListener("visibilitychange", onShow);
            if (alive) void run(false);
          };
          document.addEventListener("visibilitychange", onShow);
        } else void run(false);
      }, ms);
    };
    void run(true);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  return { data, error, loading, reload };
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function short(id: string): string {
  return id.slice(0, 8);
}

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  return n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`;
}

export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "canceled"] as const;
export const TERMINAL_SUBMISSION = ["completed", "failed", "canceled"];
export const TERMINAL_RUN = ["succeeded", "failed", "canceled"];
