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
  return codeStatus(outcome.error instanceof BackupError ? outcome.error.code : undefined);
}

/**
 * A fleet's exit status: 0 when every cluster is ok; when every cluster failed, and all the same way (one
 * cluster run with --cluster, or a setting every cluster shares), that failure's status; otherwise 1. One
 * cluster's bad setting among clusters that ran is a failed run, not a refused one.
 */
export function fleetExitStatus(outcome: { ok: boolean; clusters: { ok: boolean; error?: { code?: string } }[] }): number {
  if (outcome.ok) return EXIT_OK;
  if (outcome.clusters.some((c) => c.ok)) return EXIT_FAILED;
  const statuses = new Set(outcome.clusters.map((c) => codeStatus(c.error?.code)));
  return statuses.size === 1 ? ([...statuses][0] as number) : EXIT_FAILED;
}

/** The status of a failure by its error code (BackupError.code, or the `code` of its report). */
function codeStatus(code: string | undefined): number {
  if (code === 'config') return EXIT_USAGE;
  return code === 'precondition' ? EXIT_PRECONDITION : EXIT_FAILED;
}
