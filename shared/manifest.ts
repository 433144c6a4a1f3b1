import type { Problem } from './snapshot-format/index.js';
import type { ObjectEncryption } from './store/types.js';

/**
 * What a restore needs to know about a snapshot, measured from the snapshot bytes while they streamed
 * (revision, key count, size, sha256) or reported by the member that served it. Written as a separate
 * object after the snapshot upload completed: its presence marks the snapshot complete.
 */
export interface SnapshotManifest {
  format: 1;
  key: string;
  cluster: string;
  /** When etcd started sending the snapshot (the time in the key). */
  createdAt: string;
  completedAt: string;
  /** Object size in bytes: database plus the 32-byte trailer. */
  size: number;
  /** sha256 of the database bytes, equal to the trailer. */
  sha256: string;
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

export function isManifest(value: unknown): value is SnapshotManifest {
  const m = value as SnapshotManifest;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.format === 1 &&
    typeof m.key === 'string' &&
    typeof m.sha256 === 'string' &&
    typeof m.revision === 'number'
  );
}
