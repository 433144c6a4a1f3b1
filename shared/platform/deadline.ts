import { BackupError } from '../errors.js';
import type { Logger } from '../log.js';

/** Time kept back before a function's deadline to abort an upload cleanly and log why. */
const DEADLINE_MARGIN_MS = 15_000;

/** How a platform names its deadline in the logs, and what to do when a run reaches it. */
export interface PlatformDeadline {
  platform: string;
  hint: string;
}

export interface Deadline {
  signal: AbortSignal;
  /** A frozen execution environment keeps its timers: one left over would fire in the next invocation. */
  clear(): void;
}

/**
 * A signal that fires shortly before the platform stops the function, with a reason that says so: the
 * task aborts its upload (leaving no object) and the result line explains why, instead of the runtime
 * killing the process mid-write. The margin is 15 s, or a quarter of the time left for very short timeouts.
 */
export function deadlineSignal(remainingMs: number, log: Logger, { platform, hint }: PlatformDeadline): Deadline {
  const margin = Math.min(DEADLINE_MARGIN_MS, Math.floor(remainingMs / 4));
  const controller = new AbortController();
  const timer = setTimeout(() => {
    log.warn(`${platform} deadline near: aborting the task`, { marginMs: margin });
    controller.abort(
      new BackupError(
        'aborted',
        `${platform} deadline: stopped ${margin} ms before the function timeout so the upload could be aborted cleanly`,
        { hint },
      ),
    );
  }, remainingMs - margin);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
