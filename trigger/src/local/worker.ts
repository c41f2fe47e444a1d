/**
 * The local pipeline host: graphile-worker 0.17 on the API's own Postgres.
 * `npm run worker`. Env: DATA_ENGINE_DATABASE_URL, DATA_ENGINE_API_URL,
 * DATA_ENGINE_INTERNAL_API_KEY, WORKER_CONCURRENCY (default 16), WORKER_LOG_LEVEL (default info),
 * WORKER_HEARTBEAT_INTERVAL_MS (default 2000), WORKER_RECOVER_INTERVAL_MS (default 10000).
 */
import { EventEmitter } from "node:events";
import { run, type WorkerEvents } from "graphile-worker";
import { createHttpApi, createWorkerApi } from "../pipeline/apiClient.js";
import { describeError } from "../pipeline/errors.js";
import { apiSettingsFromEnv, requireEnv, type Env } from "../pipeline/settings.js";
import { graphileLogger } from "./graphileLogger.js";
import { startLiveness, type Liveness } from "./liveness.js";
import { createJsonLogger, parseLogLevel, type JsonLogger } from "./log.js";
import { parseConcurrency, parseIntervalMs } from "./settings.js";
import { createRunPipelineTask } from "./task.js";

const POLL_INTERVAL_MS = 1_000;
// heartbeats are small and frequent: a slow one is simply superseded by the next tick
const LIVENESS_CALL_TIMEOUT_MS = 5_000;

async function main(env: Env, log: JsonLogger): Promise<void> {
  const connectionString = requireEnv(env, "DATA_ENGINE_DATABASE_URL");
  const apiSettings = apiSettingsFromEnv(env);
  const concurrency = parseConcurrency(env.WORKER_CONCURRENCY);
  const heartbeatIntervalMs = parseIntervalMs("WORKER_HEARTBEAT_INTERVAL_MS", env.WORKER_HEARTBEAT_INTERVAL_MS);
  const recoverIntervalMs = parseIntervalMs("WORKER_RECOVER_INTERVAL_MS", env.WORKER_RECOVER_INTERVAL_MS);
  const workerApi = createWorkerApi({ ...apiSettings, timeoutMs: LIVENESS_CALL_TIMEOUT_MS, retries: 0 });

  // Our own emitter: `pool:create` fires inside run(), before `runner.events` can be reached.
  // `workerPool.id` is what graphile-worker 0.17 writes to `_private_jobs.locked_by`.
  const events = new EventEmitter() as WorkerEvents;
  const liveness: Liveness[] = [];
  events.on("pool:create", ({ workerPool }) => {
    log.info("worker.start", { worker_id: workerPool.id, concurrency, poll_interval_ms: POLL_INTERVAL_MS });
    liveness.push(
      startLiveness({
        workerId: workerPool.id,
        api: workerApi,
        log,
        ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
        ...(recoverIntervalMs === undefined ? {} : { recoverIntervalMs }),
      }),
    );
  });

  const runner = await run({
    connectionString,
    concurrency,
    pollInterval: POLL_INTERVAL_MS,
    maxPoolSize: Math.max(10, concurrency),
    noHandleSignals: true,
    // Batched (delay 0) rather than direct completion: 0.17.3 fires the direct completeJob
    // without awaiting it, so a job finishing during graceful shutdown could stay locked after
    // the pool closed (seen here); the batchers are flushed before the pool is released.
    preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    events,
    logger: graphileLogger(log),
    taskList: {
      "run-pipeline": createRunPipelineTask({
        log,
        apiFor: (payload) => createHttpApi({ ...apiSettings, orgId: payload.org_id, companyId: payload.company_id }),
      }),
    },
  });

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) {
      stopping = true;
      // running jobs finish (their abort signal fires after graphile's 5 s grace) and are released
      log.info("worker.stopping", { signal });
      runner.stop(`received ${signal}`).catch((error: unknown) => log.error("worker.stop_failed", { error: describeError(error) }));
      return;
    }
    // second signal: fail the running jobs now; they retry after backoff, on this or another worker
    log.warn("worker.killing", { signal });
    runner.kill(`received ${signal} twice`).catch((error: unknown) => log.error("worker.kill_failed", { error: describeError(error) }));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    await runner.promise;
  } finally {
    for (const l of liveness) l.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    log.info("worker.stopped");
  }
}

const log = createJsonLogger({ level: parseLogLevel(process.env.WORKER_LOG_LEVEL) });
main(process.env, log).catch((error: unknown) => {
  log.error("worker.crashed", { error: describeError(error) });
  process.exitCode = 1;
});
