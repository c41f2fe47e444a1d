import { useEffect, useState } from "preact/hooks";
import { api, type Schemas, unwrap } from "../api/client";
import { setQuery, useLocation } from "../router";
import { ErrorNote, Json, Link, Loading, Pager, short, TableWrap, Time, useCursorPages, useLoad } from "../ui";

type Company = Schemas["CompanyEntity"];
type Person = Schemas["PersonEntity"];
type Filters = Schemas["EntityFilters"];
type Kind = "company" | "person";

// what a list row was, for the page it opens (there is no entity get endpoint; a deep link
// rebuilds the current values from the versions instead)
const seen = new Map<string, Company | Person>();

/** What the search box means: an email, a LinkedIn URL, a domain, or else a name. */
export function filtersFor(kind: Kind, q: string): { filters: Filters; by: string } | null {
  const v = q.trim();
  if (!v) return null;
  if (kind === "person" && v.includes("@")) return { filters: { email: v }, by: "work email" };
  if (/linkedin\.com\//i.test(v)) return { filters: { linkedin_url: v }, by: "LinkedIn URL" };
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(v)) return { filters: { domain: v }, by: "domain" };
  return { filters: { name: v }, by: "name" };
}

export function EntitiesPage() {
  const loc = useLocation();
  const kind: Kind = loc.query.get("type") === "person" ? "person" : "company";
  const q = loc.query.get("q") ?? "";
  const [draft, setDraft] = useState(q);
  useEffect(() => setDraft(q), [q]);
  const search = filtersFor(kind, q);
  const pages = useCursorPages(`${kind}|${q}`);

  const list = useLoad(async () => {
    const body = { limit: 50, cursor: pages.cursor, filters: search?.filters ?? null };
    if (kind === "company") return unwrap(api.POST("/api/v1/entities/companies", { body }));
    return unwrap(api.POST("/api/v1/entities/persons", { body }));
  }, [kind, q, pages.cursor]);

  return (
    <section>
      <div class="page-head">
        <h1>Entities</h1>
      </div>
      <div class="tabs" role="group" aria-label="Entity type">
        {(["company", "person"] as Kind[]).map((k) => (
          <button
            type="button"
            key={k}
            aria-pressed={kind === k}
            onClick={() => setQuery({ type: k === "company" ? null : k, q: null })}
          >
            {k === "company" ? "Companies" : "People"}
          </button>
        ))}
      </div>
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ q: draft });
        }}
      >
        <label for="entity-search">Search {kind === "company" ? "companies" : "people"}</label>
        <input
          id="entity-search"
          type="search"
          data-search
          placeholder={kind === "company" ? "name, domain or LinkedIn URL" : "name, email, company domain or LinkedIn URL"}
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
          aria-describedby="search-hint"
        />
        <button type="submit">Search</button>
        <span id="search-hint" class="muted">
          {search ? `Searching by ${search.by}.` : "Press / to search."}
        </span>
      </form>
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? (
        <Loading what="entities" />
      ) : list.data && list.data.items.length === 0 ? (
        <p class="empty">No {kind === "company" ? "companies" : "people"} found.</p>
      ) : (
        list.data && (
          <TableWrap label={kind === "company" ? "Companies" : "People"}>
            <table class="list">
              <thead>
                {kind === "company" ? (
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Domain</th>
                    <th scope="col">LinkedIn</th>
                    <th scope="col" class="num">
                      Version
                    </th>
                    <th scope="col">Updated</th>
                  </tr>
                ) : (
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Work email</th>
                    <th scope="col">Company domain</th>
                    <th scope="col" class="num">
                      Version
                    </th>
                    <th scope="col">Updated</th>
                  </tr>
                )}
              </thead>
              <tbody>
                {list.data.items.map((item) => {
                  const c = item as Company;
                  const p = item as Person;
                  const name = kind === "company" ? c.name : p.full_name;
                  return (
                    <tr key={item.id}>
                      <td>
                        <Link to={`/entities/${kind}/${item.id}`} data-row-link onClick={() => seen.set(item.id, item)}>
                          {name ?? <span class="muted">(no name) {short(item.id)}</span>}
                        </Link>
                      </td>
                      <td>{(kind === "company" ? c.domain : p.work_email) ?? "—"}</td>
                      <td class="clip">{(kind === "company" ? c.linkedin_url : p.company_domain) ?? "—"}</td>
                      <td class="num">{item.record_version}</td>
                      <td>
                        <Time at={item.updated_at} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        )
      )}
      <Pager label="Entity pages" pages={pages} nextCursor={list.data?.next_cursor} />
    </section>
  );
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function EntityPage({ type, id }: { type: string; id: string }) {
  const kind: Kind = type === "person" ? "person" : "company";
  const state = useLoad(async () => {
    const body = { entity_type: kind, entity_id: id, limit: 100 };
    const [versions, timeline] = await Promise.all([
      unwrap(api.POST("/api/v1/entities/versions", { body })),
      unwrap(api.POST("/api/v1/entities/timeline", { body })),
    ]);
    return { versions: versions.items, timeline: timeline.items };
  }, [kind, id]);

  const known = seen.get(id);
  if (state.loading && !state.data) return <Loading what="the entity" />;
  if (!state.data)
    return (
      <section>
        <h1>Entity</h1>
        <ErrorNote error={state.error} />
      </section>
    );
  const { versions, timeline } = state.data;
  // the record as its versions built it, oldest first
  const current: Record<string, unknown> = {};
  for (const v of [...versions].sort((a, b) => a.record_version - b.record_version)) {
    for (const [field, change] of Object.entries(v.changes)) current[field] = change.to;
  }
  const title =
    show((known as Company | undefined)?.name ?? (known as Person | undefined)?.full_name ?? current.name ?? current.full_name);
  return (
    <section>
      <p class="crumbs">
        <Link to={`/entities${kind === "person" ? "?type=person" : ""}`}>Entities</Link> / {short(id)}
      </p>
      <h1>
        {title === "—" ? `${kind === "company" ? "Company" : "Person"} ${short(id)}` : title}{" "}
        <span class="muted">{kind}</span>
      </h1>
      <h2>Current values</h2>
      {known ? (
        <Json value={known} summary="Record" open />
      ) : (
        <Json value={current} summary="Record, as built by its versions" open />
      )}
      <h2>Versions</h2>
      {versions.length === 0 ? (
        <p class="empty">No versions recorded.</p>
      ) : (
        <ol class="versions">
          {versions.map((v) => (
            <li key={v.record_version} class="card">
              <h3>
                Version {v.record_version} · <Time at={v.at} /> ·{" "}
                <Link to={`/runs/${v.pipeline_run_id}`}>run {short(v.pipeline_run_id)}</Link>
              </h3>
              <TableWrap label={`Changes in version ${v.record_version}`}>
                <table class="list changes">
                  <thead>
                    <tr>
                      <th scope="col">Field</th>
                      <th scope="col">Before</th>
                      <th scope="col">After</th>
                    </tr>
                  </thead>
                  <tbody>
                    {Object.entries(v.changes).map(([field, change]) => (
                      <tr key={field}>
                        <th scope="row">{field}</th>
                        <td class="clip">{show(change.from)}</td>
                        <td class="clip">{show(change.to)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            </li>
          ))}
        </ol>
      )}
      <h2>Timeline</h2>
      {timeline.length === 0 ? (
        <p class="empty">No steps recorded for this entity.</p>
      ) : (
        <TableWrap label="Timeline">
          <table class="list">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Step</th>
                <th scope="col">Status</th>
                <th scope="col">Provider</th>
                <th scope="col">Fields changed</th>
              </tr>
            </thead>
            <tbody>
              {timeline.map((e, i) => (
                <tr key={i}>
                  <td>
                    <Link to={`/runs/${e.pipeline_run_id}`}>
                      <Time at={e.at} />
                    </Link>
                  </td>
                  <td>
                    {e.position}. {e.operation_id}
                  </td>
                  <td>
                    {e.status}
                    {e.skip_reason && <span class="skip"> {e.skip_reason.replace(/_/g, " ")}</span>}
                    {e.cached && <span class="tag">cached</span>}
                  </td>
                  <td>{e.provider ?? "—"}</td>
                  <td>{e.fields_changed.join(", ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}
