import { isGood, type ListingEntry, listSnapshots, loadEntryDetails, type SnapshotEntry, withDetails } from './catalogue.js';
import { BackupError, PreconditionError } from './errors.js';
import type { ObjectStore } from './store/index.js';

/** The newest entry that `accept`s, loading details only as far down the list as needed. */
export async function findNewest(
  store: ObjectStore,
  entries: ListingEntry[],
  accept: (entry: SnapshotEntry) => boolean,
): Promise<SnapshotEntry | undefined> {
  for await (const entry of withDetails(store, entries)) if (accept(entry)) return entry;
  return undefined;
}

/** The listed snapshot with this key, with its details; not-found if the store has no such snapshot. */
export async function findKey(store: ObjectStore, entries: ListingEntry[], key: string): Promise<SnapshotEntry> {
  const listed = entries.find((e) => e.key === key);
  // Listed but deleted before its details were read (a concurrent prune) is not there either.
  const entry = listed && (await loadEntryDetails(store, listed));
  if (!entry)
    throw new BackupError('not-found', `no snapshot ${key} in ${store.description}`, { hint: 'use a key printed by etcd-backup list' });
  return entry;
}

/** What restore may take when no key names the snapshot. */
export interface PointInTime {
  /** Taken at or before this time. */
  before?: Date;
  /** Revision at or below this one (it contains no change made after it). */
  revision?: number;
  /** Also snapshots that were never verified (a failed verification still disqualifies). */
  allowUnverified: boolean;
}

/**
 * The newest good snapshot in range (verified, unless allowed otherwise). When none qualifies, the
 * not-found error says what was looked for and, if an unverified one would have done, names it.
 */
export async function newestGoodInRange(
  store: ObjectStore,
  cluster: string,
  entries: ListingEntry[],
  range: PointInTime,
): Promise<SnapshotEntry> {
  // A protected copy (reupload, bucket mode) carries a newer key than its data: its manifest's createdAt
  // is when the data was taken.
  const takenAt = (e: SnapshotEntry) => (e.manifest ? Date.parse(e.manifest.createdAt) : e.time.getTime());
  const inRange = (e: SnapshotEntry) =>
    (range.before === undefined || takenAt(e) <= range.before.getTime()) &&
    (range.revision === undefined || (e.manifest !== undefined && e.manifest.revision <= range.revision));
  let unverified: SnapshotEntry | undefined;
  for await (const entry of withDetails(store, entries)) {
    if (!isGood(entry) || !inRange(entry)) continue;
    if (range.allowUnverified || isGood(entry, { requireVerified: true })) return entry;
    unverified ??= entry;
  }

  const what = [
    `${range.allowUnverified ? 'good snapshot' : 'verified good snapshot'} of cluster "${cluster}"`,
    range.before ? `taken at or before ${range.before.toISOString()}` : undefined,
    range.revision !== undefined ? `at or below revision ${range.revision}` : undefined,
  ]
    .filter(Boolean)
    .join(' ');
  const hint = unverified
    ? `the newest unverified one is ${unverified.key}: run etcd-backup verify --key ${unverified.key}, or pass --allow-unverified`
    : entries.length === 0
      ? 'run etcd-backup snapshot first'
      : 'see etcd-backup list: snapshots that are excluded, failed their checks or verification, or have no manifest are never chosen';
  throw new BackupError('not-found', `no ${what} in ${store.description}`, { hint });
}

/** Which snapshot restore takes: the one `key` names, or the newest good one in the range. */
export interface RestoreChoice extends PointInTime {
  key?: string;
  /** With `key`: take it even if it is marked excluded. */
  allowExcluded: boolean;
}

/**
 * The snapshot to restore. A named one is taken even if never verified (its bytes are checked while
 * downloading), but not if excluded unless allowed; otherwise the newest good one in range, reading
 * details only as far down the list as the search goes.
 */
export async function selectForRestore(store: ObjectStore, cluster: string, choice: RestoreChoice): Promise<SnapshotEntry> {
  const entries = await listSnapshots(store, cluster);
  if (choice.key === undefined) return newestGoodInRange(store, cluster, entries, choice);
  const entry = await findKey(store, entries, choice.key);
  if (entry.excluded && !choice.allowExcluded) {
    throw new PreconditionError(
      'key',
      `${entry.key} is marked excluded${entry.excluded.reason ? ` (${entry.excluded.reason})` : ''}`,
      'someone marked it as not to be restored; pass --allow-excluded if you are sure, or pick another key',
    );
  }
  return entry;
}
