import { listCluster, loadDetails } from '../catalogue.js';
import type { Config } from '../config/config.js';
import { BackupError, describeError, type ErrorReport } from '../errors.js';
import type { Logger } from '../log.js';
import { planRetention } from '../retention.js';
import type { ObjectStore, Retention } from '../store/index.js';

export interface PrunedObject {
  key: string;
  reasons: string[];
}

export interface PruneResult {
  ok: boolean;
  dryRun: boolean;
  cluster: string;
  kept: PrunedObject[];
  /** In a dry run: what would be deleted. */
  deleted: (PrunedObject & { sidecars: string[] })[];
  retained: (PrunedObject & { retainUntil: string })[];
  failed: (PrunedObject & { error: ErrorReport })[];
}

export interface PruneDeps {
  config: Pick<Config, 'cluster' | 'retention'>;
  store: ObjectStore;
  log: Logger;
  now?: () => Date;
}

type Removal = { status: 'deleted' } | { status: 'retained'; retainUntil: Date } | { status: 'failed'; error: unknown };

/**
 * How far our clock may run ahead of the store's. The store's clock decides when a lock ends; a refused
 * delete of an object whose retain-until has passed by less than this on our clock is still taken for the
 * lock (the store may not have reached that time yet). Past it, the lock cannot be why the delete was
 * refused.
 */
export const RETENTION_CLOCK_SLACK_MS = 5 * 60_000;

/** Whether a retention explains a refused delete at `now`: it ends in the future, within the clock slack. */
export function stillRetained(retention: Retention | undefined, now: Date): boolean {
  return retention !== undefined && retention.retainUntil.getTime() > now.getTime() - RETENTION_CLOCK_SLACK_MS;
}

/**
 * Deletes one object; a refusal because the object is under retention is an outcome, not a failure. A
 * refusal is counted as retention only when the object's retention has not ended (RETENTION_CLOCK_SLACK_MS):
 * a refusal after that (a bucket policy, missing permissions) is a failure, or every run would look fine
 * while the bucket grows.
 */
async function remove(store: ObjectStore, key: string, now: () => Date): Promise<Removal> {
  try {
    await store.delete(key);
    return { status: 'deleted' };
  } catch (error) {
    if (error instanceof BackupError && error.code === 'store-access-denied') {
      const retention = await store.getRetention(key).catch(() => undefined);
      if (retention && stillRetained(retention, now())) return { status: 'retained', retainUntil: retention.retainUntil };
      if (retention) {
        const ended = new BackupError(
          'store-access-denied',
          `delete of ${key} refused, though its retention ended at ${retention.retainUntil.toISOString()}`,
          {
            cause: error,
            hint: 'the lock no longer explains the refusal: check the bucket policy and the permission to delete (s3:DeleteObjectVersion, storage.objects.delete)',
          },
        );
        return { status: 'failed', error: ended };
      }
    }
    return { status: 'failed', error };
  }
}

/**
 * Applies the retention policy to one cluster's snapshots. Objects under retention are reported and
 * skipped; any other failure is reported after trying the rest, and fails the run. A snapshot goes with
 * its sidecars (manifest, verification records): the snapshot first, so that a snapshot is never left
 * without its manifest while it exists.
 */
export async function pruneTask(deps: PruneDeps, args: { dryRun?: boolean }): Promise<PruneResult> {
  const { store, log, config } = deps;
  const clock = deps.now ?? (() => new Date());
  const now = clock();
  const dryRun = args.dryRun === true;
  const listing = await listCluster(store, config.cluster);
  const snapshots = await loadDetails(store, listing.snapshots);
  const plan = planRetention(snapshots, config.retention, now);
  const result: PruneResult = { ok: true, dryRun, cluster: config.cluster, kept: [], deleted: [], retained: [], failed: [] };

  const record = (key: string, reasons: string[], removal: Removal, sidecars: string[] = []) => {
    if (removal.status === 'deleted') result.deleted.push({ key, reasons, sidecars });
    else if (removal.status === 'retained') result.retained.push({ key, reasons, retainUntil: removal.retainUntil.toISOString() });
    else result.failed.push({ key, reasons, error: describeError(removal.error) });
  };

  // Oldest first: if the run is cut short, what remains is the newer end of the history.
  for (const decision of [...plan].reverse()) {
    const { entry, reasons } = decision;
    if (decision.keep) {
      result.kept.unshift({ key: entry.key, reasons });
      continue;
    }
    if (dryRun) {
      result.deleted.push({ key: entry.key, reasons, sidecars: entry.sidecars });
      continue;
    }
    const removal = await remove(store, entry.key, clock);
    if (removal.status !== 'deleted') {
      record(entry.key, reasons, removal);
      continue;
    }
    const gone: string[] = [];
    for (const sidecar of entry.sidecars) {
      const sidecarRemoval = await remove(store, sidecar, clock);
      if (sidecarRemoval.status === 'deleted') gone.push(sidecar);
      else record(sidecar, ['sidecar of a deleted snapshot'], sidecarRemoval);
    }
    result.deleted.push({ key: entry.key, reasons, sidecars: gone });
  }
  // Sidecars whose snapshot is gone (an earlier run deleted it while they were still locked).
  for (const orphan of listing.orphans) {
    const reasons = ['sidecar whose snapshot no longer exists'];
    if (dryRun) result.deleted.push({ key: orphan, reasons, sidecars: [] });
    else record(orphan, reasons, await remove(store, orphan, clock));
  }
  result.ok = result.failed.length === 0;
  if (!result.ok) log.error('some objects could not be deleted', { failed: result.failed.map((f) => f.key) });
  return result;
}
