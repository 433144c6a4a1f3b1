// The snapshot task end to end on real etcd (3.4 into each real store, 3.5 into one); that release's
// etcdctl/etcdutl is the oracle.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSnapshotKey } from '../../shared/layout.js';
import type { SnapshotManifest } from '../../shared/manifest.js';
import type { ListResult } from '../../shared/tasks/list.js';
import type { SnapshotResult } from '../../shared/tasks/snapshot.js';
import { BACKEND_KINDS, makeBackend, type Backend } from '../support/backends.js';
import { readAll, writeSampleData, type SampleData } from '../support/data.js';
import { etcdStoreCases, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { download, run, snapshotStatus } from '../support/run.js';

describe.each(etcdStoreCases(BACKEND_KINDS, 's3'))('snapshot round trip from etcd %s into %s', (version, kind) => {
  let etcd: EtcdCluster;
  let data: SampleData;
  let backend: Backend;
  beforeAll(async () => {
    etcd = await startEtcd({ version });
    data = await writeSampleData(etcd.endpoints);
    backend = await makeBackend(kind);
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  const settings = () => ({ ...backend.settings, ETCD_ENDPOINTS: etcd.endpoints.join(','), CLUSTER_NAME: 'etcd-a' });

  it('restores to exactly the keys and values written, and records what snapshot status reports', async () => {
    const outcome = await run('snapshot', settings());
    expect(outcome.error).toBeUndefined();
    expect(outcome.ok).toBe(true);
    const result = outcome.result as unknown as SnapshotResult;
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

    const status = await snapshotStatus(file, version);
    const manifest = JSON.parse(await text(await backend.store.get(result.manifestKey))) as SnapshotManifest;
    expect(manifest.revision).toBe(status.revision);
    expect(manifest.totalKey).toBe(status.totalKey);
    expect(manifest.totalSize).toBe(status.totalSize);
    expect(manifest.size).toBe(bytes.length);
    expect(manifest.sha256).toBe(result.sha256);
    const [member] = JSON.parse(await etcd.etcdctl(['endpoint', 'status', '-w', 'json'])) as { Status: { version: string } }[];
    expect(manifest.etcd.version).toBe(member?.Status.version);
    expect(manifest.etcd.version.startsWith(`${version}.`)).toBe(true);
    expect(manifest.checks).toEqual({ ok: true, problems: [] });
    expect(manifest.compactRevision).toBe(data.compactedAt);

    const restored = await startEtcd({ version, restoreFrom: file });
    try {
      expect(await readAll(restored.endpoints)).toEqual(data.expected);
    } finally {
      await restored.stop();
    }
  });

  // etcd 3.4 serves the same bytes for the same data. 3.5 does not: serving a snapshot commits, and 3.5
  // writes its consistent index into bucket `meta` on every commit, so each snapshot is a new bbolt
  // transaction (new txid, pages copied elsewhere) holding the same rows. Seen here: two `etcdctl snapshot
  // save` with no write between differ in their meta and page layout, and snapshot status reports the same
  // hash, revision, key count and size for both. So: the same bytes on 3.4, the same status on both.
  it('stores what etcdctl snapshot save writes: the same snapshot status, and on 3.4 the same bytes', async () => {
    const saved = `${await download(backend.store, (await run('snapshot', settings())).result?.key as string)}`;
    const reference = `${saved}.etcdctl`;
    await etcd.etcdctl(['snapshot', 'save', reference]);
    const ours = await download(backend.store, ((await run('snapshot', settings())).result as unknown as SnapshotResult).key);
    expect(await snapshotStatus(ours, version)).toEqual(await snapshotStatus(reference, version));
    const sha256 = async (file: string) =>
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex');
    if (version === '3.4') expect(await sha256(ours)).toBe(await sha256(reference));
  });

  it('lists the snapshots newest first with their recorded revision, without objects of other clusters', async () => {
    await run('snapshot', { ...settings(), CLUSTER_NAME: 'etcd-a-2' });
    const listed = (await run('list', settings())).result as unknown as ListResult;
    expect(listed.snapshots.length).toBeGreaterThanOrEqual(3);
    expect(listed.snapshots.every((s) => s.key.startsWith('etcd-a/') && s.state === 'complete')).toBe(true);
    const keys = listed.snapshots.map((s) => s.key);
    expect(keys).toEqual([...keys].sort().reverse());
    const newest = listed.snapshots[0];
    const status = await snapshotStatus(await download(backend.store, newest?.key as string), version);
    expect(newest?.revision).toBe(status.revision);
    expect(newest?.totalKey).toBe(status.totalKey);
  });
});
