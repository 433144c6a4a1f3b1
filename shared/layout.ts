import { randomBytes } from 'node:crypto';

/**
 * Object layout (a compatibility promise, documented in the README):
 *
 *   <prefix>/<cluster>/<yyyymmddThhmmss.mmmZ>-r<revision, 20 digits>-<8 hex>.db             the snapshot
 *   <prefix>/<cluster>/<yyyymmddThhmmss.mmmZ>-r<revision, 20 digits>-<8 hex>.manifest.json  its manifest
 *
 * The time is when etcd started sending the snapshot (UTC, fixed width), the revision is the cluster
 * revision the chosen member reported just before, and the random part keeps two runs in the same
 * millisecond apart. Plain byte order of the names is therefore (time, revision, random) order.
 * A snapshot counts as complete only once its manifest exists: the manifest is written after the
 * snapshot object has been uploaded and checked.
 */
export const SNAPSHOT_SUFFIX = '.db';
export const MANIFEST_SUFFIX = '.manifest.json';

const NAME = /^(\d{8}T\d{6}\.\d{3}Z)-r(\d{20})-([0-9a-f]{8})\.db$/;

export function clusterDir(cluster: string): string {
  return `${cluster}/`;
}

function compactTimestamp(time: Date): string {
  return time.toISOString().replace(/[-:]/g, '');
}

export function snapshotKey(cluster: string, time: Date, revision: number, random: Buffer = randomBytes(4)): string {
  const year = time.getUTCFullYear();
  if (year < 1000 || year > 9999) throw new RangeError(`time ${time.toISOString()} out of range for a snapshot key`);
  return `${clusterDir(cluster)}${compactTimestamp(time)}-r${String(revision).padStart(20, '0')}-${random.toString('hex').slice(0, 8)}${SNAPSHOT_SUFFIX}`;
}

export interface SnapshotName {
  key: string;
  cluster: string;
  time: Date;
  /** The cluster revision seen when the snapshot was requested. */
  revision: number;
}

/** Parses a snapshot key of the given cluster; anything else (another cluster, a stray file) is undefined. */
export function parseSnapshotKey(key: string, cluster: string): SnapshotName | undefined {
  const dir = clusterDir(cluster);
  if (!key.startsWith(dir)) return undefined;
  const match = NAME.exec(key.slice(dir.length));
  if (!match) return undefined;
  const [, stamp = '', revision = ''] = match;
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13)}`;
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return undefined;
  return { key, cluster, time, revision: Number(revision) };
}

export function manifestKey(snapshot: string): string {
  return snapshot.slice(0, -SNAPSHOT_SUFFIX.length) + MANIFEST_SUFFIX;
}

/** Newest first; names sort by (time, revision, random) so plain comparison is the documented order. */
export function newestFirst(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? 1 : a.key > b.key ? -1 : 0;
}
