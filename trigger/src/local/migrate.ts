/**
 * Installs or upgrades the graphile_worker schema, so that the API can `add_job` before any
 * worker has started (run() migrates too, enqueueing does not). Called by the API's migrate
 * command: `npx tsx src/local/migrate.ts` with DATA_ENGINE_DATABASE_URL set.
 */
import { runMigrations } from "graphile-worker";
import { describeError } from "../pipeline/errors.js";
import { requireEnv } from "../pipeline/settings.js";
import { graphileLogger } from "./graphileLogger.js";
import { createJsonLogger, parseLogLevel } from "./log.js";

const log = createJsonLogger({ level: parseLogLevel(process.env.WORKER_LOG_LEVEL) });
try {
  await runMigrations({ connectionString: requireEnv(process.env, "DATA_ENGINE_DATABASE_URL"), logger: graphileLogger(log) });
  log.info("graphile_worker.migrated");
} catch (error) {
  log.error("graphile_worker.migrate_failed", { error: describeError(error) });
  process.exitCode = 1;
}
