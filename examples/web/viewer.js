/**
 * The image stage of the demo: the source alone, or a before/after comparison with a draggable
 * split, live step previews, and an overlay (heatmap or changed pixels).
 */

/** Draws `image` (ImageData) onto `canvas`, resizing the canvas to the image. */
export function drawImage(canvas, image) {
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext("2d").putImageData(image, 0, 0);
}

export class Viewer {
  #root;
  #before;
  #after;
  #overlay;

  constructor(root) {
    this.#root = root;
    this.#before = root.querySelector("#before");
    this.#after = root.querySelector("#after");
    this.#overlay = root.querySelector("#overlay");
    const split = root.querySelector("#split");
    split.addEventListener("input", () => root.style.setProperty("--split", `${split.value}%`));
  }

  /** Shows the source image alone. */
  showSource(image) {
    this.#root.classList.remove("empty", "compare");
    this.#root.style.setProperty("--aspect", `${image.width} / ${image.height}`);
    drawImage(this.#before, image);
    this.setOverlay(null);
  }

  /** Shows a step preview (model resolution, scaled up without smoothing) as the "after". */
  showPreview(image) {
    this.#root.classList.add("compare");
    this.#after.classList.add("pixelated");
    drawImage(this.#after, image);
  }

  /** Shows the result as the "after". */
  showResult(image) {
    this.#root.classList.add("compare");
    this.#after.classList.remove("pixelated");
    drawImage(this.#after, image);
  }

  /** Hides the "after" (back to the source alone). */
  hideResult() {
    this.#root.classList.remove("compare");
  }

  /**
   * Lays `image` (same size as the shown images) over the stage, on the "after" side when
   * `side` is "after", over everything when "all"; null removes it.
   */
  setOverlay(image, side = "after") {
    this.#overlay.hidden = image === null;
    this.#overlay.style.clipPath = side === "after" ? "inset(0 0 0 var(--split))" : "none";
    if (image !== null) drawImage(this.#overlay, image);
  }
}

/**
 * The result dimmed to grey where its pixels equal the original's and magenta where they differ:
 * the footprint of every edit so far.
 */
export function changedPixels(result, original) {
  const out = new ImageData(result.width, result.height);
  const a = result.data;
  const b = original.data;
  for (let i = 0; i < a.length; i += 4) {
    const same = a[i] === b[i] && a[i + 1] === b[i + 1] && a[i + 2] === b[i + 2] &&
      a[i + 3] === b[i + 3];
    if (same) {
      const grey = (a[i] * 0.3 + a[i + 1] * 0.59 + a[i + 2] * 0.11) * 0.45 + 40;
      out.data[i] = out.data[i + 1] = out.data[i + 2] = grey;
    } else {
      out.data[i] = 255;
      out.data[i + 1] = 0;
      out.data[i + 2] = 200;
    }
    out.data[i + 3] = 255;
  }
  return out;
}

/** Fraction of pixels (all four channels) equal in two images of the same size. */
export function identicalFraction(a, b) {
  if (a.width !== b.width || a.height !== b.height) return 0;
  let same = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    if (
      a.data[i] === b.data[i] && a.data[i + 1] === b.data[i + 1] &&
      a.data[i + 2] === b.data[i + 2] && a.data[i + 3] === b.data[i + 3]
    ) same++;
  }
  return same / (a.width * a.height);
}
