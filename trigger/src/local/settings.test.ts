import { describe, expect, it } from "vitest";
import { createJsonLogger, parseLogLevel } from "./log.js";
import { DEFAULT_CONCURRENCY, parseConcurrency } from "./settings.js";

describe("local worker settings", () => {
  it("runs 16 jobs at once unless WORKER_CONCURRENCY says otherwise", () => {
    expect(parseConcurrency(undefined)).toBe(DEFAULT_CONCURRENCY);
    expect(parseConcurrency("")).toBe(16);
    expect(parseConcurrency("4")).toBe(4);
  });

  it("refuses a concurrency that is not a positive integer", () => {
    expect(() => parseConcurrency("0")).toThrow(/positive integer/);
    expect(() => parseConcurrency("2.5")).toThrow(/positive integer/);
    expect(() => parseConcurrency("many")).toThrow(/positive integer/);
  });

  it("writes one JSON object per line and drops levels below the threshold", () => {
    const lines: string[] = [];
    const log = createJsonLogger({ level: parseLogLevel("warn"), write: (l) => lines.push(l), now: () => new Date(0) });

    log.info("ignored");
    log.warn("run.failure", { error: new TypeError("boom"), job_id: 7n });

    expect(lines).toEqual([
      '{"ts":"1970-01-01T00:00:00.000Z","level":"warn","event":"run.failure","error":"TypeError: boom","job_id":"7"}',
    ]);
  });
});
