import { useState } from "preact/hooks";
import { api, downloadResults, type Schemas, unwrap } from "../api/client";
import { canRunBatches } from "../roles";
import { setQuery, useLocation } from "../router";
import { session } from "../session";
import {
  Badge,
  ErrorNote,
  Json,
  Link,
  Loading,
  Pager,
  Progress,
  RUN_STATUSES,
  short,
  TableWrap,
  TERMINAL_SUBMISSION,
  Time,
  useCursorPages,
  useLoad,
} from "../ui";

// a page of runs, never all of them: a 10,000-run submission renders as fast as a 10-run one
const PAGE = 100;
const POLL_MS = 2000;

type Run = Schemas["RunStatus"];

/** Children under their parent when both are on this page; a child whose parent is on another
 * page keeps its depth and names its parent. */
export function asTree(items: Run[]): Run[] {
  const here = new Set(items.map((r) => r.pipeline_run_id));
  const children = new Map<string, Run[]>();
  const roots: Run[] = [];
  for (const r of items) {
    const parent = r.parent_pipeline_run_id;
    if (parent && here.has(parent)) children.set(parent, [...(children.get(parent) ?? []), r]);
    else roots.push(r);
  }
  const out: Run[] = [];
  const walk = (r: Run) => {
    out.push(r);
    for (const c of children.get(r.pipeline_run_id) ?? []) walk(c);
  };
  roots.forEach(walk);
  return out;
}

export function entityLabel(ctx: Record<string, unknown> | null | undefined): string | null {
  if (!ctx) return null;
  for (const k of ["full_name", "name", "domain", "work_email", "linkedin_url", "company_domain"]) {
    const v = ctx[k];
    if (typeof v === "string" && v) return v;
  }
  return null;
}

/** docs/operations.md "Fan-out": `{children, duplicates, error, …}` of a step that fanned out. */
export function fanOutText(f: Record<string, unknown>): string {
  if (typeof f.error === "string") return `fan-out: ${f.error.replace(/_/g, " ")}`;
  const n = typeof f.children === "number" ? f.children : 0;
  return `fan-out: ${n} ${n === 1 ? "child" : "children"}`;
}

export function SubmissionPage({ id }: { id: string }) {
  const loc = useLocation();
  const status = loc.query.get("status") ?? "";
  const pages = useCursorPages(status);
  const [canceling, setCanceling] = useState<unknown>(null);
  const [downloading, setDownloading] = useState(false);
  const me = session.me()!;

  const state = useLoad(
    () =>
      unwrap(
        api.POST("/api/v1/batch/status", {
          body: {
            submission_id: id,
            limit: PAGE,
            cursor: pages.cursor,
            status: (status || null) as Schemas["PipelineRunStatus"] | null,
          },
        }),
      ),
    [id, status, pages.cursor],
    { pollMs: POLL_MS, keepPolling: (d) => !TERMINAL_SUBMISSION.includes(d.submission.status) },
  );

  const cancel = async () => {
    if (!confirm("Cancel this submission? Runs not finished yet are canceled.")) return;
    try {
      await unwrap(api.POST("/api/v1/batch/cancel", { body: { submission_id: id } }));
      setCanceling(null);
      state.reload();
    } catch (e) {
      setCanceling(e);
    }
  };

  const download = async () => {
    setDownloading(true);
    try {
      await downloadResults(id);
      setCanceling(null);
    } catch (e) {
      setCanceling(e);
    } finally {
      setDownloading(false);
    }
  };

  if (state.loading && !state.data) return <Loading what="the submission" />;
  if (!state.data)
    return (
      <section>
        <h1>Submission</h1>
        <ErrorNote error={state.error} />
      </section>
    );
  const { submission, summary, runs } = state.data;
  const live = !TERMINAL_SUBMISSION.includes(submission.status);
  const tree = asTree(runs.items);
  return (
    <section>
      <p class="crumbs">
        <Link to="/submissions">Submissions</Link> / {short(submission.id)}
      </p>
      <div class="page-head">
        <h1>
          Submission <code>{short(submission.id)}</code> <Badge status={submission.status} />
        </h1>
        <div class="row-actions head-actions">
          {/* a read: every role may download what it can see */}
          <button type="button" class="download" onClick={download} disabled={downloading}>
            {downloading ? "Preparing…" : "Download results CSV"}
          </button>
          {live && canRunBatches(me) && (
            <button type="button" class="danger" onClick={cancel}>
              Cancel submission
            </button>
          )}
        </div>
      </div>
      <ErrorNote error={canceling ?? state.error} />
      <dl class="facts">
        <dt>Submitted</dt>
        <dd>
          <Time at={submission.created_at} />
        </dd>
        <dt>Finished</dt>
        <dd>
          <Time at={submission.finished_at} />
        </dd>
        <dt>Source</dt>
        <dd>{submission.source ?? "—"}</dd>
        <dt>Blueprint</dt>
        <dd>
          <Link to={`/blueprints/${submission.blueprint_id}`}>{short(submission.blueprint_id)}</Link>
        </dd>
      </dl>
      <Progress summary={summary} label="Submission progress" />
      <p class="counts" aria-live="polite">
        {summary.total} runs{summary.children ? ` (${summary.children} fanned out)` : ""}: {summary.queued} queued,{" "}
        {summary.running} running, {summary.succeeded} succeeded, {summary.failed} failed, {summary.canceled} canceled
        {live && <span class="muted"> · updating live</span>}
      </p>
      <fieldset class="chips">
        <legend>Show runs</legend>
        {["", ...RUN_STATUSES].map((s) => (
          <label key={s} class={status === s ? "chip on" : "chip"}>
            <input
              type="radio"
              name="run-status"
              value={s}
              checked={status === s}
              onChange={() => setQuery({ status: s })}
            />
            {s || "all"}
          </label>
        ))}
      </fieldset>
      {tree.length === 0 ? (
        <p class="empty">No runs{status ? ` with status ${status}` : ""}.</p>
      ) : (
        <TableWrap label="Runs">
          <table class="list runs">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Entity</th>
                <th scope="col">Status</th>
                <th scope="col">Steps</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {tree.map((r) => (
                <tr key={r.pipeline_run_id} class={r.depth ? "child" : undefined}>
                  <td style={{ paddingLeft: `${0.5 + r.depth * 1.25}rem` }}>
                    {r.depth > 0 && (
                      <span aria-hidden="true" class="branch">
                        ↳{" "}
                      </span>
                    )}
                    <Link to={`/runs/${r.pipeline_run_id}`} data-row-link>
                      #{r.entity_index}
                    </Link>
                    {r.depth > 0 && r.parent_pipeline_run_id && (
                      <span class="sr-only"> fanned out from run {short(r.parent_pipeline_run_id)}</span>
                    )}
                  </td>
                  <td>
                    {entityLabel(r.final_context) ?? <span class="muted">{r.entity_type}</span>}
                  </td>
                  <td>
                    <Badge status={r.status} />
                  </td>
                  <td>
                    <ol class="steps">
                      {r.steps.map((st) => (
                        <li key={st.position} class={`step s-${st.status}`}>
                          <span class="step-op">{st.operation_id}</span> <Badge status={st.status} />
                          {st.skip_reason && <span class="skip"> {st.skip_reason.replace(/_/g, " ")}</span>}
                          {st.fan_out && <span class="muted"> · {fanOutText(st.fan_out)}</span>}
                        </li>
                      ))}
                    </ol>
                  </td>
                  <td class="error-cell">{r.error_message ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <Pager label="Run pages" pages={pages} nextCursor={runs.next_cursor} />
      <Json value={submission.metadata} summary="Metadata" />
    </section>
  );
}
