export const DEFAULT_CONCURRENCY = 16;

export function parseConcurrency(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_CONCURRENCY;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`WORKER_CONCURRENCY must be a positive integer, got "${value}"`);
  return n;
}

/** Optional positive integer milliseconds from the environment (WORKER_HEARTBEAT_INTERVAL_MS, …). */
export function parseIntervalMs(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 100) throw new Error(`${name} must be an integer of at least 100 (ms), got "${value}"`);
  return n;
}
