// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Workflows expressions, compared as the definition spells them
// The GCP fan-out (deploy/gcp/workflows/fleet.json) over a fleet of real etcd clusters (one unreachable)
// backing up into the GCS emulator: the per-cluster HTTP entry of the real Cloud Functions bundle, served
// in-process by the Functions Framework, and the workflow's data flow. No Workflows interpreter runs
// locally: the test reads the definition and makes the calls its steps make, with the bodies its
// expressions build (map.merge(args, item) over the listing's clusters), and checks what the
// function answers against what the steps read back (listing.body.clusters, response.body, the error).
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, makeBackend } from '../support/backends.js';
import { startTestFleet } from '../support/fleet.js';
import { capturing } from '../support/capture.js';
import type { EtcdCluster } from '../support/etcd.js';
import { storedKeys } from '../support/run.js';

type Json = Record<string, unknown>;
const root = resolve(import.meta.dirname, '../..');

async function post(name: string, body: unknown): Promise<{ status: number; body: Json }> {
  const server = getTestServer(name);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  } finally {
    await new Promise((r) => server.close(r));
  }
}

/** The named step of a list of Workflows steps (each a one-key map). */
function step(steps: Json[], name: string): Json {
  const found = steps.find((s) => name in s)?.[name];
  if (!found) throw new Error(`no step ${name}`);
  return found as Json;
}

describe('the GCP fleet fan-out over real etcd clusters, on the GCS emulator', () => {
  const NAMES = ['gfleet-a', 'gfleet-b', 'gfleet-down'] as const;
  let clusters: EtcdCluster[] = [];
  let backend: Backend;
  let saved: NodeJS.ProcessEnv;
  let workflow: { main: { params: string[]; steps: Json[] } };

  beforeAll(async () => {
    saved = { ...process.env };
    workflow = JSON.parse(await readFile(join(root, 'deploy/gcp/workflows/fleet.json'), 'utf8'));
    backend = await makeBackend('gcs');
    const fleet = await startTestFleet(NAMES, backend.settings);
    clusters = fleet.clusters;
    const fleetFile = fleet.fleetFile;
    for (const name of ['CLUSTER_NAME', 'ETCD_ENDPOINTS', 'BACKUP_URL']) delete process.env[name];
    Object.assign(process.env, { FLEET_FILE: fleetFile, LOG_LEVEL: 'info', FUNCTION_TIMEOUT: '300s' });
    for (const task of ['snapshot', 'list']) await import(join(root, 'dist/functions', task, 'gcp/index.mjs'));
  });
  afterAll(async () => {
    process.env = saved;
    await Promise.all(clusters.map((c) => c.stop()));
  });

  it("lists the clusters, then runs snapshot once per cluster with the workflow's call bodies; the unreachable cluster alone fails, and the report step would raise", async () => {
    const steps = workflow.main.steps;
    expect(workflow.main.params).toEqual(['input']);
    // Cloud Scheduler's argument: the task's HTTP function, the task's arguments and the concurrency.
    const input = { url: 'https://region-project.cloudfunctions.net/snapshotHttp', args: {}, concurrency: 10 };
    expect(step(steps, 'init').assign).toEqual([{ url: '${input.url}' }, { args: '${input.args}' }, { results: [] }, { failed: 0 }]);

    const listCall = step(steps, 'listClusters');
    expect(listCall).toMatchObject({ call: 'http.post', args: { url: '${url}', auth: { type: 'OIDC' } }, result: 'listing' });
    const listing = await post('snapshotHttp', (listCall.args as Json).body);
    expect(listing.status).toBe(200);
    expect(listing.body).toEqual({ clusters: NAMES.map((cluster) => ({ cluster })) });

    const parallel = step(steps, 'eachCluster').parallel as Json & { for: Json & { steps: Json[] } };
    expect(parallel).toMatchObject({ shared: ['results', 'failed'], concurrency_limit: '${input.concurrency}' });
    expect(parallel.for).toMatchObject({ value: 'item', in: '${listing.body.clusters}' });
    const run = step(parallel.for.steps, 'runCluster') as { try: { steps: Json[] }; retry: string; except: { as: string; steps: Json[] } };
    // Retried only when the request was refused before the function ran (429, 503): a failed task is not rerun.
    expect(run.retry).toBe('${http.default_retry_non_idempotent}');
    const call = step(run.try.steps, 'call');
    expect(call).toMatchObject({ call: 'http.post', args: { url: '${url}', auth: { type: 'OIDC' }, body: '${map.merge(args, item)}' } });
    expect((call.args as Json).timeout).toBeLessThanOrEqual(1800);

    // What the loop does, per item: map.merge(args, item), the item's keys winning.
    const results: Json[] = [];
    const captured = await capturing(async () => {
      for (const item of listing.body.clusters as Json[]) {
        const response = await post('snapshotHttp', { ...input.args, ...item });
        // A 2xx answer goes on to clusterOk; any other raises an HttpError into except (clusterFailed).
        results.push(
          response.status === 200
            ? { cluster: item.cluster, ok: true, result: response.body }
            : { cluster: item.cluster, ok: false, error: { code: response.status, body: response.body } },
        );
      }
    });
    expect(step(run.try.steps, 'clusterOk').assign).toEqual([
      { outcome: { cluster: '${item.cluster}', ok: true, result: '${response.body}' } },
      { results: '${list.concat(results, outcome)}' },
    ]);
    expect(step(run.except.steps, 'clusterFailed').assign).toContainEqual({ failed: '${failed + 1}' });
    expect(results.map((r) => [r.cluster, r.ok])).toEqual(NAMES.map((n) => [n, n !== 'gfleet-down']));
    for (const r of results.filter((x) => x.ok)) expect(String((r.result as Json).key)).toMatch(new RegExp(`^${r.cluster}/`));
    const down = results.find((r) => r.cluster === 'gfleet-down')?.error as { code: number; body: Json };
    expect(down.code).toBe(500);
    expect(down.body).toMatchObject({ ok: false });
    // Isolation: each cluster's objects under its own prefix; the failed one wrote nothing.
    for (const name of NAMES) {
      const keys = await storedKeys(backend.store, `${name}/`);
      expect(keys.length, name).toBe(name === 'gfleet-down' ? 0 : 2);
    }
    // One metrics entry per cluster, labelled with it.
    const metrics = captured.lines.filter((l) => l.Failures !== undefined).map((l) => [l.Cluster, l.Failures]);
    expect(metrics).toEqual([
      ['gfleet-a', 0],
      ['gfleet-b', 0],
      ['gfleet-down', 1],
    ]);
    // The report step raises when a cluster failed (the execution fails), and returns the results otherwise.
    const report = step(steps, 'report') as { switch: { condition: string; raise: Json }[] };
    expect(report.switch[0]?.condition).toBe('${failed > 0}');
    expect(report.switch[0]?.raise).toMatchObject({ ok: false, clusters: '${results}' });
    expect(step(steps, 'done').return).toEqual({ ok: true, clusters: '${results}' });
  });

  it('the HTTP entry on a fleet refuses a run that names no cluster or an unknown one (400), before any I/O', async () => {
    const none = await post('listHttp', {});
    expect(none.status).toBe(400);
    expect(JSON.stringify(none.body)).toMatch(/event\.cluster.*is missing/);
    const unknown = await post('listHttp', { cluster: 'nowhere' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toMatch(/nowhere/);
    const one = await post('listHttp', { cluster: 'gfleet-a' });
    expect(one.status).toBe(200);
    expect(one.body.ok).toBe(true);
  });
});
