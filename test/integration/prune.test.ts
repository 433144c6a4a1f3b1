// prune on the real stores: the prefix boundary, sidecars, locked objects, dry runs, and a snapshot being
// written while prune runs.
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSnapshots } from '../../shared/catalogue.js';
import { loadConfig, type SettingValues } from '../../shared/config/config.js';
import { manifestKey, snapshotKey } from '../../shared/layout.js';
import { createLogger } from '../../shared/log.js';
import type { ObjectStore } from '../../shared/store/index.js';
import { findNewest, selectForRestore } from '../../shared/selection.js';
import { pruneTask, RETENTION_CLOCK_SLACK_MS } from '../../shared/tasks/prune.js';
import { BACKEND_KINDS, makeBackend, type Backend } from '../support/backends.js';
import { writeBulk } from '../support/data.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { plantHistory, plantSnapshot, type Planted } from '../support/plant.js';
import { memoryLogger, run, storedKeys, storedSnapshots } from '../support/run.js';
import { s3Client } from '../support/stores.js';

const HOUR = 3_600_000;
const hoursAgo = (n: number) => new Date(Date.now() - n * HOUR);
const quiet = createLogger({ write: () => undefined });

/** A bucket policy on the test radosgw that denies `actions` on these keys (relative to the backend's prefix). */
async function denyInBucket(settings: SettingValues, actions: string[], keys: string[]): Promise<void> {
  const { bucket, prefix } = loadConfig(settings).location as { bucket: string; prefix: string };
  const client = s3Client();
  try {
    await client.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Deny', Principal: '*', Action: actions, Resource: keys.map((key) => `arn:aws:s3:::${bucket}/${prefix}/${key}`) },
          ],
        }),
      }),
    );
  } finally {
    client.destroy();
  }
}

/**
 * The store, except that the first time the exclusion tags of `victim` are read, it and its sidecars are
 * really deleted first (snapshot first, as prune does): another run pruning it between this run's listing
 * and its reading of the details.
 */
function deletedUnderneath(store: ObjectStore, victim: Planted): ObjectStore {
  let deleted = false;
  return new Proxy(store, {
    get(target, property) {
      if (property === 'getTags') {
        return async (key: string) => {
          if (key === victim.key && !deleted) {
            deleted = true;
            for (const k of [victim.key, ...victim.sidecars]) await target.delete(k);
          }
          return target.getTags(key);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * A pass-through proxy in front of the GCS emulator that acts as a bucket under retention would: it refuses
 * every object delete with 403 (as GCS words it) and adds `retention` to every object's metadata. The
 * emulator itself accepts and ignores retention.
 */
async function retentionProxy(target: string, retainUntil: () => Date): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const objectMetadata = /^\/b\/[^/]+\/o\/[^?]+(\?|$)/;
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    if (req.method === 'DELETE' && objectMetadata.test(url)) {
      const message = `Object is subject to object retention and cannot be deleted until ${retainUntil().toISOString()}`;
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 403, message, errors: [{ message, domain: 'global', reason: 'retentionPolicyNotMet' }] } }));
      return;
    }
    const rewrite = req.method === 'GET' && objectMetadata.test(url) && !url.includes('alt=media');
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers: req.headers },
      (answer) => {
        if (!rewrite || answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const metadata = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
          const body = JSON.stringify({ ...metadata, retention: { mode: 'Unlocked', retainUntilTime: retainUntil().toISOString() } });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe.each(BACKEND_KINDS)('prune on %s', (kind) => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await makeBackend(kind);
  });
  const prune = (cluster: string, extra: Record<string, string> = {}, args: Record<string, boolean> = {}) =>
    run('prune', { ...backend.settings, CLUSTER_NAME: cluster, ...extra }, { args });

  it('never touches another cluster whose name extends this one (etcd-a vs etcd-a-2)', async () => {
    await plantHistory(backend.store, 'etcd-a', [hoursAgo(50), hoursAgo(40), hoursAgo(30)]);
    const other = await plantHistory(backend.store, 'etcd-a-2', [hoursAgo(50), hoursAgo(40)]);
    const before = await storedKeys(backend.store, 'etcd-a-2/');
    const outcome = await prune('etcd-a', { PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' });
    expect(outcome.ok).toBe(true);
    const result = outcome.result!;
    expect(result.deleted).toHaveLength(2);
    expect(result.deleted.every((d) => d.key.startsWith('etcd-a/'))).toBe(true);
    expect(await storedKeys(backend.store, 'etcd-a-2/')).toEqual(before);
    expect(before).toHaveLength(other.length * 2);
    expect(await storedSnapshots(backend.store, 'etcd-a')).toHaveLength(1);
  });

  it('deletes a snapshot together with its manifest and verification records, and orphaned sidecars (plain and compressed alike)', async () => {
    const old = await plantSnapshot(backend.store, 'side', hoursAgo(10), { verified: true, compression: 'zstd' });
    const newer = await plantSnapshot(backend.store, 'side', hoursAgo(9), { verified: true, compression: 'gzip' });
    const newest = await plantSnapshot(backend.store, 'side', hoursAgo(1));
    const orphans = [manifestKey(snapshotKey('side', hoursAgo(21), 1, 'zstd')), manifestKey(snapshotKey('side', hoursAgo(20), 1))];
    for (const orphan of orphans) await backend.store.put(orphan, Buffer.from('{}'));
    const result = (await prune('side', { PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' })).result!;
    // Kept: the newest (keep-last and newest good) and the newest verified (an invariant).
    expect(result.kept.map((k) => k.key).sort()).toEqual([newer.key, newest.key].sort());
    expect(result.deleted.map((d) => d.key)).toEqual([old.key, ...orphans]);
    expect(result.deleted[0]?.sidecars.sort()).toEqual(old.sidecars.sort());
    expect(await storedKeys(backend.store, 'side/')).toEqual([newer.key, ...newer.sidecars, newest.key, ...newest.sidecars].sort());
  });

  it('skips a snapshot another run deletes between the listing and the reading of its details (list, prune, verify and restore selection)', async () => {
    const race = async (cluster: string) => {
      const older = await plantSnapshot(backend.store, cluster, hoursAgo(3), { verified: true });
      const victim = await plantSnapshot(backend.store, cluster, hoursAgo(2), { verified: true });
      return { older, victim, store: deletedUnderneath(backend.store, victim) };
    };
    const listed = await race('gone-list');
    const list = await run('list', { ...backend.settings, CLUSTER_NAME: 'gone-list' }, { store: listed.store });
    expect(list.error).toBeUndefined();
    expect(list.result!.snapshots.map((e) => e.key)).toEqual([listed.older.key]);

    const pruned = await race('gone-prune');
    const outcome = await run(
      'prune',
      { ...backend.settings, CLUSTER_NAME: 'gone-prune', PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' },
      { store: pruned.store },
    );
    expect(outcome.ok).toBe(true);
    const result = outcome.result!;
    expect(result.failed).toEqual([]);
    expect(result.kept.map((k) => k.key)).toEqual([pruned.older.key]);
    expect(await storedKeys(backend.store, 'gone-prune/')).toEqual([pruned.older.key, ...pruned.older.sidecars].sort());

    // What verify and reupload take (the newest with a manifest), and restore (the newest verified good one).
    const verified = await race('gone-verify');
    const newest = await findNewest(verified.store, await listSnapshots(verified.store, 'gone-verify'), (e) => e.manifest !== undefined);
    expect(newest?.key).toBe(verified.older.key);
    const restored = await race('gone-restore');
    const chosen = await selectForRestore(restored.store, 'gone-restore', { allowUnverified: false, allowExcluded: false });
    expect(chosen.key).toBe(restored.older.key);
    const named = await race('gone-named');
    await expect(
      selectForRestore(named.store, 'gone-named', { key: named.victim.key, allowUnverified: false, allowExcluded: false }),
    ).rejects.toMatchObject({ code: 'not-found' });
  });

  it('--dry-run prints the plan with reasons and deletes nothing', async () => {
    const planted = await plantHistory(backend.store, 'dry', [hoursAgo(30), hoursAgo(20), hoursAgo(10)]);
    const before = await storedKeys(backend.store, 'dry/');
    const result = (await prune('dry', { PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' }, { dryRun: true })).result!;
    expect(result.dryRun).toBe(true);
    expect(result.deleted.map((d) => d.key).sort()).toEqual([planted[0]?.key, planted[1]?.key].sort());
    for (const d of [...result.deleted, ...result.kept]) expect(d.reasons.length).toBeGreaterThan(0);
    expect(await storedKeys(backend.store, 'dry/')).toEqual(before);
  });

  it('an explicit keep-last 1 keeps one snapshot: the default floor lowers to it; an explicit floor above it is refused', async () => {
    const planted = await plantHistory(backend.store, 'last1', [hoursAgo(40), hoursAgo(30), hoursAgo(20), hoursAgo(10)]);
    const refused = await prune('last1', { PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '3' });
    expect(refused.ok).toBe(false);
    expect((refused.error as Error).message).toMatch(/PRUNE_KEEP_MIN.*PRUNE_KEEP_LAST/);
    expect(await storedKeys(backend.store, 'last1/')).toHaveLength(8);
    const result = (await prune('last1', { PRUNE_KEEP_LAST: '1' })).result!;
    expect(result.kept.map((k) => k.key)).toEqual([planted[3]?.key]);
    expect(result.deleted).toHaveLength(3);
  });

  it('never deletes a snapshot whose manifest has a newer format; one missing fields is invalid-manifest and pruned like any other', async () => {
    const newer = await plantSnapshot(backend.store, 'fmt', hoursAgo(50), { editManifest: (m) => Object.assign(m, { format: 2 }) });
    const broken = await plantSnapshot(backend.store, 'fmt', hoursAgo(40), { editManifest: (m) => delete m.checks });
    const good = await plantSnapshot(backend.store, 'fmt', hoursAgo(30));
    const outcome = await prune('fmt', { PRUNE_KEEP_LAST: '1', PRUNE_MAX_AGE: '2d' });
    expect(outcome.ok).toBe(true);
    const result = outcome.result!;
    expect(result.kept.map((k) => k.key).sort()).toEqual([newer.key, good.key].sort());
    expect(result.kept.find((k) => k.key === newer.key)?.reasons.join()).toContain('newer format');
    expect(result.deleted.map((d) => d.key)).toEqual([broken.key]);
    expect(result.deleted[0]?.reasons.join()).toContain('lacks fields');
    const list = (await run('list', { ...backend.settings, CLUSTER_NAME: 'fmt' })).result!;
    expect(list.snapshots.find((e) => e.key === newer.key)?.state).toBe('newer-format');
    expect(await storedKeys(backend.store, 'fmt/')).toEqual([newer.key, ...newer.sidecars, good.key, ...good.sidecars].sort());
  });
});

describe('prune on S3 with Object Lock', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await makeBackend('s3', { objectLock: true });
  });

  it('reports locked snapshots as retained, exits 0, and deletes them once the lock has expired', async () => {
    const locked = await plantHistory(backend.store, 'locked', [hoursAgo(30), hoursAgo(20)]);
    const newest = await plantSnapshot(backend.store, 'locked', hoursAgo(1));
    const retainUntil = new Date(Date.now() + 4000);
    for (const p of locked)
      for (const key of [p.key, ...p.sidecars]) await backend.store.setRetention(key, { mode: 'governance', retainUntil });
    const settings = { ...backend.settings, CLUSTER_NAME: 'locked', PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' };

    const first = await run('prune', settings);
    expect(first.ok).toBe(true);
    const result = first.result!;
    expect(result.failed).toEqual([]);
    expect(result.deleted).toEqual([]);
    expect(result.retained.map((r) => r.key).sort()).toEqual(locked.map((p) => p.key).sort());
    for (const r of result.retained) expect(Math.abs(new Date(r.retainUntil).getTime() - retainUntil.getTime())).toBeLessThan(1000);
    expect(await storedSnapshots(backend.store, 'locked')).toHaveLength(3);

    await new Promise((r) => setTimeout(r, Math.max(0, retainUntil.getTime() - Date.now() + 500)));
    const second = (await run('prune', settings)).result!;
    expect(second.deleted.map((d) => d.key).sort()).toEqual(locked.map((p) => p.key).sort());
    expect(second.retained).toEqual([]);
    // Every version is gone, not just hidden behind a delete marker.
    expect(await storedKeys(backend.store, 'locked/')).toEqual([newest.key, ...newest.sidecars].sort());
    for (const p of locked) expect(await backend.store.getRetention(p.key).catch((e: { code?: string }) => e.code)).toBe('store-not-found');
  });
});

describe('prune when a delete is refused after the retention has ended', () => {
  it(`S3 Object Lock: counts the refusal (a bucket policy) as failed once the retain-until is more than the clock slack (${RETENTION_CLOCK_SLACK_MS / 60_000} min) past, and fails the run (prune's clock moved past the lock: radosgw accepts no retain-until in the past)`, async () => {
    const backend = await makeBackend('s3', { objectLock: true });
    const planted = await plantHistory(backend.store, 'ended', [hoursAgo(30), hoursAgo(20)]);
    const newest = await plantSnapshot(backend.store, 'ended', hoursAgo(1));
    const retainUntil = new Date(Date.now() + 60_000);
    for (const p of planted)
      for (const key of [p.key, ...p.sidecars]) await backend.store.setRetention(key, { mode: 'governance', retainUntil });
    await denyInBucket(backend.settings, ['s3:DeleteObject', 's3:DeleteObjectVersion'], ['ended/*']);
    const config = loadConfig({ ...backend.settings, CLUSTER_NAME: 'ended', PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' });
    const pruneAt = (now: Date) => pruneTask({ config, store: backend.store, log: quiet, now: () => now }, {});
    const lockedKeys = planted.map((p) => p.key).sort();

    // While the lock lasts, and while it has ended by less than the slack on our clock: retained.
    for (const now of [new Date(), new Date(retainUntil.getTime() + RETENTION_CLOCK_SLACK_MS - 60_000)]) {
      const result = await pruneAt(now);
      expect(result.ok).toBe(true);
      expect(result.retained.map((r) => r.key).sort()).toEqual(lockedKeys);
      expect(result.failed).toEqual([]);
    }
    // Past the slack the lock cannot be why the delete was refused.
    const after = await pruneAt(new Date(retainUntil.getTime() + RETENTION_CLOCK_SLACK_MS + 60_000));
    expect(after.ok).toBe(false);
    expect(after.retained).toEqual([]);
    expect(after.failed.map((f) => f.key).sort()).toEqual(lockedKeys);
    for (const f of after.failed) {
      expect(f.error.code).toBe('store-access-denied');
      expect(f.error.message).toContain(`retention ended at ${retainUntil.toISOString().slice(0, 19)}`);
    }
    expect((await storedSnapshots(backend.store, 'ended')).sort()).toEqual([...lockedKeys, newest.key].sort());
  });

  it('GCS: the same rule on a retention read from the object (the emulator has no retention: a proxy refuses deletes with 403 and shows a retention)', async () => {
    const backend = await makeBackend('gcs');
    const planted = await plantHistory(backend.store, 'ended', [hoursAgo(30), hoursAgo(20)]);
    await plantSnapshot(backend.store, 'ended', hoursAgo(1));
    let retainUntil = new Date(Date.now() + HOUR);
    const proxy = await retentionProxy(backend.settings.STORAGE_EMULATOR_HOST as string, () => retainUntil);
    try {
      const settings = {
        ...backend.settings,
        STORAGE_EMULATOR_HOST: proxy.url,
        CLUSTER_NAME: 'ended',
        PRUNE_KEEP_LAST: '1',
        PRUNE_KEEP_MIN: '0',
      };
      const lockedKeys = planted.map((p) => p.key).sort();
      const during = await run('prune', settings);
      expect(during.ok).toBe(true);
      expect(during.result!.retained.map((r) => r.key).sort()).toEqual(lockedKeys);
      retainUntil = hoursAgo(1);
      const after = await run('prune', settings);
      expect(after.ok).toBe(false);
      expect(after.result!.retained).toEqual([]);
      expect(after.result!.failed.map((f) => f.key).sort()).toEqual(lockedKeys);
      expect(after.result!.failed[0]?.error.code).toBe('store-access-denied');
    } finally {
      await proxy.close();
    }
  });
});

describe('prune while a snapshot is being written', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd();
    await writeBulk(etcd.endpoints, 100);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it.each(['local', 's3'] as const)('never deletes the new snapshot (%s, keep-last 1, prune in a loop)', async (kind) => {
    const backend = await makeBackend(kind);
    const settings = { ...backend.settings, CLUSTER_NAME: 'race', ETCD_ENDPOINTS: etcd.endpoints[0] };
    // Earlier snapshots of this same etcd cluster (the snapshot task checks that it is the same one).
    await plantHistory(backend.store, 'race', [hoursAgo(5), hoursAgo(4)], { clusterId: await etcd.clusterId() });
    let done = false;
    const snapshot = run('snapshot', settings).finally(() => {
      done = true;
    });
    let runs = 0;
    while (!done) {
      const outcome = await run('prune', { ...settings, PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' }, { log: memoryLogger() });
      expect(outcome.ok).toBe(true);
      runs++;
    }
    const taken = (await snapshot).result!;
    expect(runs).toBeGreaterThan(1);
    const after = (await run('prune', { ...settings, PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' })).result!;
    expect(after.kept.map((k) => k.key)).toEqual([taken.key]);
    expect(await storedKeys(backend.store, 'race/')).toEqual([taken.key, taken.manifestKey].sort());
  });
});

describe('prune over thousands of snapshots (local store)', () => {
  it('applies the default policy to 1500 snapshots taken every 10 minutes', async () => {
    const backend = await makeBackend('local');
    const times = Array.from({ length: 1500 }, (_, i) => new Date(Date.now() - (i + 1) * 10 * 60_000));
    await plantHistory(backend.store, 'many', times, { parallel: 64 });
    const result = (await run('prune', { ...backend.settings, CLUSTER_NAME: 'many' })).result!;
    expect(result.failed).toEqual([]);
    // ~10.4 days: 144 in the last 24 h, one an hour for the rest of 7 days, one a day after that.
    expect(result.kept.length).toBeGreaterThan(144 + 6 * 24 - 2);
    expect(result.kept.length).toBeLessThan(144 + 6 * 24 + 6);
    expect(result.kept.length + result.deleted.length).toBe(1500);
    expect(await storedSnapshots(backend.store, 'many')).toHaveLength(result.kept.length);
  });
});

describe('prune when a delete fails for another reason than retention', () => {
  it('tries the rest, reports the object as failed with the cause, and fails the run', async () => {
    const backend = await makeBackend('s3');
    const planted = await plantHistory(backend.store, 'deny', [hoursAgo(30), hoursAgo(20), hoursAgo(10)]);
    const protectedKey = planted[0]?.key as string;
    // A bucket policy that denies deleting one object: an error that is not retention.
    await denyInBucket(backend.settings, ['s3:DeleteObject', 's3:DeleteObjectVersion'], [protectedKey]);
    const outcome = await run('prune', { ...backend.settings, CLUSTER_NAME: 'deny', PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' });
    expect(outcome.ok).toBe(false);
    const result = outcome.result!;
    expect(result.failed.map((f) => f.key)).toEqual([protectedKey]);
    expect(result.failed[0]?.error.code).toBe('store-access-denied');
    expect(result.deleted.map((d) => d.key)).toEqual([planted[1]?.key]);
    expect(result.retained).toEqual([]);
  });
});

describe('prune when a manifest or tags cannot be read', () => {
  it('fails the run and deletes nothing, rather than taking the snapshot for incomplete', async () => {
    const backend = await makeBackend('s3');
    const [planted] = await plantHistory(backend.store, 'blind', [hoursAgo(72)]);
    const before = await storedKeys(backend.store, 'blind/');
    await denyInBucket(backend.settings, ['s3:GetObject'], [planted?.sidecars[0] as string]);
    const outcome = await run('prune', {
      ...backend.settings,
      CLUSTER_NAME: 'blind',
      PRUNE_KEEP_WITHIN: '1h',
      PRUNE_KEEP_HOURLY_FOR: '0',
      PRUNE_KEEP_DAILY_FOR: '0',
      PRUNE_KEEP_WEEKLY_FOR: '0',
      PRUNE_KEEP_MIN: '0',
    });
    expect(outcome.ok).toBe(false);
    expect((outcome.error as { code?: string }).code).toBe('store-access-denied');
    expect(await storedKeys(backend.store, 'blind/')).toEqual(before);
  });
});
