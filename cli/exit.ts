import { BackupError } from '../shared/errors.js';

/** Exit statuses of the etcd-backup command; help.ts documents them. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
/** Bad usage, a bad setting or argument: refused before any I/O. */
export const EXIT_USAGE = 2;
/** The arguments were fine, but what the run found refuses it (e.g. the output file exists, the data dir is not empty). */
export const EXIT_PRECONDITION = 3;

/** The exit status for a task's outcome. */
export function exitStatus(outcome: { ok: boolean; error?: unknown }): number {
  if (outcome.ok) return EXIT_OK;
  if (!(outcome.error instanceof BackupError)) return EXIT_FAILED;
  if (outcome.error.code === 'config') return EXIT_USAGE;
  return outcome.error.code === 'precondition' ? EXIT_PRECONDITION : EXIT_FAILED;
}
