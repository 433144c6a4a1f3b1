// A fleet of real etcd clusters (two running, one whose endpoint nothing answers) through snapshot, verify,
// prune and status, one fleet run each: on the local store through the CLI (exit codes, the --json
// document, text output), on S3 in process (loadFleet from an s3:// fleet file, runFleet). Each cluster's
// objects stay under its own prefix, and the unreachable cluster is reported failed without touching the
// others. Then a fleet file on GCS, and a cluster whose member hangs while the others finish.
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFleet } from '../../shared/fleet/fleet.js';
import { runFleet } from '../../shared/fleet/run.js';
import { makeBackend, type Backend } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { writeSampleData } from '../support/data.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { freePort } from '../support/ports.js';
import { memoryLogger } from '../support/run.js';
import { gcsStorage, s3Client } from '../support/stores.js';

const RUNNING = ['alpha', 'beta'] as const;
const UNREACHABLE = 'gamma';

/** Every object the store holds, relative to BACKUP_URL. */
async function everyKey(backend: Backend): Promise<string[]> {
  const url = new URL(backend.settings.BACKUP_URL ?? '');
  if (backend.kind === 'local') {
    const root = decodeURIComponent(url.pathname);
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name)));
  }
  const prefix = `${url.pathname.slice(1)}/`;
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3Client().send(new ListObjectsV2Command({ Bucket: url.host, Prefix: prefix, ContinuationToken }));
    for (const o of page.Contents ?? []) keys.push((o.Key ?? '').slice(prefix.length));
    ContinuationToken = page.NextContinuationToken;
  } while (ContinuationToken);
  return keys;
}

/** Each running cluster has its snapshot, manifest and verification under its own prefix; nothing else is stored. */
async function expectIsolation(backend: Backend): Promise<void> {
  const keys = await everyKey(backend);
  const byCluster = (cluster: string) => keys.filter((k) => k.startsWith(`${cluster}/`));
  for (const cluster of RUNNING) expect(byCluster(cluster).length, cluster).toBeGreaterThanOrEqual(2);
  expect(byCluster(UNREACHABLE)).toEqual([]);
  expect(keys.filter((k) => !RUNNING.some((c) => k.startsWith(`${c}/`)))).toEqual([]);
}

describe('a fleet of etcd clusters', () => {
  const etcd: EtcdCluster[] = [];
  let unreachable: string;
  beforeAll(async () => {
    for (const _ of RUNNING) {
      const cluster = await startEtcd();
      await writeSampleData(cluster.endpoints, { smallKeys: 20 });
      etcd.push(cluster);
    }
    // A port nothing listens on: the member refuses every connection.
    unreachable = `http://127.0.0.1:${await freePort()}`;
  });
  afterAll(async () => {
    for (const cluster of etcd) await cluster.stop();
  });

  async function writeFleet(document: unknown): Promise<string> {
    const file = join(await mkdtemp(join(tmpdir(), 'fleet-')), 'fleet.json');
    await writeFile(file, JSON.stringify(document));
    return file;
  }

  /** Three clusters, the third unreachable; `defaults` as the fleet's store. */
  function fleetDocument(defaults: Record<string, string | undefined>) {
    return {
      defaults: { ...defaults, ETCD_DIAL_TIMEOUT: '2s' },
      clusters: [
        ...RUNNING.map((name, i) => ({ CLUSTER_NAME: name, ETCD_ENDPOINTS: etcd[i]?.endpoints.join(',') })),
        { CLUSTER_NAME: UNREACHABLE, ETCD_ENDPOINTS: unreachable },
      ],
    };
  }

  it('local store, through the CLI: snapshot, verify, prune and status over the fleet', async () => {
    const backend = await makeBackend('local');
    const fleet = await writeFleet(fleetDocument(backend.settings));
    const env = { ...backend.env, FLEET_FILE: fleet };
    type Doc = {
      ok: boolean;
      clusters: { cluster: string; ok: boolean; result?: Record<string, unknown>; error?: Record<string, unknown> }[];
    };
    const runJson = async (task: string, ...args: string[]) => {
      const run = await cli([task, '--json', ...args], env);
      return { ...run, doc: JSON.parse(run.stdout) as Doc };
    };
    const shape = (doc: Doc) => doc.clusters.map((c) => [c.cluster, c.ok, c.result ? 'result' : 'error']);

    const snapshot = await runJson('snapshot');
    expect(snapshot.code).toBe(1);
    expect(snapshot.doc.ok).toBe(false);
    expect(shape(snapshot.doc)).toEqual([
      ['alpha', true, 'result'],
      ['beta', true, 'result'],
      ['gamma', false, 'error'],
    ]);
    expect(snapshot.doc.clusters[2]?.error).toMatchObject({ code: 'etcd-unreachable', message: expect.stringContaining(unreachable) });
    for (const c of snapshot.doc.clusters.slice(0, 2)) expect(c.result?.key).toMatch(new RegExp(`^${c.cluster}/`));
    // One result line per cluster, as a single run writes it, and one for the fleet.
    const results = snapshot.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.outcome !== undefined);
    expect(results.map((l) => [l.cluster ?? 'fleet', l.outcome])).toEqual(
      expect.arrayContaining([
        ['alpha', 'success'],
        ['beta', 'success'],
        ['gamma', 'failure'],
        ['fleet', 'failure'],
      ]),
    );
    expect(results).toHaveLength(4);

    const verify = await runJson('verify');
    expect(verify.code).toBe(1);
    expect(shape(verify.doc)).toEqual([
      ['alpha', true, 'result'],
      ['beta', true, 'result'],
      ['gamma', false, 'error'],
    ]);
    expect(verify.doc.clusters[0]?.result?.key).toBe(snapshot.doc.clusters[0]?.result?.key);
    expect(verify.doc.clusters[1]?.result?.key).toBe(snapshot.doc.clusters[1]?.result?.key);

    const prune = await runJson('prune');
    expect(prune.code).toBe(0);
    expect(prune.doc.ok).toBe(true);
    for (const c of prune.doc.clusters.slice(0, 2))
      expect(c.result).toMatchObject({ cluster: c.cluster, deleted: [], kept: [expect.anything()] });

    const status = await runJson('status');
    expect(status.code).toBe(1);
    expect(shape(status.doc)).toEqual([
      ['alpha', true, 'result'],
      ['beta', true, 'result'],
      ['gamma', false, 'result'],
    ]);
    expect(status.doc.clusters[2]?.result).toMatchObject({ ok: false, cluster: 'gamma', newestGood: null });
    await expectIsolation(backend);

    // --cluster narrows the fleet to one: its status alone decides the exit.
    const one = await runJson('status', '--cluster', 'alpha');
    expect(one.code).toBe(0);
    expect(one.doc).toMatchObject({ ok: true, clusters: [{ cluster: 'alpha', ok: true }] });
    expect(one.doc.clusters).toHaveLength(1);

    // Text: a block per cluster under its name, and the fleet's line.
    const text = await cli(['status'], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^alpha: ok\n/);
    expect(text.stdout).toMatch(/\n\ngamma: FAILED\n {2}/);
    expect(text.stdout).toMatch(/\n\nstatus: 2 of 3 cluster\(s\) ok; failed: gamma\n$/);

    // restore names one snapshot: it needs --cluster, refused before anything is read.
    const restore = await cli(['restore', '--output', join(fleet, '..', 'x.db')], env);
    expect(restore.code).toBe(2);
    expect(restore.stderr).toContain("--cluster: restore acts on one cluster's snapshot, not on a fleet");

    // A password written into the fleet file: refused before any I/O, and printed nowhere.
    const secret = 'fleet-inline-pw-51d7';
    const document = fleetDocument(backend.settings);
    await writeFile(
      fleet,
      JSON.stringify({ ...document, clusters: [{ ...document.clusters[0], ETCD_USERNAME: 'root', ETCD_PASSWORD: secret }] }),
    );
    for (const json of [[], ['--json']]) {
      const refused = await cli(['snapshot', ...json], { ...env, LOG_FORMAT: 'json' });
      expect(refused.code).toBe(2);
      expect(refused.stdout + refused.stderr).toMatch(/cluster \\?"alpha\\?": ETCD_PASSWORD is a secret/);
      expect(refused.stdout + refused.stderr).not.toContain(secret);
    }
    await expectIsolation(backend);
  });

  it('S3, fleet file in the bucket, in process: snapshot, verify, prune and status over the fleet', async () => {
    const backend = await makeBackend('s3');
    const { BACKUP_URL, ...reach } = backend.settings;
    const bucket = new URL(BACKUP_URL ?? '').host;
    await s3Client().send(
      new PutObjectCommand({ Bucket: bucket, Key: 'fleets/prod.json', Body: JSON.stringify(fleetDocument({ BACKUP_URL })) }),
    );
    // How to reach S3 comes from the environment; where the backups go, from the fleet file's defaults.
    const fleet = await loadFleet(`s3://${bucket}/fleets/prod.json`, reach);
    expect(fleet.clusters.map((c) => c.name)).toEqual(['alpha', 'beta', 'gamma']);
    const run = async <N extends 'snapshot' | 'verify' | 'prune' | 'status'>(task: N) => {
      const log = memoryLogger();
      const outcome = await runFleet(task, fleet, { concurrency: 3, log });
      return { outcome, oks: outcome.clusters.map((c) => [c.cluster, c.ok]) };
    };
    const expected = [
      ['alpha', true],
      ['beta', true],
      ['gamma', false],
    ];

    const snapshot = await run('snapshot');
    expect(snapshot.oks).toEqual(expected);
    expect(snapshot.outcome.clusters[2]?.error?.code).toBe('etcd-unreachable');
    expect(snapshot.outcome.clusters[0]?.result?.key).toMatch(/^alpha\//);
    expect((await run('verify')).oks).toEqual(expected);
    const prune = await run('prune');
    expect(prune.outcome.ok).toBe(true);
    const status = await run('status');
    expect(status.oks).toEqual(expected);
    expect(status.outcome.clusters[0]?.result).toMatchObject({ ok: true, newestGood: { key: snapshot.outcome.clusters[0]?.result?.key } });
    await expectIsolation(backend);
    // The fleet file itself is outside BACKUP_URL and untouched.
    expect((await s3Client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'fleets/' }))).KeyCount).toBe(1);
  });

  it("GCS: the fleet file is read from a gs:// URL with the environment's GCS settings", async () => {
    const backend = await makeBackend('gcs');
    const { BACKUP_URL, ...reach } = backend.settings;
    const bucket = new URL(BACKUP_URL ?? '').host;
    await gcsStorage()
      .bucket(bucket)
      .file('fleets/prod.json')
      .save(JSON.stringify(fleetDocument({ BACKUP_URL })));
    const fleet = await loadFleet(`gs://${bucket}/fleets/prod.json`, reach);
    expect(fleet.clusters.map((c) => [c.name, c.settings.BACKUP_URL])).toEqual([
      ['alpha', BACKUP_URL],
      ['beta', BACKUP_URL],
      ['gamma', BACKUP_URL],
    ]);
    await expect(loadFleet(`gs://${bucket}/fleets/missing.json`, reach)).rejects.toThrow(
      `FLEET_FILE: gs://${bucket}/fleets/missing.json does not exist`,
    );
  });

  it('a hanging cluster holds only its own slot: the others finish while it still waits', async () => {
    // Accepts connections and never answers: the member hangs until its own dial timeout (an hour here).
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const backend = await makeBackend('local');
    const fleet = await loadFleet(
      await writeFleet({
        defaults: { ...backend.settings, ETCD_DIAL_TIMEOUT: '1h' },
        clusters: [
          { CLUSTER_NAME: 'hanging', ETCD_ENDPOINTS: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` },
          ...RUNNING.map((name, i) => ({ CLUSTER_NAME: name, ETCD_ENDPOINTS: etcd[i]?.endpoints.join(',') })),
        ],
      }),
      {},
    );
    const done = new Set<string>();
    let othersDone: () => void = () => {};
    const othersFinished = new Promise<void>((r) => {
      othersDone = r;
    });
    const log = memoryLogger((line) => {
      if (line.outcome !== undefined && typeof line.cluster === 'string') done.add(line.cluster);
      if (RUNNING.every((c) => done.has(c))) othersDone();
    });
    const run = runFleet('snapshot', fleet, { concurrency: 3, log });
    await othersFinished;
    // Both others have finished; the hanging one has not, and ends only when its member goes away.
    expect(done.has('hanging')).toBe(false);
    for (const socket of held) socket.destroy();
    silent.close();
    const outcome = await run;
    expect(outcome.clusters.map((c) => [c.cluster, c.ok])).toEqual([
      ['hanging', false],
      ['alpha', true],
      ['beta', true],
    ]);
    expect(outcome.clusters[0]?.error?.code).toBe('etcd-unreachable');
  });
});
