import { useRef } from "preact/hooks";
import { api, type Schemas, unwrap } from "../api/client";
import { setQuery, useLocation } from "../router";
import {
  Badge,
  ErrorNote,
  Link,
  Loading,
  Pager,
  Progress,
  TableWrap,
  TERMINAL_SUBMISSION,
  Time,
  useCursorPages,
  useLoad,
} from "../ui";

const PAGE = 25;
const POLL_MS = 2000;
const IDLE_POLL_MS = 10_000;
const STATUSES = ["received", "queued", "running", "completed", "failed", "canceled"];

type Summary = Schemas["Summary"];

export function SubmissionsPage() {
  const loc = useLocation();
  const status = loc.query.get("status") ?? "";
  const pages = useCursorPages(status);
  // a finished submission's counts never change: asked for once, kept
  const finished = useRef(new Map<string, Summary>());

  const list = useLoad(
    async () => {
      const page = await unwrap(
        api.POST("/api/submissions/list", { body: { limit: PAGE, cursor: pages.cursor, status: status || null } }),
      );
      const summaries = new Map<string, Summary>();
      await Promise.all(
        page.items.map(async (s) => {
          const kept = finished.current.get(s.id);
          if (kept) {
            summaries.set(s.id, kept);
            return;
          }
          const st = await unwrap(api.POST("/api/v1/batch/status", { body: { submission_id: s.id, limit: 1 } }));
          summaries.set(s.id, st.summary);
          if (TERMINAL_SUBMISSION.includes(st.submission.status)) finished.current.set(s.id, st.summary);
        }),
      );
      return { page, summaries };
    },
    [status, pages.cursor],
    // live while anything on this page is still moving; new submissions show up within IDLE_POLL_MS
    {
      pollMs: POLL_MS,
      keepPolling: (d) => d.page.items.some((s) => !TERMINAL_SUBMISSION.includes(s.status)) || IDLE_POLL_MS,
    },
  );

  return (
    <section>
      <div class="page-head">
        <h1>Submissions</h1>
        <div class="filters">
          <label for="status-filter">Status</label>
          <select
            id="status-filter"
            data-search
            value={status}
            onChange={(e) => setQuery({ status: e.currentTarget.value })}
          >
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </div>
      </div>
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? (
        <Loading what="submissions" />
      ) : list.data && list.data.page.items.length === 0 ? (
        <p class="empty">No submissions{status ? ` with status ${status}` : ""} yet.</p>
      ) : (
        list.data && (
          <TableWrap label="Submissions">
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Submitted</th>
                  <th scope="col">Source</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    Entities
                  </th>
                  <th scope="col" class="wide">
                    Progress
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.page.items.map((s) => {
                  const summary = list.data!.summaries.get(s.id);
                  return (
                    <tr key={s.id}>
                      <td>
                        <Link to={`/submissions/${s.id}`} data-row-link>
                          <Time at={s.created_at} />
                        </Link>
                      </td>
                      <td>{s.source ?? <span class="muted">—</span>}</td>
                      <td>
                        <Badge status={s.status} />
                      </td>
                      <td class="num">{s.entity_count}</td>
                      <td class="wide">
                        {summary && <Progress summary={summary} label={`Progress of submission ${s.id.slice(0, 8)}`} />}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        )
      )}
      <Pager label="Submission pages" pages={pages} nextCursor={list.data?.page.next_cursor} />
    </section>
  );
}
