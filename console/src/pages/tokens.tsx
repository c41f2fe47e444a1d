import { useState } from "preact/hooks";
import { api, ApiError, type Role, type Schemas, unwrap } from "../api/client";
import { Badge, ErrorNote, Loading, Pager, short, TableWrap, Time, useCursorPages, useLoad } from "../ui";

const ROLES: Role[] = ["member", "company_admin", "org_admin"];

export function TokensPage() {
  const pages = useCursorPages("");
  const list = useLoad(
    () => unwrap(api.POST("/api/api-tokens/list", { body: { limit: 50, cursor: pages.cursor } })),
    [pages.cursor],
  );
  const companies = useLoad(() => unwrap(api.POST("/api/companies/list", { body: { limit: 500 } })), []);
  const [created, setCreated] = useState<Schemas["ApiTokenCreated"] | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  const revoke = async (t: Schemas["ApiToken"]) => {
    if (!confirm(`Revoke the token "${t.name}"? Clients using it get 401 from now on.`)) return;
    try {
      await unwrap(api.POST("/api/api-tokens/revoke", { body: { api_token_id: t.id } }));
      setActionError(null);
      list.reload();
    } catch (e) {
      setActionError(e);
    }
  };
  const companyName = (id: string | null) =>
    id ? (companies.data?.items.find((c) => c.id === id)?.name ?? short(id)) : "whole org";

  return (
    <section>
      <h1>API tokens</h1>
      <CreateToken
        companies={companies.data?.items ?? []}
        onCreated={(t) => {
          setCreated(t);
          list.reload();
        }}
      />
      {created && (
        <div class="note note-ok" role="status">
          <p>
            Token <strong>{created.name}</strong> created. Copy it now: it is shown only once.
          </p>
          <label for="new-token">New token</label>
          <div class="copy">
            <input id="new-token" readOnly value={created.token} onFocus={(e) => e.currentTarget.select()} />
            <button type="button" onClick={() => void navigator.clipboard?.writeText(created.token)}>
              Copy
            </button>
            <button type="button" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      <ErrorNote error={actionError ?? list.error} />
      <h2>Tokens</h2>
      {list.loading && !list.data ? (
        <Loading what="tokens" />
      ) : (
        list.data && (
          <TableWrap label="API tokens">
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Prefix</th>
                  <th scope="col">Role</th>
                  <th scope="col">Company</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((t) => (
                  <tr key={t.id}>
                    <td>{t.name}</td>
                    <td>
                      <code>{t.token_prefix}…</code>
                    </td>
                    <td>{t.role.replace("_", " ")}</td>
                    <td>{companyName(t.company_id)}</td>
                    <td>{t.expires_at ? <Time at={t.expires_at} /> : "never"}</td>
                    <td>
                      <Time at={t.last_used_at} />
                    </td>
                    <td>
                      <Badge status={t.revoked_at ? "revoked" : "active"} />
                    </td>
                    <td>
                      {!t.revoked_at && (
                        <button type="button" class="danger small" onClick={() => revoke(t)}>
                          Revoke<span class="sr-only"> {t.name}</span>
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )
      )}
      <Pager label="Token pages" pages={pages} nextCursor={list.data?.next_cursor} />
    </section>
  );
}

function CreateToken(props: { companies: Schemas["Company"][]; onCreated: (t: Schemas["ApiTokenCreated"]) => void }) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [company, setCompany] = useState("");
  const [expires, setExpires] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const fieldError = (f: string) => (error?.fields().some((x) => x === f || x.startsWith(`${f}.`)) ? error.message : null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const t = await unwrap(
        api.POST("/api/api-tokens/create", {
          body: {
            name,
            role,
            company_id: company || null,
            expires_at: expires ? new Date(`${expires}T23:59:59Z`).toISOString() : null,
          },
        }),
      );
      setError(null);
      setName("");
      props.onCreated(t);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, "error", String(err), null));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="inline-form card" onSubmit={submit}>
      <h2>Create a token</h2>
      {error && !error.fields().length && (
        <p class="note note-error" role="alert">
          {error.message}
        </p>
      )}
      <div class="grid">
        <div>
          <label for="token-name">Name</label>
          <input
            id="token-name"
            required
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
            aria-invalid={fieldError("name") ? "true" : undefined}
            aria-describedby={fieldError("name") ? "token-name-error" : undefined}
          />
          {fieldError("name") && (
            <p class="field-error" id="token-name-error">
              {fieldError("name")}
            </p>
          )}
        </div>
        <div>
          <label for="token-role">Role</label>
          <select id="token-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.map((r) => (
              <option value={r} key={r}>
                {r.replace("_", " ")}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="token-company">Company</label>
          <select id="token-company" value={company} onChange={(e) => setCompany(e.currentTarget.value)}>
            <option value="">Whole organization</option>
            {props.companies.map((c) => (
              <option value={c.id} key={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="token-expires">Expires (optional)</label>
          <input
            id="token-expires"
            type="date"
            value={expires}
            onInput={(e) => setExpires(e.currentTarget.value)}
            aria-invalid={fieldError("expires_at") ? "true" : undefined}
          />
          {fieldError("expires_at") && <p class="field-error">{fieldError("expires_at")}</p>}
        </div>
      </div>
      <button type="submit" class="primary" disabled={busy}>
        {busy ? "Creating…" : "Create token"}
      </button>
    </form>
  );
}
