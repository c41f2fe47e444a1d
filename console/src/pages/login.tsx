import { useState } from "preact/hooks";
import { api, ApiError, unwrap } from "../api/client";
import { session } from "../session";

export function LoginPage({ notice }: { notice: string | null }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [org, setOrg] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const login = await unwrap(
        api.POST("/api/auth/login", { body: { email, password, org_slug: org.trim() || null } }),
      );
      const me = await unwrap(
        api.POST("/api/auth/me", { headers: { Authorization: `Bearer ${login.access_token}` } }),
      );
      session.signIn(login.access_token, login.expires_in, me);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError("That email and password do not match an account.");
      else if (err instanceof ApiError && err.status === 429) setError("Too many attempts. Wait a minute and try again.");
      else setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <h1>
        data-engine-x <span>console</span>
      </h1>
      {notice && (
        <p class="note" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit} aria-describedby={error ? "login-error" : undefined}>
        <label for="email">Email</label>
        <input
          id="email"
          type="email"
          autocomplete="username"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <label for="password">Password</label>
        <input
          id="password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <details>
          <summary>Organization</summary>
          <label for="org">Organization slug (only when your email belongs to several)</label>
          <input id="org" value={org} onInput={(e) => setOrg(e.currentTarget.value)} />
        </details>
        {error && (
          <p id="login-error" class="note note-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
