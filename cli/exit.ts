/** Exit statuses of the etcd-backup command; help.ts documents them. */
export const EXIT_FAILED = 1;
/** Bad usage, a bad setting or argument: refused before any I/O. */
export const EXIT_USAGE = 2;
/** The arguments were fine, but this machine or the store refused (e.g. the output file exists, the data dir is not empty). */
export const EXIT_PRECONDITION = 3;
