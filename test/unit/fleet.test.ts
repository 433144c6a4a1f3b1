// The fleet file: reading, merging (environment < defaults < cluster), validation before any I/O, secrets
// refused and never echoed; running a task over a fleet (list on local directories: no service needed).
import { mkdtemp, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitStatus, fleetExitStatus } from '../../cli/exit.js';
import { formatFleet } from '../../cli/fleet.js';
import { loadConfig, type SettingValues } from '../../shared/config/config.js';
import { ConfigError, describeError } from '../../shared/errors.js';
import {
  ClusterConfigError,
  type FleetCluster,
  fleetCluster,
  fleetConcurrency,
  loadFleet,
  parseFleet,
  withClusterSecrets,
} from '../../shared/fleet/fleet.js';
import { eachLimited } from '../../shared/fleet/pool.js';
import { checkFleetTask, runFleet } from '../../shared/fleet/run.js';
import { redactSecrets } from '../../shared/redact.js';
import { fakeSsm } from '../support/fake-ssm.js';
import { memoryLogger } from '../support/run.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-'));
});

async function fleetFile(document: unknown): Promise<string> {
  const path = join(dir, `fleet-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, typeof document === 'string' ? document : JSON.stringify(document));
  return path;
}

/** The ConfigError loading this fleet file throws. */
async function refusal(document: unknown, env: SettingValues = {}): Promise<ConfigError> {
  const error = await loadFleet(await fleetFile(document), env).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('loadFleet: merging', () => {
  it('each cluster is its map over defaults over the environment; the environment names no cluster', async () => {
    const source = await fleetFile({
      defaults: { BACKUP_URL: 's3://backups/etcd', PRUNE_KEEP_LAST: 48, S3_FORCE_PATH_STYLE: true },
      clusters: [
        { CLUSTER_NAME: 'prod-a', ETCD_ENDPOINTS: 'https://10.0.0.1:2379,https://10.0.0.2:2379' },
        { CLUSTER_NAME: 'prod-b', ETCD_ENDPOINTS: 'https://10.1.0.1:2379', PRUNE_KEEP_LAST: '12', BACKUP_URL: 'gs://other/etcd' },
      ],
    });
    const env: SettingValues = {
      CLUSTER_NAME: 'from-env',
      AWS_REGION: 'eu-west-1',
      PRUNE_KEEP_LAST: '5',
      FLEET_FILE: source,
      FLEET_CONCURRENCY: '2',
    };
    const fleet = await loadFleet(source, env);
    expect(fleet.source).toBe(source);
    expect(fleet.clusters.map((c) => c.name)).toEqual(['prod-a', 'prod-b']);
    expect(fleet.clusters[0]?.settings).toEqual({
      AWS_REGION: 'eu-west-1',
      BACKUP_URL: 's3://backups/etcd',
      PRUNE_KEEP_LAST: '48',
      S3_FORCE_PATH_STYLE: 'true',
      CLUSTER_NAME: 'prod-a',
      ETCD_ENDPOINTS: 'https://10.0.0.1:2379,https://10.0.0.2:2379',
    });
    expect(fleet.clusters[1]?.settings).toMatchObject({ BACKUP_URL: 'gs://other/etcd', PRUNE_KEEP_LAST: '12', AWS_REGION: 'eu-west-1' });
    // What each cluster runs with is exactly what a single-cluster run of those settings reads.
    expect(loadConfig(fleet.clusters[1]?.settings ?? {}).retention.keepLast).toBe(12);
  });

  it('reads file:// URLs and relative paths', async () => {
    const source = await fleetFile({ clusters: [{ CLUSTER_NAME: 'a' }] });
    expect((await loadFleet(`file://${source}`, {})).clusters).toHaveLength(1);
  });

  it('fleetCluster finds a cluster by name, and names the unknown one', async () => {
    const fleet = await loadFleet(await fleetFile({ clusters: [{ CLUSTER_NAME: 'a' }, { CLUSTER_NAME: 'b' }] }), {});
    expect(fleetCluster(fleet, 'b').settings.CLUSTER_NAME).toBe('b');
    expect(() => fleetCluster(fleet, 'zz')).toThrow(ConfigError);
    expect(() => fleetCluster(fleet, 'zz')).toThrow(/no cluster "zz" in the fleet .*fleet-.*\.json/);
  });

  it('with `cluster`, only that cluster is resolved and validated; every entry is still checked', async () => {
    const document = {
      clusters: [
        { CLUSTER_NAME: 'good', ETCD_ENDPOINTS: 'http://10.0.0.1:2379' },
        { CLUSTER_NAME: 'bad', ETCD_ENDPOINTS: 'not a url' },
      ],
    };
    const source = await fleetFile(document);
    expect((await loadFleet(source, {}, { cluster: 'good' })).clusters.map((c) => c.name)).toEqual(['good']);
    await expect(loadFleet(source, {})).rejects.toThrow(/cluster "bad": ETCD_ENDPOINTS/);
    await expect(loadFleet(source, {}, { cluster: 'nope' })).rejects.toThrow(/no cluster "nope"/);
    const withUnknownKey = await fleetFile({ clusters: [...document.clusters, { CLUSTER_NAME: 'c', NOPE: '1' }] });
    await expect(loadFleet(withUnknownKey, {}, { cluster: 'good' })).rejects.toThrow(/unknown setting "NOPE"/);
  });
});

describe('loadFleet: refusals name the source, the cluster and the setting', () => {
  it.each([
    ['a setting no cluster can take', { clusters: [{ CLUSTER_NAME: 'a', ETCD_ENDPOINTS: 'ftp://x:1' }] }, /cluster "a": ETCD_ENDPOINTS/],
    [
      'a rule across settings (immutability on a directory)',
      { defaults: { IMMUTABILITY: 'object' }, clusters: [{ CLUSTER_NAME: 'a', BACKUP_URL: 'file:///tmp/x' }] },
      /cluster "a": IMMUTABILITY/,
    ],
    ['an invalid cluster name', { clusters: [{ CLUSTER_NAME: '../up' }] }, /cluster "\.\.\/up": CLUSTER_NAME/],
    [
      'an unknown setting',
      { clusters: [{ CLUSTER_NAME: 'a', ETCD_ENDPOINT: 'http://x:1' }] },
      /cluster "a": unknown setting "ETCD_ENDPOINT"/,
    ],
    [
      'an unknown setting in defaults',
      { defaults: { PRUNE_KEEP: '1' }, clusters: [{ CLUSTER_NAME: 'a' }] },
      /defaults: unknown setting "PRUNE_KEEP"/,
    ],
    [
      'a setting of the whole run',
      { clusters: [{ CLUSTER_NAME: 'a', FLEET_CONCURRENCY: '2' }] },
      /FLEET_CONCURRENCY applies to the whole run/,
    ],
    [
      'the log settings (the run has one log)',
      { defaults: { LOG_LEVEL: 'debug' }, clusters: [{ CLUSTER_NAME: 'a' }] },
      /LOG_LEVEL applies to the whole run/,
    ],
    [
      'CLUSTER_NAME as a default',
      { defaults: { CLUSTER_NAME: 'x' }, clusters: [{ CLUSTER_NAME: 'a' }] },
      /defaults: CLUSTER_NAME names one cluster/,
    ],
    ['a cluster without a name', { clusters: [{ ETCD_ENDPOINTS: 'http://x:1' }] }, /clusters\[0\]: has no CLUSTER_NAME/],
    [
      'two clusters of one name',
      { clusters: [{ CLUSTER_NAME: 'a' }, { CLUSTER_NAME: 'b' }, { CLUSTER_NAME: 'a' }] },
      /cluster "a": the name is used by more than one cluster/,
    ],
    [
      'two clusters whose names differ only in case (a case-insensitive file system shares their directory)',
      { clusters: [{ CLUSTER_NAME: 'Prod' }, { CLUSTER_NAME: 'prod' }] },
      /cluster "prod": the name is used by more than one cluster \("Prod" differs only in case\)/,
    ],
    [
      'a cluster name with a line break and quotes: quoted, never as written',
      { clusters: [{ CLUSTER_NAME: 'a"\nb', ETCD_ENDPOINTS: 'ftp://x:1' }] },
      /^[^\n]*cluster "a\\"\\nb": CLUSTER_NAME: "a\\"\\nb" is not a valid cluster name$/,
    ],
    [
      'a very long cluster name: cut',
      { clusters: [{ CLUSTER_NAME: 'x'.repeat(5000), NOPE: '1' }] },
      new RegExp(`cluster "${'x'.repeat(100)}\\.\\.\\.": unknown setting "NOPE"`),
    ],
    [
      'a value that is an object',
      { clusters: [{ CLUSTER_NAME: 'a', ETCD_ENDPOINTS: ['http://x:1'] }] },
      /ETCD_ENDPOINTS must be a string, a number or a boolean/,
    ],
    ['a cluster that is not an object', { clusters: ['a'] }, /clusters\[0\]: must be an object/],
    ['no clusters', { defaults: {} }, /"clusters" must be a non-empty list/],
    ['an empty list', { clusters: [] }, /"clusters" must be a non-empty list/],
    ['an unknown top-level field', { cluster: [], clusters: [{ CLUSTER_NAME: 'a' }] }, /unknown field\(s\) cluster/],
    ['a list instead of an object', [{ CLUSTER_NAME: 'a' }], /not a JSON object/],
    ['text that is not JSON', '{ "clusters": [ ', /is not a fleet file: invalid JSON/],
  ])('%s', async (_, document, message) => {
    const error = await refusal(document);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(dir);
    expect(error.code).toBe('config');
    expect(exitStatus({ ok: false, error })).toBe(2);
  });

  it("a cluster's refused setting keeps its name as `setting`, and says which cluster", async () => {
    const error = await refusal({ clusters: [{ CLUSTER_NAME: 'a', ETCD_ENDPOINTS: 'ftp://x:1' }] });
    expect(error.setting).toBe('ETCD_ENDPOINTS');
    expect(error).toBeInstanceOf(ClusterConfigError);
    expect((error as ClusterConfigError).cluster).toBe('a');
    expect(error.message).toMatch(/^\/.*\.json: cluster "a": ETCD_ENDPOINTS: "ftp:\/\/x:1" must start with http:\/\/ or https:\/\/$/);
  });

  it('a missing fleet file: a ConfigError naming it', async () => {
    const source = join(dir, 'missing.json');
    const error = await loadFleet(source, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(new RegExp(`FLEET_FILE: cannot read ${source}: ENOENT`));
  });

  it('a directory, or a scheme no fleet file is read from: ConfigErrors naming the source', async () => {
    await expect(loadFleet(dir, {})).rejects.toThrow(new RegExp(`cannot read ${dir}: EISDIR`));
    await expect(loadFleet('https://example.com/fleet.json', {})).rejects.toThrow(/is not a place a fleet file can be read from/);
    await expect(loadFleet('s3://bucket-only', {})).rejects.toThrow(/names no object/);
  });

  it('a local fleet file over 16 MiB is refused by its size, before it is read, in bytes', async () => {
    // Sparse: 1 GiB on disk costs nothing, and reading it whole would fail otherwise (or exhaust memory).
    const huge = join(dir, 'huge.json');
    await writeFile(huge, '');
    await truncate(huge, 1024 ** 3);
    await expect(loadFleet(huge, {})).rejects.toThrow(`FLEET_FILE: ${huge} is larger than 16 MiB`);
    // 3 bytes per character: over 16 MiB of bytes, under 16 Mi characters.
    const wide = join(dir, 'wide.json');
    await writeFile(wide, '\u20ac'.repeat((16 * 1024 ** 2) / 3 + 1));
    await expect(loadFleet(wide, {})).rejects.toThrow(`FLEET_FILE: ${wide} is larger than 16 MiB`);
  });

  it('a bad setting of the environment is reported for the cluster it reaches', async () => {
    const error = await refusal({ clusters: [{ CLUSTER_NAME: 'a' }] }, { S3_PART_SIZE: '1KiB' });
    expect(error.message).toMatch(/cluster "a": S3_PART_SIZE: must be between/);
  });
});

describe('loadFleet: secrets are never inline, and never echoed', () => {
  const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7-fleet-secret\n-----END PRIVATE KEY-----\n';
  it.each([
    [
      'ETCD_PASSWORD in a cluster',
      { clusters: [{ CLUSTER_NAME: 'a', ETCD_USERNAME: 'root', ETCD_PASSWORD: 'hunter2-fleet' }] },
      'hunter2-fleet',
    ],
    ['ETCD_PASSWORD in defaults', { defaults: { ETCD_PASSWORD: 'hunter3-fleet' }, clusters: [{ CLUSTER_NAME: 'a' }] }, 'hunter3-fleet'],
    [
      'ETCD_KEY_FILE as PEM text',
      { clusters: [{ CLUSTER_NAME: 'a', ETCD_KEY_FILE: PEM }] },
      'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7',
    ],
    [
      'ETCD_KEY_FILE as base64 PEM',
      { clusters: [{ CLUSTER_NAME: 'a', ETCD_KEY_FILE: Buffer.from(PEM).toString('base64') }] },
      Buffer.from(PEM).toString('base64').slice(0, 40),
    ],
    ['a private key where a certificate goes', { clusters: [{ CLUSTER_NAME: 'a', ETCD_CERT_FILE: PEM }] }, 'fleet-secret'],
    [
      'a base64 private key where a certificate goes',
      { clusters: [{ CLUSTER_NAME: 'a', ETCD_CERT_FILE: Buffer.from(PEM).toString('base64') }] },
      Buffer.from(PEM).toString('base64').slice(0, 40),
    ],
    [
      'a base64 private key as the CA, wrapped in lines',
      { defaults: { ETCD_CA_FILE: Buffer.from(PEM).toString('base64').replace(/.{64}/g, '$&\n') }, clusters: [{ CLUSTER_NAME: 'a' }] },
      Buffer.from(PEM).toString('base64').slice(0, 40),
    ],
    ['a password that breaks the JSON', '{ "clusters": [ { "CLUSTER_NAME": "a", "ETCD_PASSWORD": hunter4-fleet } ] }', 'hunter4-fleet'],
  ])('%s is refused without its value', async (_, document, secret) => {
    const error = await refusal(document);
    expect(error.message).toMatch(/secret|key material|invalid JSON/);
    const everything = JSON.stringify(describeError(error)) + String(error.stack);
    expect(everything).not.toContain(secret);
  });

  it('the refusal says what to do instead', async () => {
    const error = await refusal({ clusters: [{ CLUSTER_NAME: 'a', ETCD_PASSWORD: 'hunter5-fleet' }] });
    expect(error.message).toContain('cluster "a": ETCD_PASSWORD is a secret');
    expect(error.hint).toMatch(/ETCD_PASSWORD_FILE.*SSM_SECRETS_PATH/);
  });

  it('ETCD_KEY_FILE and ETCD_PASSWORD_FILE as paths are references, read as a single cluster reads them', async () => {
    const password = join(dir, 'password');
    await writeFile(password, 'pw-from-a-file-9c1\n');
    const fleet = await loadFleet(
      await fleetFile({ clusters: [{ CLUSTER_NAME: 'a', ETCD_USERNAME: 'root', ETCD_PASSWORD_FILE: password }] }),
      {},
    );
    expect(loadConfig(fleet.clusters[0]?.settings ?? {}).etcd).toMatchObject({ username: 'root', password: 'pw-from-a-file-9c1' });
    expect(redactSecrets('pw-from-a-file-9c1')).toBe('[REDACTED]');
    const error = await refusal({
      clusters: [{ CLUSTER_NAME: 'k', ETCD_KEY_FILE: join(dir, 'no-such-key.pem'), ETCD_CERT_FILE: join(dir, 'c.pem') }],
    });
    expect(error.message).toMatch(/cluster "k": ETCD_CERT_FILE: is neither PEM text nor a readable file/);
  });
});

describe('ETCD_PASSWORD_FILE', () => {
  it.each([
    ['one trailing newline is not part of it', 'secret-a1\n', 'secret-a1'],
    ['a CRLF line end neither', 'secret-a2\r\n', 'secret-a2'],
    ['other whitespace is', ' secret-a3 \n\n', ' secret-a3 \n'],
  ])('%s', async (_, content, password) => {
    const file = join(dir, 'pw');
    await writeFile(file, content);
    expect(loadConfig({ ETCD_USERNAME: 'u', ETCD_PASSWORD_FILE: file }).etcd.password).toBe(password);
  });

  it('refuses a missing or empty file, and the file together with ETCD_PASSWORD', async () => {
    const file = join(dir, 'pw');
    expect(() => loadConfig({ ETCD_USERNAME: 'u', ETCD_PASSWORD_FILE: file })).toThrow(
      /ETCD_PASSWORD_FILE: .* is not a readable file \(ENOENT\)/,
    );
    await writeFile(file, '\n');
    expect(() => loadConfig({ ETCD_USERNAME: 'u', ETCD_PASSWORD_FILE: file })).toThrow(/ETCD_PASSWORD_FILE: .* is empty/);
    await writeFile(file, 'x-pw');
    expect(() => loadConfig({ ETCD_USERNAME: 'u', ETCD_PASSWORD_FILE: file, ETCD_PASSWORD: 'y' })).toThrow(
      /set together with ETCD_PASSWORD/,
    );
    expect(() => loadConfig({ ETCD_PASSWORD_FILE: file })).toThrow(/ETCD_USERNAME: etcd user and password go together/);
  });
});

describe('fleet file and secrets in SSM Parameter Store (a fake SSM endpoint: there is no local SSM)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });
  async function withSsm(parameters: Record<string, string>, options: { denied?: string[] } = {}) {
    const ssm = await fakeSsm(parameters, options);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SSM: ssm.url,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'fake-secret-for-the-fake-ssm',
    });
    return ssm;
  }

  it('reads the fleet file from ssm:/name, and each cluster its credentials from its own SSM_SECRETS_PATH when it runs', async () => {
    const document = {
      defaults: { ETCD_USERNAME: 'root' },
      clusters: [
        { CLUSTER_NAME: 'a', SSM_SECRETS_PATH: '/etcd/a' },
        { CLUSTER_NAME: 'b', SSM_SECRETS_PATH: '/etcd/b/' },
      ],
    };
    const ssm = await withSsm({
      '/fleet/prod': JSON.stringify(document),
      '/etcd/a/ETCD_PASSWORD': 'pw-a-77e1',
      '/etcd/b/ETCD_PASSWORD': 'pw-b-77e2',
    });
    try {
      // Loading reads the fleet file only; ETCD_USERNAME without its password waits for the secrets.
      const fleet = await loadFleet('ssm:/fleet/prod', {});
      expect(ssm.requests.map((r) => [r.target, r.Name, r.WithDecryption, r.signed])).toEqual([
        ['AmazonSSM.GetParameter', '/fleet/prod', true, true],
      ]);
      expect(fleet.clusters.map((c) => [c.name, c.secretsPath, c.settings.ETCD_PASSWORD])).toEqual([
        ['a', '/etcd/a', undefined],
        ['b', '/etcd/b/', undefined],
      ]);
      expect(fleet.clusters[0]?.settings).not.toHaveProperty('SSM_SECRETS_PATH');
      ssm.requests.length = 0;
      const settings = await Promise.all(fleet.clusters.map((c) => withClusterSecrets(c)));
      expect(settings.map((s) => s.ETCD_PASSWORD)).toEqual(['pw-a-77e1', 'pw-b-77e2']);
      expect(loadConfig(settings[1] ?? {}).etcd).toMatchObject({ username: 'root', password: 'pw-b-77e2' });
      expect(ssm.requests.map((r) => [r.target, r.Path, r.WithDecryption, r.signed])).toEqual(
        expect.arrayContaining([
          ['AmazonSSM.GetParametersByPath', '/etcd/a', true, true],
          ['AmazonSSM.GetParametersByPath', '/etcd/b', true, true],
        ]),
      );
    } finally {
      await ssm.close();
    }
  });

  it('a missing parameter, and a cluster path that supplies what it may not: ConfigErrors naming them', async () => {
    const document = { clusters: [{ CLUSTER_NAME: 'a', SSM_SECRETS_PATH: '/etcd/a' }] };
    const ssm = await withSsm({ '/fleet/x': JSON.stringify(document), '/etcd/a/BACKUP_URL': 's3://elsewhere/x' });
    try {
      await expect(loadFleet('ssm:/fleet/missing', {})).rejects.toThrow(/FLEET_FILE: cannot read ssm:\/fleet\/missing/);
      const [cluster] = (await loadFleet('ssm:/fleet/x', {})).clusters;
      const error = await withClusterSecrets(cluster as FleetCluster).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/SSM_SECRETS_PATH: parameter \/etcd\/a\/BACKUP_URL names no setting/);
    } finally {
      await ssm.close();
    }
  });

  it("one cluster's SSM path failing fails that cluster only: the others run, and it is not a config error", async () => {
    const ssm = await withSsm({ '/etcd/one/ETCD_PASSWORD': 'pw-one-5d1e' }, { denied: ['/etcd/two'] });
    try {
      const fleet = await loadFleet(
        await fleetFile({
          defaults: { BACKUP_URL: `file://${dir}/store`, ETCD_USERNAME: 'root' },
          clusters: [
            { CLUSTER_NAME: 'one', SSM_SECRETS_PATH: '/etcd/one' },
            { CLUSTER_NAME: 'two', SSM_SECRETS_PATH: '/etcd/two' },
            { CLUSTER_NAME: 'three', ETCD_USERNAME: '' },
          ],
        }),
        {},
      );
      expect(ssm.requests).toEqual([]);
      const log = memoryLogger();
      const outcome = await runFleet('list', fleet, { concurrency: 1, log });
      expect(outcome.clusters.map((c) => [c.cluster, c.ok, c.error?.code])).toEqual([
        ['one', true, undefined],
        ['two', false, 'secrets-unavailable'],
        ['three', true, undefined],
      ]);
      expect(outcome.clusters[1]?.error?.message).toMatch(/SSM_SECRETS_PATH: cannot read the parameters under \/etcd\/two/);
      expect(fleetExitStatus(outcome)).toBe(1);
      const lines = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.filter((l) => l.cluster === 'two' && l.outcome === 'failure')).toHaveLength(1);
    } finally {
      await ssm.close();
    }
  });

  it('an SSM path with no parameters is refused, naming SSM_SECRETS_PATH', async () => {
    const ssm = await withSsm({ '/etcd/a/ETCD_PASSWORD': 'pw-a-4f0d' });
    try {
      const cluster: FleetCluster = { name: 'a', settings: { CLUSTER_NAME: 'a' }, secretsPath: '/etcd/typo' };
      const error = await withClusterSecrets(cluster).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe('SSM_SECRETS_PATH: there are no parameters under /etcd/typo');
    } finally {
      await ssm.close();
    }
  });

  it("secrets are read in the process's region, not in the cluster's bucket region (AWS_REGION setting)", async () => {
    const ssm = await withSsm({ '/etcd/a/ETCD_PASSWORD': 'pw-a-9e2a', '/fleet/r': JSON.stringify({ clusters: [{ CLUSTER_NAME: 'a' }] }) });
    process.env.AWS_REGION = 'eu-central-1';
    try {
      const cluster: FleetCluster = { name: 'a', settings: { CLUSTER_NAME: 'a', AWS_REGION: 'ap-south-1' }, secretsPath: '/etcd/a' };
      await withClusterSecrets(cluster);
      await loadFleet('ssm:/fleet/r', { AWS_REGION: 'ap-south-1' });
      expect(ssm.requests.map((r) => [r.target, r.region])).toEqual([
        ['AmazonSSM.GetParametersByPath', 'eu-central-1'],
        ['AmazonSSM.GetParameter', 'eu-central-1'],
      ]);
    } finally {
      await ssm.close();
    }
  });

  it('an aborted SSM read is reported as aborted', async () => {
    const ssm = await withSsm({ '/etcd/a/ETCD_PASSWORD': 'pw-a-0c3b' });
    try {
      const controller = new AbortController();
      controller.abort(new Error('interrupted'));
      const cluster: FleetCluster = { name: 'a', settings: { CLUSTER_NAME: 'a' }, secretsPath: '/etcd/a' };
      await expect(withClusterSecrets(cluster, { signal: controller.signal })).rejects.toMatchObject({ code: 'aborted' });
    } finally {
      await ssm.close();
    }
  });
});

describe('running over a fleet', () => {
  /** Three clusters on local directories; `broken` has a BACKUP_URL that is a file, so its listing fails. */
  async function localFleet() {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, '');
    return loadFleet(
      await fleetFile({
        defaults: { BACKUP_URL: `file://${dir}/store` },
        clusters: [{ CLUSTER_NAME: 'one' }, { CLUSTER_NAME: 'broken', BACKUP_URL: `file://${file}` }, { CLUSTER_NAME: 'two' }],
      }),
      {},
    );
  }

  it('runs each cluster, reports each, and one failure stops no other', async () => {
    const log = memoryLogger();
    const outcome = await runFleet('list', await localFleet(), { concurrency: 2, log });
    expect(outcome.ok).toBe(false);
    expect(outcome.clusters.map((c) => [c.cluster, c.ok])).toEqual([
      ['one', true],
      ['broken', false],
      ['two', true],
    ]);
    expect(outcome.clusters[0]?.result).toMatchObject({ ok: true, cluster: 'one', snapshots: [] });
    expect(outcome.clusters[1]).toMatchObject({
      cluster: 'broken',
      ok: false,
      error: { code: expect.any(String), message: expect.any(String) },
    });
    expect(outcome.clusters[1]).not.toHaveProperty('result');
    // One result line per cluster, as a single run writes it, and one for the fleet.
    const lines = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.outcome !== undefined);
    expect(lines.map((l) => [l.cluster ?? 'fleet', l.outcome])).toEqual(
      expect.arrayContaining([
        ['one', 'success'],
        ['broken', 'failure'],
        ['two', 'success'],
      ]),
    );
    expect(lines).toHaveLength(4);
    expect(lines.at(-1)).toMatchObject({
      message: 'list over the fleet: 2 of 3 cluster(s) ok',
      outcome: 'failure',
      clusterCount: 3,
      failed: ['broken'],
      failedCount: 1,
      failedTruncated: false,
    });
    expect(fleetExitStatus(outcome)).toBe(1);
    const text = formatFleet('list', outcome, (r) => `listed ${r.cluster}`);
    expect(text).toMatch(
      /^one: ok\n {2}listed one\n\nbroken: FAILED\n {2}list failed: .+\n[\s\S]*two: ok\n {2}listed two\n\nlist: 2 of 3 cluster\(s\) ok; failed: broken$/,
    );
  });

  it("the fleet's line names at most 50 failed clusters, and counts them all", async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, '');
    const names = Array.from({ length: 53 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    const fleet = await loadFleet(
      await fleetFile({ defaults: { BACKUP_URL: `file://${file}` }, clusters: names.map((CLUSTER_NAME) => ({ CLUSTER_NAME })) }),
      {},
    );
    const log = memoryLogger();
    await runFleet('list', fleet, { concurrency: 8, log });
    const line = JSON.parse(log.lines.at(-1) as string) as Record<string, unknown>;
    expect(line).toMatchObject({ clusterCount: 53, failed: names.slice(0, 50), failedCount: 53, failedTruncated: true });
  });

  it('--cluster runs one; an unknown one is a ConfigError', async () => {
    const fleet = await localFleet();
    const outcome = await runFleet('list', fleet, { concurrency: 4, log: memoryLogger(), cluster: 'two' });
    expect(outcome).toMatchObject({ ok: true, clusters: [{ cluster: 'two', ok: true }] });
    expect(fleetExitStatus(outcome)).toBe(0);
    await expect(runFleet('list', fleet, { concurrency: 4, log: memoryLogger(), cluster: 'three' })).rejects.toThrow(/no cluster "three"/);
  });

  it('restore and exclude need --cluster: they name one snapshot', async () => {
    const fleet = await localFleet();
    for (const task of ['restore', 'exclude'] as const) {
      expect(() => checkFleetTask(task, undefined)).toThrow(ConfigError);
      await expect(runFleet(task, fleet, { concurrency: 1, log: memoryLogger() })).rejects.toThrow(
        `--cluster: ${task} acts on one cluster's snapshot`,
      );
    }
    expect(() => checkFleetTask('restore', 'one')).not.toThrow();
    expect(() => checkFleetTask('snapshot', undefined)).not.toThrow();
  });

  it('an aborted run starts no further cluster, and reports each as aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('interrupted by SIGINT'));
    const log = memoryLogger();
    const outcome = await runFleet('list', await localFleet(), { concurrency: 1, log, signal: controller.signal });
    expect(outcome.clusters.map((c) => [c.cluster, c.ok, c.error?.code])).toEqual([
      ['one', false, 'aborted'],
      ['broken', false, 'aborted'],
      ['two', false, 'aborted'],
    ]);
    expect(log.lines.filter((l) => l.includes('"outcome"'))).toHaveLength(4);
  });
});

describe('fleet exit status', () => {
  const failed = (code?: string) => ({ ok: false, ...(code ? { error: { code } } : {}) });
  it.each([
    [[{ ok: true }, { ok: true }], 0],
    [[{ ok: true }, failed('etcd-unreachable')], 1],
    [[failed('config')], 2],
    [[failed('config'), failed('config')], 2],
    [[{ ok: true }, failed('config')], 1],
    [[{ ok: true }, failed('precondition')], 1],
    [[failed('precondition')], 3],
    [[failed('precondition'), failed('config')], 1],
    [[{ ok: true }, failed()], 1],
  ])('%j -> %i', (clusters, status) => {
    expect(fleetExitStatus({ ok: clusters.every((c) => c.ok), clusters })).toBe(status);
  });
});

describe('FLEET_CONCURRENCY', () => {
  it('defaults to 4 and takes 1 to 64', () => {
    expect(fleetConcurrency({})).toBe(4);
    expect(fleetConcurrency({ FLEET_CONCURRENCY: '64' })).toBe(64);
    expect(() => fleetConcurrency({ FLEET_CONCURRENCY: '0' })).toThrow(/FLEET_CONCURRENCY/);
    expect(() => fleetConcurrency({ FLEET_CONCURRENCY: '65' })).toThrow(/FLEET_CONCURRENCY/);
  });
});

describe('eachLimited', () => {
  it('runs at most `limit` at a time, starts the next as soon as one ends, and keeps the order of results', async () => {
    const gates = [0, 1, 2, 3].map(() => {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      return { promise, resolve };
    });
    const started: number[] = [];
    const run = eachLimited([0, 1, 2, 3], 2, async (i) => {
      started.push(i);
      await gates[i]?.promise;
      return i * 10;
    });
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    // Item 0 hangs; item 1 ending frees its slot for item 2, and item 2 ending for item 3.
    gates[1]?.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    gates[2]?.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2, 3]);
    gates[3]?.resolve();
    gates[0]?.resolve();
    expect(await run).toEqual([0, 10, 20, 30]);
  });
  it('starts no further item once one has rejected', async () => {
    let release = () => {};
    const slow = new Promise<void>((r) => {
      release = r;
    });
    const started: number[] = [];
    const run = eachLimited([0, 1, 2, 3, 4], 2, async (i) => {
      started.push(i);
      if (i === 0) await slow;
      if (i === 1) throw new Error('item 1 failed');
      return i;
    });
    await expect(run).rejects.toThrow('item 1 failed');
    // Item 0 was running; once it ends, its worker must not take item 2.
    release();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
  });
});

describe('parseFleet', () => {
  it('keeps values as the environment holds them', () => {
    expect(parseFleet('f.json', '{"clusters":[{"CLUSTER_NAME":"a","SNAPSHOT_ATTEMPTS":2,"S3_FORCE_PATH_STYLE":false}]}').clusters).toEqual([
      { name: 'a', values: { CLUSTER_NAME: 'a', SNAPSHOT_ATTEMPTS: '2', S3_FORCE_PATH_STYLE: 'false' } },
    ]);
  });
});
