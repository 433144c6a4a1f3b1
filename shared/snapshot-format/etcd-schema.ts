// What etcd 3.4 keeps in its bbolt database, as far as the inspector needs it.

/**
 * Buckets etcd creates at every start (mvcc: key, meta; lessor: lease; alarm store: alarm; membership:
 * members, members_removed, cluster; auth store: auth, authUsers, authRoles). Seen in a snapshot of an
 * empty 3.4.23 cluster, all ten inline.
 */
export const REQUIRED_BUCKETS = [
  'alarm',
  'auth',
  'authRoles',
  'authUsers',
  'cluster',
  'key',
  'lease',
  'members',
  'members_removed',
  'meta',
] as const;

export const KEY_BUCKET = 'key';
export const META_BUCKET = 'meta';

/** Key in bucket `meta` whose value is the revision the last finished compaction compacted to. */
export const FINISHED_COMPACT_REV = new TextEncoder().encode('finishedCompactRev');

const REVISION_BYTES = 17; // main u64 BE, '_', sub u64 BE
const TOMBSTONE_BYTES = 18; // ... then 't'
const SEPARATOR = 0x5f; // '_'
const TOMBSTONE = 0x74; // 't'

/** Whether b[start, end) is a key of bucket `key`: a revision, optionally marked as a tombstone. */
export function isRevisionKey(b: Uint8Array, start: number, end: number): boolean {
  const length = end - start;
  if (length === REVISION_BYTES) return b[start + 8] === SEPARATOR;
  return length === TOMBSTONE_BYTES && b[start + 8] === SEPARATOR && b[start + 17] === TOMBSTONE;
}

/** Main revision of a revision key or value, as etcdctl reads it (int64 big-endian); undefined if malformed. */
export function mainRevision(bytes: Uint8Array): number | undefined {
  if (!isRevisionKey(bytes, 0, bytes.length)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  return Number(view.getBigInt64(0));
}

/** Whether b[start, end) is the key `finishedCompactRev`. */
export function isFinishedCompactRevKey(b: Uint8Array, start: number, end: number): boolean {
  if (end - start !== FINISHED_COMPACT_REV.length) return false;
  for (let i = 0; i < FINISHED_COMPACT_REV.length; i++) if (b[start + i] !== FINISHED_COMPACT_REV[i]) return false;
  return true;
}
