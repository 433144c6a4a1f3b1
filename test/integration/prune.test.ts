// prune on the real stores: the prefix boundary, sidecars, locked objects, dry runs, and a snapshot being
// written while prune runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestKey, snapshotKey } from '../../shared/layout.js';
import { BACKEND_KINDS, makeBackend, type Backend } from '../support/backends.js';
import { writeBulk } from '../support/data.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { plantHistory, plantSnapshot } from '../support/plant.js';
import { memoryLogger, run, storedKeys } from '../support/run.js';

const HOUR = 3_600_000;
const hoursAgo = (n: number) => new Date(Date.now() - n * HOUR);

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
    expect((await storedKeys(backend.store, 'etcd-a/')).filter((k) => k.endsWith('.db'))).toHaveLength(1);
  });

  it('deletes a snapshot together with its manifest and verification records, and orphaned sidecars', async () => {
    const old = await plantSnapshot(backend.store, 'side', hoursAgo(10), { verified: true });
    const newer = await plantSnapshot(backend.store, 'side', hoursAgo(9), { verified: true });
    const newest = await plantSnapshot(backend.store, 'side', hoursAgo(1));
    const orphan = manifestKey(snapshotKey('side', hoursAgo(20), 1));
    await backend.store.put(orphan, Buffer.from('{}'));
    const result = (await prune('side', { PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' })).result!;
    // Kept: the newest (keep-last and newest good) and the newest verified (an invariant).
    expect(result.kept.map((k) => k.key).sort()).toEqual([newer.key, newest.key].sort());
    expect(result.deleted.map((d) => d.key)).toEqual([old.key, orphan]);
    expect(result.deleted[0]?.sidecars.sort()).toEqual(old.sidecars.sort());
    expect(await storedKeys(backend.store, 'side/')).toEqual([newer.key, ...newer.sidecars, newest.key, ...newest.sidecars].sort());
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
    expect((await storedKeys(backend.store, 'locked/')).filter((k) => k.endsWith('.db'))).toHaveLength(3);

    await new Promise((r) => setTimeout(r, Math.max(0, retainUntil.getTime() - Date.now() + 500)));
    const second = (await run('prune', settings)).result!;
    expect(second.deleted.map((d) => d.key).sort()).toEqual(locked.map((p) => p.key).sort());
    expect(second.retained).toEqual([]);
    // Every version is gone, not just hidden behind a delete marker.
    expect(await storedKeys(backend.store, 'locked/')).toEqual([newest.key, ...newest.sidecars].sort());
    for (const p of locked) expect(await backend.store.getRetention(p.key).catch((e: { code?: string }) => e.code)).toBe('store-not-found');
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
    await plantHistory(backend.store, 'race', [hoursAgo(5), hoursAgo(4)]);
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
    await plantHistory(backend.store, 'many', times, 64);
    const result = (await run('prune', { ...backend.settings, CLUSTER_NAME: 'many' })).result!;
    expect(result.failed).toEqual([]);
    // ~10.4 days: 144 in the last 24 h, one an hour for the rest of 7 days, one a day after that.
    expect(result.kept.length).toBeGreaterThan(144 + 6 * 24 - 2);
    expect(result.kept.length).toBeLessThan(144 + 6 * 24 + 6);
    expect(result.kept.length + result.deleted.length).toBe(1500);
    expect((await storedKeys(backend.store, 'many/')).filter((k) => k.endsWith('.db'))).toHaveLength(result.kept.length);
  });
});

describe('prune when a delete fails for another reason than retention', () => {
  it('tries the rest, reports the object as failed with the cause, and fails the run', async () => {
    const { PutBucketPolicyCommand } = await import('@aws-sdk/client-s3');
    const { s3Client } = await import('../support/stores.js');
    const { loadConfig } = await import('../../shared/config/config.js');
    const backend = await makeBackend('s3');
    const planted = await plantHistory(backend.store, 'deny', [hoursAgo(30), hoursAgo(20), hoursAgo(10)]);
    const { bucket, prefix } = loadConfig(backend.settings).location as { bucket: string; prefix: string };
    const protectedKey = planted[0]?.key as string;
    const client = s3Client();
    // A bucket policy that denies deleting one object: an error that is not retention.
    await client.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: '*',
              Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
              Resource: [`arn:aws:s3:::${bucket}/${prefix}/${protectedKey}`],
            },
          ],
        }),
      }),
    );
    client.destroy();
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
    const { PutBucketPolicyCommand } = await import('@aws-sdk/client-s3');
    const { s3Client } = await import('../support/stores.js');
    const { loadConfig } = await import('../../shared/config/config.js');
    const backend = await makeBackend('s3');
    const [planted] = await plantHistory(backend.store, 'blind', [hoursAgo(72)]);
    const before = await storedKeys(backend.store, 'blind/');
    const { bucket, prefix } = loadConfig(backend.settings).location as { bucket: string; prefix: string };
    const client = s3Client();
    await client.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Deny',
              Principal: '*',
              Action: ['s3:GetObject'],
              Resource: [`arn:aws:s3:::${bucket}/${prefix}/${planted?.sidecars[0]}`],
            },
          ],
        }),
      }),
    );
    client.destroy();
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
