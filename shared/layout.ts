import { randomBytes } from 'node:crypto';
import type { Compression } from './config/config.js';

/**
 * Object layout (a compatibility promise, documented in the README and docs/snapshot.md):
 *
 *   <base>.db                  a snapshot stored as etcdctl writes it (SNAPSHOT_COMPRESSION=none)
 *   <base>.db.zst              a snapshot stored as one zstd stream of that file
 *   <base>.db.gz               a snapshot stored as one gzip stream of that file
 *   <sidecar>.manifest.json    its manifest
 *   <sidecar>.verify-<stamp>-<4 hex>-<ok|failed>.json    a verification
 *
 * where <base> is <prefix>/<cluster>/<stamp>-r<revision, 20 digits>-<8 hex>, and <sidecar> is <base> for
 * a plain `.db` and the whole snapshot key for a compressed one (`<base>.db.zst.manifest.json`).
 *
 * <stamp> is a UTC time, fixed width: yyyymmddThhmmss.mmmZ. The snapshot's time is when etcd started
 * sending it, the revision is the cluster revision the chosen member reported just before, and the random
 * part keeps two runs in the same millisecond apart. Plain byte order of the names is therefore
 * (time, revision, random) order. A snapshot counts as complete only once its manifest exists: the
 * manifest is written after the snapshot object has been uploaded and checked. Verification records carry
 * their outcome in the name, so a listing alone tells which snapshots verified.
 *
 * Why compressed snapshots carry their suffix into their sidecars' names: versions that know only `.db`
 * take a manifest or verification record named after a `.db` that is not there for a sidecar whose
 * snapshot was deleted, and prune removes those. Named this way, a compressed snapshot and its sidecars are
 * invisible to such a version: never chosen, never deleted, nothing to misread.
 */
const SUFFIXES: Record<Compression, string> = { none: '.db', zstd: '.db.zst', gzip: '.db.gz' };
const MANIFEST_SUFFIX = '.manifest.json';

const STAMP = String.raw`\d{8}T\d{6}\.\d{3}Z`;
const BASE = String.raw`(${STAMP})-r(\d{20})-[0-9a-f]{8}`;
/** `.db`, `.db.zst` or `.db.gz` as group 1 of a snapshot; a sidecar's group is empty for a plain `.db`. */
const SNAPSHOT = new RegExp(String.raw`^${BASE}(\.db(?:\.zst|\.gz)?)$`);
const SIDECAR_OF = String.raw`(${BASE})(\.db\.zst|\.db\.gz)?`;
const MANIFEST = new RegExp(String.raw`^${SIDECAR_OF}\.manifest\.json$`);
const VERIFICATION = new RegExp(String.raw`^${SIDECAR_OF}\.verify-(${STAMP})-[0-9a-f]{4}-(ok|failed)\.json$`);

export function clusterDir(cluster: string): string {
  return `${cluster}/`;
}

function compactTimestamp(time: Date): string {
  const year = time.getUTCFullYear();
  if (year < 1000 || year > 9999) throw new RangeError(`time ${time.toISOString()} out of range for a key`);
  return time.toISOString().replace(/[-:]/g, '');
}

function parseStamp(stamp: string): Date {
  return new Date(
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13)}`,
  );
}

export function snapshotKey(
  cluster: string,
  time: Date,
  revision: number,
  compression: Compression = 'none',
  random: Buffer = randomBytes(4),
): string {
  return `${clusterDir(cluster)}${compactTimestamp(time)}-r${String(revision).padStart(20, '0')}-${random.toString('hex').slice(0, 8)}${SUFFIXES[compression]}`;
}

/** How the snapshot under this key is stored, from its suffix (see the layout above). */
export function compressionOfKey(snapshot: string): Compression {
  if (snapshot.endsWith(SUFFIXES.zstd)) return 'zstd';
  if (snapshot.endsWith(SUFFIXES.gzip)) return 'gzip';
  return 'none';
}

/** The name a snapshot's sidecars start with: without `.db` for a plain snapshot, the whole key otherwise. */
function sidecarBase(snapshot: string): string {
  return snapshot.endsWith(SUFFIXES.none) ? snapshot.slice(0, -SUFFIXES.none.length) : snapshot;
}

export function manifestKey(snapshot: string): string {
  return sidecarBase(snapshot) + MANIFEST_SUFFIX;
}

export function verificationKey(snapshot: string, time: Date, ok: boolean, random: Buffer = randomBytes(2)): string {
  return `${sidecarBase(snapshot)}.verify-${compactTimestamp(time)}-${random.toString('hex').slice(0, 4)}-${ok ? 'ok' : 'failed'}.json`;
}

export interface SnapshotName {
  key: string;
  cluster: string;
  time: Date;
  /** The cluster revision seen when the snapshot was requested. */
  revision: number;
}

export type ClusterObject =
  | { kind: 'snapshot'; name: SnapshotName }
  | { kind: 'manifest'; snapshot: string }
  | { kind: 'verification'; snapshot: string; time: Date; ok: boolean };

/** What an object under `<cluster>/` is; undefined for anything this tool did not write. */
export function classifyKey(key: string, cluster: string): ClusterObject | undefined {
  const dir = clusterDir(cluster);
  if (!key.startsWith(dir)) return undefined;
  const name = key.slice(dir.length);
  const snapshot = SNAPSHOT.exec(name);
  if (snapshot) {
    const time = parseStamp(snapshot[1] as string);
    if (Number.isNaN(time.getTime())) return undefined;
    return { kind: 'snapshot', name: { key, cluster, time, revision: Number(snapshot[2]) } };
  }
  const manifest = MANIFEST.exec(name);
  if (manifest) return { kind: 'manifest', snapshot: `${dir}${manifest[1]}${manifest[4] ?? SUFFIXES.none}` };
  const verification = VERIFICATION.exec(name);
  if (verification) {
    return {
      kind: 'verification',
      snapshot: `${dir}${verification[1]}${verification[4] ?? SUFFIXES.none}`,
      time: parseStamp(verification[5] as string),
      ok: verification[6] === 'ok',
    };
  }
  return undefined;
}

/** Parses a snapshot key of the given cluster; anything else (another cluster, a sidecar) is undefined. */
export function parseSnapshotKey(key: string, cluster: string): SnapshotName | undefined {
  const object = classifyKey(key, cluster);
  return object?.kind === 'snapshot' ? object.name : undefined;
}

/** Newest first; names sort by (time, revision, random) so plain comparison is the documented order. */
export function newestFirst(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? 1 : a.key > b.key ? -1 : 0;
}
