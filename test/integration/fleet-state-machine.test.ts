// The AWS fleet state machine (deploy/aws/fleet.asl.json) run by a real interpreter of the States Language,
// aws-local-stepfunctions, with both Task states bound to the real Lambda bundle of the task (its local
// handler override, by state name), over a fleet of real etcd clusters (one unreachable), backing up into a
// local directory and S3.
//
// Interpreted for real by aws-local-stepfunctions: the Task states' input and output processing
// (Parameters, InputPath, ResultSelector, ResultPath), the Map state (ItemsPath, ItemSelector with
// $$.Map.Item.Value and States.JsonMerge, MaxConcurrencyPath, results collected in order), Retry (matched
// by error name; a retry override sets the pause to 0), Catch, the Pass, Choice and Fail states and
// States.ArrayContains, and a Task's TimeoutSeconds (a race with the task; one test lowers it to 1 s).
// Not interpreted: the Lambda service itself (its errors, such as Lambda.TooManyRequestsException, are
// simulated here by name, as the test says), IAM, the schedule, and the 256 KiB limit on a state's data.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSnapshotKey } from '../../shared/layout.js';
import { type Backend, makeBackend } from '../support/backends.js';
import { startTestFleet } from '../support/fleet.js';
import { capturing, type Line } from '../support/capture.js';
import type { EtcdCluster } from '../support/etcd.js';
import { storedKeys } from '../support/run.js';
import { s3Client } from '../support/stores.js';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;
type Json = Record<string, unknown>;

const root = resolve(import.meta.dirname, '../..');
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:etcd-backup-test-task';
/**
 * The definition as CloudFormation deploys it (DefinitionSubstitutions put the task function's ARN in),
 * with `edit` applied to it.
 */
const definition = (edit: (d: Json) => void = () => {}) => {
  const text = readFileSync(join(root, 'deploy/aws/fleet.asl.json'), 'utf8').replaceAll(/\$\{TaskFunctionArn\}/g, FUNCTION_ARN);
  const parsed = JSON.parse(text) as Json;
  edit(parsed);
  return parsed as unknown as StateMachineDefinition;
};
/** The per-cluster Task state of a parsed definition. */
const runTaskState = (d: Json) =>
  ((d.States as Json).EachCluster as { ItemProcessor: { States: Record<string, Json> } }).ItemProcessor.States.RunTask as Json;

const bundle = async (task: string) =>
  ((await import(join(root, 'dist/functions', task, 'aws/index.mjs'))) as { handler: Handler }).handler;

interface ClusterOutcome {
  cluster: string;
  ok: boolean;
  result?: Json;
  error?: { Error: string; Cause: string };
}

/**
 * One execution with both Task states bound to `handler` (as Lambda would call it), collecting the Map
 * state's output from the event log (also when the execution fails), and what the handler was called with.
 */
async function execute(
  handler: Handler,
  input: Parameters<StateMachine['run']>[0],
  wrap: (call: Handler) => Handler = (call) => call,
  edit?: (d: Json) => void,
) {
  const calls: Json[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const bound: Handler = wrap(async (event) => {
    calls.push(event as Json);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      return await handler(event, { getRemainingTimeInMillis: () => 300_000, awsRequestId: `req-${calls.length}` });
    } finally {
      inFlight--;
    }
  });
  const machine = new StateMachine(definition(edit));
  // What Lambda hands back to Step Functions: the handler's return value, as JSON.
  type Local = NonNullable<NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers']>[string];
  const local: Local = async (input) => JSON.parse(JSON.stringify(await bound(input, undefined)));
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: { ListClusters: local, RunTask: local },
      retryIntervalOverrides: { ListClusters: 0, RunTask: 0 },
    },
  });
  let mapOutput: ClusterOutcome[] | undefined;
  const logged = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateExited' && event.state.name === 'EachCluster')
        mapOutput = (event.state.output as unknown as { clusters: ClusterOutcome[] }).clusters;
    }
  })();
  const run = await capturing(() => execution.result as Promise<Json>);
  await logged;
  return { ...run, clusters: mapOutput ?? [], calls, maxInFlight };
}

/** Every object under the backend's BACKUP_URL, at any depth (a store's list() reads one directory). */
async function everyKey(backend: Backend): Promise<string[]> {
  const url = new URL(backend.settings.BACKUP_URL ?? '');
  if (url.protocol === 'file:') {
    const entries = await readdir(url.pathname, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => relative(url.pathname, join(e.parentPath, e.name)));
  }
  const prefix = `${url.pathname.slice(1)}/`;
  const listed = await s3Client().send(new ListObjectsV2Command({ Bucket: url.hostname, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => (o.Key ?? '').slice(prefix.length));
}

const byName = (clusters: ClusterOutcome[]) => Object.fromEntries(clusters.map((c) => [c.cluster, c]));
const metricsLines = (lines: Line[]) => lines.filter((l) => l.Failures !== undefined);

describe.each(['local', 's3'] as const)('the fleet state machine over real etcd clusters, on %s', (kind) => {
  const NAMES = ['fleet-a', 'fleet-b', 'fleet-down'] as const;
  let clusters: EtcdCluster[] = [];
  let backend: Backend;
  let saved: NodeJS.ProcessEnv;

  beforeAll(async () => {
    saved = { ...process.env };
    backend = await makeBackend(kind);
    const fleet = await startTestFleet(NAMES, backend.settings);
    clusters = fleet.clusters;
    const fleetFile = fleet.fleetFile;
    // The function's environment on a fleet stack: the fleet file, nothing of any one cluster.
    for (const name of ['CLUSTER_NAME', 'ETCD_ENDPOINTS', 'BACKUP_URL']) delete process.env[name];
    Object.assign(process.env, { FLEET_FILE: fleetFile, LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    process.env = saved;
    await Promise.all(clusters.map((c) => c.stop()));
  });

  it('snapshot: runs each cluster once with its own settings, collects the results, and fails the execution for the unreachable cluster alone (Map, Catch, Choice, Fail interpreted)', async () => {
    const run = await execute(await bundle('snapshot'), { args: {}, concurrency: 10 });
    // The execution fails (what the ExecutionsFailed alarm counts), after every cluster ran.
    expect(run.error).toMatchObject({ name: 'ExecutionError' });
    expect((run.error as { cause?: { name?: string } }).cause?.name).toBe('EtcdBackup.ClusterFailed');
    expect(run.clusters.map((c) => c.cluster)).toEqual(NAMES);
    const outcomes = byName(run.clusters);
    for (const name of ['fleet-a', 'fleet-b']) {
      expect(outcomes[name]?.ok, name).toBe(true);
      expect(String(outcomes[name]?.result?.key)).toMatch(new RegExp(`^${name}/`));
    }
    expect(outcomes['fleet-down']).toMatchObject({ ok: false, error: { Error: 'Error' } });
    expect(outcomes['fleet-down']?.error?.Cause).toMatch(/etcd|member|connect/i);
    // The listing first, then one call per cluster; a task's failure ("Error") is not retried: only the
    // Lambda service's transient errors are.
    expect(run.calls[0]).toEqual({ fleetClusters: true });
    expect(
      run.calls
        .slice(1)
        .map((c) => c.cluster)
        .sort(),
    ).toEqual(NAMES);
    // Isolation: each cluster wrote under its own prefix only; the failed one wrote nothing.
    const all = await everyKey(backend);
    expect(all.length).toBeGreaterThan(0);
    for (const key of all) expect(key).toMatch(/^fleet-(a|b)\//);
    for (const name of ['fleet-a', 'fleet-b'])
      expect((await storedKeys(backend.store, `${name}/`)).filter((k) => parseSnapshotKey(k, name))).toHaveLength(1);
    // One metrics line per cluster, labelled with it, with the per-task set the fleet's alarms read.
    const metrics = metricsLines(run.lines);
    expect(metrics.map((m) => [m.Cluster, m.Failures]).sort()).toEqual([
      ['fleet-a', 0],
      ['fleet-b', 0],
      ['fleet-down', 1],
    ]);
    for (const m of metrics)
      expect((m._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]?.Dimensions).toEqual([
        ['Cluster', 'Task'],
        ['Task'],
      ]);
  });

  it("prune: merges the schedule's arguments into each cluster's payload, runs one cluster at a time with concurrency 1 (MaxConcurrencyPath interpreted), retries a simulated Lambda throttle, and succeeds with every result", async () => {
    let throttled = 0;
    // Simulated: the Lambda service refusing one invocation, by the error name Step Functions reports.
    const throttleOnce =
      (call: Handler): Handler =>
      async (event, context) => {
        if ((event as Json).cluster === 'fleet-a' && throttled++ === 0)
          throw Object.assign(new Error('Rate exceeded'), { name: 'Lambda.TooManyRequestsException' });
        return call(event, context);
      };
    const before = await everyKey(backend);
    const run = await execute(await bundle('prune'), { args: { dryRun: true }, concurrency: 1 }, throttleOnce);
    expect(run.error).toBeUndefined();
    expect(run.value).toMatchObject({ ok: true });
    expect(run.maxInFlight).toBe(1);
    expect(throttled).toBe(2);
    const results = (run.value as { clusters: ClusterOutcome[] }).clusters;
    expect(results.map((c) => [c.cluster, c.ok])).toEqual(NAMES.map((n) => [n, true]));
    for (const c of results) expect(c.result, c.cluster).toMatchObject({ ok: true });
    // Each cluster got the schedule's arguments (a dry run: nothing deleted) and its own name.
    expect(run.calls.slice(1).map((c) => [c.cluster, c.dryRun])).toEqual(NAMES.map((n) => [n, true]));
    expect(await everyKey(backend)).toEqual(before);
  });

  it('a fleet file that cannot be read fails the execution at ListClusters, once, before any cluster runs (no retry: not a Lambda service error)', async () => {
    const fleetFile = process.env.FLEET_FILE;
    process.env.FLEET_FILE = join(tmpdir(), 'no-such-fleet.json');
    try {
      const run = await execute(await bundle('list'), { args: {}, concurrency: 10 });
      expect(run.error).toMatchObject({ name: 'ExecutionError' });
      expect(String((run.error as { cause?: unknown }).cause)).toMatch(/no-such-fleet\.json/);
      expect(run.calls).toEqual([{ fleetClusters: true }]);
      expect(run.clusters).toEqual([]);
    } finally {
      process.env.FLEET_FILE = fleetFile;
    }
  });

  it('a hung invocation (simulated: a handler that never returns) ends at the per-cluster TimeoutSeconds, is recorded as States.Timeout, and the others finish', async () => {
    // Deployed: above Lambda's own 900 s limit, so the function's deadline abort comes first; here 1 s.
    expect(runTaskState(definition() as unknown as Json).TimeoutSeconds).toBe(960);
    const hangB =
      (call: Handler): Handler =>
      (event, context) =>
        (event as Json).cluster === 'fleet-b' ? new Promise(() => {}) : call(event, context);
    const run = await execute(await bundle('list'), { args: {}, concurrency: 10 }, hangB, (d) => {
      runTaskState(d).TimeoutSeconds = 1;
    });
    expect((run.error as { cause?: { name?: string } }).cause?.name).toBe('EtcdBackup.ClusterFailed');
    expect(run.clusters.map((c) => [c.cluster, c.ok, c.error?.Error])).toEqual([
      ['fleet-a', true, undefined],
      ['fleet-b', false, 'States.Timeout'],
      ['fleet-down', true, undefined],
    ]);
  });
});
