/** A 2D grid of tokens, row-major. */
export interface Grid {
  /** Number of rows. */
  readonly height: number;
  /** Number of columns. */
  readonly width: number;
}

/** Number of cells in `grid` (`height * width`). */
export function gridSize(grid: Grid): number {
  return grid.height * grid.width;
}

/**
 * Index into `[0, size)` for a possibly out-of-range `index`, mirroring at the borders with the
 * edge sample repeated (`d c b a | a b c d | d c b a`), which is scipy.ndimage's `reflect` mode.
 */
export function reflectIndex(index: number, size: number): number {
  const period = 2 * size;
  const wrapped = ((index % period) + period) % period;
  return wrapped < size ? wrapped : period - 1 - wrapped;
}

/**
 * `reflectIndex(i - radius, size)` for every `i` in `[0, size + 2 * radius)`: the source index of
 * each position of a line padded by `radius` on both sides.
 */
export function reflectTable(size: number, radius: number): Int32Array {
  return Int32Array.from({ length: size + 2 * radius }, (_, i) => reflectIndex(i - radius, size));
}
