// The Lambda platform layer: the EMF metrics line (unit level: EMF is a log format), and the bundled
// handler against real etcd and real stores: credentials from SSM Parameter Store (through a fake SSM
// endpoint: the real SDK, signing and protocol, answered by a local HTTP server) and the clean stop before
// the Lambda deadline.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { cloudLoggingMetrics, emfDocument, METRICS_NAMESPACE } from '../../shared/platform/metrics.js';
import { makeBackend, multipartUploads } from '../support/backends.js';
import { writeBulk } from '../support/data.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { storedKeys } from '../support/run.js';
import { makePki, type TestPki } from '../support/tls.js';
import { capturing, type Line } from '../support/capture.js';
import { fakeSsm } from '../support/fake-ssm.js';

type Handler = (
  event: unknown,
  context: { getRemainingTimeInMillis: () => number; awsRequestId: string },
) => Promise<Record<string, unknown>>;

const handlerOf = async (task: string): Promise<Handler> =>
  ((await import(resolve(import.meta.dirname, '../../dist/functions', task, 'aws/index.mjs'))) as { handler: Handler }).handler;

const resultLine = (lines: Line[]) => lines.find((l) => l.outcome !== undefined);
const emfLine = (lines: Line[]) => lines.find((l) => l._aws !== undefined);

describe('EMF metrics line', () => {
  const now = new Date('2026-11-22T12:00:00.000Z');

  it('has the embedded metric format shape: namespace, dimensions, declared metrics with their values', () => {
    const doc = emfDocument(
      'prod-main',
      { task: 'snapshot', ok: true, durationMs: 5230, result: { ok: true, size: 123_456_800, bytesPerSecond: 23_605_000 } },
      now,
    );
    expect(doc).toEqual({
      _aws: {
        Timestamp: now.getTime(),
        CloudWatchMetrics: [
          {
            Namespace: 'EtcdBackup',
            Dimensions: [['Cluster', 'Task']],
            Metrics: [
              { Name: 'Failures', Unit: 'Count' },
              { Name: 'DurationMs', Unit: 'Milliseconds' },
              { Name: 'SnapshotAgeSeconds', Unit: 'Seconds' },
              { Name: 'SnapshotSizeBytes', Unit: 'Bytes' },
              { Name: 'ThroughputBytesPerSecond', Unit: 'Bytes/Second' },
            ],
          },
        ],
      },
      Cluster: 'prod-main',
      Task: 'snapshot',
      Failures: 0,
      DurationMs: 5230,
      SnapshotAgeSeconds: 0,
      SnapshotSizeBytes: 123_456_800,
      ThroughputBytesPerSecond: 23_605_000,
    });
    // What the spec requires of any EMF document, whatever the run: every declared metric and dimension is
    // a top-level member (numbers and strings), and the line is one JSON object.
    const directive = (doc._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0];
    for (const m of directive?.Metrics ?? []) expect(typeof doc[m.Name]).toBe('number');
    for (const d of directive?.Dimensions.flat() ?? []) expect(typeof doc[d]).toBe('string');
    expect(JSON.stringify(doc)).not.toContain('\n');
    // Not a result line: the functions' "exactly one result line" stays true.
    expect(doc).not.toHaveProperty('outcome');
  });

  it('a failed run counts one failure and reports no age (the no-recent-snapshot alarm sees no data)', () => {
    const doc = emfDocument('prod-main', { task: 'snapshot', ok: false, durationMs: 900 }, now);
    expect(doc).toMatchObject({ Failures: 1, DurationMs: 900, Task: 'snapshot' });
    expect(doc).not.toHaveProperty('SnapshotAgeSeconds');
    expect(doc).not.toHaveProperty('SnapshotSizeBytes');
  });

  it('a snapshot stored with failed checks is a failure, not a good snapshot', () => {
    const doc = emfDocument('c', { task: 'snapshot', ok: false, durationMs: 10, result: { ok: false, size: 4096 } }, now);
    expect(doc).toMatchObject({ Failures: 1 });
    expect(doc).not.toHaveProperty('SnapshotAgeSeconds');
  });

  // Which snapshot is the newest good or verified one is the rule of shared/health.ts (test/unit/health.test.ts).
  it('a list run reports the ages of the newest good and newest verified snapshot it found, and none it did not find', () => {
    const newestGood = { key: 'c/e.db', time: '2026-11-22T11:00:00.000Z', ageSeconds: 3600 };
    const result = { ok: true, cluster: 'c', snapshots: [], newestGood, newestVerified: { ...newestGood, ageSeconds: 7200 } };
    const doc = emfDocument('c', { task: 'list', ok: true, durationMs: 40, result }, now);
    expect(doc).toMatchObject({ Task: 'list', Failures: 0, SnapshotAgeSeconds: 3600, VerifiedSnapshotAgeSeconds: 7200 });
    const none = emfDocument(
      'c',
      { task: 'list', ok: true, durationMs: 40, result: { ...result, newestGood: null, newestVerified: null } },
      now,
    );
    expect(none).not.toHaveProperty('SnapshotAgeSeconds');
    expect(none).not.toHaveProperty('VerifiedSnapshotAgeSeconds');
  });

  it('a status run reports the ages and StatusNotOk, whether it found the backups ok or not; one that could not read reports neither', () => {
    const newestGood = { key: 'c/e.db', time: '2026-11-22T07:00:00.000Z', ageSeconds: 18000 };
    const stale = { ok: false, newestGood, newestVerified: null, problems: [{ kind: 'stale', message: '...' }] };
    const doc = emfDocument('c', { task: 'status', ok: false, durationMs: 40, result: stale }, now);
    expect(doc).toMatchObject({ Task: 'status', Failures: 1, StatusNotOk: 1, SnapshotAgeSeconds: 18000 });
    expect(doc).not.toHaveProperty('VerifiedSnapshotAgeSeconds');
    const fine = emfDocument('c', { task: 'status', ok: true, durationMs: 40, result: { ...stale, ok: true, problems: [] } }, now);
    expect(fine).toMatchObject({ Failures: 0, StatusNotOk: 0, SnapshotAgeSeconds: 18000 });
    const failed = emfDocument('c', { task: 'status', ok: false, durationMs: 40, error: new Error('store down') }, now);
    expect(failed).toMatchObject({ Failures: 1 });
    expect(failed).not.toHaveProperty('StatusNotOk');
    expect(failed).not.toHaveProperty('SnapshotAgeSeconds');
  });

  it('other tasks report failures and duration only', () => {
    const doc = emfDocument('c', { task: 'prune', ok: true, durationMs: 12, result: { ok: true, deleted: [] } }, now);
    const names = (doc._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]?.Metrics.map((m) => m.Name);
    expect(names).toEqual(['Failures', 'DurationMs']);
    expect(METRICS_NAMESPACE).toBe('EtcdBackup');
  });
});

describe('Cloud Logging metrics line', () => {
  const now = new Date('2026-11-22T12:00:00.000Z');

  it('is a structured entry with the members and values of the EMF line, and no outcome', () => {
    for (const outcome of [
      { task: 'snapshot', ok: true, durationMs: 5230, result: { ok: true, size: 123_456_800, bytesPerSecond: 23_605_000 } },
      { task: 'snapshot', ok: false, durationMs: 900 },
      { task: 'prune', ok: true, durationMs: 12, result: { ok: true, deleted: [] } },
    ] as const) {
      const { _aws, ...members } = emfDocument('prod-main', outcome, now);
      expect(cloudLoggingMetrics('prod-main', outcome, now)).toEqual({
        severity: 'INFO',
        message: `${outcome.task} metrics`,
        time: '2026-11-22T12:00:00.000Z',
        ...members,
      });
    }
    expect(cloudLoggingMetrics('c', { task: 'snapshot', ok: false, durationMs: 1 }, now)).not.toHaveProperty('outcome');
  });
});

describe('Lambda handler: etcd credentials from SSM Parameter Store', () => {
  let etcd: EtcdCluster;
  let pki: TestPki;
  let saved: NodeJS.ProcessEnv;
  const PASSWORD = 'ssm-only-pw-7f3a91';
  beforeAll(async () => {
    pki = await makePki();
    etcd = await startEtcd({
      tls: {
        caFile: pki.caFile,
        certFile: pki.serverCertFile,
        keyFile: pki.serverKeyFile,
        client: { certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
      },
    });
    await etcd.etcdctl(['user', 'add', `root:${PASSWORD}`]);
    await etcd.etcdctl(['auth', 'enable']);
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  beforeEach(() => {
    saved = { ...process.env };
  });
  afterEach(() => {
    process.env = saved;
  });

  /** The function's environment as serverless.yml sets it: no secret in it, only where to find them. */
  async function configure(ssm: { url: string }, cluster: string) {
    const backend = await makeBackend('local');
    Object.assign(process.env, backend.settings, {
      CLUSTER_NAME: cluster,
      ETCD_ENDPOINTS: etcd.endpoints[0],
      ETCD_USERNAME: 'root',
      SSM_SECRETS_PATH: '/etcd-backup/test',
      AWS_ENDPOINT_URL_SSM: ssm.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'fake-secret-for-the-fake-ssm',
    });
    return backend;
  }

  it('reads the password and the TLS files (PEM text) at invocation, snapshots, and logs none of them', async () => {
    const pem = async (file: string) => readFile(file, 'utf8');
    const ssm = await fakeSsm({
      '/etcd-backup/test/ETCD_PASSWORD': PASSWORD,
      '/etcd-backup/test/ETCD_CA_FILE': await pem(pki.caFile),
      '/etcd-backup/test/ETCD_CERT_FILE': await pem(pki.clientCertFile),
      '/etcd-backup/test/ETCD_KEY_FILE': await pem(pki.clientKeyFile),
      '/etcd-backup/test/nested/ETCD_PASSWORD': 'not-this-one',
    });
    try {
      const backend = await configure(ssm, 'ssm');
      const handler = await handlerOf('snapshot');
      const run = await capturing(() => handler({}, { getRemainingTimeInMillis: () => 300_000, awsRequestId: 'req-ssm' }));
      expect(run.error).toBeUndefined();
      expect(run.value?.ok).toBe(true);
      expect(await storedKeys(backend.store, 'ssm/')).toHaveLength(2);
      expect(ssm.requests).toEqual([
        expect.objectContaining({
          target: 'AmazonSSM.GetParametersByPath',
          signed: true,
          Path: '/etcd-backup/test',
          WithDecryption: true,
          Recursive: false,
        }),
      ]);
      const written = JSON.stringify(run.lines);
      expect(written).not.toContain(PASSWORD);
      expect(written).not.toContain('PRIVATE KEY');
      // The EMF line of a good snapshot: what the no-recent-snapshot alarm counts.
      expect(emfLine(run.lines)).toMatchObject({
        Cluster: 'ssm',
        Task: 'snapshot',
        Failures: 0,
        SnapshotAgeSeconds: 0,
        SnapshotSizeBytes: run.value?.size,
      });

      // list reports the age of that snapshot.
      const list = await capturing(async () =>
        (await handlerOf('list'))({}, { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'req-list' }),
      );
      expect(list.error).toBeUndefined();
      const age = emfLine(list.lines)?.SnapshotAgeSeconds;
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(120);
    } finally {
      await ssm.close();
    }
  });

  it('refuses a parameter that names no credential setting, before touching etcd or the store', async () => {
    const ssm = await fakeSsm({ '/etcd-backup/test/ETCD_PASSWORD': PASSWORD, '/etcd-backup/test/BACKUP_URL': 's3://elsewhere/x' });
    try {
      const backend = await configure(ssm, 'ssm-bad');
      const run = await capturing(() =>
        handlerOf('snapshot').then((h) => h({}, { getRemainingTimeInMillis: () => 300_000, awsRequestId: 'req-bad' })),
      );
      expect(String(run.error)).toContain('/etcd-backup/test/BACKUP_URL');
      expect(resultLine(run.lines)).toMatchObject({ outcome: 'failure', task: 'snapshot', cluster: 'ssm-bad', error: { code: 'config' } });
      expect(emfLine(run.lines)).toMatchObject({ Cluster: 'ssm-bad', Task: 'snapshot', Failures: 1 });
      expect(await storedKeys(backend.store, 'ssm-bad/')).toEqual([]);
    } finally {
      await ssm.close();
    }
  });
});

describe.skipIf(!inject('s3'))('Lambda handler: the deadline', () => {
  let etcd: EtcdCluster;
  let saved: NodeJS.ProcessEnv;
  beforeAll(async () => {
    saved = { ...process.env };
    etcd = await startEtcd();
    // Big enough that streaming it into radosgw takes several seconds on this machine.
    await writeBulk(etcd.endpoints, 400);
  });
  afterAll(async () => {
    process.env = saved;
    await etcd?.stop();
  });

  it('aborts the upload before the deadline, says why in the result line, and leaves no object or part', async () => {
    const backend = await makeBackend('s3');
    Object.assign(process.env, backend.settings, { ETCD_ENDPOINTS: etcd.endpoints[0], CLUSTER_NAME: 'deadline', LOG_LEVEL: 'info' });
    const handler = await handlerOf('snapshot');
    // 3 s left: the handler keeps a quarter of it (15 s on a real deployment) to stop cleanly, so it aborts
    // at 2.25 s, while the stream (about 3-4 s for 400 MB here, longer under load) is going on.
    const REMAINING_MS = 3000;
    const run = await capturing(() => handler({}, { getRemainingTimeInMillis: () => REMAINING_MS, awsRequestId: 'req-deadline' }));

    expect(String(run.error)).toContain('Lambda deadline');
    // It was streaming when the deadline came, and it finished before the runtime would have killed it.
    const messages = run.lines.map((l) => l.message);
    expect(messages.indexOf('streaming snapshot')).toBeGreaterThanOrEqual(0);
    expect(messages.indexOf('Lambda deadline near: aborting the task')).toBeGreaterThan(messages.indexOf('streaming snapshot'));
    expect(run.ms).toBeLessThan(REMAINING_MS);

    const result = resultLine(run.lines);
    expect(result).toMatchObject({
      outcome: 'failure',
      task: 'snapshot',
      cluster: 'deadline',
      severity: 'ERROR',
      error: { code: 'aborted' },
    });
    expect(JSON.stringify(result?.error)).toContain('Lambda deadline');
    expect(emfLine(run.lines)).toMatchObject({ Task: 'snapshot', Failures: 1 });

    expect(await storedKeys(backend.store, 'deadline/')).toEqual([]);
    expect(await multipartUploads(backend.settings)).toEqual([]);
  });
});
