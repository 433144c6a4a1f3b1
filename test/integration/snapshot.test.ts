// The snapshot task end to end on real etcd 3.4 and each real store; etcdctl is the oracle.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSnapshotKey } from '../../shared/layout.js';
import type { SnapshotManifest } from '../../shared/manifest.js';
import { BACKEND_KINDS, makeBackend, type Backend } from '../support/backends.js';
import { readAll, writeSampleData, type SampleData } from '../support/data.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { download, run, snapshotStatus } from '../support/run.js';

describe.each(BACKEND_KINDS)('snapshot round trip into %s', (kind) => {
  let etcd: EtcdCluster;
  let data: SampleData;
  let backend: Backend;
  beforeAll(async () => {
    etcd = await startEtcd();
    data = await writeSampleData(etcd.endpoints);
    backend = await makeBackend(kind);
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  const settings = () => ({ ...backend.settings, ETCD_ENDPOINTS: etcd.endpoints.join(','), CLUSTER_NAME: 'etcd-a' });

  it('restores with etcdctl to exactly the keys and values written, and records what etcdctl reports', async () => {
    const outcome = await run('snapshot', settings());
    expect(outcome.error).toBeUndefined();
    expect(outcome.ok).toBe(true);
    const result = outcome.result!;
    expect(parseSnapshotKey(result.key, 'etcd-a')).toBeDefined();

    const file = await download(backend.store, result.key);
    const bytes = await readFile(file);
    expect(bytes.length).toBe(result.size);
    // The trailer is the sha256 of everything before it, as etcdctl snapshot save writes it.
    const db = bytes.subarray(0, bytes.length - 32);
    expect(
      createHash('sha256')
        .update(db)
        .digest()
        .equals(bytes.subarray(bytes.length - 32)),
    ).toBe(true);
    expect(result.sha256).toBe(createHash('sha256').update(db).digest('hex'));

    const status = await snapshotStatus(file);
    const manifest = JSON.parse(await text(await backend.store.get(result.manifestKey))) as SnapshotManifest;
    expect(manifest.revision).toBe(status.revision);
    expect(manifest.totalKey).toBe(status.totalKey);
    expect(manifest.totalSize).toBe(status.totalSize);
    expect(manifest.size).toBe(bytes.length);
    expect(manifest.sha256).toBe(result.sha256);
    expect(manifest.etcd.version).toBe('3.4.23');
    expect(manifest.checks).toEqual({ ok: true, problems: [] });
    expect(manifest.compactRevision).toBe(data.compactedAt);

    const restored = await startEtcd({ restoreFrom: file });
    try {
      expect(await readAll(restored.endpoints)).toEqual(data.expected);
    } finally {
      await restored.stop();
    }
  });

  it('stores byte for byte what etcdctl snapshot save writes', async () => {
    const saved = `${await download(backend.store, (await run('snapshot', settings())).result?.key as string)}`;
    const reference = `${saved}.etcdctl`;
    await etcd.etcdctl(['snapshot', 'save', reference]);
    const ours = (await run('snapshot', settings())).result!;
    const oursBytes = await readFile(await download(backend.store, ours.key));
    expect(createHash('sha256').update(oursBytes).digest('hex')).toBe(
      createHash('sha256')
        .update(await readFile(reference))
        .digest('hex'),
    );
  });

  it('lists the snapshots newest first with their recorded revision, without objects of other clusters', async () => {
    await run('snapshot', { ...settings(), CLUSTER_NAME: 'etcd-a-2' });
    const listed = (await run('list', settings())).result!;
    expect(listed.snapshots.length).toBeGreaterThanOrEqual(3);
    expect(listed.snapshots.every((s) => s.key.startsWith('etcd-a/') && s.state === 'complete')).toBe(true);
    const keys = listed.snapshots.map((s) => s.key);
    expect(keys).toEqual([...keys].sort().reverse());
    const newest = listed.snapshots[0];
    const status = await snapshotStatus(await download(backend.store, newest?.key as string));
    expect(newest?.revision).toBe(status.revision);
    expect(newest?.totalKey).toBe(status.totalKey);
  });
});
