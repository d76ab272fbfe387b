/** A test picture for the 1024 px benches. */

import type { RgbaImage } from "../../src/image/types.ts";

/** A smooth, textured, photo-like picture: sky gradient, a hill, a sun and fine noise. */
export function photoLike(width: number, height: number, seed = 1): RgbaImage {
  const data = new Uint8ClampedArray(width * height * 4);
  let state = seed;
  const noise = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 12;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const hill = height * (0.62 + 0.08 * Math.sin(x / width * 5));
      const sun = Math.hypot(x - width * 0.7, y - height * 0.25) < height * 0.09;
      const rgb = sun
        ? [250, 220, 120]
        : y > hill
        ? [60 + 40 * Math.sin(x / 37), 120 + 30 * Math.cos(y / 23), 50]
        : [120 + 80 * y / height, 160 + 60 * y / height, 235];
      data.set([...rgb.map((v) => v + noise()), 255], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}
