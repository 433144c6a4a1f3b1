import { inBatches, listSnapshots, loadDetails, type SnapshotState } from '../catalogue.js';
import type { Compression } from '../config/config.js';
import { compressionOfKey } from '../layout.js';
import type { ObjectStore } from '../store/index.js';

export interface ListedSnapshot {
  key: string;
  /** The time in the key. */
  time: string;
  /** When the data was taken (differs from `time` for a protected copy made by reupload). */
  createdAt?: string;
  /** For a protected copy: the snapshot it copies. */
  copyOf?: string;
  state: SnapshotState;
  /** From the key's suffix. */
  compression: Compression;
  /**
   * Bytes of the snapshot uncompressed (the etcdctl file), as its manifest records; for a plain snapshot
   * without one, the stored size. Unknown for a compressed snapshot without a manifest.
   */
  size?: number;
  /** Bytes in the store, as the listing says. */
  storedSize: number;
  revision?: number;
  requestedRevision: number;
  totalKey?: number;
  sha256?: string;
  etcdVersion?: string;
  memberId?: string;
  clusterId?: string;
  /** Outcome and time of the newest verification, if any. */
  verified?: { ok: boolean; at: string };
  /** Marked excluded; `source`: a copy whose original is. */
  excluded?: { reason?: string; source?: string };
  /** Until when the snapshot object is under retention (S3 Object Lock, GCS retention), if it is. */
  retainedUntil?: string;
}

export interface ListResult {
  ok: true;
  cluster: string;
  store: string;
  snapshots: ListedSnapshot[];
}

export async function listTask(deps: { store: ObjectStore; config: { cluster: string } }): Promise<ListResult> {
  const entries = await loadDetails(deps.store, await listSnapshots(deps.store, deps.config.cluster));
  const retention = await inBatches(entries, (e) => deps.store.getRetention(e.key).catch(() => undefined));
  return {
    ok: true,
    cluster: deps.config.cluster,
    store: deps.store.description,
    snapshots: entries.map((e, i) => {
      const m = e.manifest;
      const listed: ListedSnapshot = {
        key: e.key,
        time: e.time.toISOString(),
        state: e.state,
        compression: compressionOfKey(e.key),
        storedSize: e.size,
        requestedRevision: e.requestedRevision,
      };
      const size = m?.size ?? (listed.compression === 'none' ? e.size : undefined);
      if (size !== undefined) listed.size = size;
      if (m)
        Object.assign(listed, {
          createdAt: m.createdAt,
          revision: m.revision,
          totalKey: m.totalKey,
          sha256: m.sha256,
          etcdVersion: m.etcd.version,
          memberId: m.etcd.memberId,
          clusterId: m.etcd.clusterId,
        });
      if (m?.copyOf) listed.copyOf = m.copyOf;
      if (e.verification) listed.verified = { ok: e.verification.ok, at: e.verification.time.toISOString() };
      if (e.excluded) listed.excluded = e.excluded;
      const until = retention[i]?.retainUntil;
      if (until) listed.retainedUntil = until.toISOString();
      return listed;
    }),
  };
}
