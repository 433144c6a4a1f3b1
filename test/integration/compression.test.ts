// Compressed and plain snapshots end to end on etcd 3.5 into every store: what the snapshot task stores, and
// every task that reads it back (list, verify, restore with etcdutl, reupload's copy, prune). Snapshots
// written before compression existed (a plain .db with a manifest that says nothing of compression) stay
// readable; a damaged compressed object is reported, refused and kept.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { COMPRESSIONS, type Compression, loadConfig, type SettingValues } from '../../shared/config/config.js';
import { INCOMPRESSIBLE_RATIO, RECOMPRESS_ENTROPY } from '../../shared/compressibility.js';
import type { BackupError } from '../../shared/errors.js';
import { compressionOfKey, manifestKey } from '../../shared/layout.js';
import type { SnapshotManifest } from '../../shared/manifest.js';
import { reuploadTask } from '../../shared/tasks/reupload.js';
import { BACKEND_KINDS, type Backend, makeBackend } from '../support/backends.js';
import { readAll, type SampleData, writeBulk, writeSampleData } from '../support/data.js';
import { type EtcdCluster, startEtcd } from '../support/etcd.js';
import { download, memoryLogger, run, snapshotStatus, storedKeys } from '../support/run.js';

const SUFFIX: Record<Compression, string> = { zstd: '.db.zst', gzip: '.db.gz', none: '.db' };
const HOUR = 3_600_000;

let etcd: EtcdCluster;
let data: SampleData;
beforeAll(async () => {
  etcd = await startEtcd({ version: '3.5' });
  data = await writeSampleData(etcd.endpoints, { smallKeys: 200 });
  // Text, as most of a Kubernetes cluster's data is: without it the sample's random values would make the
  // database incompressible, and every snapshot after the first would be stored plain (see the last describe).
  const client = new Etcd3({ hosts: etcd.endpoints });
  try {
    for (let i = 0; i < 400; i++) {
      const key = `/app/config/${String(i).padStart(4, '0')}`;
      const value = Buffer.from(`name: service-${i}\nreplicas: ${i % 5}\nimage: registry.example/service:1.${i % 9}\n`.repeat(60));
      await client.put(key).value(value);
      data.expected.set(key, value);
    }
  } finally {
    client.close();
  }
});
afterAll(async () => {
  await etcd?.stop();
});

const manifestOf = async (backend: Backend, key: string) =>
  JSON.parse(await text(await backend.store.get(manifestKey(key)))) as SnapshotManifest;

describe.each(BACKEND_KINDS)('into %s', (kind) => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await makeBackend(kind);
  });

  it.each(COMPRESSIONS)('%s: snapshot, list, verify, restore with etcdutl, prune', async (compression) => {
    const cluster = `rt-${compression}`;
    const settings: SettingValues = {
      ...backend.settings,
      ETCD_ENDPOINTS: etcd.endpoints.join(','),
      CLUSTER_NAME: cluster,
      SNAPSHOT_COMPRESSION: compression,
    };
    const older = (await run('snapshot', settings)).result!;
    expect((await run('verify', settings, { args: { key: older.key } })).result?.ok).toBe(true);
    const taken = await run('snapshot', settings);
    expect(taken.error).toBeUndefined();
    const snapshot = taken.result!;
    expect(snapshot.key.endsWith(SUFFIX[compression])).toBe(true);
    expect(snapshot).toMatchObject({ ok: true, compression });
    const stored = await backend.store.head(snapshot.key);
    expect(snapshot.storedSize).toBe(stored?.size);
    if (compression === 'none') expect(snapshot.storedSize).toBe(snapshot.size);
    else expect(snapshot.storedSize).toBeLessThan(snapshot.size);
    expect(await manifestOf(backend, snapshot.key)).toMatchObject({
      key: snapshot.key,
      compression,
      size: snapshot.size,
      storedSize: snapshot.storedSize,
      sha256: snapshot.sha256,
    });

    // The standard tool gives back the etcdctl file: its trailer is the sha256 the manifest records.
    const plain = await readFile(await download(backend.store, snapshot.key));
    expect(plain.length).toBe(snapshot.size);
    expect(createHash('sha256').update(plain.subarray(0, -32)).digest('hex')).toBe(snapshot.sha256);

    const listed = (await run('list', settings)).result!.snapshots;
    expect(listed.map((s) => [s.key, s.state, s.compression, s.size, s.storedSize])).toEqual([
      [snapshot.key, 'complete', compression, snapshot.size, snapshot.storedSize],
      [older.key, 'complete', compression, older.size, older.storedSize],
    ]);

    const verified = await run('verify', settings);
    expect(verified.error).toBeUndefined();
    expect(verified.result).toMatchObject({ ok: true, key: snapshot.key, size: snapshot.size, sha256: snapshot.sha256 });

    // restore --output writes the plain snapshot, whatever the store holds.
    const output = join(await mkdtemp(join(tmpdir(), 'restore-z-')), 'etcd.db');
    const restored = await run('restore', settings, { args: { output } });
    expect(restored.error).toBeUndefined();
    expect(restored.result).toMatchObject({ key: snapshot.key, sha256: snapshot.sha256 });
    expect((await readFile(output)).equals(plain)).toBe(true);
    expect((await snapshotStatus(output, '3.5')).revision).toBe(snapshot.revision);
    const started = await startEtcd({ version: '3.5', restoreFrom: output });
    try {
      expect(await readAll(started.endpoints)).toEqual(data.expected);
    } finally {
      await started.stop();
    }

    // The older snapshot goes with its manifest and its verification record, which carry its suffix.
    const olderObjects = (await storedKeys(backend.store, `${cluster}/`)).filter((k) =>
      k.startsWith(older.key.slice(0, -SUFFIX[compression].length)),
    );
    expect(olderObjects).toHaveLength(3);
    const pruned = (await run('prune', { ...settings, PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' })).result!;
    expect(pruned).toMatchObject({ ok: true, failed: [] });
    expect(pruned.deleted.map((d) => [d.key, [...d.sidecars].sort()])).toEqual([[older.key, olderObjects.filter((k) => k !== older.key)]]);
    const left = await storedKeys(backend.store, `${cluster}/`);
    expect(left).toContain(snapshot.key);
    expect(left.filter((k) => k.startsWith(older.key.slice(0, -SUFFIX[compression].length)))).toEqual([]);
  });
});

describe('reupload (bucket mode, S3 with a default retention): the copy keeps the encoding', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await makeBackend('s3', { defaultRetentionDays: 1 });
  });

  it.each(COMPRESSIONS)('%s', async (compression) => {
    const settings: SettingValues = {
      ...backend.settings,
      ETCD_ENDPOINTS: etcd.endpoints.join(','),
      CLUSTER_NAME: `copy-${compression}`,
      SNAPSHOT_COMPRESSION: compression,
      IMMUTABILITY: 'bucket',
      REUPLOAD_INTERVAL: '2h',
      REUPLOAD_MARGIN: '4h',
    };
    const original = (await run('snapshot', settings)).result!;
    const until = (await backend.store.getRetention(original.key))?.retainUntil as Date;
    const copied = await reuploadTask({
      config: loadConfig(settings),
      store: backend.store,
      log: memoryLogger(),
      now: () => new Date(until.getTime() - HOUR),
    });
    expect(copied).toMatchObject({ ok: true, action: 'copied', source: original.key });
    expect(compressionOfKey(copied.key)).toBe(compression);
    expect(await manifestOf(backend, copied.key)).toMatchObject({
      key: copied.key,
      copyOf: original.key,
      compression,
      size: original.size,
      storedSize: original.storedSize,
      sha256: original.sha256,
    });
    const listed = (await run('list', settings)).result!.snapshots.find((s) => s.key === copied.key);
    expect(listed).toMatchObject({ state: 'complete', compression, size: original.size, storedSize: original.storedSize });
    expect((await run('verify', settings, { args: { key: copied.key } })).result).toMatchObject({ ok: true, sha256: original.sha256 });
  });
});

describe('on a local directory', () => {
  let backend: Backend;
  let root: string;
  beforeAll(async () => {
    backend = await makeBackend('local');
    root = (loadConfig(backend.settings).location as { root: string }).root;
  });
  const settings = (cluster: string, compression: Compression): SettingValues => ({
    ...backend.settings,
    ETCD_ENDPOINTS: etcd.endpoints.join(','),
    CLUSTER_NAME: cluster,
    SNAPSHOT_COMPRESSION: compression,
  });

  it('a snapshot written before compression existed (.db, a manifest without compression or storedSize) lists, verifies and restores', async () => {
    const taken = (await run('snapshot', settings('old', 'none'))).result!;
    expect(taken.key.endsWith('.db')).toBe(true);
    expect(manifestKey(taken.key)).toBe(`${taken.key.slice(0, -'.db'.length)}.manifest.json`);
    // The manifest as the version before compression wrote it.
    const manifest: Partial<SnapshotManifest> = await manifestOf(backend, taken.key);
    delete manifest.compression;
    delete manifest.storedSize;
    await writeFile(join(root, ...manifestKey(taken.key).split('/')), JSON.stringify(manifest, null, 2));

    // Read by a version that writes zstd: every reader goes by the key, not by the setting.
    const zstd = settings('old', 'zstd');
    expect((await run('list', zstd)).result!.snapshots).toMatchObject([
      { key: taken.key, state: 'complete', compression: 'none', size: taken.size, storedSize: taken.size },
    ]);
    expect((await run('verify', zstd)).result).toMatchObject({ ok: true, key: taken.key });
    const output = join(await mkdtemp(join(tmpdir(), 'restore-old-')), 'etcd.db');
    expect((await run('restore', zstd, { args: { output } })).result).toMatchObject({ key: taken.key, sha256: taken.sha256 });
    expect((await readFile(output)).equals(await readFile(join(root, ...taken.key.split('/'))))).toBe(true);
  });

  it.each(['zstd', 'gzip'] as const)(
    'a damaged %s object: verify records the damage, restore refuses it, and nothing is deleted',
    async (compression) => {
      const cluster = `damaged-${compression}`;
      const taken = (await run('snapshot', settings(cluster, compression))).result!;
      const file = join(root, ...taken.key.split('/'));
      const bytes = await readFile(file);
      const middle = Math.floor(bytes.length / 2);
      bytes[middle] = (bytes[middle] as number) ^ 0xff;
      await writeFile(file, bytes);
      const before = await storedKeys(backend.store, `${cluster}/`);

      // Restored by key before anything recorded the damage: the download itself finds it.
      const output = join(await mkdtemp(join(tmpdir(), 'restore-bad-')), 'etcd.db');
      const restored = await run('restore', settings(cluster, compression), { args: { output, key: taken.key } });
      expect((restored.error as BackupError | undefined)?.code).toBe('snapshot-integrity');
      expect((restored.error as Error).message).toContain(taken.key);
      // The hint says what restore has (not) done, as for any damaged snapshot.
      expect((restored.error as BackupError).hint).toMatch(/^nothing was written to the output path/);
      await expect(readFile(output)).rejects.toMatchObject({ code: 'ENOENT' });

      const verified = await run('verify', settings(cluster, compression));
      expect(verified.error).toBeUndefined();
      expect(verified.result?.ok).toBe(false);
      expect(verified.result?.problems[0]).toMatchObject({ kind: 'undecodable' });
      expect(verified.result?.problems[0]?.message).toContain(taken.key);

      expect(await storedKeys(backend.store, `${cluster}/`)).toEqual([...before, verified.result?.recordKey].sort());
    },
  );
});

describe('incompressible data (local directory): stored plain while it does not compress, compressed again once it does', () => {
  let random: EtcdCluster;
  let backend: Backend;
  beforeAll(async () => {
    random = await startEtcd({ version: '3.5' });
    await writeBulk(random.endpoints, 24);
    backend = await makeBackend('local');
  });
  afterAll(async () => {
    await random?.stop();
  });

  it('zstd measures it, the next runs store plain and sample it, and compressible data is compressed from the run after', async () => {
    const settings: SettingValues = { ...backend.settings, ETCD_ENDPOINTS: random.endpoints.join(','), CLUSTER_NAME: 'random' };
    const first = (await run('snapshot', settings)).result!;
    expect(first).toMatchObject({ ok: true, compression: 'zstd' });
    expect(first.compressionReason).toBeUndefined();
    expect(first.storedSize / first.size).toBeGreaterThanOrEqual(INCOMPRESSIBLE_RATIO);

    const lines: string[] = [];
    const second = (await run('snapshot', settings, { log: memoryLogger((l) => lines.push(String(l.message))) })).result!;
    expect(second).toMatchObject({ ok: true, compression: 'none', storedSize: second.size });
    expect(second.key.endsWith('.db')).toBe(true);
    expect(second.compressionReason).toContain(first.key);
    expect(lines).toContain('storing the snapshot plain');
    expect(second.sampledEntropy).toBeGreaterThanOrEqual(INCOMPRESSIBLE_RATIO);
    expect(await manifestOf(backend, second.key)).toMatchObject({ compression: 'none', sampledEntropy: second.sampledEntropy });

    // Judged by the sample of the plain one: still plain.
    // The plain one reads like any other: verify checks it, in a history that mixes both.
    expect((await run('verify', settings, { args: { key: second.key } })).result).toMatchObject({ ok: true, key: second.key });
    const third = (await run('snapshot', settings)).result!;
    expect(third).toMatchObject({ ok: true, compression: 'none' });
    expect(third.compressionReason).toContain(second.key);

    // The random values replaced by JSON objects (and the database rewritten without them): the next plain
    // snapshot samples compressible data, and the one after it is compressed again.
    const client = new Etcd3({ hosts: random.endpoints });
    try {
      await client.delete().prefix('/bulk/');
      for (let i = 0; i < 6000; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) =>
            client.put(`/registry/configmaps/team-a/cm-${i + j}`).value(
              JSON.stringify({
                kind: 'ConfigMap',
                apiVersion: 'v1',
                metadata: { name: `cm-${i + j}`, namespace: 'team-a', labels: { app: 'web', tier: 'frontend' } },
                data: { 'app.properties': 'log.level=info\nreplicas=3\n'.repeat(150) },
              }),
            ),
          ),
        );
      }
      const { header } = await client.kv.range({ key: Buffer.from('/registry/') });
      await client.kv.compact({ revision: header.revision, physical: true });
      await client.maintenance.defragment({});
    } finally {
      client.close();
    }
    const fourth = (await run('snapshot', settings)).result!;
    expect(fourth).toMatchObject({ ok: true, compression: 'none' });
    expect(fourth.sampledEntropy).toBeLessThan(RECOMPRESS_ENTROPY);
    const fifth = (await run('snapshot', settings)).result!;
    expect(fifth).toMatchObject({ ok: true, compression: 'zstd' });
    expect(fifth.compressionReason).toBeUndefined();
    expect(fifth.storedSize / fifth.size).toBeLessThan(0.5);

    // Explicitly none: never sampled into anything else, but still sampled.
    const plain = (await run('snapshot', { ...settings, SNAPSHOT_COMPRESSION: 'none' })).result!;
    expect(plain).toMatchObject({ compression: 'none' });
    expect(plain.compressionReason).toBeUndefined();
    expect(plain.sampledEntropy).toBeLessThan(RECOMPRESS_ENTROPY);
    // Restore takes the newest verified snapshot out of the mixed history: the plain one verified above.
    const output = join(await mkdtemp(join(tmpdir(), 'restore-mixed-')), 'etcd.db');
    expect((await run('restore', settings, { args: { output } })).result).toMatchObject({ key: second.key, sha256: second.sha256 });
    expect((await readFile(output)).length).toBe(second.size);
  });
});
