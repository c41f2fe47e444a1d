import { useEffect, useRef, useState } from "preact/hooks";
import {
  api,
  ApiError,
  type CsvPreview,
  type CsvSubmitResult,
  downloadResults,
  previewCsv,
  submitCsv,
  unwrap,
} from "../api/client";
import { type CsvSample, sampleCsv } from "../csv";
import { canRunBatches } from "../roles";
import { session } from "../session";
import { ErrorNote, Link, Loading, Progress, short, TableWrap, TERMINAL_SUBMISSION, useLoad } from "../ui";

const IGNORE = "";
const POLL_MS = 2000;

interface RowProblem {
  row: number;
  line: number;
  reasons: string[];
}

/** How the API read the columns: from a dry run's answer, or from the details of its 400. */
interface Reading {
  columns: Record<string, string>;
  fields: string[];
}

function readingOf(preview: CsvPreview | null, error: ApiError | null): Reading | null {
  if (preview) return { columns: preview.columns, fields: preview.fields };
  const d = error?.details as Record<string, unknown> | null | undefined;
  if (!d || !Array.isArray(d.fields)) return null;
  const columns: Record<string, string> = {};
  if (d.columns && typeof d.columns === "object" && !Array.isArray(d.columns)) {
    Object.assign(columns, d.columns as Record<string, string>);
  }
  if (d.duplicates && typeof d.duplicates === "object") {
    for (const [field, cols] of Object.entries(d.duplicates as Record<string, string[]>)) {
      for (const c of cols) columns[c] = field;
    }
  }
  return { columns, fields: d.fields as string[] };
}

function rowProblems(error: ApiError | null): { count: number; rows: RowProblem[] } | null {
  if (error?.code !== "invalid_rows") return null;
  const d = error.details as { count?: number; rows?: RowProblem[] };
  return { count: d.count ?? d.rows?.length ?? 0, rows: d.rows ?? [] };
}

export function CsvPage() {
  const me = session.me()!;
  if (!canRunBatches(me)) {
    return (
      <section>
        <h1>Upload a CSV</h1>
        <p>
          Your role can look at submissions but not start them. Results of earlier uploads are on{" "}
          <Link to="/submissions">Submissions</Link>.
        </p>
      </section>
    );
  }
  return <CsvUploader orgWide={me.auth.company_id == null} />;
}

function CsvUploader({ orgWide }: { orgWide: boolean }) {
  const blueprints = useLoad(() => unwrap(api.POST("/api/blueprints/list", { body: { limit: 500 } })), []);
  const companies = useLoad(
    () => (orgWide ? unwrap(api.POST("/api/companies/list", { body: { limit: 500 } })) : Promise.resolve(null)),
    [orgWide],
  );
  const [blueprintId, setBlueprintId] = useState("");
  const [companyId, setCompanyId] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [sample, setSample] = useState<CsvSample | null>(null);
  const [mapping, setMapping] = useState<Record<string, string | null>>({});
  const [preview, setPreview] = useState<CsvPreview | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [checking, setChecking] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [submitted, setSubmitted] = useState<CsvSubmitResult | null>(null);
  const errorsRef = useRef<HTMLDivElement>(null);
  const active = (blueprints.data?.items ?? []).filter((b) => b.is_active);

  useEffect(() => {
    if (!blueprintId && active.length) setBlueprintId(active[0]!.id);
  }, [active.length]);
  useEffect(() => {
    const first = companies.data?.items[0];
    if (orgWide && !companyId && first) setCompanyId(first.id);
  }, [companies.data]);

  // every change of what would be uploaded asks the API again how it reads it (a dry run)
  useEffect(() => {
    if (!file || !blueprintId || (orgWide && !companyId)) return;
    let current = true;
    setChecking(true);
    previewCsv({ file, blueprintId, companyId: orgWide ? companyId : null, mapping })
      .then((p) => current && (setPreview(p), setError(null)))
      .catch((e: unknown) => current && (setPreview(null), setError(asApiError(e))))
      .finally(() => current && setChecking(false));
    return () => {
      current = false;
    };
  }, [file, blueprintId, companyId, mapping]);

  const chooseFile = async (f: File | null) => {
    setFile(f);
    setMapping({});
    setPreview(null);
    setError(null);
    setSubmitted(null);
    setSample(f ? await sampleCsv(f) : null);
  };

  const upload = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setSubmitting(true);
    try {
      setSubmitted(await submitCsv({ file, blueprintId, companyId: orgWide ? companyId : null, mapping }));
      setError(null);
    } catch (err) {
      setError(asApiError(err));
      errorsRef.current?.focus();
    } finally {
      setSubmitting(false);
    }
  };

  if (submitted) {
    return <Progressing result={submitted} fileName={file?.name ?? "the file"} onAnother={() => void chooseFile(null)} />;
  }

  const reading = readingOf(preview, error);
  const problems = rowProblems(error);
  const fieldOf = (column: string): string =>
    column in mapping ? (mapping[column] ?? IGNORE) : (reading?.columns[column] ?? IGNORE);
  const loadError = blueprints.error ?? companies.error;

  return (
    <section class="csv">
      <h1>Upload a CSV</h1>
      <p class="muted">
        Each row becomes one entity run through the blueprint. Columns are matched to fields by the API; check the
        mapping below before you upload.
      </p>
      <ErrorNote error={loadError} />
      {blueprints.loading && !blueprints.data ? (
        <Loading what="blueprints" />
      ) : (
        <form class="card" onSubmit={upload}>
          <div class="inline-form">
            <div class="grid">
              <div>
                <label for="csv-blueprint">Blueprint</label>
                <select id="csv-blueprint" value={blueprintId} onChange={(e) => setBlueprintId(e.currentTarget.value)}>
                  {active.map((b) => (
                    <option key={b.id} value={b.id}>
                      {b.name} ({b.entity_type})
                    </option>
                  ))}
                </select>
              </div>
              {orgWide && (
                <div>
                  <label for="csv-company">Company</label>
                  <select id="csv-company" value={companyId} onChange={(e) => setCompanyId(e.currentTarget.value)}>
                    {(companies.data?.items ?? []).map((c) => (
                      <option key={c.id} value={c.id}>
                        {c.name}
                      </option>
                    ))}
                  </select>
                </div>
              )}
              <div>
                <label for="csv-file">CSV file</label>
                <input
                  id="csv-file"
                  type="file"
                  accept=".csv,text/csv"
                  aria-describedby="csv-file-help"
                  onChange={(e) => void chooseFile(e.currentTarget.files?.[0] ?? null)}
                />
                <p id="csv-file-help" class="muted small-print">
                  UTF-8 with a header row; up to 10,000 rows.
                </p>
              </div>
            </div>
          </div>
          {active.length === 0 && blueprints.data && (
            <p class="note">
              There is no active blueprint to run rows through. <Link to="/blueprints">Blueprints</Link>
            </p>
          )}

          <div ref={errorsRef} tabIndex={-1} class="csv-errors">
            {error && !problems && (
              <div class="note note-error" role="alert">
                <strong>{error.message}</strong> <span class="muted">({error.code})</span>
              </div>
            )}
            {problems && (
              <div class="note note-error" role="alert">
                <strong>
                  {problems.count} {problems.count === 1 ? "row" : "rows"} cannot be submitted
                </strong>
                : fix the file or the mapping. Nothing has been created.
              </div>
            )}
          </div>
          {problems && (
            <TableWrap label="Rows that cannot be submitted">
              <table class="list">
                <caption class="sr-only">Rows that cannot be submitted</caption>
                <thead>
                  <tr>
                    <th scope="col" class="num">
                      Row
                    </th>
                    <th scope="col" class="num">
                      Line
                    </th>
                    <th scope="col">Problem</th>
                  </tr>
                </thead>
                <tbody>
                  {problems.rows.map((p) => (
                    <tr key={p.row}>
                      <td class="num">{p.row}</td>
                      <td class="num">{p.line}</td>
                      <td class="error-cell">{p.reasons.join("; ")}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
          {problems && problems.count > problems.rows.length && (
            <p class="muted">
              The first {problems.rows.length} are listed. Row 1 is the first row after the header; line is the
              file's line.
            </p>
          )}

          {sample && (
            <>
              <h2>Column mapping</h2>
              <p class="muted" aria-live="polite">
                {checking
                  ? "Checking the file with the API…"
                  : preview
                    ? `${preview.rows} ${preview.rows === 1 ? "row" : "rows"} ready, each a ${preview.entity_type}.`
                    : reading
                      ? "How the API read the columns:"
                      : ""}
              </p>
              <TableWrap label="Column mapping">
                <table class="list mapping">
                  <thead>
                    <tr>
                      <th scope="col">Column</th>
                      <th scope="col">First values</th>
                      <th scope="col">Field</th>
                    </tr>
                  </thead>
                  <tbody>
                    {sample.header.map((column, i) => (
                      <tr key={i}>
                        <th scope="row">{column}</th>
                        <td class="samples">
                          {sample.rows
                            .slice(0, 3)
                            .map((r) => r[i] ?? "")
                            .filter((v) => v.trim())
                            .join(" · ") || <span class="muted">empty</span>}
                        </td>
                        <td>
                          <select
                            aria-label={`Field for column ${column}`}
                            value={fieldOf(column)}
                            disabled={!reading}
                            onChange={(e) => {
                              const v = e.currentTarget.value;
                              setMapping((m) => ({ ...m, [column]: v === IGNORE ? null : v }));
                            }}
                          >
                            <option value={IGNORE}>— not submitted —</option>
                            {(reading?.fields ?? []).map((f) => (
                              <option key={f} value={f}>
                                {f}
                              </option>
                            ))}
                          </select>
                          {column in mapping && <span class="tag">edited</span>}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            </>
          )}
          <div class="row-actions">
            <button type="submit" class="primary" disabled={!preview || checking || submitting}>
              {submitting ? "Uploading…" : preview ? `Upload ${preview.rows} ${preview.rows === 1 ? "row" : "rows"}` : "Upload"}
            </button>
            {Object.keys(mapping).length > 0 && (
              <button type="button" onClick={() => setMapping({})}>
                Reset mapping
              </button>
            )}
          </div>
        </form>
      )}
    </section>
  );
}

function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(0, "error", String(e), null);
}

function Progressing(props: { result: CsvSubmitResult; fileName: string; onAnother: () => void }) {
  const id = props.result.submission_id;
  const state = useLoad(
    () => unwrap(api.POST("/api/v1/batch/status", { body: { submission_id: id, limit: 1 } })),
    [id],
    { pollMs: POLL_MS, keepPolling: (d) => !TERMINAL_SUBMISSION.includes(d.submission.status) },
  );
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState<unknown>(null);
  const finished = state.data && TERMINAL_SUBMISSION.includes(state.data.submission.status);
  const download = async () => {
    setDownloading(true);
    try {
      await downloadResults(id);
      setDownloadError(null);
    } catch (e) {
      setDownloadError(e);
    } finally {
      setDownloading(false);
    }
  };
  return (
    <section class="csv">
      <h1>Upload a CSV</h1>
      <div class="note note-ok" role="status">
        {props.fileName}: {props.result.pipeline_run_ids.length} rows submitted as submission{" "}
        <Link to={`/submissions/${id}`}>{short(id)}</Link>.
        {props.result.ignored_columns.length > 0 && <> Not submitted: {props.result.ignored_columns.join(", ")}.</>}
      </div>
      <ErrorNote error={state.error ?? downloadError} />
      {state.data && (
        <>
          <Progress summary={state.data.summary} label="Upload progress" />
          <p class="counts" aria-live="polite">
            {finished ? `Finished: ${state.data.submission.status}.` : "Running; this page follows it."}
          </p>
        </>
      )}
      <div class="row-actions">
        <button type="button" class="primary" onClick={download} disabled={!finished || downloading}>
          {downloading ? "Preparing…" : "Download results CSV"}
        </button>
        <button type="button" onClick={props.onAnother}>
          Upload another file
        </button>
      </div>
      {!finished && <p class="muted">The results can be downloaded once every row has finished.</p>}
    </section>
  );
}
