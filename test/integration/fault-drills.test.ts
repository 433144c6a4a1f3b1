// Fault drills on real services: members dying mid-stream, concurrent runs, hostile input.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import type { ConfigError } from '../../shared/errors.js';
import { BACKEND_KINDS, makeBackend, multipartUploads } from '../support/backends.js';
import { writeBulk } from '../support/data.js';
import { CLUSTER_CASES, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { memoryLogger, run, storedKeys, storedSnapshots } from '../support/run.js';

const execFileP = promisify(execFile);

describe.each(CLUSTER_CASES)('a three-member etcd %s cluster %o whose serving member is killed mid-stream', (version, { auth }) => {
  let etcd: EtcdCluster;
  const password = 'drill-pw';
  beforeAll(async () => {
    etcd = await startEtcd({ version, members: 3 });
    await writeBulk(etcd.endpoints, 100);
    if (auth) await etcd.enableAuth(password);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('aborts that upload and retries on another member within the same run; no partial object is left', async () => {
    const backend = await makeBackend('s3');
    let killed: string | undefined;
    const log = memoryLogger((entry) => {
      if (entry.message === 'streaming snapshot' && !killed) {
        killed = entry.endpoint as string;
        const index = etcd.endpoints.indexOf(killed);
        setTimeout(() => void etcd.kill(index), 200);
      }
    });
    const outcome = await run(
      'snapshot',
      {
        ...backend.settings,
        ...(auth ? { ETCD_USERNAME: 'root', ETCD_PASSWORD: password } : {}),
        ETCD_ENDPOINTS: etcd.endpoints.join(','),
        CLUSTER_NAME: 'drill',
        ETCD_DIAL_TIMEOUT: '2s',
      },
      { log },
    );
    expect(outcome.error).toBeUndefined();
    const result = outcome.result!;
    expect(killed).toBeDefined();
    expect(result.endpoint).not.toBe(killed);
    expect(result.attempts.length).toBeGreaterThanOrEqual(2);
    expect(result.attempts[0]).toMatchObject({ endpoint: killed });
    expect(await storedKeys(backend.store, 'drill/')).toEqual([result.key, result.manifestKey].sort());
    expect(await multipartUploads(backend.settings)).toEqual([]);
  });
});

describe('two snapshot runs at once for the same cluster', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd();
    await writeBulk(etcd.endpoints, 30);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it.each(BACKEND_KINDS)('write two distinct complete objects into %s, none overwritten', async (kind) => {
    const backend = await makeBackend(kind);
    const settings = { ...backend.settings, ETCD_ENDPOINTS: etcd.endpoints[0], CLUSTER_NAME: 'twins' };
    const [a, b] = await Promise.all([run('snapshot', settings), run('snapshot', settings)]);
    const ka = a.result!.key;
    const kb = b.result!.key;
    expect(ka).not.toBe(kb);
    const listed = (await run('list', settings)).result!;
    expect(listed.snapshots.map((s) => s.key).sort()).toEqual([ka, kb].sort());
    expect(listed.snapshots.every((s) => s.state === 'complete')).toBe(true);
    const verified = await Promise.all([ka, kb].map((key) => run('verify', settings, { args: { key } })));
    expect(verified.every((v) => v.ok)).toBe(true);
  });
});

describe('hostile input is refused before any I/O, naming the field', () => {
  it.each([
    [{ BACKUP_URL: 's3://bucket/../../other-team' }, 'BACKUP_URL'],
    [{ BACKUP_URL: 's3://bucket//etcd' }, 'BACKUP_URL'],
    [{ BACKUP_URL: 'file:///var/backups/../../etc' }, 'BACKUP_URL'],
    [{ CLUSTER_NAME: '..' }, 'CLUSTER_NAME'],
    [{ CLUSTER_NAME: 'prod/../other' }, 'CLUSTER_NAME'],
    [{ CLUSTER_NAME: `${'a'.repeat(5000)}` }, 'CLUSTER_NAME'],
    [{ ETCD_ENDPOINTS: 'http://127.0.0.1:2379/../../admin' }, 'ETCD_ENDPOINTS'],
    [{ S3_UPLOAD_CONCURRENCY: '100000' }, 'S3_UPLOAD_CONCURRENCY'],
    [{ PRUNE_KEEP_LAST: '-1' }, 'PRUNE_KEEP_LAST'],
    [{ PRUNE_KEEP_WITHIN: '1e9d' }, 'PRUNE_KEEP_WITHIN'],
  ])('%o', async (settings, field) => {
    const outcome = await run('snapshot', { ETCD_ENDPOINTS: 'http://127.0.0.1:9', ...settings });
    expect((outcome.error as ConfigError).setting).toBe(field);
    expect(outcome.durationMs).toBeLessThan(1000);
  });

  it.each([
    [{ key: '../other-cluster/x.db' }, 'key'],
    [{ key: '/etc/passwd' }, 'key'],
    [{ key: 'c/../../x.db' }, 'key'],
    [{ key: 'x'.repeat(1500) }, 'event.key'],
    [{ key: 'c/20261122T001234.567Z-r00000000000000012345-a1b2c3d4.db', extra: 'field' }, 'event'],
  ])('verify event %#', async (args, field) => {
    const backend = await makeBackend('local');
    const { argsFromPayload } = await import('../../shared/platform/event.js');
    let error: unknown;
    try {
      const outcome = await run('verify', { ...backend.settings, CLUSTER_NAME: 'c' }, { args: argsFromPayload(args) });
      error = outcome.error;
    } catch (e) {
      error = e;
    }
    expect((error as ConfigError).setting).toBe(field);
  });
});

/**
 * For a drill that stops its store: etcd with 60 MB of data, and a store server of its own started by the
 * project's script (`scripts/services/<script>.sh`), whose env file gives its settings.
 */
function withOwnStoreServer(script: 'rgw' | 'gcs'): {
  etcd: () => EtcdCluster;
  dir: () => string;
  env: () => Promise<Record<string, string>>;
} {
  let etcd: EtcdCluster;
  let dir: string;
  beforeAll(async () => {
    etcd = await startEtcd();
    await writeBulk(etcd.endpoints, 60);
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    dir = await mkdtemp(`${tmpdir()}/${script}-drill-`);
    await execFileP('bash', [`scripts/services/${script}.sh`, 'start', dir]);
  });
  afterAll(async () => {
    await etcd?.stop();
    if (dir) await execFileP('bash', [`scripts/services/${script}.sh`, 'stop', dir]).catch(() => undefined);
  });
  const env = async () => {
    const { readFile } = await import('node:fs/promises');
    return Object.fromEntries(
      (await readFile(`${dir}/env`, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  };
  return { etcd: () => etcd, dir: () => dir, env };
}

describe('the S3 server stopped mid-upload and restarted (a radosgw of its own)', () => {
  const own = withOwnStoreServer('rgw');

  it('lists nothing as a snapshot, and the next run aborts the orphan multipart upload', async () => {
    const { readFile } = await import('node:fs/promises');
    const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
    const etcd = own.etcd();
    const dir = own.dir();
    const env = await own.env();
    const client = new S3Client({
      endpoint: env.AWS_ENDPOINT_URL_S3,
      region: env.AWS_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID as string, secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    await client.send(new CreateBucketCommand({ Bucket: 'drill' }));
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY });
    const settings = {
      BACKUP_URL: 's3://drill/etcd',
      AWS_ENDPOINT_URL_S3: env.AWS_ENDPOINT_URL_S3,
      AWS_REGION: env.AWS_REGION,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
      S3_PART_SIZE: '5MiB',
      PRUNE_INCOMPLETE_GRACE: '2s',
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: 'drill',
      SNAPSHOT_ATTEMPTS: '1',
    };
    const pid = Number((await readFile(`${dir}/run/client.rgw.a.pid`, 'utf8')).trim());
    let killed = false;
    const log = memoryLogger((entry) => {
      if (entry.message === 'streaming snapshot' && !killed) {
        killed = true;
        setTimeout(() => process.kill(pid, 'SIGKILL'), 400);
      }
    });
    const failed = await run('snapshot', settings, { log });
    expect(killed).toBe(true);
    expect(failed.ok).toBe(false);
    expect((failed.error as { code?: string }).code).toMatch(/^store/);

    // Back up: the same daemon, same config; its data lives in the OSD, which kept running.
    await execFileP('radosgw', ['-c', `${dir}/ceph.conf`, '-n', 'client.rgw.a']);
    const { ListMultipartUploadsCommand: List } = await import('@aws-sdk/client-s3');
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await client.send(new List({ Bucket: 'drill' }));
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const { openStore } = await import('../../shared/store/index.js');
    const { location, s3, gcs } = loadConfig(settings);
    const store = await openStore(location, { s3, gcs });
    expect(await storedSnapshots(store, 'drill')).toEqual([]);
    const orphans = ((await client.send(new List({ Bucket: 'drill' }))).Uploads ?? []).map((u) => u.Key);

    await new Promise((r) => setTimeout(r, 2500)); // quiet for longer than PRUNE_INCOMPLETE_GRACE
    const next = await run('snapshot', settings);
    expect(next.error).toBeUndefined();
    const result = next.result!;
    expect((result.cleaned ?? []).map((k) => `etcd/${k}`).sort()).toEqual([...orphans].sort());
    expect((await client.send(new List({ Bucket: 'drill' }))).Uploads ?? []).toEqual([]);
    expect(await storedKeys(store, 'drill/')).toEqual([result.key, result.manifestKey].sort());
    client.destroy();
  });
});

describe('the GCS server stopped mid-upload (an emulator of its own)', () => {
  const own = withOwnStoreServer('gcs');

  it('fails the run with a store error, and the upload library raises nothing later (its retries once crashed the process)', async () => {
    const dir = own.dir();
    const settings = {
      BACKUP_URL: 'gs://drill/etcd',
      ...(await own.env()),
      ETCD_ENDPOINTS: own.etcd().endpoints[0],
      CLUSTER_NAME: 'drill',
      SNAPSHOT_ATTEMPTS: '1',
    };
    const late: unknown[] = [];
    const onLate = (error: unknown) => late.push(error);
    process.on('uncaughtException', onLate);
    try {
      let stopped: Promise<unknown> | undefined;
      const log = memoryLogger((entry) => {
        if (entry.message === 'streaming snapshot' && !stopped)
          stopped = new Promise((r) => setTimeout(r, 300)).then(() => execFileP('bash', ['scripts/services/gcs.sh', 'stop', dir]));
      });
      const failed = await run('snapshot', settings, { log });
      await stopped;
      expect(failed.ok).toBe(false);
      expect((failed.error as { code?: string }).code).toMatch(/^store/);
      // The library's retry timers outlive the failed call (1 + 2 + 4 s of backoff): give them the time.
      await new Promise((r) => setTimeout(r, 8000));
      expect(late).toEqual([]);
    } finally {
      process.off('uncaughtException', onLate);
    }
  }, 60_000);
});
