// The fan-out definitions as files: every States Language definition under deploy/ validated with
// asl-validator (structure, JSONPaths, reachable states), and what they promise checked where it is
// spelled: the listing call the functions answer, retries of transient platform errors only, a catch
// that records a cluster's failure, a per-cluster timeout above the function's own.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import validator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { LIST_CLUSTERS } from '../../shared/platform/fleet-entry.js';

type Json = Record<string, unknown>;
const root = resolve(import.meta.dirname, '../..');
const LAMBDA_TRANSIENT = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

async function aslFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((e) => e.endsWith('.asl.json')).map((e) => join(dir, e));
}
const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Json;

describe('deploy/**/*.asl.json', () => {
  it('every States Language definition is valid for asl-validator, and a broken one is not (the check is live)', async () => {
    const files = await aslFiles(join(root, 'deploy'));
    expect(files.map((f) => f.slice(root.length + 1))).toContain('deploy/aws/fleet.asl.json');
    for (const file of files) expect(validator(await readJson(file)), file).toMatchObject({ isValid: true, errors: [] });
    const broken = await readJson(join(root, 'deploy/aws/fleet.asl.json'));
    (broken.States as Record<string, Json>).EachCluster = { ...(broken.States as Record<string, Json>).EachCluster, Next: 'Nowhere' };
    expect(validator(broken).isValid).toBe(false);
  });

  it('the fleet definition lists through the function, retries only transient Lambda errors, records a failed cluster and bounds each one', async () => {
    const states = (await readJson(join(root, 'deploy/aws/fleet.asl.json'))).States as Record<string, Json>;
    expect(states.ListClusters?.Parameters).toEqual({ [LIST_CLUSTERS]: true });
    const map = states.EachCluster as Json & { ItemProcessor: { States: Record<string, Json> } };
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.fleet.items', MaxConcurrencyPath: '$.concurrency' });
    const run = map.ItemProcessor.States.RunTask as Json & { Retry: { ErrorEquals: string[] }[]; Catch: Json[] };
    // A task's own failure (errorType "Error") is not retried: the next schedule tries again.
    for (const state of [states.ListClusters as Json & { Retry: { ErrorEquals: string[] }[] }, run])
      for (const retrier of state.Retry) for (const error of retrier.ErrorEquals) expect(LAMBDA_TRANSIENT).toContain(error);
    expect(run.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ClusterFailed' }]);
    // Above Lambda's 900 s maximum: the function's own deadline abort ends a slow run first.
    expect(run.TimeoutSeconds).toBeGreaterThan(900);
    expect(states.SomeClustersFailed?.Type).toBe('Fail');
  });
});

describe('deploy/gcp/workflows/fleet.json', () => {
  it('lists through the function, calls it once per cluster within the HTTP call limit, retries only calls that never ran', async () => {
    const steps = ((await readJson(join(root, 'deploy/gcp/workflows/fleet.json'))).main as { steps: Record<string, Json>[] }).steps;
    const step = (name: string) => steps.find((s) => name in s)?.[name] as Json;
    expect((step('listClusters').args as Json).body).toEqual({ [LIST_CLUSTERS]: true });
    const parallel = step('eachCluster').parallel as { concurrency_limit: unknown; for: { steps: Record<string, Json>[] } };
    expect(parallel.concurrency_limit).toBeDefined();
    const run = parallel.for.steps[0]?.runCluster as { try: { steps: Record<string, Json>[] }; retry: string };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Workflows expression
    expect(run.retry).toBe('${http.default_retry_non_idempotent}');
    // Workflows' HTTP calls wait at most 1800 s.
    const call = run.try.steps.find((s) => 'call' in s)?.call as { args: { timeout: number } } | undefined;
    expect(call?.args.timeout).toBeLessThanOrEqual(1800);
  });
});
