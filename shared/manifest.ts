import { COMPRESSIONS, type Compression } from './config/config.js';
import type { Problem, SnapshotReport } from './snapshot-format/index.js';
import type { ObjectEncryption } from './store/types.js';

/**
 * What a restore needs to know about a snapshot, measured from the snapshot bytes while they streamed
 * (revision, key count, size, sha256) or reported by the member that served it. Written as a separate
 * object after the snapshot upload completed: its presence marks the snapshot complete.
 */
export interface SnapshotManifest {
  format: typeof MANIFEST_FORMAT;
  key: string;
  cluster: string;
  /** When etcd started sending the snapshot (the time in the key). */
  createdAt: string;
  completedAt: string;
  /** Size of the snapshot in bytes as etcd sent it (uncompressed): database plus the 32-byte trailer. */
  size: number;
  /** sha256 of the database bytes (uncompressed), equal to the trailer. */
  sha256: string;
  /**
   * How the object is stored (its key's suffix says the same). Absent in manifests written before
   * compression existed: those snapshots are plain, `none`.
   */
  compression?: Compression;
  /** Bytes of the stored object, what the store lists; absent (then equal to `size`) in older manifests. */
  storedSize?: number;
  /**
   * Plain snapshots: the byte entropy of samples of the data, a share of 8 bits (shared/compressibility.ts),
   * which tells the next run whether compressing is worth trying. Absent when nothing was sampled (a tiny
   * database, an older version).
   */
  sampledEntropy?: number;
  /** As `etcdctl snapshot status` reports it: main revision of the last key in bucket `key`. */
  revision: number;
  /** Compaction revision recorded in the snapshot (0 if never compacted). */
  compactRevision: number;
  /** Cluster revision the member reported just before the snapshot (the one in the key). */
  requestedRevision: number;
  /** Rows of bucket `key` (etcd 3.4 `totalKey`). */
  totalKey: number;
  /** Database size (etcd `totalSize`). */
  totalSize: number;
  etcd: {
    version: string;
    clusterId: string;
    memberId: string;
    endpoint: string;
    isLeader: boolean;
  };
  /** Structure checks made while streaming; a snapshot with problems is never chosen for restore. */
  checks: { ok: boolean; problems: Problem[] };
  tool: { name: string; version: string };
  /** Set on a copy made by `reupload` (bucket mode): the snapshot it copies; createdAt is the original's. */
  copyOf?: string;
  /**
   * The server-side encryption of the snapshot object as the store reported it after the upload (or copy),
   * when it reports one; a write not encrypted as S3_SSE / GCS_KMS_KEY_NAME ask is refused before this.
   */
  encryption?: ObjectEncryption;
}

/**
 * The newest manifest format this code understands. Compression added fields without a new format: a
 * version that does not know compression never reads a compressed snapshot's manifest (its name is not one
 * it recognises, see shared/layout.ts), and a plain snapshot's manifest still says all it used to.
 */
export const MANIFEST_FORMAT = 1;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));

/**
 * Every field the tool reads, with its type: a manifest missing one is not a manifest (its snapshot is
 * `invalid-manifest`), rather than a crash wherever the field is read.
 */
export function isManifest(value: unknown): value is SnapshotManifest {
  if (!isObject(value) || value.format !== MANIFEST_FORMAT) return false;
  const { etcd, checks, tool } = value;
  return (
    typeof value.key === 'string' &&
    typeof value.cluster === 'string' &&
    isTime(value.createdAt) &&
    isTime(value.completedAt) &&
    isCount(value.size) &&
    typeof value.sha256 === 'string' &&
    isCount(value.revision) &&
    isCount(value.compactRevision) &&
    isCount(value.requestedRevision) &&
    isCount(value.totalKey) &&
    isCount(value.totalSize) &&
    isObject(etcd) &&
    ['version', 'clusterId', 'memberId', 'endpoint'].every((f) => typeof etcd[f] === 'string') &&
    typeof etcd.isLeader === 'boolean' &&
    isObject(checks) &&
    typeof checks.ok === 'boolean' &&
    Array.isArray(checks.problems) &&
    isObject(tool) &&
    (value.copyOf === undefined || typeof value.copyOf === 'string') &&
    (value.compression === undefined || COMPRESSIONS.includes(value.compression as Compression)) &&
    (value.sampledEntropy === undefined ||
      (Number.isFinite(value.sampledEntropy) &&
        (value.sampledEntropy as number) >= 0 &&
        (value.sampledEntropy as number) <= 1 &&
        (value.compression ?? 'none') === 'none')) &&
    // A compressed snapshot's stored size differs from `size`: without it the object could not be checked.
    (isCount(value.storedSize) || (value.storedSize === undefined && (value.compression ?? 'none') === 'none'))
  );
}

/** How the snapshot is stored; a manifest from before compression describes a plain snapshot. */
export function compressionOf(manifest: SnapshotManifest): Compression {
  return manifest.compression ?? 'none';
}

/** The bytes the store holds for the snapshot; a manifest from before compression: its size. */
export function storedSizeOf(manifest: SnapshotManifest): number {
  return manifest.storedSize ?? manifest.size;
}

/**
 * A manifest written by a newer version of this tool (a `format` above MANIFEST_FORMAT): this code cannot
 * tell what it says, so its snapshot is neither chosen nor deleted (see the `newer-format` state).
 */
export function isNewerManifest(value: unknown): value is { format: number } {
  return isObject(value) && typeof value.format === 'number' && value.format > MANIFEST_FORMAT;
}

/**
 * Where what the bytes measure disagrees with what the writer recorded: verify reports these, restore
 * refuses the file for them. A field the inspector could not measure is not compared.
 */
export function manifestMismatches(manifest: SnapshotManifest, report: SnapshotReport): string[] {
  const fields: [string, number | string, number | string | undefined][] = [
    ['size', manifest.size, report.size],
    ['sha256', manifest.sha256, report.sha256],
    ['revision', manifest.revision, report.revision],
    ['totalKey', manifest.totalKey, report.totalKey],
    ['totalSize', manifest.totalSize, report.totalSize],
  ];
  return fields
    .filter(([, recorded, measured]) => measured !== undefined && recorded !== measured)
    .map(([name, recorded, measured]) => `the manifest records ${name} ${recorded}, the snapshot has ${measured}`);
}
