/**
 * JSON lines on stdout for the local host: one object per line, `ts`, `level`, `event`, then
 * fields. Callers pass ids, statuses and error messages only, never settings or headers.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface JsonLogger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function parseLogLevel(value: string | undefined): LogLevel {
  const level = value?.trim().toLowerCase();
  return level === "debug" || level === "info" || level === "warn" || level === "error" ? level : "info";
}

export function createJsonLogger(
  options: { level?: LogLevel; write?: (line: string) => void; now?: () => Date } = {},
): JsonLogger {
  const threshold = RANK[options.level ?? "info"];
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel) => (event: string, fields: Record<string, unknown> = {}) => {
    if (RANK[level] < threshold) return;
    write(JSON.stringify({ ts: now().toISOString(), level, event, ...fields }, jsonSafe));
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === "bigint") return value.toString();
  return value;
}
