import {
  isGood,
  type ListingEntry,
  listedTime,
  listSnapshots,
  loadEntryDetails,
  newestTakenFirst,
  type SnapshotEntry,
  takenAt,
  withDetails,
} from './catalogue.js';
import { BackupError, PreconditionError } from './errors.js';
import type { ObjectStore } from './store/index.js';

/**
 * The entry with the newest data (newestTakenFirst) that `accept`s, loading details only as far down the
 * listing as needed. The listing is ordered by listed time, which no entry's data time exceeds (a copy's
 * data is older than the copy): once the listed time falls below the best candidate's data time, nothing
 * further down can beat it.
 */
export async function findNewest(
  store: ObjectStore,
  entries: ListingEntry[],
  accept: (entry: SnapshotEntry) => boolean,
): Promise<SnapshotEntry | undefined> {
  let best: SnapshotEntry | undefined;
  for await (const entry of withDetails(store, entries)) {
    if (best && listedTime(entry).getTime() < takenAt(best).getTime()) break;
    if (accept(entry) && (!best || newestTakenFirst(entry, best) < 0)) best = entry;
  }
  return best;
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
  const inRange = (e: SnapshotEntry) =>
    isGood(e) &&
    (range.before === undefined || takenAt(e).getTime() <= range.before.getTime()) &&
    (range.revision === undefined || (e.manifest !== undefined && e.manifest.revision <= range.revision));
  const found = await findNewest(store, entries, (e) => inRange(e) && (range.allowUnverified || isGood(e, { requireVerified: true })));
  if (found) return found;
  // Only to name it in the error: the newest that would have done, had unverified ones been allowed.
  const unverified = range.allowUnverified ? undefined : await findNewest(store, entries, inRange);

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
