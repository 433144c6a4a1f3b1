import type { Logger } from '../log.js';
import type { Progress } from '../progress.js';
import type { ObjectStore } from '../store/index.js';

/**
 * What a task that reads snapshots back from the store needs: less than the whole TaskContext, so that
 * tests and other tasks can call it with a store and a cluster name.
 */
export interface ReadingTaskDeps {
  config: { cluster: string };
  store: ObjectStore;
  log: Logger;
  signal?: AbortSignal;
  /** Counts the bytes read, for the CLI's progress bar. */
  progress?: Progress;
  now?: () => Date;
}
