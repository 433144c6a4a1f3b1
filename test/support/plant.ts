// Synthetic snapshot histories: objects with real keys and valid manifests at chosen times (a fake clock),
// for retention tests that must not wait months. Their bodies are not etcd databases: prune never reads them.
import { randomBytes } from 'node:crypto';
import type { Compression } from '../../shared/config/config.js';
import { manifestKey, snapshotKey, verificationKey } from '../../shared/layout.js';
import type { SnapshotManifest } from '../../shared/manifest.js';
import type { ObjectStore } from '../../shared/store/index.js';

export interface Planted {
  key: string;
  sidecars: string[];
}

/**
 * A valid manifest for a planted snapshot. `clusterId` (decimal, as etcd3 reports it) is the etcd cluster it
 * claims to come from: a snapshot task run after planting checks it against the cluster it backs up.
 */
export function plantedManifest(key: string, cluster: string, time: Date, size: number, revision = 1, clusterId = '1'): SnapshotManifest {
  return {
    format: 1,
    key,
    cluster,
    createdAt: time.toISOString(),
    completedAt: time.toISOString(),
    size,
    sha256: '0'.repeat(64),
    revision,
    compactRevision: 0,
    requestedRevision: revision,
    totalKey: 1,
    totalSize: 32,
    etcd: { version: '3.4.23', clusterId, memberId: '2', endpoint: 'http://127.0.0.1:2379', isLeader: false },
    checks: { ok: true, problems: [] },
    tool: { name: 'etcd-backup', version: 'test' },
  };
}

export async function plantSnapshot(
  store: ObjectStore,
  cluster: string,
  time: Date,
  options: {
    revision?: number;
    manifest?: boolean;
    verified?: boolean;
    /** Changes the manifest before it is stored (fields removed, a newer format). */
    editManifest?: (manifest: Record<string, unknown>) => void;
    /** The etcd cluster the manifest names (see plantedManifest). */
    clusterId?: string;
    /** Planted as a compressed snapshot (its key's suffix, the manifest's fields); plain (as before compression) when unset. */
    compression?: Compression;
  } = {},
): Promise<Planted> {
  const body = randomBytes(64);
  const key = snapshotKey(cluster, time, options.revision ?? Math.floor(time.getTime() / 1000), options.compression);
  await store.put(key, body);
  const sidecars: string[] = [];
  if (options.manifest ?? true) {
    const manifest: Record<string, unknown> = {
      ...plantedManifest(key, cluster, time, body.length, options.revision ?? 1, options.clusterId),
      ...(options.compression ? { compression: options.compression, size: 4096, storedSize: body.length } : {}),
    };
    options.editManifest?.(manifest);
    await store.put(manifestKey(key), Buffer.from(JSON.stringify(manifest)));
    sidecars.push(manifestKey(key));
  }
  if (options.verified !== undefined) {
    const record = verificationKey(key, new Date(time.getTime() + 60_000), options.verified);
    await store.put(record, Buffer.from('{}'));
    sidecars.push(record);
  }
  return { key, sidecars };
}

/** Plants snapshots at each time, `parallel` at once, from etcd cluster `clusterId` (see plantedManifest). */
export async function plantHistory(
  store: ObjectStore,
  cluster: string,
  times: Date[],
  options: { parallel?: number; clusterId?: string } = {},
): Promise<Planted[]> {
  const planted: Planted[] = [];
  const parallel = options.parallel ?? 16;
  const clusterId = options.clusterId;
  for (let i = 0; i < times.length; i += parallel) {
    planted.push(
      ...(await Promise.all(times.slice(i, i + parallel).map((t) => plantSnapshot(store, cluster, t, clusterId ? { clusterId } : {})))),
    );
  }
  return planted;
}
