/**
 * The viridis colour map (perceptually uniform, readable in greyscale and by most colour-blind
 * viewers), as a 256-entry lookup table interpolated from 17 anchors of the matplotlib data
 * (Smith, van der Walt and Firing, CC0).
 *
 * @module
 */

/** [index in the 256-entry map, r, g, b] with channels in [0, 1]. */
const VIRIDIS_ANCHORS: ReadonlyArray<readonly [number, number, number, number]> = [
  [0, 0.267004, 0.004874, 0.329415],
  [16, 0.282327, 0.094955, 0.417331],
  [32, 0.278826, 0.17549, 0.483397],
  [48, 0.258965, 0.251537, 0.524736],
  [64, 0.229739, 0.322361, 0.545706],
  [80, 0.19943, 0.387607, 0.554642],
  [96, 0.172719, 0.448791, 0.557885],
  [112, 0.149039, 0.508051, 0.55725],
  [128, 0.127568, 0.566949, 0.550556],
  [144, 0.120638, 0.625828, 0.533488],
  [160, 0.157851, 0.683765, 0.501686],
  [176, 0.24607, 0.73891, 0.452024],
  [192, 0.369214, 0.788888, 0.382914],
  [208, 0.515992, 0.831158, 0.294279],
  [224, 0.678489, 0.863742, 0.189503],
  [240, 0.845561, 0.887322, 0.099702],
  [255, 0.993248, 0.906157, 0.143936],
];

/** 256 RGB triples (bytes), entry i for value i / 255. */
const VIRIDIS_TABLE: Uint8Array = buildTable(VIRIDIS_ANCHORS);

function buildTable(
  anchors: ReadonlyArray<readonly [number, number, number, number]>,
): Uint8Array {
  const table = new Uint8Array(256 * 3);
  for (let a = 0; a + 1 < anchors.length; a++) {
    const [from, ...low] = anchors[a];
    const [to, ...high] = anchors[a + 1];
    for (let i = from; i <= to; i++) {
      const t = (i - from) / (to - from);
      for (let c = 0; c < 3; c++) {
        table[i * 3 + c] = Math.round((low[c] + t * (high[c] - low[c])) * 255);
      }
    }
  }
  return table;
}

/**
 * The viridis colour of `value` (clamped to [0, 1]; NaN counts as 0) as RGB bytes.
 *
 * @example
 * ```ts
 * import { viridis } from "@editmgt/editmgt/image";
 * console.log(viridis(0), viridis(1)); // [68, 1, 84] [253, 231, 37]
 * ```
 */
export function viridis(value: number): [number, number, number] {
  const i = value > 0 ? Math.round(Math.min(value, 1) * 255) * 3 : 0;
  return [VIRIDIS_TABLE[i], VIRIDIS_TABLE[i + 1], VIRIDIS_TABLE[i + 2]];
}
