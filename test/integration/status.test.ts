// status on the real stores, with real snapshots of a real etcd: fresh, stale, none, a failed verification,
// and on radosgw with Object Lock whether a locked copy exists (retention read from the store). Ages are
// judged at an injected time, never by waiting.
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type SettingValues } from '../../shared/config/config.js';
import { manifestKey, snapshotKey } from '../../shared/layout.js';
import type { SnapshotManifest } from '../../shared/manifest.js';
import { emfDocument } from '../../shared/platform/metrics.js';
import { selectForRestore } from '../../shared/selection.js';
import { listTask } from '../../shared/tasks/list.js';
import { statusTask } from '../../shared/tasks/status.js';
import { BACKEND_KINDS, type Backend, makeBackend } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { writeSampleData } from '../support/data.js';
import { type EtcdCluster, startEtcd } from '../support/etcd.js';
import { download, run } from '../support/run.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcd();
  await writeSampleData(etcd.endpoints, { smallKeys: 100 });
});
afterAll(async () => {
  await etcd?.stop();
});

/** statusTask as runTask runs it, at the given time (the configuration loaded from the same settings). */
const statusAt = (backend: Backend, settings: SettingValues, now: Date) =>
  statusTask({ config: loadConfig(settings), store: backend.store, now: () => now });

describe.each(BACKEND_KINDS)('status on %s', (kind) => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await makeBackend(kind);
  });
  const settings = (cluster: string, extra: SettingValues = {}): SettingValues => ({
    ...backend.settings,
    ETCD_ENDPOINTS: etcd.endpoints.join(','),
    CLUSTER_NAME: cluster,
    ...extra,
  });

  it('no snapshot at all: not ok, nothing to name', async () => {
    const outcome = await run('status', settings('none'));
    expect(outcome.error).toBeUndefined();
    expect(outcome.ok).toBe(false);
    expect(outcome.result).toMatchObject({
      ok: false,
      cluster: 'none',
      store: backend.store.description,
      maxAgeSeconds: 3 * 3600,
      newestGood: null,
      newestVerified: null,
      lastVerification: null,
      immutability: 'off',
    });
    expect(outcome.result).not.toHaveProperty('lockedCopy');
    expect(outcome.result!.problems.map((p) => p.kind)).toEqual(['no-good-snapshot']);
  });

  it('fresh: ok, with the snapshot just taken; after verify, the verified one and a passed verification; list reports the same ages', async () => {
    const taken = (await run('snapshot', settings('fresh'))).result!;
    const first = await run('status', settings('fresh'));
    expect(first.ok).toBe(true);
    expect(first.result).toMatchObject({
      ok: true,
      newestGood: { key: taken.key },
      newestVerified: null,
      lastVerification: null,
      problems: [],
    });
    expect(first.result!.newestGood!.ageSeconds).toBeLessThan(600);

    const verified = (await run('verify', settings('fresh'))).result!;
    expect(verified.ok).toBe(true);
    const now = new Date();
    const after = await statusAt(backend, settings('fresh'), now);
    expect(after).toMatchObject({
      ok: true,
      checkedAt: now.toISOString(),
      newestVerified: { key: taken.key },
      lastVerification: { key: taken.key, ok: true, at: verified.verifiedAt },
    });
    expect(after.newestVerified).toEqual(after.newestGood);
    // One rule: list, at the same time, names the same snapshots with the same ages.
    const listed = await listTask({ store: backend.store, config: { cluster: 'fresh' }, now: () => now });
    expect({ newestGood: listed.newestGood, newestVerified: listed.newestVerified }).toEqual({
      newestGood: after.newestGood,
      newestVerified: after.newestVerified,
    });

    // What restore would take: by default the newest verified, with --allow-unverified the newest good.
    const restoreTakes = async (allowUnverified: boolean) =>
      (await selectForRestore(backend.store, 'fresh', { allowUnverified, allowExcluded: false })).key;
    expect(await restoreTakes(false)).toBe(after.newestVerified?.key);
    expect(await restoreTakes(true)).toBe(after.newestGood?.key);

    // The metrics line of that run: the ages the alarms watch, and StatusNotOk 0.
    const emf = emfDocument('fresh', { task: 'status', ok: after.ok, durationMs: 1, result: after }, now);
    expect(emf).toMatchObject({
      Task: 'status',
      Failures: 0,
      StatusNotOk: 0,
      SnapshotAgeSeconds: after.newestGood!.ageSeconds,
      VerifiedSnapshotAgeSeconds: after.newestVerified!.ageSeconds,
    });
  });

  it('stale: the same snapshot judged 4 hours later is not ok, names its age and the limit; STATUS_MAX_AGE=0 does not judge it', async () => {
    const taken = (await run('snapshot', settings('stale'))).result!;
    const later = new Date(Date.now() + 4 * HOUR);
    const stale = await statusAt(backend, settings('stale'), later);
    expect(stale.ok).toBe(false);
    expect(stale.newestGood).toMatchObject({ key: taken.key });
    expect(stale.newestGood!.ageSeconds).toBeGreaterThanOrEqual(4 * 3600);
    expect(stale.problems).toEqual([
      {
        kind: 'stale',
        message: expect.stringMatching(
          /^the newest good snapshot .* is 4h\d*m? old, more than STATUS_MAX_AGE \(3h\): check the snapshot runs$/,
        ),
      },
    ]);
    expect(emfDocument('stale', { task: 'status', ok: false, durationMs: 1, result: stale }, later)).toMatchObject({
      Failures: 1,
      StatusNotOk: 1,
      SnapshotAgeSeconds: stale.newestGood!.ageSeconds,
    });
    expect((await statusAt(backend, settings('stale', { STATUS_MAX_AGE: '5h' }), later)).ok).toBe(true);
    expect((await statusAt(backend, settings('stale', { STATUS_MAX_AGE: '0' }), new Date(Date.now() + 90 * DAY))).ok).toBe(true);
  });

  it('the newest verification failed (a damaged snapshot verified): not ok until it is excluded', async () => {
    const good = (await run('snapshot', settings('damaged'))).result!;
    // Bit rot in a newer snapshot: its first half, stored with a manifest that describes it.
    const bytes = await readFile(await download(backend.store, good.key));
    const bad = bytes.subarray(0, Math.floor(bytes.length / 2));
    const key = snapshotKey('damaged', new Date(), good.revision + 1);
    await backend.store.put(key, bad);
    const manifest = JSON.parse(await text(await backend.store.get(good.manifestKey))) as SnapshotManifest;
    await backend.store.put(
      manifestKey(key),
      Buffer.from(JSON.stringify({ ...manifest, key, size: bad.length, compression: 'none', storedSize: bad.length })),
    );
    const verified = await run('verify', settings('damaged'));
    expect(verified.result).toMatchObject({ ok: false, key });

    const outcome = await run('status', settings('damaged'));
    expect(outcome.ok).toBe(false);
    expect(outcome.result).toMatchObject({
      // Restore would take the older, intact one: still fresh.
      newestGood: { key: good.key },
      newestVerified: null,
      lastVerification: { key, ok: false, at: verified.result!.verifiedAt },
    });
    expect(outcome.result!.problems.map((p) => p.kind)).toEqual(['verification-failed']);
    expect(outcome.result!.problems[0]?.message).toContain(key);
    expect((await selectForRestore(backend.store, 'damaged', { allowUnverified: true, allowExcluded: false })).key).toBe(good.key);

    // Excluding the damaged snapshot is how the operator says it has been dealt with.
    expect((await run('exclude', settings('damaged'), { args: { key, reason: 'truncated' } })).ok).toBe(true);
    const dealt = await run('status', settings('damaged'));
    expect(dealt.result).toMatchObject({ ok: true, lastVerification: null, newestGood: { key: good.key } });
  });
});

describe('status from the CLI, on a directory store', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await makeBackend('local');
  });
  const settings = (cluster: string): SettingValues => ({
    ...backend.settings,
    ETCD_ENDPOINTS: etcd.endpoints.join(','),
    CLUSTER_NAME: cluster,
  });

  it('exit 1 and one JSON document when not ok, 0 when ok; the text leads with the verdict', async () => {
    const env = { ...backend.settings, ...backend.env };
    const none = await cli(['status', '--json'], { ...env, CLUSTER_NAME: 'cli-none' });
    expect(none.code).toBe(1);
    const doc = JSON.parse(none.stdout) as { ok: boolean; problems: { kind: string }[] };
    expect(doc).toMatchObject({ ok: false, cluster: 'cli-none', newestGood: null, problems: [{ kind: 'no-good-snapshot' }] });

    const text = await cli(['status'], { ...env, CLUSTER_NAME: 'cli-none' });
    expect(text.code).toBe(1);
    expect(text.stdout.split('\n')[0]).toMatch(/^NOT OK {2}cluster "cli-none" in /);
    expect(text.stdout).toContain('problem: no-good-snapshot: ');
    expect(text.stdout).toMatch(/newest good\s+NONE/);

    const taken = (await run('snapshot', settings('cli-fresh'))).result!;
    const fresh = await cli(['status', '--status-max-age', '1d'], { ...env, CLUSTER_NAME: 'cli-fresh' });
    expect(fresh.code).toBe(0);
    expect(fresh.stdout.split('\n')[0]).toMatch(/^OK {2}cluster "cli-fresh" .*\(max age 1d\)$/);
    expect(fresh.stdout).toMatch(new RegExp(`newest good\\s+${taken.key}  taken \\S+ \\(\\d+s ago\\)`));
    expect(fresh.stdout).toMatch(/last verification\s+none yet/);
    const json = await cli(['status', '--json'], { ...env, CLUSTER_NAME: 'cli-fresh' });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, newestGood: { key: taken.key }, problems: [] });
  });
});

describe('status with immutability, on radosgw with Object Lock', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await makeBackend('s3', { objectLock: true });
  });
  const settings = (cluster: string, extra: SettingValues = {}): SettingValues => ({
    ...backend.settings,
    ETCD_ENDPOINTS: etcd.endpoints.join(','),
    CLUSTER_NAME: cluster,
    IMMUTABILITY: 'object',
    IMMUTABILITY_PERIOD: '7d',
    ...extra,
  });

  it('a snapshot protected for a week is the locked copy, until its retention ends', async () => {
    const taken = (await run('snapshot', settings('locked'))).result!;
    const outcome = await run('status', settings('locked'));
    expect(outcome.ok).toBe(true);
    expect(outcome.result).toMatchObject({ immutability: 'object', lockedCopy: { key: taken.key }, problems: [] });
    const until = Date.parse(outcome.result!.lockedCopy!.retainUntil);
    expect(until).toBeGreaterThan(Date.now() + 7 * DAY - HOUR);
    // The same objects judged after the retention ended (the store still reports the old date): nothing locked.
    const after = await statusAt(backend, settings('locked', { STATUS_MAX_AGE: '0' }), new Date(until + 1000));
    expect(after).toMatchObject({ ok: false, lockedCopy: null });
    expect(after.problems.map((p) => p.kind)).toEqual(['no-locked-copy']);
  });

  it('a newer snapshot taken without protection: the older locked one still counts', async () => {
    const locked = (await run('snapshot', settings('mixed'))).result!;
    const unlocked = (await run('snapshot', settings('mixed', { IMMUTABILITY: 'off', IMMUTABILITY_PERIOD: '' }))).result!;
    const outcome = await run('status', settings('mixed'));
    expect(outcome.ok).toBe(true);
    expect(outcome.result).toMatchObject({ newestGood: { key: unlocked.key }, lockedCopy: { key: locked.key } });
  });

  it('snapshots taken without protection: not ok, no locked copy, though the bucket could lock them', async () => {
    const taken = (await run('snapshot', settings('unlocked', { IMMUTABILITY: 'off', IMMUTABILITY_PERIOD: '' }))).result!;
    const outcome = await run('status', settings('unlocked'));
    expect(outcome.ok).toBe(false);
    expect(outcome.result).toMatchObject({ newestGood: { key: taken.key }, lockedCopy: null });
    expect(outcome.result!.problems.map((p) => p.kind)).toEqual(['no-locked-copy']);
    expect(emfDocument('unlocked', outcome, new Date())).toMatchObject({ StatusNotOk: 1, Failures: 1 });
  });
});
