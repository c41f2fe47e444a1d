import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type Schemas, unwrap } from "../api/client";
import { canAdminister } from "../roles";
import { setQuery, useLocation } from "../router";
import { session } from "../session";
import { ErrorNote, Loading, short, TableWrap, useLoad } from "../ui";
import { costText, daysBetween, type Figures, isoDay, usdText } from "../usage";

type Item = Schemas["UsageItem"];
type GroupBy = "day" | "provider" | "operation" | "company";
const GROUPS: GroupBy[] = ["day", "provider", "operation", "company"];
const DEFAULT_DAYS = 30;

export function UsagePage() {
  const me = session.me()!;
  const loc = useLocation();
  const today = isoDay(new Date());
  const defaultFrom = isoDay(new Date(Date.now() - (DEFAULT_DAYS - 1) * 86_400_000));
  const from = loc.query.get("from") || defaultFrom;
  const to = loc.query.get("to") || today;
  const [draft, setDraft] = useState({ from, to });
  useEffect(() => setDraft({ from, to }), [from, to]);

  const summaries = useLoad(
    () =>
      Promise.all(
        GROUPS.map((group_by) => unwrap(api.POST("/api/usage/summary", { body: { from, to, group_by } }))),
      ),
    [from, to],
  );
  const companies = useLoad(
    () => unwrap(api.POST("/api/companies/list", { body: { limit: 500 } })).catch(() => null),
    [],
  );
  const companyName = (id: string | null) =>
    id === null ? "Org-wide calls" : (companies.data?.items.find((c) => c.id === id)?.name ?? short(id));

  const apply = (e: Event) => {
    e.preventDefault();
    setQuery({ from: draft.from, to: draft.to });
  };
  const error = summaries.error instanceof ApiError ? summaries.error : null;
  const [byDay, byProvider, byOperation, byCompany] = summaries.data ?? [];
  return (
    <section>
      <h1>Usage</h1>
      <form class="filters range" onSubmit={apply}>
        <div>
          <label for="usage-from">From</label>
          <input
            id="usage-from"
            type="date"
            value={draft.from}
            onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })}
            aria-invalid={error?.fields().includes("from") ? "true" : undefined}
          />
        </div>
        <div>
          <label for="usage-to">To (inclusive)</label>
          <input
            id="usage-to"
            type="date"
            value={draft.to}
            onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })}
            aria-invalid={error?.fields().includes("to") ? "true" : undefined}
          />
        </div>
        <button type="submit">Show</button>
      </form>
      <p class="muted small-print">
        {me.auth.company_id ? "Your company's calls." : "Every call of the organization."} Days are UTC. Credits are
        each provider's own unit: compare them within a provider. A cost the provider does not document is
        "unknown", not 0.
      </p>
      <ErrorNote error={summaries.error} />
      {summaries.loading && !summaries.data ? (
        <Loading what="usage" />
      ) : (
        byDay && (
          <>
            <Totals totals={byDay.totals} />
            <DayChart items={byDay.items} from={from} to={to} />
            <UsageTable title="By provider" keyLabel="Provider" items={byProvider!.items} name={(k) => k ?? "—"} />
            <UsageTable title="By operation" keyLabel="Operation" items={byOperation!.items} name={(k) => k ?? "—"} />
            <UsageTable title="By company" keyLabel="Company" items={byCompany!.items} name={companyName} />
          </>
        )
      )}
      {canAdminister(me) && <Budgets companies={companies.data?.items ?? []} />}
    </section>
  );
}

function Totals({ totals }: { totals: Figures }) {
  return (
    <dl class="totals">
      <div>
        <dt>Calls</dt>
        <dd>{totals.calls.toLocaleString()}</dd>
      </div>
      <div>
        <dt>Billable</dt>
        <dd>{totals.billable_calls.toLocaleString()}</dd>
      </div>
      <div>
        <dt>From the cache</dt>
        <dd>{totals.cached_calls.toLocaleString()}</dd>
      </div>
      <div>
        <dt>Unknown cost</dt>
        <dd>{totals.unpriced_calls.toLocaleString()}</dd>
      </div>
      <div>
        <dt>USD</dt>
        <dd>{usdText(totals)}</dd>
      </div>
    </dl>
  );
}

function DayChart({ items, from, to }: { items: Item[]; from: string; to: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const days = daysBetween(from, to);
  const byDay = new Map(items.map((i) => [i.key, i]));
  const at = (d: string) => byDay.get(d);
  const total = items.reduce((n, i) => n + i.calls, 0);

  useEffect(() => {
    let chart: { destroy(): void } | null = null;
    let alive = true;
    void import("../chart").then(({ Chart }) => {
      if (!alive || !canvas.current) return;
      chart = new Chart(canvas.current, {
      data: {
        labels: days,
        datasets: [
          {
            type: "bar",
            label: "Billable calls",
            data: days.map((d) => at(d)?.billable_calls ?? 0),
            backgroundColor: "#0a58ca",
            stack: "calls",
          },
          {
            type: "bar",
            label: "Free or unknown-cost calls",
            data: days.map((d) => {
              const i = at(d);
              return i ? i.calls - i.billable_calls - i.cached_calls : 0;
            }),
            backgroundColor: "#8c959f",
            stack: "calls",
          },
          {
            type: "bar",
            label: "Cached answers",
            data: days.map((d) => at(d)?.cached_calls ?? 0),
            backgroundColor: "#1a7f37",
            stack: "calls",
          },
          {
            type: "line",
            label: "USD (known)",
            // a day whose USD is unknown is a gap in the line, not a 0
            data: days.map((d) => {
              const i = at(d);
              return !i ? 0 : usdText(i) === "unknown" ? null : i.usd;
            }),
            spanGaps: false,
            borderColor: "#b42318",
            backgroundColor: "#b42318",
            yAxisID: "usd",
            pointRadius: 2,
          },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: "calls" }, ticks: { precision: 0 } },
          usd: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "USD" } },
        },
        plugins: { legend: { position: "bottom" } },
      },
      });
    });
    return () => {
      alive = false;
      chart?.destroy();
    };
  }, [items, from, to]);

  return (
    <figure class="chart">
      <figcaption>
        <h2>Calls by day</h2>
      </figcaption>
      <div class="chart-box">
        <canvas
          ref={canvas}
          role="img"
          aria-label={`Calls by UTC day from ${from} to ${to}: ${total} in all. The table "By day" below has the figures.`}
        />
      </div>
      <details class="json">
        <summary>By day as a table</summary>
        <UsageTable title="By day" keyLabel="Day" items={items} name={(k) => k ?? "—"} bare />
      </details>
    </figure>
  );
}

function UsageTable(props: {
  title: string;
  keyLabel: string;
  items: Item[];
  name: (key: string | null) => string;
  bare?: boolean;
}) {
  const table = (
    <TableWrap label={props.title}>
      <table class="list">
        <thead>
          <tr>
            <th scope="col">{props.keyLabel}</th>
            <th scope="col" class="num">
              Calls
            </th>
            <th scope="col" class="num">
              Billable
            </th>
            <th scope="col" class="num">
              Cached
            </th>
            <th scope="col" class="num">
              Unknown cost
            </th>
            <th scope="col" class="num">
              Credits
            </th>
            <th scope="col" class="num">
              USD
            </th>
          </tr>
        </thead>
        <tbody>
          {props.items.map((i) => (
            <tr key={i.key ?? "null"}>
              <th scope="row">{props.name(i.key)}</th>
              <td class="num">{i.calls.toLocaleString()}</td>
              <td class="num">{i.billable_calls.toLocaleString()}</td>
              <td class="num">{i.cached_calls.toLocaleString()}</td>
              <td class="num">{i.unpriced_calls.toLocaleString()}</td>
              <td class="num">{costText(i.credits, i, 2)}</td>
              <td class="num">{usdText(i)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
  if (props.bare) return table;
  return (
    <>
      <h2>{props.title}</h2>
      {props.items.length ? table : <p class="empty">No calls in this range.</p>}
    </>
  );
}

function money(v: number | null | undefined): string {
  return v === null || v === undefined ? "no limit" : `$${v.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`;
}

/** The monthly USD limit of the org or one company (org_admin only, as the API allows). */
function Budgets({ companies }: { companies: Schemas["Company"][] }) {
  const [scope, setScope] = useState("");
  const budget = useLoad(
    () => unwrap(api.POST("/api/budgets/get", { body: { company_id: scope || null } })),
    [scope],
  );
  const [limit, setLimit] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const limitError = error && error.fields().some((f) => f === "limit_usd" || f.startsWith("limit_usd.")) ? error : null;

  useEffect(() => {
    const l = budget.data?.limit_usd;
    setLimit(l === null || l === undefined ? "" : String(l));
    setError(null);
  }, [budget.data]);
  useEffect(() => setSaved(false), [scope]);

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await unwrap(
        api.POST("/api/budgets/set", { body: { company_id: scope || null, limit_usd: limit.trim(), period: "month" } }),
      );
      setError(null);
      budget.reload();
      setSaved(true);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, "error", String(err), null));
      setSaved(false);
      document.getElementById("budget-limit")?.focus();
    } finally {
      setBusy(false);
    }
  };
  const b = budget.data;
  return (
    <section aria-labelledby="budgets-h">
      <h2 id="budgets-h">Monthly budget</h2>
      <p class="muted small-print">
        Once the known spend of the month reaches the limit, no further provider call is made (docs: costs). Calls of
        unknown cost are not counted.
      </p>
      <ErrorNote error={budget.error} />
      <form class="card inline-form" onSubmit={save} noValidate>
        <div class="grid">
          <div>
            <label for="budget-scope">Applies to</label>
            <select id="budget-scope" value={scope} onChange={(e) => setScope(e.currentTarget.value)}>
              <option value="">The whole organization</option>
              {companies.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="budget-limit">Monthly limit (USD)</label>
            <input
              id="budget-limit"
              inputMode="decimal"
              value={limit}
              placeholder="no limit"
              onInput={(e) => {
                setLimit(e.currentTarget.value);
                setSaved(false);
              }}
              aria-invalid={limitError ? "true" : undefined}
              aria-describedby={limitError ? "budget-limit-error" : undefined}
            />
            {limitError && (
              <p class="field-error" id="budget-limit-error">
                {limitError.fieldMessages().find(([f]) => f.startsWith("limit_usd"))?.[1] ?? limitError.message}
              </p>
            )}
          </div>
        </div>
        {error && !limitError && (
          <p class="note note-error" role="alert">
            {error.message}
          </p>
        )}
        {b && (
          <dl class="facts">
            <dt>Budget of</dt>
            <dd>{b.company_id ? (companies.find((c) => c.id === b.company_id)?.name ?? short(b.company_id)) : "the organization"}</dd>
            <dt>Period</dt>
            <dd>
              month from {b.period_start} (UTC)
            </dd>
            <dt>Limit</dt>
            <dd>{money(b.limit_usd)}</dd>
            <dt>Spent</dt>
            <dd>{money(b.spent_usd)}</dd>
            <dt>Held by calls in flight</dt>
            <dd>{money(b.reserved_usd)}</dd>
            <dt>Remaining</dt>
            <dd>{b.remaining_usd === null ? "no limit" : money(b.remaining_usd)}</dd>
          </dl>
        )}
        <button type="submit" class="primary" disabled={busy || !limit.trim()}>
          {busy ? "Saving…" : "Set limit"}
        </button>
        {saved && (
          <span class="muted" role="status">
            {" "}
            Saved.
          </span>
        )}
      </form>
    </section>
  );
}
