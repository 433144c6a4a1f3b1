// The bundled function artifacts, invoked the way each platform invokes them: the Lambda handler with
// the sample EventBridge event, and the Cloud Functions through the Functions Framework's test server
// (CloudEvent from Pub/Sub, and HTTP), against real etcd and the real stores; both write the same result
// line and the same metric members, and both stop ahead of their deadline.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { readFile } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBackend, type Backend } from '../support/backends.js';
import { writeBulk, writeSampleData } from '../support/data.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { storedKeys } from '../support/run.js';
import { capturing, type Line } from '../support/capture.js';

const dist = (path: string) => resolve(import.meta.dirname, '../../dist/functions', path);
const sample = async (name: string) =>
  JSON.parse(await readFile(resolve(import.meta.dirname, '../../events', name), 'utf8')) as Record<string, unknown>;

async function post(
  server: ReturnType<typeof getTestServer>,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: unknown }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await response.text();
    // A failed CloudEvent function answers with the error message as plain text.
    const json = response.headers.get('content-type')?.includes('json');
    return { status: response.status, body: json ? (JSON.parse(text) as unknown) : text || undefined };
  } finally {
    await new Promise((r) => server.close(r));
  }
}

type LambdaHandler = (e: unknown, c: unknown) => Promise<Record<string, unknown>>;

const resultLines = (lines: Line[]) => lines.filter((l) => l.outcome !== undefined);
/** The metrics line: EMF on Lambda, a Cloud Logging entry on Cloud Functions (both carry Failures). */
const metricsLines = (lines: Line[]) => lines.filter((l) => l.Failures !== undefined);

/** Runs `fn`, doing `action` as soon as a log line with this message is written to stdout. */
async function onLogLine<T>(message: string, action: () => void, fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  let done = false;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (!done && String(chunk).includes(`"message":"${message}"`)) {
      done = true;
      action();
    }
    return (write as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

describe('function entry points', () => {
  let etcd: EtcdCluster;
  let saved: NodeJS.ProcessEnv;
  beforeAll(async () => {
    saved = { ...process.env };
    etcd = await startEtcd();
    await writeSampleData(etcd.endpoints, { smallKeys: 50 });
  });
  afterAll(async () => {
    process.env = saved;
    await etcd?.stop();
  });

  async function configure(kind: 'local' | 's3' | 'gcs', cluster: string): Promise<Backend> {
    const backend = await makeBackend(kind);
    Object.assign(process.env, backend.settings, backend.env, {
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: cluster,
      LOG_LEVEL: 'info',
    });
    return backend;
  }

  it('Lambda: the snapshot bundle handles the scheduled event and logs one JSON result line', async () => {
    const backend = await configure('s3', 'lambda');
    const { handler } = (await import(dist('snapshot/aws/index.mjs'))) as {
      handler: (e: unknown, c: unknown) => Promise<Record<string, unknown>>;
    };
    const event = await sample('aws-schedule.json');
    const run = await capturing(() => handler(event, { getRemainingTimeInMillis: () => 300_000, awsRequestId: 'req-1' }));
    expect(run.error).toBeUndefined();
    expect(run.value?.ok).toBe(true);
    const results = run.lines.filter((l) => l.outcome !== undefined);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      outcome: 'success',
      task: 'snapshot',
      cluster: 'lambda',
      requestId: 'req-1',
      level: 'info',
      severity: 'INFO',
    });
    expect(typeof results[0]?.durationMs).toBe('number');
    expect(await storedKeys(backend.store, 'lambda/')).toHaveLength(2);
  });

  it('Lambda: an event with unknown fields fails the invocation, naming them, and stores nothing', async () => {
    const backend = await configure('local', 'lambda-bad');
    const { handler } = (await import(dist('snapshot/aws/index.mjs'))) as { handler: (e: unknown, c: unknown) => Promise<unknown> };
    const run = await capturing(() => handler({ bucket: 'elsewhere' }, { getRemainingTimeInMillis: () => 300_000, awsRequestId: 'req-2' }));
    expect(String(run.error)).toContain('bucket');
    expect(run.lines.some((l) => l.outcome === 'failure' && l.severity === 'ERROR')).toBe(true);
    expect(await storedKeys(backend.store, 'lambda-bad/')).toEqual([]);
  });

  it("each cloud's bundles leave the other cloud's store out and refuse its BACKUP_URL before any I/O, naming it", async () => {
    const backend = await configure('local', 'other-cloud');
    process.env.BACKUP_URL = 'gs://elsewhere/etcd';
    const lambda = (await import(dist('snapshot/aws/index.mjs'))) as { handler: (e: unknown, c: unknown) => Promise<unknown> };
    const run = await capturing(() => lambda.handler({}, { getRemainingTimeInMillis: () => 300_000 }));
    expect(String(run.error)).toMatch(/BACKUP_URL: gs:\/\/ stores are not part of the AWS Lambda functions/);
    expect(run.lines.some((l) => l.outcome === 'failure' && JSON.stringify(l).includes('etcd-backup CLI'))).toBe(true);
    process.env.BACKUP_URL = 's3://elsewhere/etcd';
    await import(dist('snapshot/gcp/index.mjs'));
    const http = await capturing(() => post(getTestServer('snapshotHttp'), {}, { 'content-type': 'application/json' }));
    expect(http.value?.status).toBe(400);
    expect(JSON.stringify(http.value?.body)).toMatch(/BACKUP_URL: s3:\/\/ stores are not part of the Cloud Functions functions/);
    expect(await storedKeys(backend.store, 'other-cloud/')).toEqual([]);
  });

  it('Cloud Functions: the snapshot CloudEvent function handles the Pub/Sub sample event', async () => {
    const backend = await configure('gcs', 'gcf');
    await import(dist('snapshot/gcp/index.mjs'));
    const event = await sample('gcp-pubsub.json');
    const run = await capturing(() => post(getTestServer('snapshot'), event, { 'content-type': 'application/cloudevents+json' }));
    expect(run.value?.status).toBe(204);
    expect(run.lines.filter((l) => l.outcome === 'success')).toHaveLength(1);
    expect(await storedKeys(backend.store, 'gcf/')).toHaveLength(2);
  });

  it('Cloud Functions: the HTTP function runs by hand and answers with the result', async () => {
    const backend = await configure('gcs', 'gcf-http');
    await import(dist('snapshot/gcp/index.mjs'));
    const run = await capturing(() => post(getTestServer('snapshotHttp'), {}, { 'content-type': 'application/json' }));
    expect(run.value?.status).toBe(200);
    expect((run.value?.body as { ok: boolean; key: string } | undefined)?.key).toMatch(/^gcf-http\//);
    expect(await storedKeys(backend.store, 'gcf-http/')).toHaveLength(2);
    const bad = await capturing(() => post(getTestServer('snapshotHttp'), { unknown: 1 }, { 'content-type': 'application/json' }));
    expect(bad.value?.status).toBe(400);
  });

  it('Lambda: the verify bundle checks the key given in the event', async () => {
    const backend = await configure('s3', 'lambda-verify');
    const snap = (await import(dist('snapshot/aws/index.mjs'))) as {
      handler: (e: unknown, c: unknown) => Promise<Record<string, unknown>>;
    };
    const taken = await capturing(() => snap.handler({}, { getRemainingTimeInMillis: () => 300_000 }));
    const key = taken.value?.key as string;
    const { handler } = (await import(dist('verify/aws/index.mjs'))) as {
      handler: (e: unknown, c: unknown) => Promise<Record<string, unknown>>;
    };
    const run = await capturing(() => handler({ key }, { getRemainingTimeInMillis: () => 300_000 }));
    expect(run.error).toBeUndefined();
    expect(run.value).toMatchObject({ ok: true, key });
    expect((await storedKeys(backend.store, 'lambda-verify/')).filter((k) => k.includes('.verify-'))).toHaveLength(1);
  });

  it('Lambda: the prune bundle takes a dry-run event and deletes nothing', async () => {
    const backend = await configure('local', 'lambda-prune');
    const { plantHistory } = await import('../support/plant.js');
    await plantHistory(backend.store, 'lambda-prune', [new Date(Date.now() - 30 * 3_600_000), new Date(Date.now() - 20 * 3_600_000)]);
    const before = await storedKeys(backend.store, 'lambda-prune/');
    process.env.PRUNE_KEEP_LAST = '1';
    process.env.PRUNE_KEEP_MIN = '0';
    try {
      const { handler } = (await import(dist('prune/aws/index.mjs'))) as {
        handler: (e: unknown, c: unknown) => Promise<Record<string, unknown>>;
      };
      const event = await sample('prune-dry-run.json');
      const run = await capturing(() => handler(event, { getRemainingTimeInMillis: () => 300_000 }));
      expect(run.error).toBeUndefined();
      expect(run.value).toMatchObject({ ok: true, dryRun: true });
      expect(run.value?.deleted as unknown[] | undefined).toHaveLength(1);
      expect(await storedKeys(backend.store, 'lambda-prune/')).toEqual(before);
    } finally {
      delete process.env.PRUNE_KEEP_LAST;
      delete process.env.PRUNE_KEEP_MIN;
    }
  });
  it('Cloud Functions write one result line and one metrics line per run, with the members of the Lambda EMF line', async () => {
    const backend = await configure('local', 'metrics-parity');
    const lambda = async (task: string, event: unknown) =>
      capturing(async () =>
        ((await import(dist(`${task}/aws/index.mjs`))) as { handler: LambdaHandler }).handler(event, {
          getRemainingTimeInMillis: () => 300_000,
        }),
      );
    const gcf = async (task: string, body: unknown) => {
      await import(dist(`${task}/gcp/index.mjs`));
      return capturing(() => post(getTestServer(`${task}Http`), body, { 'content-type': 'application/json' }));
    };
    const pubsub = await sample('gcp-pubsub.json');
    await import(dist('snapshot/gcp/index.mjs'));
    const runs = {
      'a good snapshot': [
        await lambda('snapshot', {}),
        await capturing(() => post(getTestServer('snapshot'), pubsub, { 'content-type': 'application/cloudevents+json' })),
      ],
      'a refused event': [await lambda('snapshot', { bucket: 'elsewhere' }), await gcf('snapshot', { bucket: 'elsewhere' })],
      'a list run': [await lambda('list', {}), await gcf('list', {})],
      'a status run': [await lambda('status', {}), await gcf('status', {})],
    } as const;
    for (const [name, [aws, gcp]] of Object.entries(runs)) {
      expect(resultLines(gcp.lines), name).toHaveLength(1);
      expect(metricsLines(gcp.lines), name).toHaveLength(1);
      expect(metricsLines(aws.lines), name).toHaveLength(1);
      const { _aws, ...emf } = metricsLines(aws.lines)[0] as Line;
      const { severity, message, time, ...entry } = metricsLines(gcp.lines)[0] as Line;
      expect(Object.keys(entry).sort(), name).toEqual(Object.keys(emf).sort());
      expect({ severity, message, timeIsIso: typeof time === 'string' && !Number.isNaN(Date.parse(time)) }, name).toMatchObject({
        severity: 'INFO',
        message: expect.stringMatching(/ metrics$/),
        timeIsIso: true,
      });
      expect(entry, name).toMatchObject({ Cluster: 'metrics-parity', Task: emf.Task, Failures: emf.Failures });
    }
    const [, good] = runs['a good snapshot'];
    expect(metricsLines(good.lines)[0]).toMatchObject({
      Failures: 0,
      SnapshotAgeSeconds: 0,
      SnapshotSizeBytes: resultLines(good.lines)[0]?.size,
    });
    expect(metricsLines(runs['a refused event'][1].lines)[0]).toMatchObject({ Task: 'snapshot', Failures: 1 });
    expect(resultLines(runs['a refused event'][1].lines)[0]).toMatchObject({
      outcome: 'failure',
      task: 'snapshot',
      cluster: 'metrics-parity',
      severity: 'ERROR',
    });
    expect(metricsLines(runs['a list run'][1].lines)[0]?.SnapshotAgeSeconds).toBeGreaterThanOrEqual(0);
    for (const [platform, lines] of [
      ['Lambda', runs['a status run'][0].lines],
      ['Cloud Functions', runs['a status run'][1].lines],
    ] as const) {
      expect(resultLines(lines)[0], platform).toMatchObject({ task: 'status', outcome: 'success', ok: true });
      expect(metricsLines(lines)[0], platform).toMatchObject({ Task: 'status', Failures: 0, StatusNotOk: 0 });
      expect(metricsLines(lines)[0]?.SnapshotAgeSeconds, platform).toBeGreaterThanOrEqual(0);
    }
    expect(await storedKeys(backend.store, 'metrics-parity/')).toHaveLength(4);
  });

  it('Cloud Functions: a FUNCTION_TIMEOUT that is not a duration is refused before any I/O, naming it', async () => {
    const backend = await configure('gcs', 'gcf-bad-timeout');
    process.env.FUNCTION_TIMEOUT = '540';
    try {
      await import(dist('snapshot/gcp/index.mjs'));
      const run = await capturing(() => post(getTestServer('snapshotHttp'), {}, { 'content-type': 'application/json' }));
      expect(run.value?.status).toBe(400);
      expect(JSON.stringify(run.value?.body)).toContain('FUNCTION_TIMEOUT: \\"540\\" is not a duration');
      expect(resultLines(run.lines)).toEqual([
        expect.objectContaining({ outcome: 'failure', task: 'snapshot', error: expect.objectContaining({ code: 'config' }) }),
      ]);
      expect(await storedKeys(backend.store, 'gcf-bad-timeout/')).toEqual([]);
    } finally {
      delete process.env.FUNCTION_TIMEOUT;
    }
  });
});

describe('Cloud Functions: the deadline', () => {
  let etcd: EtcdCluster;
  let saved: NodeJS.ProcessEnv;
  beforeAll(async () => {
    saved = { ...process.env };
    etcd = await startEtcd();
    // More than the socket buffers between etcd and the function hold, so a stalled member stalls the stream.
    await writeBulk(etcd.endpoints, 64);
  });
  afterAll(async () => {
    process.env = saved;
    await etcd?.stop();
  });

  it('a snapshot that cannot finish before FUNCTION_TIMEOUT (etcd stalled mid-stream) is aborted ahead of it: no object, and the result line says why', async () => {
    const backend = await makeBackend('gcs');
    Object.assign(process.env, backend.settings, {
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: 'gcf-deadline',
      LOG_LEVEL: 'info',
      // The idle timeout is far away: only the deadline can end this run.
      ETCD_STREAM_IDLE_TIMEOUT: '10m',
      // The handler keeps a quarter of a short timeout (15 s of a real one) to stop cleanly: it aborts at 7.5 s.
      FUNCTION_TIMEOUT: '10s',
    });
    await import(dist('snapshot/gcp/index.mjs'));
    const member = etcd.members[0]?.process as ChildProcess;
    const event = await sample('gcp-pubsub.json');
    let run: Awaited<ReturnType<typeof capturing<{ status: number; body: unknown }>>>;
    try {
      run = await capturing(() =>
        onLogLine(
          'streaming snapshot',
          () => member.kill('SIGSTOP'),
          () => post(getTestServer('snapshot'), event, { 'content-type': 'application/cloudevents+json' }),
        ),
      );
    } finally {
      member.kill('SIGCONT');
    }

    // The execution failed, and it ended before the platform would have stopped it.
    expect(run.value?.status).toBe(500);
    expect(run.value?.body).toMatch(/^snapshot failed: upload of gcf-deadline\/.* aborted\n.*caused by: Cloud Functions deadline/s);
    expect(run.ms).toBeLessThan(10_000);
    const messages = run.lines.map((l) => l.message);
    expect(messages.indexOf('streaming snapshot')).toBeGreaterThanOrEqual(0);
    expect(messages.indexOf('Cloud Functions deadline near: aborting the task')).toBeGreaterThan(messages.indexOf('streaming snapshot'));

    expect(resultLines(run.lines)).toHaveLength(1);
    const result = resultLines(run.lines)[0];
    expect(result).toMatchObject({
      outcome: 'failure',
      task: 'snapshot',
      cluster: 'gcf-deadline',
      severity: 'ERROR',
      error: { code: 'aborted' },
    });
    expect(JSON.stringify(result?.error)).toContain('Cloud Functions deadline: stopped 2500 ms before the function timeout');
    expect(metricsLines(run.lines)).toEqual([expect.objectContaining({ Cluster: 'gcf-deadline', Task: 'snapshot', Failures: 1 })]);
    expect(metricsLines(run.lines)[0]).not.toHaveProperty('SnapshotAgeSeconds');

    // The resumable upload was never finalised: no object (GCS has no parts to leave behind).
    expect(await storedKeys(backend.store, 'gcf-deadline/')).toEqual([]);
  });
});
