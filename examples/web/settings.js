/**
 * The settings form of the demo: sliders for steps, guidance, gamma and lambda (with "auto"),
 * the localization map's source, seed, focus phrase and device, turned into the SDK's edit
 * options.
 */

const $ = (id) => document.getElementById(id);

const SLIDERS = ["steps", "guidance", "gamma", "lambda"];

export class Settings {
  constructor() {
    for (const name of SLIDERS) $(name).addEventListener("input", () => this.#showValues());
    $("lambda-auto").addEventListener("change", () => this.#showValues());
    $("seed-random").addEventListener("click", () => {
      $("seed").value = String(Math.floor(Math.random() * 2 ** 31));
    });
    this.#showValues();
  }

  /** Sets the sliders to a model's defaults (its manifest's `defaults`). */
  applyDefaults(defaults) {
    $("steps").value = String(defaults.steps);
    $("guidance").value = String(defaults.guidance);
    $("gamma").value = String(defaults.gamma);
    const auto = defaults.lambda === "auto";
    $("lambda-auto").checked = auto;
    if (!auto) $("lambda").value = String(defaults.lambda);
    this.#showValues();
  }

  /** The device picked in the form. */
  get device() {
    return $("device").value;
  }

  set device(value) {
    $("device").value = value;
  }

  /** The edit options of the form. An empty seed field means a random seed per edit. */
  options() {
    const options = {
      steps: Number($("steps").value),
      guidance: Number($("guidance").value),
      gamma: Number($("gamma").value),
      lambda: $("lambda-auto").checked ? "auto" : Number($("lambda").value),
      mapSource: $("map-source").value,
    };
    const seed = $("seed").value.trim();
    if (seed !== "") options.seed = Number(seed);
    const focus = $("focus").value.trim();
    if (focus !== "") options.focus = focus;
    return options;
  }

  #showValues() {
    $("lambda").disabled = $("lambda-auto").checked;
    for (const name of SLIDERS) {
      const value = $(name).value;
      $(`${name}-value`).textContent = name === "lambda" && $("lambda-auto").checked
        ? "auto"
        : value;
    }
  }
}
