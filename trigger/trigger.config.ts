import { defineConfig } from "@trigger.dev/sdk";

export default defineConfig({
  // the ref differs per environment and per fork, so it never lives in the repository
  project: process.env.TRIGGER_PROJECT_REF ?? "",
  dirs: ["./src/tasks"],
  ignorePatterns: ["**/*.test.ts", "**/*.spec.ts"],
  // pinned: the meaning of plain "node" moved from 21.7 to 24 across 4.x (orchestration B7)
  runtime: "node-22",
  maxDuration: 3_600,
  retries: {
    enabledInDev: true,
    default: { maxAttempts: 5, factor: 2, minTimeoutInMs: 2_000, maxTimeoutInMs: 60_000, randomize: true },
  },
});
