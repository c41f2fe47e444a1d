import { api, type Schemas, unwrap } from "../api/client";
import {
  Badge,
  ErrorNote,
  Json,
  Link,
  Loading,
  ms,
  short,
  TableWrap,
  TERMINAL_RUN,
  Time,
  useLoad,
} from "../ui";
import { entityLabel, fanOutText } from "./submission";

type Attempt = Schemas["OperationAttempt"];
type OperationRun = Schemas["OperationRunDetail"];

// cost per attempt arrives with the cost ledger (CONTRACT §9.4); shown when the API answers it
const COST_FIELDS = ["cost_credits", "cost_usd"] as const;

function costOf(a: Attempt, field: (typeof COST_FIELDS)[number]): string {
  const v = (a as Record<string, unknown>)[field];
  if (v === null || v === undefined) return "—";
  return field === "cost_usd" ? `$${Number(v).toFixed(4)}` : String(v);
}

async function loadRun(id: string) {
  const [run, steps] = await Promise.all([
    unwrap(api.POST("/api/pipeline-runs/get", { body: { pipeline_run_id: id } })),
    unwrap(api.POST("/api/step-results/list", { body: { pipeline_run_id: id } })),
  ]);
  const operations = new Map<string, OperationRun>();
  await Promise.all(
    steps.items
      .filter((s) => s.operation_run_id)
      .map(async (s) => {
        const op = await unwrap(api.POST("/api/operation-runs/get", { body: { run_id: s.operation_run_id! } }));
        operations.set(s.operation_run_id!, op);
      }),
  );
  return { run, steps: steps.items, operations };
}

export function RunPage({ id }: { id: string }) {
  const state = useLoad(() => loadRun(id), [id], {
    pollMs: 2000,
    keepPolling: (d) => !TERMINAL_RUN.includes(d.run.status),
  });
  if (state.loading && !state.data) return <Loading what="the run" />;
  if (!state.data)
    return (
      <section>
        <h1>Run</h1>
        <ErrorNote error={state.error} />
      </section>
    );
  const { run, steps, operations } = state.data;
  const label = entityLabel(run.final_context) ?? entityLabel(run.input);
  return (
    <section>
      <p class="crumbs">
        <Link to="/submissions">Submissions</Link> /{" "}
        <Link to={`/submissions/${run.submission_id}`}>{short(run.submission_id)}</Link> / run #{run.entity_index}
      </p>
      <h1>
        Run #{run.entity_index} {label && <span class="muted">{label}</span>} <Badge status={run.status} />
      </h1>
      <ErrorNote error={state.error} />
      {run.error_message && (
        <div class="note note-error" role="note" aria-label="Why the run failed">
          <strong>Failed:</strong> <span class="run-error">{run.error_message}</span>
        </div>
      )}
      <dl class="facts">
        <dt>Entity type</dt>
        <dd>{run.entity_type}</dd>
        <dt>Started</dt>
        <dd>
          <Time at={run.started_at} />
        </dd>
        <dt>Finished</dt>
        <dd>
          <Time at={run.finished_at} />
        </dd>
        <dt>Attempt</dt>
        <dd>{run.attempt}</dd>
        {run.parent_pipeline_run_id && (
          <>
            <dt>Fanned out from</dt>
            <dd>
              <Link to={`/runs/${run.parent_pipeline_run_id}`}>run {short(run.parent_pipeline_run_id)}</Link>
            </dd>
          </>
        )}
      </dl>
      <div class="two">
        <Json value={run.input} summary="Input" />
        <Json value={run.final_context} summary="Final context" />
      </div>

      <h2>Steps</h2>
      <ol class="step-cards">
        {steps.map((st) => {
          const op = st.operation_run_id ? operations.get(st.operation_run_id) : undefined;
          return (
            <li key={st.id} class="card">
              <h3>
                {st.position}. {st.operation_id} <Badge status={st.status} />
                {op?.cached && <span class="tag">cached</span>}
              </h3>
              {st.skip_reason && (
                <p>
                  <strong>Skipped:</strong> {st.skip_reason.replace(/_/g, " ")}
                </p>
              )}
              {st.error_message && (
                <p class="error-text">
                  <strong>Error:</strong> {st.error_message}
                </p>
              )}
              {st.fan_out && <p>{fanOutText(st.fan_out)}</p>}
              {op && <Attempts op={op} />}
              <div class="two">
                <Json value={st.output} summary="Output" />
                <Json value={st.context_after} summary="Context after this step" />
              </div>
            </li>
          );
        })}
      </ol>
      <Json value={run.blueprint_snapshot} summary={`Blueprint as frozen for this run (${run.blueprint_version})`} />
    </section>
  );
}

function Attempts({ op }: { op: OperationRun }) {
  const attempts = op.provider_attempts as Attempt[];
  const costs = COST_FIELDS.filter((f) => attempts.some((a) => f in a));
  return (
    <>
      <p class="muted">
        Operation run <code>{short(op.id)}</code>: {op.status}, {ms(op.duration_ms)}
        {op.cached && op.cached_from_run_id && <> · answered from run {short(op.cached_from_run_id)}</>}
        {op.missing_inputs.length > 0 && <> · missing inputs: {op.missing_inputs.join(", ")}</>}
      </p>
      {attempts.length === 0 ? (
        <p class="muted">No provider was called.</p>
      ) : (
        <TableWrap label={`Provider attempts of step ${op.step_position ?? ""}`}>
          <table class="list attempts">
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Action</th>
                <th scope="col">Status</th>
                <th scope="col">HTTP</th>
                <th scope="col" class="num">
                  Duration
                </th>
                {costs.map((c) => (
                  <th scope="col" class="num" key={c}>
                    {c === "cost_usd" ? "Cost (USD)" : "Cost (credits)"}
                  </th>
                ))}
                <th scope="col">Raw answer</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr key={a.position}>
                  <td>{a.provider}</td>
                  <td>{a.action}</td>
                  <td>
                    <Badge status={a.status} />
                    {a.skip_reason && <span class="skip"> {a.skip_reason.replace(/_/g, " ")}</span>}
                    {a.provider_status && <span class="muted"> ({a.provider_status})</span>}
                  </td>
                  <td>{a.http_status ?? "—"}</td>
                  <td class="num">{ms(a.duration_ms)}</td>
                  {costs.map((c) => (
                    <td class="num" key={c}>
                      {costOf(a, c)}
                    </td>
                  ))}
                  <td>
                    {a.raw_response === null || a.raw_response === undefined ? (
                      <span class="muted">none</span>
                    ) : (
                      <Json value={a.raw_response} summary="Show" />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}
