// verify proves a stored snapshot intact from the store alone; the release's etcdutl/etcdctl is the oracle.
import { readFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupError } from '../../shared/errors.js';
import { manifestKey, snapshotKey } from '../../shared/layout.js';
import type { SnapshotManifest } from '../../shared/manifest.js';
import type { SnapshotResult } from '../../shared/tasks/snapshot.js';
import type { VerificationRecord } from '../../shared/verification.js';
import { BACKEND_KINDS, makeBackend, type Backend } from '../support/backends.js';
import { writeBulk, writeSampleData } from '../support/data.js';
import { etcdStoreCases, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { restoreAccepts } from '../support/restore.js';
import { download, run, snapshotStatus, storedKeys } from '../support/run.js';

describe.each(etcdStoreCases(BACKEND_KINDS, 'local'))('verify of etcd %s snapshots on %s', (version, kind) => {
  let etcd: EtcdCluster;
  let backend: Backend;
  let good: SnapshotResult;
  let goodBytes: Buffer;
  beforeAll(async () => {
    etcd = await startEtcd({ version });
    await writeSampleData(etcd.endpoints, { smallKeys: 300 });
    backend = await makeBackend(kind);
    const outcome = await run('snapshot', settings());
    good = outcome.result!;
    goodBytes = await readFile(await download(backend.store, good.key));
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  function settings() {
    return { ...backend.settings, ETCD_ENDPOINTS: etcd.endpoints.join(','), CLUSTER_NAME: 'etcd-v' };
  }

  /** Stores `bytes` as a new plain snapshot of the cluster, with the good snapshot's manifest (as bit rot would leave it). */
  async function plant(bytes: Buffer, withManifest = true): Promise<string> {
    const key = snapshotKey('etcd-v', new Date(), 1);
    await backend.store.put(key, bytes);
    if (withManifest) {
      const manifest = JSON.parse(await text(await backend.store.get(good.manifestKey))) as SnapshotManifest;
      const plain = { compression: 'none', size: bytes.length, storedSize: bytes.length };
      await backend.store.put(manifestKey(key), Buffer.from(JSON.stringify({ ...manifest, key, ...plain })));
    }
    return key;
  }

  it('checks the latest snapshot, agrees with snapshot status, and records the result next to it', async () => {
    const outcome = await run('verify', settings());
    expect(outcome.error).toBeUndefined();
    const result = outcome.result!;
    expect(result.ok).toBe(true);
    expect(result.key).toBe(good.key);
    expect(result.problems).toEqual([]);
    const status = await snapshotStatus(await download(backend.store, good.key), version);
    expect(result).toMatchObject({
      revision: status.revision,
      totalKey: status.totalKey,
      totalSize: status.totalSize,
      sha256: good.sha256,
    });
    expect(result.recordKey).toMatch(/\.verify-\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{4}-ok\.json$/);
    const record = JSON.parse(await text(await backend.store.get(result.recordKey))) as VerificationRecord;
    expect(record).toMatchObject({ key: good.key, ok: true, revision: status.revision });
    // The snapshot object itself is untouched.
    expect((await readFile(await download(backend.store, good.key))).equals(goodBytes)).toBe(true);
    const listed = (await run('list', settings())).result!;
    expect(listed.snapshots.find((s) => s.key === good.key)?.verified?.ok).toBe(true);
  });

  it.each([
    ['truncated mid-file', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2)), ['truncated', 'size']],
    ['truncated inside the trailer', (b: Buffer) => b.subarray(0, b.length - 16), ['size', 'truncated']],
    ['a flipped bit in the trailer', (b: Buffer) => flip(b, b.length - 5), ['trailer-mismatch']],
    ['a flipped bit in meta page 0', (b: Buffer) => flip(b, 16 + 4), ['meta-version', 'meta-checksum', 'trailer-mismatch']],
    ['a zeroed page', (b: Buffer) => zeroPage(b, 4), ['trailer-mismatch']],
  ])('reports %s as not ok, records the failure, and the object also fails snapshot restore', async (_name, damage, kinds) => {
    const bad = damage(goodBytes);
    const key = await plant(bad);
    const outcome = await run('verify', { ...settings() }, { args: { key } });
    const result = outcome.result!;
    expect(outcome.ok).toBe(false);
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.kind)).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^(${kinds.join('|')})$`))]),
    );
    for (const p of result.problems) expect(p.message.length).toBeGreaterThan(10);
    expect(result.recordKey).toMatch(/-failed\.json$/);
    const file = join(await mkdtemp(join(tmpdir(), 'verify-')), 'bad.db');
    await writeFile(file, bad);
    expect(await restoreAccepts(file, version)).toBe(false);
  });

  it('reports a snapshot whose bytes disagree with its manifest', async () => {
    const key = await plant(goodBytes);
    const manifest = JSON.parse(await text(await backend.store.get(manifestKey(key)))) as SnapshotManifest;
    const liar = snapshotKey('etcd-v', new Date(), 2);
    await backend.store.put(liar, goodBytes);
    await backend.store.put(
      manifestKey(liar),
      Buffer.from(JSON.stringify({ ...manifest, key: liar, revision: manifest.revision + 1000, totalKey: 1 })),
    );
    const result = (await run('verify', settings(), { args: { key: liar } })).result!;
    expect(result.ok).toBe(false);
    expect(
      result.problems
        .filter((p) => p.kind === 'manifest-mismatch')
        .map((p) => p.message)
        .join(' '),
    ).toMatch(/revision.*totalKey/);
  });

  it('picks the latest complete snapshot, skipping one without a manifest', async () => {
    const complete = await plant(goodBytes);
    await plant(goodBytes, false);
    const result = (await run('verify', settings())).result!;
    expect(result.key).toBe(complete);
    expect(result.ok).toBe(true);
  });

  it("refuses a key outside the cluster's prefix", async () => {
    const outcome = await run('verify', settings(), { args: { key: '../etcd-w/x.db' } });
    expect((outcome.error as BackupError).code).toBe('config');
    expect((outcome.error as Error).message).toContain('key');
  });
});

function flip(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = (copy[offset] ?? 0) ^ 0x10;
  return copy;
}

function zeroPage(bytes: Buffer, page: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.fill(0, page * 4096, (page + 1) * 4096);
  return copy;
}

describe('verify of a large snapshot streamed from S3', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd();
    await writeBulk(etcd.endpoints, 210);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('agrees with etcdctl on a database of more than 200 MB', async () => {
    const backend = await makeBackend('s3');
    const settings = { ...backend.settings, ETCD_ENDPOINTS: etcd.endpoints[0], CLUSTER_NAME: 'big' };
    const snap = (await run('snapshot', settings)).result!;
    expect(snap.size).toBeGreaterThan(200 * 1024 * 1024);
    const result = (await run('verify', settings)).result!;
    expect(result.ok).toBe(true);
    const status = await snapshotStatus(await download(backend.store, snap.key));
    expect(result).toMatchObject({ revision: status.revision, totalKey: status.totalKey, totalSize: status.totalSize });
    expect(await storedKeys(backend.store, 'big/')).toHaveLength(3);
  });
});
