/**
 * The CLI's progress display on stderr: a bar redrawn in place on a terminal, plain lines when
 * stderr is a file or a pipe.
 *
 * @module
 */

import { describeDtypes } from "../../src/model/variants.ts";
import type { EditProgress } from "../../src/pipeline/types.ts";

/** Writes progress events; `finish` ends the bar's line. */
export interface ProgressDisplay {
  /** Shows one event. */
  update(event: EditProgress): void;
  /** Ends the current line, if a bar is drawn. */
  finish(): void;
}

const BAR_WIDTH = 24;

/**
 * A progress display that writes with `write`, as a redrawn bar when `terminal` is true.
 *
 * @example
 * ```ts
 * import { createProgressDisplay } from "./progress.ts";
 *
 * const display = createProgressDisplay((text) => console.error(text.trimEnd()), false);
 * display.update({ type: "step", index: 3, total: 12 });
 * ```
 */
export function createProgressDisplay(
  write: (text: string) => void,
  terminal: boolean,
): ProgressDisplay {
  let open = false;
  const show = (label: string, done: number, total: number) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
    const percent = `${Math.round(fraction * 100)}`.padStart(3);
    if (terminal) {
      write(`\r\x1b[2K${label} ${bar} ${percent}%`);
      open = true;
    } else {
      write(`${label} ${done}/${total}\n`);
    }
  };
  const finish = () => {
    if (open) write("\n");
    open = false;
  };
  return {
    update(event: EditProgress) {
      switch (event.type) {
        case "download":
          if (terminal || event.loaded === event.total) show("model", event.loaded, event.total);
          break;
        case "ready":
          finish();
          write(`model ready on ${event.device} (${describeDtypes(event.dtypes)})\n`);
          break;
        case "step":
          show("edit ", event.index, event.total);
          break;
        case "done":
          finish();
          break;
      }
    },
    finish,
  };
}
