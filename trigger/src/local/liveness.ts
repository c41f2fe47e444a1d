/**
 * Crash recovery for the graphile-worker host. graphile-worker leaves a SIGKILLed worker's jobs
 * locked for four hours; instead each pool reports a heartbeat under its pool id (the value
 * graphile-worker 0.17 writes to `locked_by`), and asks the API to force-unlock the jobs of pools
 * whose heartbeat went stale. Recovery runs at start and then periodically, so a surviving worker
 * also picks up a dead sibling's jobs without waiting for a restart.
 */
import type { WorkerApi } from "../pipeline/apiClient.js";
import { describeError } from "../pipeline/errors.js";
import type { JsonLogger } from "./log.js";

// the API treats a pool as dead after 30 s without a heartbeat: 5 s leaves room for 5 misses
export const HEARTBEAT_INTERVAL_MS = 2_000;
export const RECOVER_INTERVAL_MS = 10_000;

export interface LivenessOptions {
  workerId: string;
  api: WorkerApi;
  log: JsonLogger;
  heartbeatIntervalMs?: number;
  recoverIntervalMs?: number;
}

export interface Liveness {
  /** Resolves once the first heartbeat and the first recovery were attempted. */
  ready: Promise<void>;
  stop(): void;
}

export function startLiveness(options: LivenessOptions): Liveness {
  const { workerId, api, log } = options;
  const controller = new AbortController();
  const call = { signal: controller.signal };
  let heartbeatFailing = false;

  const heartbeat = async () => {
    try {
      await api.heartbeat(workerId, call);
      if (heartbeatFailing) log.info("worker.heartbeat_restored", { worker_id: workerId });
      heartbeatFailing = false;
    } catch (error) {
      if (controller.signal.aborted) return;
      // logged once per outage, not every 5 s
      if (!heartbeatFailing) log.warn("worker.heartbeat_failed", { worker_id: workerId, error: describeError(error) });
      heartbeatFailing = true;
    }
  };

  const recover = async () => {
    try {
      const { unlocked_workers } = await api.recover(workerId, call);
      if (unlocked_workers.length > 0) {
        log.info("worker.recovered_jobs", { worker_id: workerId, unlocked_workers });
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      log.warn("worker.recover_failed", { worker_id: workerId, error: describeError(error) });
    }
  };

  // heartbeat before recover: our own fresh pool must never look dead to the recovery it asks for
  const ready = heartbeat().then(recover);
  const heartbeatTimer = setInterval(() => void heartbeat(), options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS);
  const recoverTimer = setInterval(() => void recover(), options.recoverIntervalMs ?? RECOVER_INTERVAL_MS);
  heartbeatTimer.unref();
  recoverTimer.unref();

  return {
    ready,
    stop() {
      clearInterval(heartbeatTimer);
      clearInterval(recoverTimer);
      controller.abort();
    },
  };
}
