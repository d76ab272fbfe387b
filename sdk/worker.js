// The SDK's default engine worker. `createEditor` starts it with
// `new Worker(new URL("./worker.js", import.meta.url), { type: "module" })`, the pattern that
// Vite, webpack, esbuild and Parcel recognise and bundle. A plain JavaScript file, so that the
// same name exists in the sources, in the bundle (`deno task build:sdk`) and on JSR.
import { serveEditorWorker } from "./engine_worker.ts";

serveEditorWorker();
