import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { session } from "./session";
import { match, navigate, useLocation } from "./router";
import { Link } from "./ui";
import { LoginPage } from "./pages/login";
import { SubmissionsPage } from "./pages/submissions";
import { SubmissionPage } from "./pages/submission";
import { RunPage } from "./pages/run";
import { EntitiesPage, EntityPage } from "./pages/entities";
import { BlueprintsPage, BlueprintPage, BlueprintEditPage } from "./pages/blueprints";
import { TokensPage } from "./pages/tokens";
import { CsvPage } from "./pages/csv";
import { UsagePage } from "./pages/usage";
import { canAdminister, canRunBatches } from "./roles";

interface Route {
  pattern: string;
  render: (p: Record<string, string>) => ComponentChildren;
  adminOnly?: boolean;
}

// One line per page, and an entry in NAV below.
const ROUTES: Route[] = [
  { pattern: "/submissions", render: () => <SubmissionsPage /> },
  { pattern: "/submissions/:id", render: (p) => <SubmissionPage id={p.id!} /> },
  { pattern: "/runs/:id", render: (p) => <RunPage id={p.id!} /> },
  { pattern: "/entities", render: () => <EntitiesPage /> },
  { pattern: "/entities/:type/:id", render: (p) => <EntityPage type={p.type!} id={p.id!} /> },
  { pattern: "/blueprints", render: () => <BlueprintsPage /> },
  { pattern: "/blueprints/new", render: () => <BlueprintEditPage />, adminOnly: true },
  { pattern: "/blueprints/:id", render: (p) => <BlueprintPage id={p.id!} /> },
  { pattern: "/blueprints/:id/edit", render: (p) => <BlueprintEditPage id={p.id!} />, adminOnly: true },
  { pattern: "/csv", render: () => <CsvPage /> },
  { pattern: "/usage", render: () => <UsagePage /> },
  { pattern: "/tokens", render: () => <TokensPage />, adminOnly: true },
];

// adminOnly: org admins; submitters: whoever may start batches (not members)
const NAV: { to: string; label: string; adminOnly?: boolean; submitters?: boolean }[] = [
  { to: "/submissions", label: "Submissions" },
  { to: "/csv", label: "Upload CSV", submitters: true },
  { to: "/entities", label: "Entities" },
  { to: "/blueprints", label: "Blueprints" },
  { to: "/usage", label: "Usage" },
  { to: "/tokens", label: "API tokens", adminOnly: true },
];

function useSession() {
  const [, setVersion] = useState(0);
  useEffect(() => session.subscribe(() => setVersion((v) => v + 1)), []);
  return session;
}

export function App() {
  const s = useSession();
  const loc = useLocation();
  const me = s.me();

  useEffect(() => {
    if (!me && loc.path !== "/login") navigate("/login", { replace: true });
    else if (me && (loc.path === "/login" || loc.path === "/")) navigate("/submissions", { replace: true });
  }, [me, loc.path]);

  useKeyboard();

  if (!me || loc.path === "/login") return me ? null : <LoginPage notice={s.notice} />;

  const admin = canAdminister(me);
  let page: ComponentChildren = <NotFound />;
  for (const route of ROUTES) {
    const params = match(route.pattern, loc.path);
    if (!params) continue;
    page = route.adminOnly && !admin ? <NotAllowed /> : route.render(params);
    break;
  }
  return (
    <Shell path={loc.path} admin={admin}>
      {page}
    </Shell>
  );
}

function Shell({ path, admin, children }: { path: string; admin: boolean; children: ComponentChildren }) {
  const me = session.me()!;
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    // a new page is announced by moving focus to its heading, as a page load would
    if (first.current) {
      first.current = false;
      return;
    }
    const h1 = main.current?.querySelector("h1");
    if (h1) {
      h1.setAttribute("tabindex", "-1");
      h1.focus();
    }
    window.scrollTo(0, 0);
  }, [path]);
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link to="/submissions" class="brand">
          data-engine-x <span>console</span>
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => (admin || !n.adminOnly) && (!n.submitters || canRunBatches(me))).map((n) => (
              <li key={n.to}>
                <Link to={n.to} aria-current={section(path) === n.to ? "page" : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {me.user?.email ?? "API token"} · <span class="role">{me.auth.role?.replace("_", " ")}</span>
          </span>
          <button type="button" class="link-button" onClick={() => session.signOut("You have signed out.")}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

/** The navigation entry a page belongs to: a run is part of its submission. */
function section(path: string): string {
  if (path.startsWith("/runs/")) return "/submissions";
  return "/" + (path.split("/")[1] ?? "");
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. <Link to="/submissions">Go to submissions</Link>.
      </p>
    </section>
  );
}

function NotAllowed() {
  return (
    <section>
      <h1>Not available to your role</h1>
      <p>Only organization admins can use this page.</p>
    </section>
  );
}

/** `/` focuses the page's search or filter; j and k move between rows of a list. */
function useKeyboard() {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
      if (e.key === "/") {
        const search = document.querySelector<HTMLElement>("[data-search]");
        if (search) {
          e.preventDefault();
          search.focus();
        }
      } else if (e.key === "j" || e.key === "k") {
        const rows = Array.from(document.querySelectorAll<HTMLElement>("[data-row-link]"));
        if (!rows.length) return;
        const at = rows.indexOf(document.activeElement as HTMLElement);
        const next = e.key === "j" ? Math.min(at + 1, rows.length - 1) : Math.max(at - 1, 0);
        rows[at === -1 ? 0 : next]!.focus();
        e.preventDefault();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
}
