import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The package is on JSR (`npx jsr add @editmgt/editmgt`), which this repository cannot reach
// from CI: the alias stands in for that install and points at the same TypeScript sources that
// JSR publishes. Everything else is Vite's defaults, plus module workers, which the SDK's
// worker needs because it loads onnxruntime-web's backends lazily (code-split chunks).
const source = (path) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@editmgt\/editmgt\/sdk\/worker$/, replacement: source("sdk/engine_worker.ts") },
      { find: /^@editmgt\/editmgt\/sdk$/, replacement: source("sdk/mod.ts") },
    ],
  },
  worker: { format: "es" },
  build: { outDir: process.env.OUT_DIR ?? "dist", emptyOutDir: true },
  logLevel: "warn",
});
