// restore: choose a snapshot, stream it to a file while checking it, and restore etcd data dirs from it,
// on real etcd 3.4 and each real store, and data dirs on etcd 3.5 too (with the revision bump Kubernetes
// needs). etcdctl/etcdutl of the release is the oracle (snapshot status, endpoint status, a read at an old
// revision), and restored members are compared key by key with the cluster the snapshot was taken from.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { text } from 'node:stream/consumers';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCLUDE_REASON_TAG, EXCLUDE_TAG } from '../../shared/catalogue.js';
import type { BackupError, ConfigError, PreconditionError } from '../../shared/errors.js';
import { compressionOfKey, manifestKey, parseSnapshotKey, snapshotKey, verificationKey } from '../../shared/layout.js';
import type { SnapshotManifest } from '../../shared/manifest.js';
import { loadConfig } from '../../shared/config/config.js';
import type { TaskArgs, TaskName } from '../../shared/tasks/index.js';
import { DEFAULT_BUMP_REVISION } from '../../shared/tasks/restore/args.js';
import { type RestoreResult, restoreTask } from '../../shared/tasks/restore/index.js';
import { type SnapshotResult, takeSnapshot } from '../../shared/tasks/snapshot.js';
import type { VerifyResult } from '../../shared/tasks/verify.js';
import { BACKEND_KINDS, makeBackend, type Backend } from '../support/backends.js';
import { readAll, writeSampleData } from '../support/data.js';
import { type ClusterPlan, ETCD_VERSIONS, etcdTools, planCluster, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { plantSnapshot } from '../support/plant.js';
import { endpointStatus, entriesOf, fakeEtcdutl, memberNames, readMember } from '../support/restore.js';
import { download, memoryLogger, run, snapshotStatus, storedKeys } from '../support/run.js';

const RESTORE = 'restore' satisfies TaskName;

const CLUSTER = 'etcd-r';

interface Restored {
  ok: boolean;
  result?: RestoreResult;
  error?: BackupError;
}

async function restore(settings: Record<string, string | undefined>, args: TaskArgs): Promise<Restored> {
  const outcome = await run(RESTORE, settings, { args });
  return { ok: outcome.ok, result: outcome.result, error: outcome.error as BackupError | undefined };
}

/** restore's arguments for one member of `plan`, restored on its own host (a directory): the file and the data dir. */
function memberArgs(host: string, plan: ClusterPlan, member: ClusterPlan['members'][number]): TaskArgs {
  return {
    output: join(host, 'etcd.db'),
    dataDir: join(host, 'etcd-data'),
    name: member.name,
    initialCluster: plan.initialCluster,
    initialClusterToken: plan.token,
    initialAdvertisePeerUrls: member.peerUrl,
  };
}

const scratchDirs: string[] = [];

async function scratch(name = 'restore-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), name));
  scratchDirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of scratchDirs) await rm(dir, { recursive: true, force: true });
});

async function put(endpoints: string[], key: string, value: string): Promise<void> {
  const client = new Etcd3({ hosts: endpoints });
  try {
    await client.put(key).value(value);
  } finally {
    client.close();
  }
}

describe.each(BACKEND_KINDS)('restore from %s', (kind) => {
  let etcd: EtcdCluster;
  let backend: Backend;
  /** s1, s2: verified ok. s3: never verified. s4: verified ok, then excluded. s5: a damaged copy of s3 that failed verification. */
  const s: Record<'s1' | 's2' | 's3' | 's4', SnapshotResult> = {} as never;
  let s5: string;
  const settings = () => ({ ...backend.settings, ETCD_ENDPOINTS: etcd.endpoints.join(','), CLUSTER_NAME: CLUSTER });
  const timeOf = (key: string) => parseSnapshotKey(key, CLUSTER)?.time as Date;

  async function snapshot(): Promise<SnapshotResult> {
    const outcome = await run('snapshot', settings());
    expect(outcome.error).toBeUndefined();
    return outcome.result!;
  }

  async function verify(key: string): Promise<VerifyResult> {
    return (await run('verify', settings(), { args: { key } })).result!;
  }

  /** Stores `bytes` as the newest plain snapshot, with `from`'s manifest adapted to it (as bit rot would leave it). */
  async function plant(bytes: Buffer, from: SnapshotResult, edit: (m: SnapshotManifest) => SnapshotManifest = (m) => m): Promise<string> {
    const key = snapshotKey(CLUSTER, new Date(), from.revision);
    await backend.store.put(key, bytes);
    const manifest = JSON.parse(await text(await backend.store.get(from.manifestKey))) as SnapshotManifest;
    const plain = { compression: 'none', size: bytes.length, storedSize: bytes.length } as const;
    await backend.store.put(manifestKey(key), Buffer.from(JSON.stringify(edit({ ...manifest, key, ...plain }))));
    return key;
  }

  async function expectRestored(result: RestoreResult | undefined, key: string): Promise<void> {
    expect(result?.key).toBe(key);
    const stored = await readFile(await download(backend.store, key));
    expect((await readFile(result?.path as string)).equals(stored)).toBe(true);
  }

  beforeAll(async () => {
    etcd = await startEtcd();
    await writeSampleData(etcd.endpoints, { smallKeys: 100 });
    backend = await makeBackend(kind);
    s.s1 = await snapshot();
    expect((await verify(s.s1.key)).ok).toBe(true);
    await put(etcd.endpoints, '/app/after-s1', 'x');
    await put(etcd.endpoints, '/app/after-s1', 'y');
    s.s2 = await snapshot();
    expect((await verify(s.s2.key)).ok).toBe(true);
    await put(etcd.endpoints, '/app/after-s2', 'x');
    s.s3 = await snapshot();
    await put(etcd.endpoints, '/app/after-s3', 'x');
    s.s4 = await snapshot();
    expect((await verify(s.s4.key)).ok).toBe(true);
    await backend.store.setTags(s.s4.key, { [EXCLUDE_TAG]: 'true', [EXCLUDE_REASON_TAG]: 'taken after the bad deploy' });
    const s3Bytes = await readFile(await download(backend.store, s.s3.key));
    const damaged = Buffer.from(s3Bytes);
    damaged[damaged.length - 5] = (damaged[damaged.length - 5] ?? 0) ^ 0x10; // a flipped bit in the trailer
    s5 = await plant(damaged, s.s3);
    expect((await verify(s5)).ok).toBe(false);
    expect(s.s1.revision).toBeGreaterThan(1);
    expect(s.s2.revision).toBeGreaterThan(s.s1.revision + 1);
    expect(s.s3.revision).toBeGreaterThan(s.s2.revision);
    expect(s.s4.revision).toBeGreaterThan(s.s3.revision);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('restores the newest verified good snapshot byte for byte; etcdctl snapshot status agrees with the reported revision', async () => {
    const dir = await scratch();
    const output = join(dir, 'etcd.db');
    const { ok, result, error } = await restore(settings(), { output });
    expect(error).toBeUndefined();
    expect(ok).toBe(true);
    // s5 (newest) failed verification, s4 is excluded, s3 was never verified.
    await expectRestored(result, s.s2.key);
    const status = await snapshotStatus(output);
    expect(result).toMatchObject({
      path: output,
      revision: status.revision,
      totalKey: status.totalKey,
      totalSize: status.totalSize,
      sha256: s.s2.sha256,
      size: s.s2.size,
    });
    expect(result?.revision).toBe(s.s2.revision);
    expect(result?.verified?.ok).toBe(true);
    expect(result?.time).toBe(timeOf(s.s2.key).toISOString());
    expect(result?.etcd?.version).toBe('3.4.23');
    expect(result?.durationMs).toBeGreaterThanOrEqual(0);
    expect(result?.dataDir).toBeUndefined();
    // Nothing else next to it (no temporary file), readable by its owner only: it holds every secret in etcd.
    expect(await entriesOf(dir)).toEqual(['etcd.db']);
    expect((await stat(output)).mode & 0o777).toBe(0o600);
  });

  it('requires a verified snapshot unless --allow-unverified, which takes the newest good one verified or not', async () => {
    const output = join(await scratch(), 'etcd.db');
    const { result } = await restore(settings(), { output, allowUnverified: true });
    await expectRestored(result, s.s3.key);
    expect(result?.verified).toBeNull();
    expect((await snapshotStatus(output)).revision).toBe(result?.revision);
  });

  it('skips an excluded snapshot, and restores it by --key only with --allow-excluded', async () => {
    const dir = await scratch();
    const output = join(dir, 'etcd.db');
    const refused = await restore(settings(), { output, key: s.s4.key });
    expect(refused.error?.code).toBe('precondition');
    expect((refused.error as PreconditionError).setting).toBe('key');
    expect(refused.error?.message).toContain('excluded (taken after the bad deploy)');
    expect(refused.error?.hint).toContain('--allow-excluded');
    expect(await entriesOf(dir)).toEqual([]);

    const { result } = await restore(settings(), { output, key: s.s4.key, allowExcluded: true });
    await expectRestored(result, s.s4.key);
    expect(result?.excluded).toEqual({ reason: 'taken after the bad deploy' });
    expect((await snapshotStatus(output)).revision).toBe(s.s4.revision);
  });

  it('skips a snapshot that failed verification, and refuses it by --key because its bytes do not check out', async () => {
    const listed = (await run('list', settings())).result!;
    expect(listed.snapshots[0]?.key).toBe(s5);
    expect(listed.snapshots[0]?.verified?.ok).toBe(false);
    const { result } = await restore(settings(), { output: join(await scratch(), 'a.db'), allowUnverified: true });
    expect(result?.key).toBe(s.s3.key);

    const dir = await scratch();
    const { error } = await restore(settings(), { output: join(dir, 'etcd.db'), key: s5 });
    expect(error?.code).toBe('snapshot-integrity');
    expect(error?.message).toContain(s5);
    expect(error?.message).toMatch(/is damaged: trailer-mismatch: /);
    expect(error?.hint).toContain('nothing was written');
    expect(await entriesOf(dir)).toEqual([]);
  });

  it('--key restores that snapshot even if it was never verified', async () => {
    const output = join(await scratch(), 'etcd.db');
    const { result } = await restore(settings(), { output, key: s.s3.key });
    await expectRestored(result, s.s3.key);
    expect(result?.verified).toBeNull();
  });

  it('--before picks the newest good snapshot taken at or before the time', async () => {
    const pick = async (before: string, extra: TaskArgs = {}) =>
      restore(settings(), { output: join(await scratch(), 'etcd.db'), before, ...extra });
    const t2 = timeOf(s.s2.key);
    expect((await pick(t2.toISOString())).result?.key).toBe(s.s2.key);
    // The same instant written with an offset.
    const plusOne = new Date(t2.getTime() + 3600_000).toISOString().replace(/\.(\d{3})Z$/, '.$1+01:00');
    expect((await pick(plusOne)).result?.key).toBe(s.s2.key);
    expect((await pick(new Date(t2.getTime() - 1).toISOString())).result?.key).toBe(s.s1.key);
    expect((await pick(new Date().toISOString(), { allowUnverified: true })).result?.key).toBe(s.s3.key);
    const none = await pick(new Date(timeOf(s.s1.key).getTime() - 1).toISOString());
    expect(none.error?.code).toBe('not-found');
    expect(none.error?.message).toContain(`taken at or before ${new Date(timeOf(s.s1.key).getTime() - 1).toISOString()}`);
  });

  it('--revision picks the newest good snapshot whose revision is at or below it', async () => {
    const pick = async (revision: number, extra: TaskArgs = {}) =>
      restore(settings(), { output: join(await scratch(), 'etcd.db'), revision: String(revision), ...extra });
    expect((await pick(s.s2.revision)).result?.key).toBe(s.s2.key);
    expect((await pick(s.s2.revision - 1)).result?.key).toBe(s.s1.key);
    expect((await pick(s.s3.revision)).result?.key).toBe(s.s2.key);
    expect((await pick(s.s3.revision, { allowUnverified: true })).result?.key).toBe(s.s3.key);
    expect((await pick(Number.MAX_SAFE_INTEGER)).result?.key).toBe(s.s2.key);
    const r = await pick(s.s1.revision);
    expect(r.result?.key).toBe(s.s1.key);
    expect((await snapshotStatus(r.result?.path as string)).revision).toBe(s.s1.revision);
    const none = await pick(s.s1.revision - 1);
    expect(none.error?.code).toBe('not-found');
  });

  it('an aborted download (the function deadline) fails as aborted and leaves nothing behind', async () => {
    const dir = await scratch();
    const controller = new AbortController();
    const log = memoryLogger((line) => {
      if (line.message === 'restoring snapshot') controller.abort(new Error('deadline'));
    });
    const error = await restoreTask(
      { config: { cluster: CLUSTER }, store: backend.store, log, signal: controller.signal },
      { output: join(dir, 'etcd.db') },
    ).catch((e: unknown) => e as BackupError);
    expect((error as BackupError).code).toBe('aborted');
    expect(await entriesOf(dir)).toEqual([]);
  });

  it('refuses an unknown key (not-found) and a key of another cluster (config, naming key)', async () => {
    const unknown = await restore(settings(), { output: join(await scratch(), 'etcd.db'), key: snapshotKey(CLUSTER, new Date(0), 1) });
    expect(unknown.error?.code).toBe('not-found');
    const other = await restore(settings(), {
      output: join(await scratch(), 'etcd.db'),
      key: s.s1.key.replace(`${CLUSTER}/`, 'etcd-other/'),
    });
    expect(other.error?.code).toBe('config');
    expect((other.error as ConfigError).setting).toBe('key');
  });

  it.each([
    [
      'truncated to half its size',
      (b: Buffer) => b.subarray(0, Math.floor(b.length / 2)),
      (m: SnapshotManifest) => m,
      /is damaged: size: .*truncated: /,
    ],
    [
      'intact but not what its manifest records',
      (b: Buffer) => b,
      (m: SnapshotManifest) => ({ ...m, sha256: 'f'.repeat(64) }),
      /is damaged: manifest-mismatch: the manifest records sha256 f{64}, the snapshot has [0-9a-f]{64}/,
    ],
  ])(
    'a newest snapshot %s that claims to be verified fails clearly and leaves no file at --output',
    async (_name, damage, edit, pattern) => {
      const good = await readFile(await download(backend.store, s.s2.key));
      const key = await plant(damage(good), s.s2, edit);
      const record = verificationKey(key, new Date(), true);
      await backend.store.put(record, Buffer.from('{}'));
      try {
        const dir = await scratch();
        const output = join(dir, 'etcd.db');
        const { ok, error } = await restore(settings(), { output });
        expect(ok).toBe(false);
        expect(error?.code).toBe('snapshot-integrity');
        expect(error?.message).toContain(key);
        expect(error?.message).toMatch(pattern);
        expect(error?.hint).toContain('nothing was written');
        expect(await entriesOf(dir)).toEqual([]);
      } finally {
        for (const k of [record, manifestKey(key), key]) await backend.store.delete(k);
      }
    },
  );
});

describe.each(['local', 's3', 'gcs'] as const)('a host clock running ahead, on %s', (kind) => {
  const DAY = 86_400_000;
  let etcd: EtcdCluster;
  let backend: Backend;
  const settings = () => ({ ...backend.settings, ETCD_ENDPOINTS: etcd.endpoints.join(','), CLUSTER_NAME: 'clock' });
  beforeAll(async () => {
    etcd = await startEtcd();
    await writeSampleData(etcd.endpoints, { smallKeys: 20 });
    backend = await makeBackend(kind);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('restore (latest) takes the snapshot written last, not a key from a day ahead with a lower revision', async () => {
    const first = (await run('snapshot', settings())).result!;
    // What a host a day ahead would have written then: the same data under a key dated tomorrow, verified.
    const ahead = snapshotKey('clock', new Date(Date.now() + DAY), first.revision, compressionOfKey(first.key));
    await backend.store.copy(first.key, ahead);
    const manifest = JSON.parse(await text(await backend.store.get(first.manifestKey))) as SnapshotManifest;
    const tomorrow = new Date(Date.now() + DAY).toISOString();
    await backend.store.put(
      manifestKey(ahead),
      Buffer.from(JSON.stringify({ ...manifest, key: ahead, createdAt: tomorrow, completedAt: tomorrow })),
    );
    await backend.store.put(verificationKey(ahead, new Date(Date.now() + DAY), true), Buffer.from('{}'));
    await put(etcd.endpoints, '/app/written-after-the-fast-host', 'x');
    const latest = (await run('snapshot', settings())).result!;
    expect(latest.revision).toBeGreaterThan(first.revision);
    expect((await run('verify', settings(), { args: { key: latest.key } })).result!.ok).toBe(true);
    const output = join(await scratch(), 'etcd.db');
    const { result, error } = await restore(settings(), { output });
    expect(error).toBeUndefined();
    expect(result?.key).toBe(latest.key);
    expect(result?.revision).toBe(latest.revision);
  });

  // A local directory's clock is this host's: nothing to compare there.
  it.runIf(kind !== 'local')(
    'a snapshot is refused before anything is written when the host clock is off by more than CLOCK_SKEW_TOLERANCE',
    async () => {
      const config = loadConfig({ ...settings(), CLUSTER_NAME: 'skewed', CLOCK_SKEW_TOLERANCE: '5m' });
      for (const offset of [DAY, -10 * 60_000]) {
        const hostNow = new Date(Date.now() + offset);
        const error = (await takeSnapshot({ config, store: backend.store, log: memoryLogger(), now: () => hostNow }).then(
          () => undefined,
          (e: unknown) => e,
        )) as PreconditionError;
        expect(error?.code).toBe('precondition');
        expect(error.setting).toBe('CLOCK_SKEW_TOLERANCE');
        // Both times: this host's, and the store's (its real time, unlike the host's).
        const [host, store] = [...error.message.matchAll(/\d{4}-\d\d-\d\dT[\d:.]+Z/g)].map((m) => Date.parse(m[0]));
        expect(host).toBe(hostNow.getTime());
        expect(Math.abs((store as number) - Date.now())).toBeLessThan(60_000);
        expect(error.message).toContain(offset > 0 ? 'ahead' : 'behind');
        expect(error.hint).toContain('nothing was written');
      }
      expect(await storedKeys(backend.store, 'skewed/')).toEqual([]);
      const within = await takeSnapshot({ config, store: backend.store, log: memoryLogger(), now: () => new Date(Date.now() + 60_000) });
      expect(within.ok).toBe(true);
    },
  );
});

describe('restore argument checks (before any download)', () => {
  let backend: Backend;
  let dir: string;
  beforeAll(async () => {
    backend = await makeBackend('local');
    dir = await scratch();
  });
  const settings = () => ({ ...backend.settings, CLUSTER_NAME: CLUSTER });
  /** Nothing written, and the error says which argument and why, with the code of its kind. */
  const refusal = (code: 'config' | 'precondition') => async (_name: string, args: () => TaskArgs, setting: string, message: RegExp) => {
    await writeFile(join(dir, 'exists.db'), 'x');
    await mkdir(join(dir, 'full', 'member'), { recursive: true });
    const { ok, error } = await restore(settings(), args());
    expect(ok).toBe(false);
    expect(error?.code).toBe(code);
    expect((error as ConfigError | PreconditionError).setting).toBe(setting);
    expect(error?.message).toMatch(message);
    expect(await entriesOf(dir)).toEqual(['exists.db', 'full']);
  };

  it.each<[string, () => TaskArgs, string, RegExp]>([
    ['no --output', () => ({}), 'output', /required/],
    ['--before without a zone', () => ({ output: join(dir, 'a.db'), before: '2026-01-31T12:00:00' }), 'before', /ISO-8601/],
    ['--before in words', () => ({ output: join(dir, 'a.db'), before: 'yesterday' }), 'before', /ISO-8601/],
    ['--revision not a number', () => ({ output: join(dir, 'a.db'), revision: '12abc' }), 'revision', /positive whole number/],
    ['--revision 0', () => ({ output: join(dir, 'a.db'), revision: '0' }), 'revision', /positive whole number/],
    [
      '--key with --before',
      () => ({ output: join(dir, 'a.db'), key: snapshotKey(CLUSTER, new Date(), 1), before: '2026-01-31T12:00:00Z' }),
      'before',
      /cannot be combined with key/,
    ],
    [
      '--allow-excluded without --key',
      () => ({ output: join(dir, 'a.db'), allowExcluded: true }),
      'allowExcluded',
      /only applies with key/,
    ],
    ['--name without --data-dir', () => ({ output: join(dir, 'a.db'), name: 'm0' }), 'name', /only applies with dataDir/],
    [
      '--name without --initial-cluster',
      () => ({ output: join(dir, 'a.db'), dataDir: join(dir, 'd'), name: 'm0' }),
      'initialCluster',
      /required/,
    ],
    [
      '--initial-cluster without this member',
      () => ({ output: join(dir, 'a.db'), dataDir: join(dir, 'd'), name: 'm0', initialCluster: 'm1=http://127.0.0.1:2380' }),
      'initialCluster',
      /no member named "m0"/,
    ],
    [
      '--initial-cluster not name=url',
      () => ({ output: join(dir, 'a.db'), dataDir: join(dir, 'd'), initialCluster: 'http://127.0.0.1:2380' }),
      'initialCluster',
      /name=peer-url/,
    ],
    ['--output inside --data-dir', () => ({ output: join(dir, 'a.db'), dataDir: dir }), 'output', /inside dataDir/],
    [
      '--revision given as a number in an event',
      () => ({ output: join(dir, 'a.db'), revision: 12 as unknown as string }),
      'revision',
      /must be a string/,
    ],
  ])('refuses %s, naming the argument', refusal('config'));

  // Found by looking at the machine, not in the arguments: a precondition, not bad usage.
  it.each<[string, () => TaskArgs, string, RegExp]>([
    ['an existing --output', () => ({ output: join(dir, 'exists.db') }), 'output', /already exists/],
    ['--output in a missing directory', () => ({ output: join(dir, 'missing', 'etcd.db') }), 'output', /does not exist/],
    ['--data-dir not empty', () => ({ output: join(dir, 'a.db'), dataDir: join(dir, 'full') }), 'dataDir', /is not empty \(member\)/],
  ])('refuses %s as a failed precondition, naming the argument', refusal('precondition'));

  it('refuses unknown arguments through the task runner', async () => {
    const { error } = await restore(settings(), { output: join(dir, 'a.db'), dataDirectory: '/x' });
    expect(error?.code).toBe('config');
    expect(error?.message).toContain('dataDirectory');
  });

  it('reports a store with no snapshots as not-found', async () => {
    const { error } = await restore(settings(), { output: join(dir, 'a.db') });
    expect(error?.code).toBe('not-found');
    expect(error?.hint).toContain('etcd-backup snapshot');
  });

  it('names the newest unverified snapshot in the hint when no verified one qualifies', async () => {
    // Selection reads only names and manifests, so planted objects (not databases) are enough here.
    const older = await plantSnapshot(backend.store, CLUSTER, new Date(Date.now() - 60_000), { revision: 10 });
    const newer = await plantSnapshot(backend.store, CLUSTER, new Date(), { revision: 20 });
    const { error } = await restore(settings(), { output: join(dir, 'a.db') });
    expect(error?.code).toBe('not-found');
    expect(error?.message).toBe(`no verified good snapshot of cluster "${CLUSTER}" in ${backend.store.description}`);
    expect(error?.hint).toBe(
      `the newest unverified one is ${newer.key}: run etcd-backup verify --key ${newer.key}, or pass --allow-unverified`,
    );
    const below = await restore(settings(), { output: join(dir, 'a.db'), revision: '15' });
    expect(below.error?.message).toContain('verified good snapshot of cluster "etcd-r" at or below revision 15');
    expect(below.error?.hint).toContain(older.key);
    expect(await entriesOf(dir)).toEqual(['exists.db', 'full']);
  });
});

describe.each(ETCD_VERSIONS)('restore into etcd %s data dirs', (version) => {
  let source: EtcdCluster;
  let backend: Backend;
  let snap: SnapshotResult;
  let expected: Map<string, Buffer>;
  const started: EtcdCluster[] = [];
  const settings = () => ({ ...backend.settings, ETCD_ENDPOINTS: source.endpoints.join(','), CLUSTER_NAME: CLUSTER });
  // 3.5 ships etcdutl, the primary restore tool; 3.4 only etcdctl, the fallback.
  const tool = etcdTools(version).etcdutl ? 'etcdutl' : 'etcdctl';
  // etcdutl 3.5 bumps the revision by default; etcdctl 3.4 cannot, so its restores say --bump-revision 0.
  const bump = tool === 'etcdutl' ? DEFAULT_BUMP_REVISION : 0;
  const bumpArgs: TaskArgs = bump === 0 ? { bumpRevision: '0' } : {};
  /** `restore` of one member of `plan` on its own host (a directory): the snapshot file and the data dir. */
  const restoreMember = (host: string, plan: ClusterPlan, member: ClusterPlan['members'][number], extra: TaskArgs = {}) =>
    restore(settings(), { ...memberArgs(host, plan, member), ...bumpArgs, ...extra });
  const bumpFlags = bump === 0 ? [] : ['--bump-revision', String(bump), '--mark-compacted'];
  /** The source cluster's revision once everything was written: a restored cluster must serve past it. */
  let oldRevision: number;
  const systemPath = process.env.PATH;

  beforeAll(async () => {
    // A host with this release's tools installed: they come first on the PATH the restore task searches.
    const { etcdutl } = etcdTools(version);
    if (etcdutl) process.env.PATH = `${dirname(etcdutl)}${delimiter}${systemPath}`;
    source = await startEtcd({ version });
    await writeSampleData(source.endpoints, { smallKeys: 200 });
    backend = await makeBackend('s3');
    snap = (await run('snapshot', settings())).result!;
    expect((await run('verify', settings())).ok).toBe(true);
    expected = await readAll(source.endpoints);
    // Written after the snapshot: a restored member must not have it.
    await put(source.endpoints, '/app/after-snapshot', 'x');
    oldRevision = (await endpointStatus(source.endpoints[0]!)).revision;
  });

  /** What a watcher resuming at an old revision gets from the restored cluster: "compacted" when the bump marked it so. */
  async function expectCompactedBelow(cluster: EtcdCluster, revision: number): Promise<void> {
    await expect(cluster.etcdctl(['get', '/app/', '--prefix', '--rev', String(revision)])).rejects.toThrow(
      /required revision has been compacted/,
    );
  }
  afterAll(async () => {
    process.env.PATH = systemPath;
    for (const cluster of started) await cluster.stop();
    await source?.stop();
  });

  it(`restores a single member with ${tool}${tool === 'etcdctl' ? ' (no etcdutl on the PATH, --bump-revision 0)' : ', bumping the revision'}; etcd started on it serves exactly the snapshot`, async () => {
    const dir = await scratch();
    const plan = await planCluster(1);
    const member = plan.members[0]!;
    const dataDir = join(dir, 'etcd-data');
    const { ok, result, error } = await restoreMember(dir, plan, member);
    expect(error).toBeUndefined();
    expect(ok).toBe(true);
    expect(result?.key).toBe(snap.key);
    const { version: serverVersion } = await endpointStatus(source.endpoints[0]!);
    expect(serverVersion.startsWith(`${version}.`)).toBe(true);
    expect(result?.dataDir).toMatchObject({
      ok: true,
      path: dataDir,
      tool,
      toolVersion: serverVersion,
      bumpRevision: bump,
      markCompacted: bump > 0,
    });
    expect(result?.dataDir?.command).toEqual([
      tool,
      'snapshot',
      'restore',
      join(dir, 'etcd.db'),
      '--data-dir',
      dataDir,
      '--name',
      'm0',
      '--initial-cluster',
      plan.initialCluster,
      '--initial-cluster-token',
      plan.token,
      '--initial-advertise-peer-urls',
      member.peerUrl,
      ...bumpFlags,
    ]);
    expect(await entriesOf(dir)).toEqual(['etcd-data', 'etcd.db']);
    expect(await entriesOf(dataDir)).toEqual(['member']);

    const restored = await startEtcd({ version, plan, dataDirs: [dataDir] });
    started.push(restored);
    expect(await readAll(restored.endpoints)).toEqual(expected);
    expect((await endpointStatus(restored.endpoints[0]!)).revision).toBe((result?.revision ?? 0) + bump);
    if (bump > 0) {
      expect((await endpointStatus(restored.endpoints[0]!)).revision).toBeGreaterThan(oldRevision);
      await expectCompactedBelow(restored, oldRevision);
    }
    await restored.stop();
  });

  // How the task picks and runs its tool does not depend on the etcd release: on 3.4 only.
  if (version === '3.4') {
    it('prefers etcdutl when it is on the PATH (a stand-in running etcdctl 3.4), into an empty data dir it keeps', async () => {
      const fake = await fakeEtcdutl();
      const dir = await scratch();
      const dataDir = join(dir, 'etcd-data');
      await mkdir(dataDir, { mode: 0o750 });
      const plan = await planCluster(1);
      const member = plan.members[0]!;
      const args = { ...memberArgs(dir, plan, member), bumpRevision: '0' };
      const result = await restoreTask(
        { config: { cluster: CLUSTER }, store: backend.store, log: memoryLogger(), path: `${fake.dir}:${process.env.PATH}` },
        args,
      );
      expect(result.ok).toBe(true);
      expect(result.dataDir).toMatchObject({ ok: true, tool: 'etcdutl', toolPath: join(fake.dir, 'etcdutl') });
      expect(await readFile(fake.calls, 'utf8')).toContain(
        `snapshot restore ${join(dir, 'etcd.db')} --data-dir ${join(dir, '.etcd-data.restore-')}`,
      );
      expect((await stat(dataDir)).mode & 0o777).toBe(0o750);
      expect(await entriesOf(dataDir)).toEqual(['member']);
      const restored = await startEtcd({ plan, dataDirs: [dataDir] });
      started.push(restored);
      expect(await readAll(restored.endpoints)).toEqual(expected);
      await restored.stop();
    });

    it('a failing restore tool: reports its error, keeps the checked file, and leaves the data dir absent', async () => {
      const dir = await scratch();
      const dataDir = join(dir, 'etcd-data');
      // A real refusal by etcdctl: the advertised peer URL is not this member's URL in --initial-cluster.
      const { ok, result, error } = await restore(settings(), {
        output: join(dir, 'etcd.db'),
        dataDir,
        name: 'm0',
        initialCluster: 'm0=http://127.0.0.1:2380',
        initialAdvertisePeerUrls: 'http://127.0.0.1:2390',
        bumpRevision: '0',
      });
      expect(error).toBeUndefined();
      expect(ok).toBe(false);
      expect(result?.dataDir?.ok).toBe(false);
      expect(result?.dataDir?.error).toMatch(/initial-advertise-peer-urls|initial-cluster/);
      expect(await entriesOf(dir)).toEqual(['etcd.db']);
      expect((await snapshotStatus(join(dir, 'etcd.db'))).revision).toBe(result?.revision);

      const fake = await fakeEtcdutl({ fail: 'Error: no space left on device' });
      const again = await restoreTask(
        { config: { cluster: CLUSTER }, store: backend.store, log: memoryLogger(), path: `${fake.dir}:${process.env.PATH}` },
        { output: join(dir, 'second.db'), dataDir, bumpRevision: '0' },
      );
      expect(again.ok).toBe(false);
      expect(again.dataDir?.error).toBe('Error: no space left on device');
      expect(await entriesOf(dir)).toEqual(['etcd.db', 'second.db']);
    });

    it('refuses to restore a data dir with a tool too old to bump the revision (etcdctl 3.4, an old etcdutl) unless --bump-revision 0, before downloading anything', async () => {
      const dir = await scratch();
      const dataDir = join(dir, 'etcd-data');
      const { error } = await restore(settings(), { output: join(dir, 'etcd.db'), dataDir });
      expect(error?.code).toBe('precondition');
      expect((error as PreconditionError).setting).toBe('bumpRevision');
      expect(error?.message).toMatch(
        /^bumpRevision: etcdctl 3\.4\.23 \(.*etcdctl\) cannot bump the revision: --bump-revision needs etcdutl 3\.5\.10 or later$/,
      );
      expect(error?.hint).toMatch(/Kubernetes.*pass --bump-revision 0/);
      expect(await entriesOf(dir)).toEqual([]);
      // An etcdutl older than 3.5.10 (the stand-in reports etcdctl's 3.4.23): refused the same way.
      const fake = await fakeEtcdutl();
      const old = await restoreTask(
        { config: { cluster: CLUSTER }, store: backend.store, log: memoryLogger(), path: `${fake.dir}:${process.env.PATH}` },
        { output: join(dir, 'etcd.db'), dataDir, bumpRevision: '1000' },
      ).catch((e: unknown) => e as PreconditionError);
      expect((old as PreconditionError).setting).toBe('bumpRevision');
      expect((old as PreconditionError).message).toContain(`etcdutl 3.4.23 (${join(fake.dir, 'etcdutl')}) cannot bump the revision`);
      expect(await entriesOf(dir)).toEqual([]);
      // With --bump-revision 0 the same tool restores (the single-member test starts etcd on such a data dir).
      const unbumped = await restore(settings(), { output: join(dir, 'etcd.db'), dataDir, bumpRevision: '0' });
      expect(unbumped.result?.dataDir).toMatchObject({ ok: true, tool: 'etcdctl', bumpRevision: 0, markCompacted: false });
    });

    it("an etcd 3.4 cluster gets the bump from 3.5's etcdutl: etcd 3.4 serves the data dir it restored, past the old revision", async () => {
      const dir = await scratch();
      const dataDir = join(dir, 'etcd-data');
      const plan = await planCluster(1);
      const member = plan.members[0]!;
      const etcdutl = etcdTools('3.5').etcdutl!;
      const result = await restoreTask(
        {
          config: { cluster: CLUSTER },
          store: backend.store,
          log: memoryLogger(),
          path: `${dirname(etcdutl)}${delimiter}${process.env.PATH}`,
        },
        memberArgs(dir, plan, member),
      );
      expect(result.dataDir).toMatchObject({
        ok: true,
        tool: 'etcdutl',
        toolPath: etcdutl,
        bumpRevision: DEFAULT_BUMP_REVISION,
        markCompacted: true,
      });
      const restored = await startEtcd({ version: '3.4', plan, dataDirs: [dataDir] });
      started.push(restored);
      expect((await endpointStatus(restored.endpoints[0]!)).version).toBe('3.4.23');
      expect(await readAll(restored.endpoints)).toEqual(expected);
      expect((await endpointStatus(restored.endpoints[0]!)).revision).toBe(snap.revision + DEFAULT_BUMP_REVISION);
      await expectCompactedBelow(restored, oldRevision);
      await restored.stop();
    });

    it('refuses a non-empty data dir before downloading anything', async () => {
      const dir = await scratch();
      const dataDir = join(dir, 'etcd-data');
      await mkdir(join(dataDir, 'member', 'snap'), { recursive: true });
      const { error } = await restore(settings(), { output: join(dir, 'etcd.db'), dataDir });
      expect(error?.code).toBe('precondition');
      expect((error as PreconditionError).setting).toBe('dataDir');
      expect(error?.hint).toMatch(/move its old data dir away/);
      expect(await entriesOf(dir)).toEqual(['etcd-data']);
    });
  }

  it(`three members from one snapshot, as the runbook says: every member serves every key, ${bump > 0 ? "past the old cluster's revision, the ones between compacted" : 'at the snapshot revision'}`, async () => {
    const plan = await planCluster(3);
    const dirs: string[] = [];
    let key: string | undefined;
    for (const member of plan.members) {
      // One host per member in real life: each downloads the snapshot the first one chose (--key) and restores its own data dir.
      const host = await scratch(`host-${member.name}-`);
      const dataDir = join(host, 'etcd-data');
      const { result, error } = await restoreMember(host, plan, member, key ? { key } : {});
      expect(error).toBeUndefined();
      expect(result?.dataDir).toMatchObject({ ok: true, bumpRevision: bump, markCompacted: bump > 0 });
      expect(result?.key).toBe(key ?? snap.key);
      key = result?.key;
      dirs.push(dataDir);
    }
    const cluster = await startEtcd({ version, plan, dataDirs: dirs });
    started.push(cluster);
    expect(await memberNames(cluster.endpoints[0]!)).toEqual(['m0', 'm1', 'm2']);
    for (const endpoint of cluster.endpoints) {
      expect(await readMember(endpoint)).toEqual(expected);
      expect((await endpointStatus(endpoint)).revision).toBe(snap.revision + bump);
    }
    if (bump > 0) {
      // Kubernetes' watch caches and informers hold revisions up to the old cluster's: none of them is served
      // again with other contents; resuming at one fails as compacted, which makes them re-list.
      expect(snap.revision + bump).toBeGreaterThan(oldRevision);
      await expectCompactedBelow(cluster, oldRevision);
    }
    // The cluster has quorum and replicates: a write through one member is read back through another.
    await put([cluster.endpoints[0]!], '/restored/probe', 'ok');
    expect((await readAll([cluster.endpoints[2]!])).get('/restored/probe')?.toString()).toBe('ok');
    await cluster.stop();
  });
});
