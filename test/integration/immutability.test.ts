// Immutable backups on the real S3 server with Object Lock (Ceph radosgw); the GCS emulator ignores
// retention, so GCS is checked at the adapter boundary (request shape), and says so.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type SettingValues } from '../../shared/config/config.js';
import { type BackupError, PreconditionError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log.js';
import { GcsStore, createGcsClient } from '../../shared/store/gcs.js';
import { reuploadTask } from '../../shared/tasks/reupload.js';
import type { SnapshotResult } from '../../shared/tasks/snapshot.js';
import { BACKEND_KINDS, makeBackend, type Backend } from '../support/backends.js';
import { writeBulk, writeSampleData } from '../support/data.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { plantSnapshot } from '../support/plant.js';
import { recordingProxy } from '../support/recording-proxy.js';
import { run, storedKeys, storedSnapshots } from '../support/run.js';

const quiet = createLogger({ write: () => undefined });
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcd();
  await writeSampleData(etcd.endpoints, { smallKeys: 100 });
  await writeBulk(etcd.endpoints, 16); // > 2 parts of 5 MiB: the upload is multipart
});
afterAll(async () => {
  await etcd?.stop();
});

const code = (outcome: { error?: unknown }) => (outcome.error as BackupError | undefined)?.code;

describe('start-up checks: the bucket must match the configured mode', () => {
  it('object mode on a bucket without Object Lock fails before etcd is contacted', async () => {
    const backend = await makeBackend('s3');
    const outcome = await run('snapshot', {
      ...backend.settings,
      IMMUTABILITY: 'object',
      IMMUTABILITY_PERIOD: '30d',
      ETCD_ENDPOINTS: 'http://127.0.0.1:9',
      CLUSTER_NAME: 'c',
    });
    // Found by reading the bucket: a failed precondition (exit 3), not bad configuration.
    expect(outcome.error).toBeInstanceOf(PreconditionError);
    expect((outcome.error as PreconditionError).setting).toBe('IMMUTABILITY');
    expect((outcome.error as Error).message).toMatch(/versioning|Object Lock|retention/);
    expect(await storedKeys(backend.store, 'c/')).toEqual([]);
  });

  it('bucket mode on an Object Lock bucket without default retention fails with a clear message', async () => {
    const backend = await makeBackend('s3', { objectLock: true });
    const outcome = await run('reupload', { ...backend.settings, IMMUTABILITY: 'bucket', CLUSTER_NAME: 'c' });
    expect(outcome.error).toBeInstanceOf(PreconditionError);
    expect((outcome.error as PreconditionError).setting).toBe('IMMUTABILITY');
    expect((outcome.error as Error).message).toContain('default retention');
  });

  it('refuses a reupload schedule that is not shorter than the retention period', () => {
    const base: SettingValues = { BACKUP_URL: 's3://bucket-x/p', IMMUTABILITY: 'object' };
    expect(() => loadConfig({ ...base, IMMUTABILITY_PERIOD: '1d', REUPLOAD_INTERVAL: '1d', REUPLOAD_MARGIN: '1d' })).toThrow(
      /REUPLOAD_INTERVAL/,
    );
    expect(() => loadConfig({ ...base, IMMUTABILITY_PERIOD: '30d', REUPLOAD_INTERVAL: '2d', REUPLOAD_MARGIN: '1d' })).toThrow(
      /REUPLOAD_MARGIN/,
    );
    expect(() => loadConfig({ ...base, IMMUTABILITY_PERIOD: '30d', REUPLOAD_MARGIN: '30d' })).toThrow(/REUPLOAD_MARGIN/);
    expect(() => loadConfig({ ...base })).toThrow(/IMMUTABILITY_PERIOD/);
    expect(() => loadConfig({ IMMUTABILITY: 'object', IMMUTABILITY_PERIOD: '30d' })).toThrow(/local directory/);
    expect(loadConfig({ ...base, IMMUTABILITY_PERIOD: '30d' }).immutability).toMatchObject({
      mode: 'object',
      periodMs: 30 * DAY,
      lock: 'governance',
      reuploadIntervalMs: DAY,
      reuploadMarginMs: 2 * DAY,
    });
  });

  it('refuses, at start-up, a schedule longer than the bucket default retention (bucket mode)', async () => {
    const backend = await makeBackend('s3', { defaultRetentionDays: 1 });
    const outcome = await run('reupload', {
      ...backend.settings,
      IMMUTABILITY: 'bucket',
      REUPLOAD_INTERVAL: '2d',
      REUPLOAD_MARGIN: '3d',
      CLUSTER_NAME: 'c',
    });
    expect(outcome.error).toBeInstanceOf(PreconditionError);
    expect((outcome.error as PreconditionError).setting).toBe('REUPLOAD_INTERVAL');
  });
});

describe('object mode', () => {
  let backend: Backend;
  let settings: SettingValues;
  let taken: SnapshotResult;
  beforeAll(async () => {
    backend = await makeBackend('s3', { objectLock: true });
    settings = {
      ...backend.settings,
      IMMUTABILITY: 'object',
      IMMUTABILITY_PERIOD: '2h',
      REUPLOAD_INTERVAL: '10m',
      REUPLOAD_MARGIN: '30m',
      S3_PART_SIZE: '5MiB',
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: 'obj',
    };
    const outcome = await run('snapshot', settings);
    expect(outcome.error).toBeUndefined();
    taken = outcome.result!;
  });

  it('locks the uploaded multipart snapshot and its manifest until the configured date, confirmed by reading back', async () => {
    expect(taken.size).toBeGreaterThan(10 * 1024 * 1024);
    expect(taken.ok).toBe(true);
    expect(taken.protection).toMatchObject({ mode: 'object', confirmed: true, manifest: { confirmed: true } });
    const until = new Date(taken.protection?.retainUntil as string).getTime();
    expect(Math.abs(until - (Date.now() + 2 * HOUR))).toBeLessThan(60_000);
    const retention = await backend.store.getRetention(taken.key);
    expect(retention?.mode).toBe('governance');
    const listed = (await run('list', settings)).result!.snapshots.find((s) => s.key === taken.key);
    expect(listed?.retainedUntil).toBe(retention?.retainUntil.toISOString());
  });

  it('the server refuses to delete the locked version, and prune reports it retained', async () => {
    const head = await backend.store.head(taken.key);
    const refused = await backend.store.delete(taken.key, { versionId: head?.versionId as string }).then(
      () => undefined,
      (e: BackupError) => e.code,
    );
    expect(refused).toBe('store-access-denied');
    // A newer snapshot makes the locked one deletable by policy; the lock keeps it.
    await run('snapshot', settings);
    const pruned = (await run('prune', { ...settings, PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' })).result!;
    expect(pruned.ok).toBe(true);
    expect(pruned.retained.map((r) => r.key)).toContain(taken.key);
    expect(await backend.store.head(taken.key)).toBeDefined();
  });

  it('reupload extends the retention when it ends within the margin, and does nothing the second time', async () => {
    const config = loadConfig(settings);
    const list = (await run('list', settings)).result!;
    const newest = list.snapshots[0]?.key as string;
    const until = (await backend.store.getRetention(newest))?.retainUntil as Date;
    const nearEnd = new Date(until.getTime() - 10 * 60_000); // inside the 30 min margin
    const first = await reuploadTask({ config, store: backend.store, log: quiet, now: () => nearEnd });
    expect(first).toMatchObject({ ok: true, action: 'extended', key: newest });
    expect(new Date(first.retainUntil as string).getTime()).toBeGreaterThan(until.getTime());
    const second = await reuploadTask({ config, store: backend.store, log: quiet, now: () => nearEnd });
    expect(second).toMatchObject({ ok: true, action: 'none', key: newest });
  });
});

describe('object mode on a bucket whose default retention (1 day) is longer than IMMUTABILITY_PERIOD (2h)', () => {
  it('keeps the longer retention the server applied (S3 refuses to shorten it), confirms it and records its real date', async () => {
    const backend = await makeBackend('s3', { defaultRetentionDays: 1 });
    const outcome = await run('snapshot', {
      ...backend.settings,
      IMMUTABILITY: 'object',
      IMMUTABILITY_PERIOD: '2h',
      REUPLOAD_INTERVAL: '10m',
      REUPLOAD_MARGIN: '30m',
      // One PutObject for the snapshot too: radosgw applies the bucket default only there, not to multipart uploads.
      S3_PART_SIZE: '64MiB',
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: 'longer',
    });
    expect(outcome.error).toBeUndefined();
    expect(outcome.ok).toBe(true);
    const taken = outcome.result!;
    expect(taken.protection).toMatchObject({ mode: 'object', confirmed: true, manifest: { mode: 'object', confirmed: true } });
    const recorded: [string, string | undefined][] = [
      [taken.key, taken.protection?.retainUntil],
      [taken.manifestKey, taken.protection?.manifest.retainUntil],
    ];
    for (const [key, retainUntil] of recorded) {
      const retention = await backend.store.getRetention(key);
      expect(retainUntil).toBe(retention?.retainUntil.toISOString());
      expect(Math.abs((retention?.retainUntil.getTime() ?? 0) - (Date.now() + DAY))).toBeLessThan(60_000);
    }
  });
});

describe('bucket mode', () => {
  let backend: Backend;
  let settings: SettingValues;
  beforeAll(async () => {
    backend = await makeBackend('s3', { defaultRetentionDays: 1 });
    settings = {
      ...backend.settings,
      IMMUTABILITY: 'bucket',
      REUPLOAD_INTERVAL: '2h',
      REUPLOAD_MARGIN: '4h',
      S3_PART_SIZE: '5MiB',
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: 'bkt',
    };
  });

  it('a multipart snapshot is protected by the bucket default (applied explicitly where the server ignored it)', async () => {
    const taken = (await run('snapshot', settings)).result!;
    expect(taken.protection).toMatchObject({ mode: 'bucket', confirmed: true, manifest: { confirmed: true } });
    expect(Math.abs(new Date(taken.protection?.retainUntil as string).getTime() - (Date.now() + DAY))).toBeLessThan(60_000);
  });

  it('reupload copies server-side under a new protected key, records the source, skips excluded and failed snapshots, and is idempotent', async () => {
    const config = loadConfig(settings);
    const newest = (await run('list', settings)).result!.snapshots[0]?.key as string;
    // A newer snapshot that must never be copied: excluded.
    const excluded = await plantSnapshot(backend.store, 'bkt', new Date(Date.now() + 1000));
    await run('exclude', settings, { args: { key: excluded.key, reason: 'suspect' } });
    const until = (await backend.store.getRetention(newest))?.retainUntil as Date;
    const later = new Date(until.getTime() - HOUR);
    const copied = await reuploadTask({ config, store: backend.store, log: quiet, now: () => later });
    expect(copied).toMatchObject({ ok: true, action: 'copied', source: newest });
    expect(copied.key > excluded.key).toBe(true);
    const copyRetention = await backend.store.getRetention(copied.key);
    expect(copyRetention?.retainUntil.getTime()).toBeGreaterThanOrEqual(later.getTime() + DAY - 5000);
    const list = (await run('list', settings)).result!.snapshots;
    const original = list.find((e) => e.key === newest);
    // The copy says which snapshot it copies and when that data was taken.
    expect(list.find((e) => e.key === copied.key)).toMatchObject({
      key: copied.key,
      state: 'complete',
      copyOf: newest,
      createdAt: original?.createdAt,
      revision: original?.revision,
    });
    expect(await reuploadTask({ config, store: backend.store, log: quiet, now: () => later })).toMatchObject({
      action: 'none',
      key: copied.key,
    });
  });

  it("a copy inherits its original's exclusion, and orders by when its data was taken (restore, verify, reupload)", async () => {
    const cs = { ...settings, CLUSTER_NAME: 'copy-excl' };
    const config = loadConfig(cs);
    const original = (await run('snapshot', cs)).result!;
    await writeSampleData(etcd.endpoints, { smallKeys: 10 });
    const newer = (await run('snapshot', cs)).result!;
    // The newer one is excluded while reupload runs, so the copy is of the original, made after `newer`.
    await run('exclude', cs, { args: { key: newer.key } });
    const until = (await backend.store.getRetention(original.key))?.retainUntil as Date;
    const copy = await reuploadTask({ config, store: backend.store, log: quiet, now: () => new Date(until.getTime() - HOUR) });
    expect(copy).toMatchObject({ action: 'copied', source: original.key });
    await run('exclude', cs, { args: { key: newer.key, undo: true } });
    const output = async () => join(await mkdtemp(join(tmpdir(), 'copy-excl-')), 'etcd.db');
    // The copy was made last, but `newer` holds newer data.
    const latest = await run('restore', cs, { args: { output: await output(), allowUnverified: true } });
    expect(latest.result?.key).toBe(newer.key);

    // Excluding the original reaches its copy: restore, verify and reupload never pick either.
    await run('exclude', cs, { args: { key: newer.key, reason: 'bad deploy' } });
    const excluded = (await run('exclude', cs, { args: { key: original.key, reason: 'corrupt data' } })).result!;
    expect(excluded.copies).toEqual([copy.key]);
    // Also when only the original carries the mark (an exclusion made by an older version of this tool).
    await backend.store.setTags(copy.key, {});
    const listed = (await run('list', cs)).result!.snapshots.find((e) => e.key === copy.key);
    expect(listed?.excluded).toEqual({ reason: 'corrupt data', source: original.key });
    const restored = await run('restore', cs, { args: { output: await output(), allowUnverified: true } });
    expect(code(restored)).toBe('not-found');
    expect(code(await run('verify', cs))).toBe('not-found');
    expect(code(await run('reupload', cs))).toBe('not-found');
  });

  it('fails loudly when there is no good snapshot to protect', async () => {
    const outcome = await run('reupload', { ...settings, CLUSTER_NAME: 'empty' });
    expect(code(outcome)).toBe('not-found');
    expect((outcome.error as BackupError).hint).toContain('nothing is being kept immutable');
  });

  it('hibernation over three retention periods (fake clock): a protected copy exists at every check, prune fails only on locks the fake clock has outrun', async () => {
    const config = loadConfig({ ...settings, CLUSTER_NAME: 'hib' });
    await run('snapshot', { ...settings, CLUSTER_NAME: 'hib' });
    const start = Date.now();
    let copies = 0;
    for (let t = start; t < start + 3 * DAY; t += 2 * HOUR) {
      const now = new Date(t);
      const order = (t / (2 * HOUR)) % 2 === 0 ? ['reupload', 'prune'] : ['prune', 'reupload'];
      for (const step of order) {
        if (step === 'reupload') {
          const r = await reuploadTask({ config, store: backend.store, log: quiet, now: () => now });
          expect(r.ok).toBe(true);
          if (r.action === 'copied') copies++;
        } else {
          const { pruneTask } = await import('../../shared/tasks/prune.js');
          const p = await pruneTask(
            {
              config: {
                ...config,
                retention: {
                  ...config.retention,
                  keepLast: 1,
                  keepMin: 0,
                  keepWithinMs: 0,
                  keepHourlyForMs: 0,
                  keepDailyForMs: 0,
                  keepWeeklyForMs: 0,
                },
              },
              store: backend.store,
              log: quiet,
              now: () => now,
            },
            {},
          );
          // The server's locks run on the real clock, far behind this fake one: an object whose lock has
          // ended on the fake clock is still locked on the server, and prune reports that refusal as failed
          // (a refusal after the retention has ended is not retention). No other failure is allowed.
          for (const f of p.failed) {
            expect(f.error.code).toBe('store-access-denied');
            expect((await backend.store.getRetention(f.key))?.retainUntil.getTime()).toBeGreaterThan(Date.now());
          }
        }
        const keys = await storedSnapshots(backend.store, 'hib');
        const protectedUntil = await Promise.all(keys.map(async (k) => (await backend.store.getRetention(k))?.retainUntil.getTime() ?? 0));
        expect(Math.max(...protectedUntil)).toBeGreaterThan(now.getTime());
      }
    }
    expect(copies).toBeGreaterThanOrEqual(3);
  });
});

describe('hibernation in object mode, in real time with retention of seconds', () => {
  it('keeps at least one locked snapshot at every check over three periods, prune and reupload in either order', async () => {
    const backend = await makeBackend('s3', { objectLock: true });
    const settings = {
      ...backend.settings,
      IMMUTABILITY: 'object',
      IMMUTABILITY_PERIOD: '6s',
      REUPLOAD_INTERVAL: '1s',
      REUPLOAD_MARGIN: '3s',
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: 'sleepy',
    };
    const pruneSettings = { ...settings, PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0' };
    await plantSnapshot(backend.store, 'sleepy', new Date(Date.now() - DAY), { clusterId: await etcd.clusterId() });
    const taken = (await run('snapshot', settings)).result!;
    expect(taken.protection?.confirmed).toBe(true);
    const started = Date.now();
    let extended = 0;
    let iteration = 0;
    while (Date.now() - started < 18_000) {
      const steps = iteration++ % 2 === 0 ? ['reupload', 'prune'] : ['prune', 'reupload'];
      for (const step of steps) {
        if (step === 'reupload') {
          const r = await run('reupload', settings);
          expect(r.ok).toBe(true);
          if (r.result!.action === 'extended') extended++;
        } else {
          const p = await run('prune', pruneSettings);
          expect(p.ok).toBe(true);
        }
        const retention = await backend.store.getRetention(taken.key);
        expect(retention?.retainUntil.getTime()).toBeGreaterThan(Date.now());
      }
      await sleep(1000);
    }
    expect(extended).toBeGreaterThanOrEqual(3);
    // The planted old snapshot (never locked) went; the last locked copy stayed.
    expect(await storedSnapshots(backend.store, 'sleepy')).toEqual([taken.key]);
  });

  it('after reupload has been down for longer than the retention, the next run protects the snapshot again', async () => {
    const backend = await makeBackend('s3', { objectLock: true });
    const settings = {
      ...backend.settings,
      IMMUTABILITY: 'object',
      IMMUTABILITY_PERIOD: '3s',
      REUPLOAD_INTERVAL: '1s',
      REUPLOAD_MARGIN: '2s',
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: 'outage',
    };
    const taken = (await run('snapshot', settings)).result!;
    await sleep(4000);
    expect((await backend.store.getRetention(taken.key))?.retainUntil.getTime() ?? 0).toBeLessThan(Date.now());
    // Unprotected now, but prune still keeps it: it is the newest good snapshot.
    const pruned = (
      await run('prune', { ...settings, PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '0', PRUNE_MAX_AGE: '1s', PRUNE_INCOMPLETE_GRACE: '500ms' })
    ).result!;
    expect(pruned.kept.map((k) => k.key)).toEqual([taken.key]);
    const r = (await run('reupload', settings)).result!;
    expect(r).toMatchObject({ ok: true, action: 'extended', key: taken.key });
    expect((await backend.store.getRetention(taken.key))?.retainUntil.getTime()).toBeGreaterThan(Date.now());
  });
});

describe.each(BACKEND_KINDS)('exclude on %s', (kind) => {
  it('marks a snapshot without modifying it; list shows it; verify skips it; --undo lifts it', async () => {
    const backend = await makeBackend(kind, { objectLock: kind === 's3' });
    const settings = { ...backend.settings, ETCD_ENDPOINTS: etcd.endpoints[0], CLUSTER_NAME: 'ex' };
    const older = (await run('snapshot', settings)).result!;
    const newer = (await run('snapshot', settings)).result!;
    if (kind === 's3') await backend.store.setRetention(newer.key, { mode: 'governance', retainUntil: new Date(Date.now() + HOUR) });
    const before = (await backend.store.head(newer.key))?.size;
    const marked = await run('exclude', settings, { args: { key: newer.key, reason: 'restored cluster lost keys; see INC-42' } });
    expect(marked.result).toMatchObject({ ok: true, excluded: true, reason: 'restored cluster lost keys  see INC-42' });
    expect((await backend.store.head(newer.key))?.size).toBe(before);
    const listed = (await run('list', settings)).result!.snapshots.find((s) => s.key === newer.key);
    expect(listed?.excluded).toEqual({ reason: 'restored cluster lost keys  see INC-42' });
    expect((await run('verify', settings)).result!.key).toBe(older.key);
    await run('exclude', settings, { args: { key: newer.key, undo: true } });
    expect((await run('list', settings)).result!.snapshots.find((s) => s.key === newer.key)?.excluded).toBeUndefined();
    expect((await run('verify', settings)).result!.key).toBe(newer.key);
  });
});

describe('GCS retention at the adapter boundary (the emulator accepts and ignores retention)', () => {
  it('sends object retention as mode + retainUntilTime, Locked for compliance', async () => {
    const backend = await makeBackend('gcs');
    const config = loadConfig(backend.settings);
    await backend.store.put('c/r.db', Buffer.from('x'));
    const proxy = await recordingProxy(config.gcs.emulatorHost as string);
    try {
      const { bucket, prefix } = config.location as { bucket: string; prefix: string };
      const store = new GcsStore(createGcsClient({ ...config.gcs, emulatorHost: proxy.url }), bucket, prefix);
      const until = new Date('2030-01-01T00:00:00.000Z');
      await store.setRetention('c/r.db', { mode: 'governance', retainUntil: until });
      await store.setRetention('c/r.db', { mode: 'compliance', retainUntil: until });
      const patches = proxy.bodies.filter((b) => b.startsWith('PATCH'));
      expect(patches[0]).toContain('"retention":{"mode":"Unlocked","retainUntilTime":"2030-01-01T00:00:00.000Z"}');
      expect(patches[1]).toContain('"mode":"Locked"');
    } finally {
      await proxy.close();
    }
  });

  it('reads bucket and object protection from metadata (fake endpoint: the emulator serves no bucket metadata and ignores retention)', async () => {
    const { createServer } = await import('node:http');
    let answer: Record<string, unknown> = {};
    let objectAnswer: Record<string, unknown> = {};
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      const object = req.url?.startsWith('/b/backups/o/');
      res.end(
        JSON.stringify(
          object ? { name: 'etcd/c/x.db', ...objectAnswer } : req.url?.startsWith('/b/backups') ? { name: 'backups', ...answer } : {},
        ),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const store = new GcsStore(createGcsClient({ emulatorHost: `http://127.0.0.1:${port}`, projectId: 'p' }), 'backups', 'etcd');
      const { checkBucketProtection } = await import('../../shared/immutability.js');
      const object = loadConfig({ BACKUP_URL: 'gs://backups/etcd', IMMUTABILITY: 'object', IMMUTABILITY_PERIOD: '30d' }).immutability;
      const bucket = loadConfig({ BACKUP_URL: 'gs://backups/etcd', IMMUTABILITY: 'bucket' }).immutability;
      answer = {};
      // Found by reading the bucket, so a failed precondition (exit 3), not bad configuration (exit 2).
      await expect(checkBucketProtection(store, object)).rejects.toMatchObject({
        code: 'precondition',
        message: expect.stringMatching(/per-object retention/),
      });
      await expect(checkBucketProtection(store, bucket)).rejects.toMatchObject({
        code: 'precondition',
        message: expect.stringMatching(/default retention/),
      });
      answer = { objectRetention: { mode: 'Enabled' }, retentionPolicy: { retentionPeriod: String(30 * 86_400), isLocked: true } };
      expect(await checkBucketProtection(store, object)).toMatchObject({ mode: 'object', periodMs: 30 * DAY });
      expect(await checkBucketProtection(store, bucket)).toMatchObject({ mode: 'bucket', periodMs: 30 * DAY, lock: 'compliance' });
      // An object protected by the bucket policy shows retentionExpirationTime; the later protection counts.
      objectAnswer = { retentionExpirationTime: '2031-01-01T00:00:00.000Z' };
      expect(await store.getRetention('c/x.db')).toEqual({ mode: 'governance', retainUntil: new Date('2031-01-01T00:00:00.000Z') });
      objectAnswer = {
        retentionExpirationTime: '2031-01-01T00:00:00.000Z',
        retention: { mode: 'Locked', retainUntilTime: '2032-01-01T00:00:00.000Z' },
      };
      expect(await store.getRetention('c/x.db')).toEqual({ mode: 'compliance', retainUntil: new Date('2032-01-01T00:00:00.000Z') });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
