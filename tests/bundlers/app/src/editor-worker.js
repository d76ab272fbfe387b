// A worker the app makes itself (served from its own origin, built by Vite), hosting the editor.
import { serveEditorWorker } from "@editmgt/editmgt/sdk/worker";

serveEditorWorker();
