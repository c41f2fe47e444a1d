/**
 * The local pipeline host: graphile-worker 0.17 on the API's own Postgres.
 * `npm run worker`. Env: DATA_ENGINE_DATABASE_URL, DATA_ENGINE_API_URL,
 * DATA_ENGINE_INTERNAL_API_KEY, WORKER_CONCURRENCY (default 16), WORKER_LOG_LEVEL (default info),
 * WORKER_HEARTBEAT_INTERVAL_MS (default 2000), WORKER_RECOVER_INTERVAL_MS (default 10000).
 */
import { EventEmitter } from "node:events";
import { run, type Runner, type WorkerEvents } from "graphile-worker";
import { createHttpApi, createWorkerApi } from "../pipeline/apiClient.js";
import { describeError } from "../pipeline/errors.js";
import { apiSettingsFromEnv, requireEnv, type Env } from "../pipeline/settings.js";
import { PIPELINE_TASK_ID } from "../pipeline/taskId.js";
import { graphileLogger } from "./graphileLogger.js";
import { startLiveness, type Liveness } from "./liveness.js";
import { createJsonLogger, parseLogLevel, type JsonLogger } from "./log.js";
import { parseConcurrency, parseIntervalMs } from "./settings.js";
import { createRunPipelineTask } from "./task.js";

const POLL_INTERVAL_MS = 1_000;
// pause before a failed pool is replaced (Postgres may still be coming back), and how long a
// failed pool's shutdown is waited for
const RESTART_DELAY_MS = 1_000;
const ABANDON_AFTER_MS = 5_000;
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

  let stopping = false;
  let runner: Runner | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) {
      stopping = true;
      // running jobs finish (their abort signal fires after graphile's 5 s grace) and are released
      log.info("worker.stopping", { signal });
      runner?.stop(`received ${signal}`).catch((error: unknown) => log.error("worker.stop_failed", { error: describeError(error) }));
      return;
    }
    // second signal: fail the running jobs now; they retry after backoff, on this or another worker
    log.warn("worker.killing", { signal });
    runner?.kill(`received ${signal} twice`).catch((error: unknown) => log.error("worker.kill_failed", { error: describeError(error) }));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  // graphile-worker gives up on a pool that could not record a job's end (Postgres went away
  // mid-batch): the pool stops taking jobs, but its graceful shutdown can wait forever and the
  // process would keep heartbeating for a pool that does nothing. So the pool is killed and a new
  // one started; the old pool's heartbeats stop, so its locked jobs are recovered and re-run.
  try {
    while (!stopping) {
      let fatal = false;
      let abandon = () => {};
      const abandoned = new Promise<void>((resolve) => {
        abandon = resolve;
      });
      const onFatal = ({ error, action }: { error: unknown; action: string }) => {
        if (fatal) return;
        fatal = true;
        log.error("worker.pool_failed", { action, error: describeError(error) });
        runner?.kill(`pool failed during ${action}`).catch((e: unknown) => log.error("worker.kill_failed", { error: describeError(e) }));
        // even the forceful shutdown can hang on the dead connections: stop waiting for it
        setTimeout(abandon, ABANDON_AFTER_MS).unref();
      };
      events.on("pool:fatalError", onFatal);
      try {
        runner = await run({
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
            [PIPELINE_TASK_ID]: createRunPipelineTask({
              log,
              apiFor: (payload) => createHttpApi({ ...apiSettings, orgId: payload.org_id, companyId: payload.company_id }),
            }),
          },
        });
        const finished = runner.promise;
        finished.catch(() => {}); // settled late, if ever, after the pool was abandoned
        await Promise.race([finished, abandoned]);
      } catch (error: unknown) {
        // a failed pool, or Postgres unreachable at (re)start: try again below unless stopping
        if (!fatal && stopping) throw error;
        fatal = true;
        log.error("worker.pool_stopped", { error: describeError(error) });
      } finally {
        events.off("pool:fatalError", onFatal);
        for (const l of liveness.splice(0)) l.stop();
      }
      if (!fatal || stopping) break;
      log.warn("worker.restarting", { after_ms: RESTART_DELAY_MS });
      await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS));
    }
  } finally {
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
