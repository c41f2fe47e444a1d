import { defineConfig } from "vite";

// Served by the API under /console (app/console.py); every asset is bundled, nothing is fetched
// from another host at run time (CONTRACT §9.8).
export default defineConfig({
  base: "/console/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, target: "es2022" },
});
