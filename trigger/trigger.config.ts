import { defineConfig } from "@trigger.dev/sdk";

export default defineConfig({
  // the ref differs per environment and per fork, so it never lives in the repository
  project: process.env.TRIGGER_PROJECT_REF ?? "",
  dirs: ["./src/tasks"],
  ignorePatterns: ["**/*.test.ts", "**/*.spec.ts"],
  // pinned: the meaning of plain "node" moved from 21.7 to 24 across 4.x (orchestration B7)
  runtime: "node-22",
  // The run policy of run-pipeline (our only task) lives here and not on the task: the v4 config
  // type requires `maxDuration` (orchestration B5), so this file holds it in any case, and the
  // executor uses `task.retry ?? config.retries.default` (B3), so one copy here is the one in force.
  // A task that sets its own would silently win over these; keep the task free of them.
  // steps are bounded by the client's 10 min per call; an hour covers a long blueprint with retries
  maxDuration: 3_600,
  retries: {
    enabledInDev: true,
    // set explicitly: with no policy at all the 4.8.3 executor schedules no retry (orchestration B3)
    default: { maxAttempts: 5, factor: 2, minTimeoutInMs: 2_000, maxTimeoutInMs: 60_000, randomize: true },
  },
});
