import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { WorkerApi } from "../pipeline/apiClient.js";
import { createJsonLogger } from "./log.js";
import { startLiveness } from "./liveness.js";

function fakeWorkerApi() {
  const calls: string[] = [];
  let heartbeatDown = false;
  const api: WorkerApi = {
    heartbeat: async (workerId) => {
      calls.push(`heartbeat:${workerId}`);
      if (heartbeatDown) throw new Error("connect ECONNREFUSED");
    },
    recover: async (workerId) => {
      calls.push(`recover:${workerId}`);
      return { unlocked_workers: calls.length === 2 ? ["pool-dead"] : [] };
    },
  };
  return { api, calls, setHeartbeatDown: (down: boolean) => (heartbeatDown = down) };
}

describe("worker liveness", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends a heartbeat before asking for recovery, so its own pool never looks dead", async () => {
    const { api, calls } = fakeWorkerApi();
    const lines: string[] = [];
    const liveness = startLiveness({ workerId: "pool-1", api, log: createJsonLogger({ write: (l) => lines.push(l) }) });

    await liveness.ready;
    liveness.stop();

    expect(calls).toEqual(["heartbeat:pool-1", "recover:pool-1"]);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ event: "worker.recovered_jobs", unlocked_workers: ["pool-dead"] }),
    ]);
  });

  it("beats every 2 seconds and recovers every 10 seconds until stopped", async () => {
    const { api, calls } = fakeWorkerApi();
    const liveness = startLiveness({ workerId: "pool-1", api, log: createJsonLogger({ write: () => {} }) });
    await liveness.ready;

    await vi.advanceTimersByTimeAsync(30_000);
    liveness.stop();
    await vi.advanceTimersByTimeAsync(60_000);

    expect(calls.filter((c) => c.startsWith("heartbeat"))).toHaveLength(1 + 15);
    expect(calls.filter((c) => c.startsWith("recover"))).toHaveLength(1 + 3);
  });

  it("logs a heartbeat outage once and its end once, and keeps beating", async () => {
    const { api, setHeartbeatDown } = fakeWorkerApi();
    const events: string[] = [];
    const log = createJsonLogger({ write: (l) => events.push((JSON.parse(l) as { event: string }).event) });
    setHeartbeatDown(true);
    const liveness = startLiveness({ workerId: "pool-1", api, log });
    await liveness.ready;

    await vi.advanceTimersByTimeAsync(15_000);
    setHeartbeatDown(false);
    await vi.advanceTimersByTimeAsync(5_000);
    liveness.stop();

    expect(events.filter((e) => e.startsWith("worker.heartbeat"))).toEqual([
      "worker.heartbeat_failed",
      "worker.heartbeat_restored",
    ]);
  });
});
