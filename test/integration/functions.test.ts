// The bundled function artifacts, invoked the way each platform invokes them: the Lambda handler with
// the sample EventBridge event, and the Cloud Functions through the Functions Framework's test server
// (CloudEvent from Pub/Sub, and HTTP), against real etcd and the real stores.
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBackend, type Backend } from '../support/backends.js';
import { writeSampleData } from '../support/data.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { storedKeys } from '../support/run.js';
import { capturing } from '../support/capture.js';

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
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  } finally {
    await new Promise((r) => server.close(r));
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
});
