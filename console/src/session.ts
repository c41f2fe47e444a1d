// The signed-in operator: the JWT from /api/auth/login and who it belongs to. Kept in
// localStorage so a second tab or a reload stays signed in (docs/decisions/0071-console-session.md);
// it is dropped when it expires, on a 401, and on logout.
import type { components } from "./api/schema";

type Me = components["schemas"]["Me"];
type Listener = () => void;

interface Stored {
  token: string;
  expiresAt: number;
  me: Me;
}

const KEY = "dex.console.session";

function read(): Stored | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Stored) : null;
  } catch {
    return null;
  }
}

class Session {
  private stored: Stored | null = read();
  private listeners = new Set<Listener>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Why the operator is looking at the login page, when it is not their own doing. */
  notice: string | null = null;

  constructor() {
    if (this.stored && this.stored.expiresAt <= Date.now()) {
      this.stored = null;
      localStorage.removeItem(KEY);
      this.notice = "Your session has expired. Sign in again to continue.";
    }
    this.arm();
    // another tab signing in or out
    window.addEventListener("storage", (e) => {
      if (e.key !== KEY) return;
      this.stored = read();
      this.arm();
      this.emit();
    });
  }

  token(): string | null {
    return this.stored?.token ?? null;
  }

  me(): Me | null {
    return this.stored?.me ?? null;
  }

  signIn(token: string, expiresInSeconds: number, me: Me): void {
    this.stored = { token, expiresAt: Date.now() + expiresInSeconds * 1000, me };
    localStorage.setItem(KEY, JSON.stringify(this.stored));
    this.notice = null;
    this.arm();
    this.emit();
  }

  signOut(notice: string | null = null): void {
    this.stored = null;
    this.notice = notice;
    localStorage.removeItem(KEY);
    this.arm();
    this.emit();
  }

  expire(notice: string): void {
    if (this.stored) this.signOut(notice);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (!this.stored) return;
    // setTimeout's longest delay is ~24.8 days; a session is at most 7
    const wait = Math.max(0, this.stored.expiresAt - Date.now());
    this.timer = setTimeout(() => this.expire("Your session has expired. Sign in again to continue."), wait);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

export const session = new Session();
