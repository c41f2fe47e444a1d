import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Schemas, unwrap } from "../api/client";
import { canAdminister } from "../roles";
import { navigate } from "../router";
import { session } from "../session";
import { Badge, ErrorNote, Json, Link, Loading, Pager, TableWrap, Time, useCursorPages, useLoad } from "../ui";

type Blueprint = Schemas["Blueprint"];
type StepIn = Schemas["BlueprintStepInput"];

export function BlueprintsPage() {
  const pages = useCursorPages("");
  const admin = canAdminister(session.me()!);
  const list = useLoad(
    () => unwrap(api.POST("/api/blueprints/list", { body: { limit: 50, cursor: pages.cursor } })),
    [pages.cursor],
  );
  return (
    <section>
      <div class="page-head">
        <h1>Blueprints</h1>
        {admin && (
          <Link to="/blueprints/new" class="button primary">
            New blueprint
          </Link>
        )}
      </div>
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? (
        <Loading what="blueprints" />
      ) : list.data && list.data.items.length === 0 ? (
        <p class="empty">No blueprints yet.</p>
      ) : (
        list.data && (
          <TableWrap label="Blueprints">
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Entity</th>
                  <th scope="col">Steps</th>
                  <th scope="col" class="num">
                    Version
                  </th>
                  <th scope="col">State</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((b) => (
                  <tr key={b.id}>
                    <td>
                      <Link to={`/blueprints/${b.id}`} data-row-link>
                        {b.name}
                      </Link>
                    </td>
                    <td>{b.entity_type}</td>
                    <td>{(b.steps as StepIn[]).map((s) => s.operation_id).join(" → ")}</td>
                    <td class="num">{b.version}</td>
                    <td>
                      <Badge status={b.is_active ? "active" : "inactive"} />
                    </td>
                    <td>
                      <Time at={b.updated_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )
      )}
      <Pager label="Blueprint pages" pages={pages} nextCursor={list.data?.next_cursor} />
    </section>
  );
}

export function BlueprintPage({ id }: { id: string }) {
  const admin = canAdminister(session.me()!);
  const state = useLoad(() => unwrap(api.POST("/api/blueprints/get", { body: { blueprint_id: id } })), [id]);
  if (state.loading && !state.data) return <Loading what="the blueprint" />;
  if (!state.data)
    return (
      <section>
        <h1>Blueprint</h1>
        <ErrorNote error={state.error} />
      </section>
    );
  const b = state.data;
  return (
    <section>
      <p class="crumbs">
        <Link to="/blueprints">Blueprints</Link> / {b.name}
      </p>
      <div class="page-head">
        <h1>
          {b.name} <Badge status={b.is_active ? "active" : "inactive"} />
        </h1>
        {admin && (
          <Link to={`/blueprints/${b.id}/edit`} class="button primary">
            Edit blueprint
          </Link>
        )}
      </div>
      {b.description && <p>{b.description}</p>}
      <dl class="facts">
        <dt>Entity type</dt>
        <dd>{b.entity_type}</dd>
        <dt>Version</dt>
        <dd>{b.version}</dd>
        <dt>Updated</dt>
        <dd>
          <Time at={b.updated_at} />
        </dd>
      </dl>
      <h2>Steps</h2>
      <TableWrap label="Steps">
        <table class="list">
          <thead>
            <tr>
              <th scope="col" class="num">
                #
              </th>
              <th scope="col">Operation</th>
              <th scope="col">Enabled</th>
              <th scope="col">Providers</th>
              <th scope="col">Condition</th>
              <th scope="col">Fan-out</th>
              <th scope="col">Skip if fresh</th>
            </tr>
          </thead>
          <tbody>
            {(b.steps as StepIn[]).map((s) => (
              <tr key={s.position}>
                <td class="num">{s.position}</td>
                <td>{s.operation_id}</td>
                <td>{s.is_enabled === false ? "no" : "yes"}</td>
                <td>{s.step_config?.providers?.join(" → ") ?? <span class="muted">default</span>}</td>
                <td>{s.condition ? <code class="clip">{JSON.stringify(s.condition)}</code> : "—"}</td>
                <td>
                  {s.fan_out ? (
                    <Link to={`/blueprints/${s.fan_out.blueprint_id}`}>to blueprint, max {s.fan_out.max_children ?? 100}</Link>
                  ) : (
                    "—"
                  )}
                </td>
                <td>{s.skip_if_fresh ? `${s.skip_if_fresh.max_age_hours} h` : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <Json value={b} summary="As the API answers it" />
    </section>
  );
}

interface Draft {
  operation_id: string;
  is_enabled: boolean;
  providers: string;
  cache: boolean;
  condition: string;
  fan_out: string;
  skip_hours: string;
  kept: StepIn["step_config"];
}

function draftOf(s: StepIn): Draft {
  return {
    operation_id: s.operation_id,
    is_enabled: s.is_enabled !== false,
    providers: s.step_config?.providers?.join(", ") ?? "",
    cache: s.step_config?.cache !== false,
    condition: s.condition ? JSON.stringify(s.condition, null, 2) : "",
    fan_out: s.fan_out ? JSON.stringify(s.fan_out, null, 2) : "",
    skip_hours: s.skip_if_fresh ? String(s.skip_if_fresh.max_age_hours) : "",
    kept: s.step_config ?? null,
  };
}

const EMPTY_STEP: Draft = {
  operation_id: "",
  is_enabled: true,
  providers: "",
  cache: true,
  condition: "",
  fan_out: "",
  skip_hours: "",
  kept: null,
};

type Errors = Record<string, string>;

/** The steps as the API takes them; a field that is not JSON is an error of the form itself. */
function toSteps(drafts: Draft[], errors: Errors): StepIn[] {
  return drafts.map((d, i) => {
    const json = (key: string, text: string) => {
      if (!text.trim()) return null;
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch {
        errors[`steps.${i}.${key}`] = "This is not valid JSON.";
        return null;
      }
    };
    const providers = d.providers
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    const config: NonNullable<StepIn["step_config"]> = { ...(d.kept ?? {}) };
    config.providers = providers.length ? providers : null;
    config.cache = d.cache ? null : false;
    const hours = d.skip_hours.trim();
    const step: StepIn = {
      position: i + 1,
      operation_id: d.operation_id,
      is_enabled: d.is_enabled,
      step_config: Object.values(config).some((v) => v !== null && v !== undefined) ? config : null,
      condition: json("condition", d.condition),
      fan_out: json("fan_out", d.fan_out) as StepIn["fan_out"],
      skip_if_fresh: hours ? { max_age_hours: Number(hours) } : null,
    };
    return step;
  });
}

const FIELDS = ["operation_id", "step_config", "condition", "fan_out", "skip_if_fresh", "is_enabled"];

/** Each API error goes to the field it names (the longest field of the form its path starts with). */
export function placeErrors(err: ApiError, steps: StepIn[]): { fields: Errors; general: string | null } {
  const known = ["name", "description", ...steps.flatMap((_, i) => [`steps.${i}`, ...FIELDS.map((f) => `steps.${i}.${f}`)])];
  const fields: Errors = {};
  const details = err.details as Record<string, unknown> | null;
  if (err.code === "unknown_operation" && details && Array.isArray(details.operation_ids)) {
    steps.forEach((s, i) => {
      if ((details.operation_ids as string[]).includes(s.operation_id)) fields[`steps.${i}.operation_id`] = err.message;
    });
  }
  for (const [path, message] of err.fieldMessages()) {
    const at = known.filter((k) => path === k || path.startsWith(`${k}.`)).sort((a, b) => b.length - a.length)[0];
    if (at) {
      // step_config's own keys (`providers`) are edited in the providers box
      fields[at] = fields[at] ? `${fields[at]} ${message}` : message;
    }
  }
  const general = Object.keys(fields).length ? null : err.message;
  return { fields, general };
}

export function BlueprintEditPage({ id }: { id?: string }) {
  const ops = useLoad(() => unwrap(api.POST("/api/v1/operations/list", {})), []);
  const existing = useLoad(
    async () => (id ? unwrap(api.POST("/api/blueprints/get", { body: { blueprint_id: id } })) : null),
    [id],
  );
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [active, setActive] = useState(true);
  const [steps, setSteps] = useState<Draft[]>([{ ...EMPTY_STEP }]);
  const [errors, setErrors] = useState<Errors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const b: Blueprint | null | undefined = existing.data;
    if (!b) return;
    setName(b.name);
    setDescription(b.description ?? "");
    setActive(b.is_active);
    setSteps((b.steps as StepIn[]).map(draftOf));
  }, [existing.data]);

  if ((id && existing.loading) || ops.loading) return <Loading what="the blueprint editor" />;
  if (id && !existing.data)
    return (
      <section>
        <h1>Edit blueprint</h1>
        <ErrorNote error={existing.error} />
      </section>
    );

  const update = (i: number, patch: Partial<Draft>) =>
    setSteps((s) => s.map((d, j) => (j === i ? { ...d, ...patch } : d)));
  const move = (i: number, by: number) =>
    setSteps((s) => {
      const out = [...s];
      const [d] = out.splice(i, 1);
      out.splice(i + by, 0, d!);
      return out;
    });

  const save = async (e: Event) => {
    e.preventDefault();
    const local: Errors = {};
    const body = toSteps(steps, local);
    if (!name.trim()) local.name = "A blueprint needs a name.";
    setErrors(local);
    setGeneral(null);
    if (Object.keys(local).length) {
      focusFirstError();
      return;
    }
    setBusy(true);
    try {
      const saved = id
        ? await unwrap(
            api.POST("/api/blueprints/update", {
              body: { blueprint_id: id, name, description: description || null, steps: body, is_active: active },
            }),
          )
        : await unwrap(api.POST("/api/blueprints/create", { body: { name, description: description || null, steps: body } }));
      navigate(`/blueprints/${saved.id}`);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 400 || err.status === 422 || err.status === 409)) {
        const placed = placeErrors(err, body);
        setErrors(placed.fields);
        setGeneral(placed.general ?? `${err.message}: see the fields marked below.`);
        focusFirstError();
      } else setGeneral(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const fieldProps = (key: string) => ({
    "aria-invalid": errors[key] ? ("true" as const) : undefined,
    "aria-describedby": errors[key] ? `err-${key}` : undefined,
  });
  const FieldError = ({ k }: { k: string }) =>
    errors[k] ? (
      <p class="field-error" id={`err-${k}`}>
        {errors[k]}
      </p>
    ) : null;

  const operations = ops.data?.items ?? [];
  return (
    <section>
      <p class="crumbs">
        <Link to="/blueprints">Blueprints</Link> / {id ? existing.data?.name : "new"}
      </p>
      <h1>{id ? `Edit ${existing.data?.name}` : "New blueprint"}</h1>
      <ErrorNote error={ops.error} />
      <form class="editor" onSubmit={save} noValidate>
        {general && (
          <div class="note note-error" role="alert" id="form-error" tabIndex={-1}>
            {general}
          </div>
        )}
        <label for="bp-name">Name</label>
        <input id="bp-name" value={name} onInput={(e) => setName(e.currentTarget.value)} {...fieldProps("name")} />
        <FieldError k="name" />
        <label for="bp-description">Description</label>
        <textarea
          id="bp-description"
          rows={2}
          value={description}
          onInput={(e) => setDescription(e.currentTarget.value)}
          {...fieldProps("description")}
        />
        <FieldError k="description" />
        {id && (
          <label class="check">
            <input type="checkbox" checked={active} onChange={(e) => setActive(e.currentTarget.checked)} /> Active (new
            submissions may use it)
          </label>
        )}
        <h2>Steps</h2>
        <ol class="step-editor">
          {steps.map((d, i) => {
            const p = `steps.${i}`;
            return (
              <li key={i} class="card">
                <fieldset>
                  <legend>Step {i + 1}</legend>
                  <FieldError k={p} />
                  <label for={`${p}.op`}>Operation</label>
                  <select
                    id={`${p}.op`}
                    value={d.operation_id}
                    onChange={(e) => update(i, { operation_id: e.currentTarget.value })}
                    {...fieldProps(`${p}.operation_id`)}
                  >
                    <option value="">Choose an operation</option>
                    {operations.map((o) => (
                      <option value={o.operation_id} key={o.operation_id}>
                        {o.operation_id} ({o.entity_type})
                      </option>
                    ))}
                  </select>
                  <FieldError k={`${p}.operation_id`} />
                  <label for={`${p}.providers`}>Providers, in order (empty: the default order)</label>
                  <input
                    id={`${p}.providers`}
                    value={d.providers}
                    placeholder={operations.find((o) => o.operation_id === d.operation_id)?.default_providers.join(", ")}
                    onInput={(e) => update(i, { providers: e.currentTarget.value })}
                    {...fieldProps(`${p}.step_config`)}
                  />
                  <FieldError k={`${p}.step_config`} />
                  <label class="check">
                    <input
                      type="checkbox"
                      checked={d.is_enabled}
                      onChange={(e) => update(i, { is_enabled: e.currentTarget.checked })}
                    />{" "}
                    Enabled
                  </label>
                  <label class="check">
                    <input type="checkbox" checked={d.cache} onChange={(e) => update(i, { cache: e.currentTarget.checked })} />{" "}
                    Answer from the result cache when a recent answer exists
                  </label>
                  <label for={`${p}.condition`}>Condition (JSON; empty: always run)</label>
                  <textarea
                    id={`${p}.condition`}
                    rows={3}
                    class="mono"
                    value={d.condition}
                    placeholder='{"field": "work_email", "op": "exists"}'
                    onInput={(e) => update(i, { condition: e.currentTarget.value })}
                    {...fieldProps(`${p}.condition`)}
                  />
                  <FieldError k={`${p}.condition`} />
                  <label for={`${p}.fan_out`}>Fan-out (JSON; search steps only)</label>
                  <textarea
                    id={`${p}.fan_out`}
                    rows={3}
                    class="mono"
                    value={d.fan_out}
                    placeholder='{"blueprint_id": "…", "max_children": 10}'
                    onInput={(e) => update(i, { fan_out: e.currentTarget.value })}
                    {...fieldProps(`${p}.fan_out`)}
                  />
                  <FieldError k={`${p}.fan_out`} />
                  <label for={`${p}.skip`}>Skip if the entity is fresher than (hours)</label>
                  <input
                    id={`${p}.skip`}
                    inputMode="numeric"
                    value={d.skip_hours}
                    onInput={(e) => update(i, { skip_hours: e.currentTarget.value })}
                    {...fieldProps(`${p}.skip_if_fresh`)}
                  />
                  <FieldError k={`${p}.skip_if_fresh`} />
                  <div class="row-actions">
                    <button type="button" onClick={() => move(i, -1)} disabled={i === 0}>
                      Move up
                    </button>
                    <button type="button" onClick={() => move(i, 1)} disabled={i === steps.length - 1}>
                      Move down
                    </button>
                    <button
                      type="button"
                      class="danger"
                      onClick={() => setSteps((s) => s.filter((_, j) => j !== i))}
                      disabled={steps.length === 1}
                    >
                      Remove step {i + 1}
                    </button>
                  </div>
                </fieldset>
              </li>
            );
          })}
        </ol>
        <div class="row-actions">
          <button type="button" onClick={() => setSteps((s) => [...s, { ...EMPTY_STEP }])}>
            Add a step
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Saving…" : id ? "Save changes" : "Create blueprint"}
          </button>
        </div>
      </form>
    </section>
  );
}

function focusFirstError() {
  // after the render that shows them
  setTimeout(() => {
    const target =
      document.querySelector<HTMLElement>('form.editor [aria-invalid="true"]') ??
      document.querySelector<HTMLElement>("#form-error");
    target?.focus();
  }, 0);
}
