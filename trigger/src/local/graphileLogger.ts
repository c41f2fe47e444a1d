import { Logger } from "graphile-worker";
import type { JsonLogger } from "./log.js";

/**
 * Routes graphile-worker's own messages into our JSON lines. Its per-job lines ("Completed
 * task", "Failed task" with a stack) repeat what `run.finish` / `run.failure` already say, so
 * they are demoted to debug. Metadata is dropped: it can carry whole job rows, payloads included.
 */
export function graphileLogger(log: JsonLogger): Logger {
  return new Logger((scope) => (level, message) => {
    const fields = {
      message,
      ...(scope.workerId ? { graphile_worker_id: scope.workerId } : {}),
      ...(scope.jobId ? { job_id: scope.jobId } : {}),
    };
    const perJob = message.startsWith("Completed task") || message.startsWith("Failed task");
    switch (perJob ? "debug" : String(level)) {
      case "error":
        log.error("graphile", fields);
        break;
      case "warning":
        log.warn("graphile", fields);
        break;
      default:
        log.debug("graphile", fields);
    }
  });
}
