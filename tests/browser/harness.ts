/// <reference lib="dom" />
/**
 * What the browser tests share: Debian's Chromium driven by playwright-core (never a downloaded
 * browser), a fresh profile per scenario, the app under test on a free loopback port (the edge
 * server's entry when it exists, else a static server of the demo, the SDK bundle and the model),
 * {@linkcode browserTest} to run a scenario against both, and a small driver for the demo page.
 *
 * @module
 */

import { type BrowserContext, chromium, type Page } from "playwright-core";
import { buildSdk } from "../../sdk/build.ts";
import { serveFiles } from "../sdk/file_server.ts";
import { ignoreWithout } from "../_shared/capability.ts";

/** Debian's Chromium (`apt-get install chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

const chromiumMissing = await exists(CHROMIUM) ? null : `${CHROMIUM} is missing`;

/**
 * Why the browser tests are ignored here (printed once), or null when they can run; in CI a
 * missing Chromium fails them instead (see {@linkcode ignoreWithout}).
 */
export const skipReason: string | null =
  ignoreWithout("the browser tests", chromiumMissing, "apt-get install chromium")
    ? chromiumMissing
    : null;

const ROOT = new URL("../../", import.meta.url);
const path = (relative: string) => decodeURIComponent(new URL(relative, ROOT).pathname);

/** The model the tests load: the random-weights tiny package (always in the repository). */
export const MODEL_DIR = "tests/fixtures/tiny-random";

/** A file of a manifest: path relative to the model folder, size and sha256. */
export interface ModelFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** The files of {@linkcode MODEL_DIR}'s manifest. */
export const MODEL_FILES: readonly ModelFile[] = JSON.parse(
  await Deno.readTextFile(path(`${MODEL_DIR}/manifest.json`)),
).components.flatMap((component: { files: ModelFile[] }) => component.files);

const SERVER_ENTRY = "examples/server/main.ts";

/** Whether the edge server exists yet (the remote-device tests need its edit API). */
export const hasServer: boolean = await exists(path(SERVER_ENTRY));

/** Screenshots land here, for people to look at. */
export const SCREENSHOTS = "/tmp/editmgt-browser";

/** The app under test. */
export interface App {
  /** Its origin. */
  url: URL;
  /** Path of the model's manifest on it. */
  manifest: string;
  /** Whether the edit API runs (the remote device works). */
  hasEditApi: boolean;
  /** Stops it. */
  close(): Promise<void>;
}

let sdkBuilt: Promise<unknown> | null = null;

/**
 * Builds the SDK into dist/sdk (once per test process) and starts the app serving `model` (a
 * model folder, default {@linkcode MODEL_DIR}): the edge server (`examples/server/main.ts`) when
 * it exists, else a static server of the page, the SDK and the model.
 */
export async function startApp(options: { model?: string } = {}): Promise<App> {
  sdkBuilt ??= buildSdk();
  await sdkBuilt;
  const model = options.model ?? MODEL_DIR;
  const id = JSON.parse(await Deno.readTextFile(path(`${model}/manifest.json`))).id;
  const manifest = `/models/${id}/manifest.json`;
  if (await exists(path(SERVER_ENTRY))) return await startServer(manifest, model);
  const server = serveFiles({
    "/sdk/": path("dist/sdk"),
    [`/models/${id}/`]: path(model),
    "/": path("examples/web"),
  });
  return {
    url: server.url,
    manifest,
    hasEditApi: false,
    close: () => server.close(),
  };
}

async function startServer(manifest: string, model: string): Promise<App> {
  const port = freePort();
  const kv = await Deno.makeTempDir({ prefix: "editmgt-browser-kv-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-kv", "-A", path(SERVER_ENTRY)],
    cwd: path("."),
    env: {
      PORT: String(port),
      HOSTNAME: "127.0.0.1",
      MODEL: path(model),
      EDITMGT_KV: `${kv}/jobs.sqlite3`,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoderStream() as TransformStream<Uint8Array, string>;
    for await (const chunk of stream.pipeThrough(decoder)) {
      output.push(chunk);
    }
  };
  const streams = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const url = new URL(`http://127.0.0.1:${port}/`);
  await waitUntilHealthy(url, child, () => output.join(""));
  return {
    url,
    manifest,
    hasEditApi: true,
    async close() {
      child.kill("SIGTERM");
      await child.status;
      await streams.catch(() => {});
      await Deno.remove(kv, { recursive: true });
    },
  };
}

async function waitUntilHealthy(
  url: URL,
  child: Deno.ChildProcess,
  output: () => string,
): Promise<void> {
  let exited = false;
  child.status.then(() => (exited = true));
  for (let waited = 0; waited < 90_000; waited += 250) {
    if (exited) throw new Error(`the server exited:\n${output()}`);
    try {
      const response = await fetch(new URL("/healthz", url));
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the server did not become healthy in 90 s:\n${output()}`);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function exists(file: string): Promise<boolean> {
  try {
    await Deno.stat(file);
    return true;
  } catch {
    return false;
  }
}

/** A Chromium with a fresh profile; close it to delete the profile. */
export interface Profile {
  context: BrowserContext;
  page: Page;
  /** Model-file requests the browser made (page and workers), as paths. */
  modelRequests: string[];
  close(): Promise<void>;
}

/** Launches Chromium with a new, empty user-data-dir. */
export async function openProfile(): Promise<Profile> {
  const userDataDir = await Deno.makeTempDir({ prefix: "editmgt-chromium-" });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      "--no-sandbox",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--enable-unsafe-webgpu",
    ],
  });
  const modelRequests: string[] = [];
  context.on("request", (request) => {
    const { pathname } = new URL(request.url());
    if (pathname.startsWith("/models/")) modelRequests.push(pathname);
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.on("pageerror", (error) => console.error("page error:", error));
  return {
    context,
    page,
    modelRequests,
    async close() {
      await context.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** What a page reports after it made an editor and an edit ({@linkcode editOnPage}). */
export interface PageEditOutcome {
  device: string;
  imageType: string;
  imageBytes: number;
  width: number;
  seed: number;
}

/**
 * In `page`, whose `globalThis.editmgt` is the SDK (and, with `appWorker`, has an
 * `appWorker()` making the app's own engine worker), makes an editor of `manifest` on WASM with
 * `options`, edits a 48x40 red picture ("make it blue", seed 5) and disposes of it.
 */
export function editOnPage(
  page: Page,
  manifest: string,
  { options = {}, appWorker = false }: { options?: Record<string, unknown>; appWorker?: boolean } =
    {},
): Promise<PageEditOutcome> {
  return page.evaluate(async ({ manifest, options, appWorker }) => {
    const { editmgt } = globalThis as unknown as {
      editmgt: {
        createEditor(options: unknown): Promise<{
          device: string;
          edit(request: unknown): Promise<{ image: Blob; seed: number }>;
          dispose(): Promise<void>;
        }>;
        appWorker(): Worker;
      };
    };
    const editor = await editmgt.createEditor({
      manifest,
      device: "wasm",
      cache: false,
      ...options,
      ...(appWorker ? { worker: editmgt.appWorker() } : {}),
    });
    const pixels = new ImageData(48, 40);
    for (let i = 0; i < pixels.data.length; i += 4) pixels.data.set([200, 40, 40, 255], i);
    const result = await editor.edit({
      image: pixels,
      instruction: "make it blue",
      options: { seed: 5 },
    });
    const bitmap = await createImageBitmap(result.image);
    await editor.dispose();
    return {
      device: editor.device,
      imageType: result.image.type,
      imageBytes: result.image.size,
      width: bitmap.width,
      seed: result.seed,
    };
  }, { manifest, options, appWorker });
}

/**
 * The model files among request paths (`/models/<id>/<file>`), as paths relative to the model
 * folder; the manifest is left out (it is revalidated on every load by design).
 */
export function modelFiles(paths: readonly string[]): string[] {
  return paths.filter((p) => !p.endsWith("/manifest.json"))
    .map((p) => p.split("/").slice(3).join("/"));
}

/** What a browser scenario runs against. */
export interface Scenario {
  /** The app under test, started for this scenario. */
  app: App;
  /** A Chromium with a fresh profile. */
  profile: Profile;
  /** The profile's page. */
  page: Page;
  /** The demo driver on that page (nothing is opened yet). */
  demo: Demo;
}

/**
 * Registers a Deno test that starts the app, runs `fn` in a fresh Chromium profile (see
 * {@linkcode withScenario}) and closes both afterwards. It is ignored where Chromium is missing,
 * and where it `needsServer` (the edge server's edit API) and the server does not exist yet.
 *
 * @example
 * ```ts
 * browserTest({
 *   name: "the demo edits on WASM",
 *   async fn(t, { demo }) {
 *     await t.step("a first edit completes", async () => {
 *       await demo.open("wasm");
 *       await demo.pickSample(0);
 *       await demo.edit();
 *     });
 *   },
 * });
 * ```
 */
export function browserTest(test: {
  name: string;
  needsServer?: boolean;
  fn: (t: Deno.TestContext, scenario: Scenario) => Promise<void>;
}): void {
  Deno.test({
    name: test.name,
    ignore: skipReason !== null || (test.needsServer === true && !hasServer),
    // Chromium and the server child process outlive single steps by design.
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      const app = await startApp();
      try {
        await withScenario(app, (scenario) => test.fn(t, scenario));
      } finally {
        await app.close();
      }
    },
  });
}

/**
 * Runs `fn` against `app` in a fresh Chromium profile, with the demo driver on its page, and
 * closes the profile afterwards (its result is `fn`'s).
 */
export async function withScenario<T>(
  app: App,
  fn: (scenario: Scenario) => Promise<T>,
): Promise<T> {
  const profile = await openProfile();
  try {
    return await fn({ app, profile, page: profile.page, demo: new Demo(profile.page, app) });
  } finally {
    await profile.close();
  }
}

/** Prints a scenario's load and first-edit times (a `TIMING` line, for the README). */
export function logTiming(label: string, metrics: DemoMetrics): void {
  console.log(
    `TIMING ${label}: ready ${Math.round(metrics.readyAt ?? NaN)} ms, first edit done ${
      Math.round(metrics.firstEditAt ?? NaN)
    } ms after navigation (edit ${Math.round(metrics.edits[0]?.ms ?? NaN)} ms)`,
  );
}

/** Drives the demo page. */
export class Demo {
  constructor(readonly page: Page, readonly app: App) {}

  /** Opens the demo with `device` and waits until the page is interactive (model loading). */
  async goto(device: string): Promise<void> {
    const url = new URL("./", this.app.url);
    url.searchParams.set("device", device);
    url.searchParams.set("model", this.app.manifest);
    await this.page.goto(url.href);
    await this.page.waitForFunction(() => document.body.dataset.state !== "starting");
  }

  /** Opens the demo with `device` and waits until the model is ready. */
  async open(device: string, timeout = 120_000): Promise<void> {
    await this.goto(device);
    await this.waitForReady(timeout);
  }

  /** Reloads the page and waits until the model is ready. */
  async reload(timeout = 120_000): Promise<void> {
    await this.page.reload();
    await this.waitForReady(timeout);
  }

  /** Waits until the model is ready; throws with the page's error when loading failed. */
  async waitForReady(timeout: number): Promise<void> {
    await this.page.waitForFunction(
      () => {
        const demo = (globalThis as unknown as DemoGlobals).demo;
        return demo.metrics.readyAt !== null || document.body.dataset.state === "error";
      },
      null,
      { timeout },
    );
    const error = await this.page.evaluate(() =>
      document.body.dataset.state === "error"
        ? document.getElementById("error-text")!.textContent
        : null
    );
    if (error !== null) throw new Error(`the demo failed to load: ${error}`);
  }

  /** Clicks sample number `index` (0-based) and waits until it is the source. */
  async pickSample(index: number): Promise<void> {
    await this.page.evaluate(() => delete document.body.dataset.source);
    await this.page.click(`#samples button:nth-child(${index + 1})`);
    await this.page.waitForFunction(() => document.body.dataset.source !== undefined);
  }

  /** Sets a range or text control and fires its input event. */
  async set(id: string, value: string): Promise<void> {
    await this.page.evaluate(([id, value]) => {
      const input = document.getElementById(id) as HTMLInputElement;
      input.value = value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }, [id, value]);
  }

  /** Clicks Edit and waits until the edit is done; throws with the page's error otherwise. */
  async edit(timeout = 120_000): Promise<void> {
    await this.page.click("#edit");
    const outcome = await this.waitForOutcome(timeout);
    if (outcome !== "done") {
      throw new Error(`the edit ended "${outcome}": ${await this.errorText()}`);
    }
  }

  /**
   * Waits until a started edit's progress text reports step `index` or a later one ("Step 7 / 48"),
   * whatever number the first poll sees, so a fast edit cannot skip past the wait.
   */
  async waitForStep(index: number): Promise<void> {
    await this.page.waitForFunction((least) => {
      const match = /Step (\d+) \/ \d+/.exec(
        document.getElementById("progress-text")?.textContent ?? "",
      );
      return match !== null && Number(match[1]) >= least;
    }, index);
  }

  /**
   * Arms the page to click Cancel itself as soon as the next edit's progress text reports step
   * `index` ("Step 2 / 48"): a click from the test process can come after a fast edit has ended.
   * Resolves to a function that returns the milliseconds from that click to now.
   */
  async cancelAtStep(index: number): Promise<() => Promise<number>> {
    await this.page.evaluate((least) => {
      const text = document.getElementById("progress-text")!;
      const observer = new MutationObserver(() => {
        const match = /Step (\d+) \/ \d+/.exec(text.textContent ?? "");
        if (match === null || Number(match[1]) < least) return;
        observer.disconnect();
        (globalThis as unknown as { cancelClickedAt: number }).cancelClickedAt = performance.now();
        document.getElementById("cancel")!.click();
      });
      observer.observe(text, { childList: true, characterData: true, subtree: true });
    }, index);
    return () =>
      this.page.evaluate(() =>
        performance.now() - (globalThis as unknown as { cancelClickedAt: number }).cancelClickedAt
      );
  }

  /** Waits for the outcome state of a started edit ("done", "error" or "cancelled"). */
  async waitForOutcome(timeout = 120_000): Promise<string> {
    await this.page.waitForFunction(
      () => ["done", "error", "cancelled"].includes(document.body.dataset.state ?? ""),
      null,
      { timeout },
    );
    return await this.page.evaluate(() => document.body.dataset.state!);
  }

  /** The error banner's text, or null when it is hidden. */
  async errorText(): Promise<string | null> {
    return await this.page.evaluate(() => {
      const banner = document.getElementById("error")!;
      return banner.hidden ? null : banner.textContent!.trim();
    });
  }

  /** The page's load, download, preview and edit metrics so far. */
  async metrics(): Promise<DemoMetrics> {
    return await this.page.evaluate(() => (globalThis as unknown as DemoGlobals).demo.metrics);
  }

  /** The latest result's size and the source's, as `[width, height]` pairs. */
  async resultAndSourceSizes(): Promise<{ result: number[]; source: number[] }> {
    return await this.page.evaluate(() => {
      const { state } = (globalThis as unknown as DemoGlobals).demo;
      const result = state.turns.at(-1)!.image;
      return {
        result: [result.width, result.height],
        source: [state.source!.width, state.source!.height],
      };
    });
  }

  /** Saves a screenshot under {@linkcode SCREENSHOTS}. */
  async screenshot(name: string): Promise<void> {
    await Deno.mkdir(SCREENSHOTS, { recursive: true });
    await this.page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
  }
}

/** The globals the demo page exposes for tests. */
export interface DemoGlobals {
  demo: {
    state: {
      source: ImageDataLike | null;
      original: ImageDataLike | null;
      turns: {
        image: ImageDataLike;
        parent: number | null;
        mask?: { width: number; height: number; data: Uint8Array };
      }[];
    };
    metrics: DemoMetrics;
  };
}

/** The demo page's metrics: times in ms after navigation, edits, download progress, previews. */
export interface DemoMetrics {
  readyAt: number | null;
  firstEditAt: number | null;
  edits: { device: string; ms: number }[];
  downloads: { loaded: number; total: number }[];
  previews: number;
}

interface ImageDataLike {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}
