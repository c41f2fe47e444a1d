export const DEFAULT_CONCURRENCY = 16;

export function parseConcurrency(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_CONCURRENCY;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`WORKER_CONCURRENCY must be a positive integer, got "${value}"`);
  return n;
}
