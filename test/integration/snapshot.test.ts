// The snapshot task end to end on real etcd (3.4 into each real store, 3.5 into one); that release's
// etcdctl/etcdutl is the oracle.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { text } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import { SETTINGS } from '../../shared/config/settings.js';
import type { Compression } from '../../shared/config/config.js';
import { compressionOfKey, parseSnapshotKey } from '../../shared/layout.js';
import type { SnapshotManifest } from '../../shared/manifest.js';
import type { SnapshotResult } from '../../shared/tasks/snapshot.js';
import { BACKEND_KINDS, type BackendKind, makeBackend, type Backend } from '../support/backends.js';
import { readAll, writeBulk, writeSampleData, type SampleData } from '../support/data.js';
import { etcdStoreCases, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { download, run, snapshotStatus } from '../support/run.js';
import { s3Client } from '../support/stores.js';

const execFileP = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/etcd-backup.js');

/**
 * One compression per store here, so that each goes through the byte-for-byte comparison with etcdctl on
 * 3.4 and the round trip through a different store; every store with every compression is in
 * compression.test.ts.
 */
const COMPRESSION_IN: Record<BackendKind, Compression> = { local: 'gzip', s3: 'zstd', gcs: 'none' };

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
  const compression = COMPRESSION_IN[kind];
  const settings = () => ({
    ...backend.settings,
    ETCD_ENDPOINTS: etcd.endpoints.join(','),
    CLUSTER_NAME: 'etcd-a',
    SNAPSHOT_COMPRESSION: compression,
  });

  it(`restores to exactly the keys and values written, and records what snapshot status reports (${compression})`, async () => {
    const outcome = await run('snapshot', settings());
    expect(outcome.error).toBeUndefined();
    expect(outcome.ok).toBe(true);
    const result = outcome.result!;
    expect(parseSnapshotKey(result.key, 'etcd-a')).toBeDefined();
    expect(compressionOfKey(result.key)).toBe(compression);
    expect(result.compression).toBe(compression);
    expect(result.storedSize).toBe((await backend.store.head(result.key))?.size);
    if (compression === 'none') expect(result.storedSize).toBe(result.size);
    else expect(result.storedSize).toBeLessThan(result.size);

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
    expect(manifest.compression).toBe(compression);
    expect(manifest.storedSize).toBe(result.storedSize);
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
  it(`stores what etcdctl snapshot save writes (after ${compression === 'none' ? 'nothing' : `${compression} -d`}): the same snapshot status, and on 3.4 the same bytes`, async () => {
    const saved = `${await download(backend.store, (await run('snapshot', settings())).result?.key as string)}`;
    const reference = `${saved}.etcdctl`;
    await etcd.etcdctl(['snapshot', 'save', reference]);
    const ours = await download(backend.store, (await run('snapshot', settings())).result!.key);
    expect(await snapshotStatus(ours, version)).toEqual(await snapshotStatus(reference, version));
    const sha256 = async (file: string) =>
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex');
    if (version === '3.4') expect(await sha256(ours)).toBe(await sha256(reference));
  });

  it('lists the snapshots newest first with their recorded revision, without objects of other clusters', async () => {
    await run('snapshot', { ...settings(), CLUSTER_NAME: 'etcd-a-2' });
    const listed = (await run('list', settings())).result!;
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

/** Every key and value, each value read on its own: all of them at once exceed gRPC's 4 MiB message limit. */
async function readEach(endpoints: string[]): Promise<Map<string, Buffer>> {
  const client = new Etcd3({ hosts: endpoints });
  try {
    const all = new Map<string, Buffer>();
    for (const key of await client.getAll().keys()) all.set(key, (await client.get(key).buffer()) as Buffer);
    return all;
  } finally {
    client.close();
  }
}

describe('snapshot round trip into S3 over HTTPS with the AWS defaults (when_supported: UNSIGNED-PAYLOAD parts with CRC32 checksums, which radosgw 16 accepts but does not check)', () => {
  let etcd: EtcdCluster;
  let backend: Backend;
  beforeAll(async () => {
    etcd = await startEtcd();
    await writeSampleData(etcd.endpoints, { smallKeys: 100 });
    // More than two 5 MiB parts (S3_PART_SIZE's default and minimum): a multipart upload.
    await writeBulk(etcd.endpoints, 12);
    backend = await makeBackend('s3', { transport: 'https' });
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  const settings = () => ({ ...backend.settings, ETCD_ENDPOINTS: etcd.endpoints.join(','), CLUSTER_NAME: 'etcd-tls' });

  it('the CLI uploads it in parts trusting the CA from AWS_CA_BUNDLE alone; it verifies, and restores to a file etcd starts from with every key', async () => {
    // Only the settings and credentials of this test; no NODE_EXTRA_CA_CERTS: our S3 client must take the CA itself.
    const inherited = Object.entries(process.env).filter(([k]) => !SETTINGS.some((s) => s.env === k) && k !== 'NODE_EXTRA_CA_CERTS');
    const env = { ...Object.fromEntries(inherited), ...settings(), ...backend.env };
    expect(env.AWS_REQUEST_CHECKSUM_CALCULATION).toBeUndefined();
    expect(env.AWS_ENDPOINT_URL_S3).toMatch(/^https:/);
    const { stdout } = await execFileP(process.execPath, [BIN, 'snapshot', '--json'], { env });
    const snapshot = JSON.parse(stdout) as SnapshotResult & { ok: boolean };
    expect(snapshot.ok).toBe(true);
    expect(snapshot.size).toBeGreaterThan(2 * 5 * 1024 * 1024);

    // A multipart object's ETag ends in -<number of parts> (of the stored, zstd-compressed, bytes).
    const { bucket, prefix } = loadConfig(backend.settings).location as { bucket: string; prefix: string };
    const client = s3Client();
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/${snapshot.key}` }));
      expect(Number(/-(\d+)"?$/.exec(head.ETag ?? '')?.[1])).toBe(Math.ceil(snapshot.storedSize / (5 * 1024 * 1024)));
    } finally {
      client.destroy();
    }

    const verified = await run('verify', settings(), { args: { key: snapshot.key } });
    expect(verified.error).toBeUndefined();
    expect(verified.result?.ok).toBe(true);

    const output = join(await mkdtemp(join(tmpdir(), 'restore-tls-')), 'etcd.db');
    const restoredFile = await run('restore', settings(), { args: { output } });
    expect(restoredFile.error).toBeUndefined();
    const result = restoredFile.result!;
    expect(result.key).toBe(snapshot.key);
    expect(result.sha256).toBe(snapshot.sha256);
    const restored = await startEtcd({ restoreFrom: output });
    try {
      expect(await readEach(restored.endpoints)).toEqual(await readEach(etcd.endpoints));
    } finally {
      await restored.stop();
    }
  });
});
