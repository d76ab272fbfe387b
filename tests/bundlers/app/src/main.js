// A page that uses the SDK as an app would: imported by name, bundled by Vite. The test drives
// it through `globalThis.editmgt`.
import { createEditor, isEditMGTError } from "@editmgt/editmgt/sdk";

globalThis.editmgt = {
  createEditor,
  isEditMGTError,
  /** The app's own editor worker, in the syntax Vite builds. */
  appWorker: () => new Worker(new URL("./editor-worker.js", import.meta.url), { type: "module" }),
};
document.body.dataset.ready = "true";
