import { Format, type Options, type Params, SingleBar } from 'cli-progress';
import type { Progress, ProgressMeter } from '../shared/progress.js';
import { humanSize } from './format.js';

/** `snapshot ████████░░░░░░░░ 52% 15.2 MiB of 29.1 MiB, 48.3 MiB/s` */
function line(label: string, options: Options, params: Params): string {
  const seconds = ((params.stopTime ?? Date.now()) - params.startTime) / 1000;
  const rate = seconds > 0 ? `, ${humanSize(Math.round(params.value / seconds))}/s` : '';
  const percent = `${Math.floor(params.progress * 100)}%`.padStart(4);
  return `${label} ${Format.BarFormat(params.progress, options)} ${percent} ${humanSize(params.value)} of ${humanSize(params.total)}${rate}`;
}

/**
 * A progress bar on a terminal (stderr), redrawn in place a few times a second by cli-progress. Finished,
 * it is drawn once more at 100% and left on its own line, however quickly the stream went by.
 */
export function terminalProgress(label: string, stream: NodeJS.WriteStream): Progress & { close(): void } {
  let active: SingleBar | undefined;
  const finish = (bar: SingleBar) => {
    bar.stop();
    if (active === bar) active = undefined;
  };
  return {
    start(total: number): ProgressMeter {
      if (active) finish(active);
      const bar = new SingleBar({ stream, format: (options, params) => line(label, options, params), barsize: 24 });
      // A member may report a database size of 0 (or less than it sends): the total then follows the bytes.
      let expected = Math.max(total, 1);
      let bytes = 0;
      bar.start(expected, 0);
      active = bar;
      return {
        add(count) {
          bytes += count;
          if (bytes > expected) {
            expected = bytes;
            bar.setTotal(expected);
          }
          bar.update(bytes);
        },
        done() {
          bar.setTotal(bytes);
          bar.update(bytes);
          finish(bar);
        },
        stop: () => finish(bar),
      };
    },
    close() {
      if (active) finish(active);
    },
  };
}
