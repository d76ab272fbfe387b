/**
 * The EditMGT demo page: pick an image, type an instruction, edit it in the browser (WebGPU,
 * WASM or the server), compare before and after, look at where the model acted, and keep
 * editing the result. Plain ES modules over the bundled SDK at /sdk/; no build step.
 */

import {
  createEditor,
  inspectImage,
  isEditMGTError,
  localizationHeatmap,
  modelCache,
} from "./sdk/mod.js";
import { Settings } from "./settings.js";
import { changedPixels, drawImage, identicalFraction, Viewer } from "./viewer.js";

const $ = (id) => document.getElementById(id);

/** Models this large or larger are downloaded on the first edit, not when the page opens. */
const PRELOAD_LIMIT_BYTES = 100e6;

const settings = new Settings();
const viewer = new Viewer($("viewer"));

const state = {
  /** Where the model's manifest is. */
  model: null,
  /** The manifest, once read. */
  manifest: null,
  /** Promise of the editor for `editorDevice`. */
  editor: null,
  editorDevice: null,
  /** The first image of this session and the current source (ImageData). */
  original: null,
  source: null,
  /** Index in `turns` of the current source. */
  sourceTurn: 0,
  /** The latest result and its heatmap (made on demand). */
  result: null,
  heatmap: null,
  /** Localization of "Preview region" over the source. */
  regionHeatmap: null,
  /** Every image of this session: the original, then one entry per edit. */
  turns: [],
  /** Aborts the running call. */
  running: null,
};

/** Timings the browser tests read (milliseconds since navigation start). */
const metrics = { readyAt: null, firstEditAt: null, edits: [], downloads: [], previews: 0 };
globalThis.demo = { state, metrics };

function setState(name) {
  document.body.dataset.state = name;
}

// ---- errors and progress ----

function showError(error) {
  const aborted = isEditMGTError(error, "aborted");
  $("error").classList.toggle("notice", aborted);
  $("error-text").textContent = aborted
    ? "Cancelled. Nothing was changed."
    : isEditMGTError(error)
    ? `${error.message} (${error.code})`
    : `Something went wrong: ${error?.message ?? error}`;
  $("error").hidden = false;
  if (!aborted) console.error(error);
}

function clearError() {
  $("error").hidden = true;
}

function showProgress(fraction, text) {
  $("progress").hidden = false;
  $("progress-fill").style.width = `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
  $("progress-text").textContent = text;
}

function hideProgress() {
  $("progress").hidden = true;
}

const megabytes = (bytes) => (bytes / 1e6).toFixed(bytes < 10e6 ? 2 : 1);

function onLoadProgress(event) {
  if (event.type === "download") {
    metrics.downloads.push({ loaded: event.loaded, total: event.total });
    showProgress(
      event.loaded / event.total,
      `Downloading model · ${megabytes(event.loaded)} / ${megabytes(event.total)} MB`,
    );
  } else if (event.type === "ready") {
    showProgress(1, `Model ready on ${event.device}`);
  }
}

// ---- the model and the editor ----

/** The server's root: this script's folder, which is "/" or the path the server is mounted at. */
const SERVER = new URL("./", import.meta.url);

async function findModel() {
  const asked = new URLSearchParams(location.search).get("model");
  if (asked) return asked;
  try {
    const response = await fetch(new URL("v1/models", SERVER));
    if (response.ok) {
      const { data } = await response.json();
      if (data?.[0]?.manifest) return data[0].manifest;
    }
  } catch {
    // No model list here: use the default path.
  }
  return new URL("models/editmgt-tiny/", SERVER).href;
}

/** The editor for the device in the form, created on first use. */
function editor() {
  const device = settings.device;
  if (state.editor !== null && state.editorDevice === device) return state.editor;
  const previous = state.editor;
  state.editorDevice = device;
  setDeviceBadge(`device: loading ${device}…`, "");
  state.editor = (async () => {
    await previous?.then((old) => old.dispose(), () => {});
    const created = await createEditor({
      manifest: state.model,
      device,
      onProgress: onLoadProgress,
    });
    if (state.editorDevice === device) {
      metrics.readyAt ??= performance.now();
      setDeviceBadge(
        `device: ${created.device}${device === "auto" ? " (auto)" : ""}`,
        created.reason,
      );
      $("device-badge").classList.add("ready");
      if (state.running === null) {
        showProgress(1, `Model ready on ${created.device}: ${created.reason}`);
      }
      refreshModelBadge();
    }
    return created;
  })();
  const pending = state.editor;
  pending.catch((error) => {
    if (state.editor !== pending) return;
    state.editor = null;
    setDeviceBadge(`device: ${device} failed`, String(error?.message ?? error));
  });
  return pending;
}

function setDeviceBadge(text, reason) {
  const badge = $("device-badge");
  badge.textContent = text;
  badge.title = reason;
  badge.classList.remove("ready");
}

async function refreshModelBadge() {
  if (state.manifest === null) return;
  const bytes = state.manifest.components.flatMap((c) => c.files).reduce((s, f) => s + f.bytes, 0);
  let cached = false;
  try {
    cached = await modelCache().has(state.model);
  } catch {
    // No Cache Storage (insecure context): nothing is stored.
  }
  $("model-badge").textContent = `model: ${state.manifest.id} · ${megabytes(bytes)} MB${
    cached ? " · cached" : ""
  }`;
  return { bytes, cached };
}

async function loadManifest() {
  const url = new URL(state.model, location.href);
  if (!url.pathname.endsWith(".json")) {
    url.pathname = `${url.pathname.replace(/\/?$/, "/")}manifest.json`;
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the model manifest ${url} answered HTTP ${response.status}`);
  return await response.json();
}

// ---- images ----

async function imageDataOf(blob) {
  await inspectImage(blob);
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none" });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

async function openImage(blob, name) {
  clearError();
  try {
    const image = await imageDataOf(blob);
    state.original = image;
    state.result = null;
    state.heatmap = null;
    state.regionHeatmap = null;
    state.turns = [{ image, instruction: name, parent: null, identical: 1 }];
    setSource(0);
    renderTurns();
    updateControls();
    document.body.dataset.source = name;
    $("instruction").focus();
  } catch (error) {
    showError(error);
  }
}

function setSource(turn) {
  state.sourceTurn = turn;
  state.source = state.turns[turn].image;
  state.regionHeatmap = null;
  viewer.showSource(state.source);
  $("show-heatmap").checked = false;
  $("show-changes").checked = false;
  showLegend(null);
}

async function loadSamples() {
  let samples = [];
  try {
    samples = await (await fetch("samples/samples.json")).json();
  } catch {
    return;
  }
  for (const sample of samples) {
    const button = document.createElement("button");
    button.type = "button";
    button.title = sample.instructions[0] ?? sample.file;
    button.setAttribute("aria-pressed", "false");
    button.innerHTML = `<img alt="Sample ${sample.file}" src="samples/${sample.file}">`;
    button.addEventListener("click", async () => {
      for (const other of $("samples").children) other.setAttribute("aria-pressed", "false");
      button.setAttribute("aria-pressed", "true");
      const blob = await (await fetch(`samples/${sample.file}`)).blob();
      await openImage(blob, sample.file);
      showSuggestions(sample.instructions);
      if (!$("instruction").value) $("instruction").value = sample.instructions[0] ?? "";
      updateControls();
    });
    $("samples").append(button);
  }
}

function showSuggestions(instructions) {
  $("suggestions").replaceChildren(...instructions.map((text) => {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.textContent = text;
    chip.addEventListener("click", () => {
      $("instruction").value = text;
      updateControls();
    });
    return chip;
  }));
}

// ---- editing ----

function request() {
  return {
    image: state.source,
    instruction: $("instruction").value.trim(),
    options: settings.options(),
  };
}

/** `request` with `options` added to its edit options. */
function withOptions(request, options) {
  return { ...request, options: { ...request.options, ...options } };
}

async function run(work) {
  clearError();
  const controller = new AbortController();
  state.running = controller;
  updateControls();
  try {
    await work(await editor(), controller.signal);
  } catch (error) {
    if (state.result !== null) viewer.showResult(state.result.imageData);
    else viewer.hideResult();
    showError(error);
    setState(isEditMGTError(error, "aborted") ? "cancelled" : "error");
    hideProgress();
  } finally {
    state.running = null;
    updateControls();
  }
}

async function edit() {
  await run(async (current, signal) => {
    setState("editing");
    const started = performance.now();
    const sourceTurn = state.sourceTurn;
    $("result-info").textContent = "";
    showProgress(0, "Encoding…");
    const result = await current.edit(withOptions(request(), { previewEvery: 1 }), {
      signal,
      onProgress(event) {
        if (event.type !== "step") return;
        showProgress(event.index / event.total, `Step ${event.index} / ${event.total}`);
        if (event.preview) {
          metrics.previews++;
          viewer.showPreview(event.preview);
        }
      },
    });
    const finished = performance.now();
    metrics.firstEditAt ??= finished;
    metrics.edits.push({ device: result.device, ms: finished - started, timings: result.timings });
    state.result = result;
    state.heatmap = null;
    const identical = identicalFraction(result.imageData, state.original);
    state.turns.push({
      image: result.imageData,
      instruction: $("instruction").value.trim(),
      parent: sourceTurn,
      identical,
      seed: result.seed,
      mask: result.mask,
    });
    viewer.showResult(result.imageData);
    showOverlay();
    renderTurns();
    showResultInfo(result, identical);
    const download = $("download");
    if (download.href) URL.revokeObjectURL(download.href);
    download.href = URL.createObjectURL(result.image);
    download.download = `editmgt-${result.seed}.png`;
    showProgress(1, `Done in ${Math.round(finished - started)} ms`);
    setState("done");
  });
}

async function previewRegion() {
  await run(async (current, signal) => {
    setState("previewing");
    showProgress(0.5, "Reading where the instruction acts…");
    const localization = await current.previewRegion(request(), { signal });
    state.regionHeatmap = localizationHeatmap(state.source, localization, { opacity: 0.6 });
    viewer.hideResult();
    viewer.setOverlay(state.regionHeatmap, "all");
    showLegend("heatmap");
    $("result-info").textContent = `Bright = where “${request().instruction}” acts (lambda ${
      localization.lambda.toFixed(2)
    }). Rephrase or set a focus phrase, then press Edit.`;
    showProgress(1, "Region preview");
    setState("previewed");
  });
}

function showResultInfo(result, identical) {
  const t = result.timings;
  const info = $("result-info");
  info.replaceChildren();
  const exact = document.createElement(identical > 0 ? "strong" : "span");
  exact.textContent = `${(identical * 100).toFixed(1)}% of pixels bit-identical to the original`;
  info.append(
    `Seed ${result.seed} · ${Math.round(t.totalMs)} ms on ${result.device} (text ${
      Math.round(t.textMs)
    }, encode ${Math.round(t.encodeMs)}, steps ${Math.round(t.stepsMs)}, decode ${
      Math.round(t.decodeMs)
    }) · `,
    exact,
  );
}

function showOverlay() {
  if (state.result === null) return showLegend(null);
  if ($("show-heatmap").checked) {
    state.heatmap ??= localizationHeatmap(state.result.imageData, state.result.localization, {
      opacity: 0.6,
    });
    viewer.setOverlay(state.heatmap);
    showLegend("heatmap");
  } else if ($("show-changes").checked) {
    viewer.setOverlay(changedPixels(state.result.imageData, state.original));
    showLegend("changes");
  } else {
    viewer.setOverlay(null);
    showLegend(null);
  }
}

const LEGENDS = {
  heatmap: [
    ["ramp", "", "where the instruction acts: dark = held, bright = edited"],
  ],
  changes: [
    ["", "#ff00c8", "differs from the original"],
    ["", "#777777", "bit-identical to the original"],
  ],
};

/** Explains the overlay in use ("heatmap", "changes") under the stage; null hides it. */
function showLegend(kind) {
  const legend = $("legend");
  legend.hidden = kind === null;
  if (kind === null) return;
  legend.replaceChildren(...LEGENDS[kind].map(([className, color, text]) => {
    const entry = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${className}`;
    if (color) swatch.style.background = color;
    entry.append(swatch, text);
    return entry;
  }));
}

function renderTurns() {
  $("turns").replaceChildren(...state.turns.map((turn, index) => {
    const item = document.createElement("li");
    const canvas = document.createElement("canvas");
    drawImage(canvas, turn.image);
    const caption = document.createElement("div");
    if (index === 0) caption.textContent = "Original";
    else {
      const exact = document.createElement("span");
      if (turn.identical > 0) exact.className = "exact";
      exact.textContent = `${(turn.identical * 100).toFixed(1)}% identical`;
      caption.append(`${index}. “${turn.instruction}” `, exact);
    }
    item.append(canvas, caption);
    if (index === state.sourceTurn) item.setAttribute("aria-current", "true");
    return item;
  }));
}

function editAgain() {
  if (state.result === null) return;
  setSource(state.turns.length - 1);
  state.result = null;
  $("instruction").select();
  $("result-info").textContent =
    `Editing the result of turn ${state.sourceTurn}. Untouched pixels stay those of the original.`;
  renderTurns();
  updateControls();
  setState("idle");
}

function updateControls() {
  const busy = state.running !== null;
  const ready = state.source !== null && $("instruction").value.trim() !== "";
  $("edit").disabled = busy || !ready;
  $("preview-region").disabled = busy || !ready;
  $("edit").hidden = busy;
  $("cancel").hidden = !busy;
  $("edit-again").disabled = busy || state.result === null;
  $("show-heatmap").disabled = busy || state.result === null;
  $("show-changes").disabled = busy || state.result === null;
  $("download").setAttribute("aria-disabled", String(busy || state.result === null));
  $("device").disabled = busy;
  $("drop").classList.toggle("disabled", busy);
}

// ---- wiring ----

function wire() {
  $("edit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!$("edit").disabled) edit();
  });
  $("preview-region").addEventListener("click", previewRegion);
  $("cancel").addEventListener("click", () => state.running?.abort());
  $("edit-again").addEventListener("click", editAgain);
  $("instruction").addEventListener("input", updateControls);
  $("error-close").addEventListener("click", clearError);
  $("show-heatmap").addEventListener("change", () => {
    if ($("show-heatmap").checked) $("show-changes").checked = false;
    showOverlay();
  });
  $("show-changes").addEventListener("change", () => {
    if ($("show-changes").checked) $("show-heatmap").checked = false;
    showOverlay();
  });
  $("device").addEventListener("change", () => {
    editor().catch(showError);
  });
  $("clear-cache").addEventListener("click", async () => {
    const current = state.editor;
    state.editor = null;
    await current?.then((old) => old.dispose(), () => {});
    await modelCache().clear();
    await refreshModelBadge();
    setDeviceBadge("device: not loaded (cache cleared)", "");
  });

  const file = $("file");
  file.addEventListener("change", () => {
    if (file.files?.[0]) openImage(file.files[0], file.files[0].name);
    file.value = "";
  });
  const drop = $("drop");
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      file.click();
    }
  });
  for (const target of [drop, $("viewer")]) {
    target.addEventListener("dragover", (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
    target.addEventListener("dragleave", () => drop.classList.remove("over"));
    target.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      const dropped = event.dataTransfer?.files?.[0];
      if (dropped && state.running === null) openImage(dropped, dropped.name);
    });
  }
}

async function start() {
  const device = new URLSearchParams(location.search).get("device");
  if (device) settings.device = device;
  wire();
  updateControls();
  await loadSamples();
  try {
    state.model = await findModel();
    state.manifest = await loadManifest();
    settings.applyDefaults(state.manifest.defaults);
    const { bytes, cached } = await refreshModelBadge();
    setState("idle");
    if (cached || bytes < PRELOAD_LIMIT_BYTES) await editor();
    else setDeviceBadge("device: loads on the first edit", "");
  } catch (error) {
    showError(error);
    setState("error");
  }
}

start();
