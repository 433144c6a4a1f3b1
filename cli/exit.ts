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

/**
 * A fleet's exit status: 0 when every cluster is ok; when every failed cluster failed the same way (one
 * cluster run with --cluster, or a setting every cluster shares), that cluster's status; otherwise 1.
 */
export function fleetExitStatus(outcome: { ok: boolean; clusters: { ok: boolean; error?: { code?: string } }[] }): number {
  if (outcome.ok) return EXIT_OK;
  const statuses = new Set(outcome.clusters.filter((c) => !c.ok).map((c) => reportStatus(c.error?.code)));
  return statuses.size === 1 ? ([...statuses][0] as number) : EXIT_FAILED;
}

function reportStatus(code: string | undefined): number {
  if (code === 'config') return EXIT_USAGE;
  return code === 'precondition' ? EXIT_PRECONDITION : EXIT_FAILED;
}
