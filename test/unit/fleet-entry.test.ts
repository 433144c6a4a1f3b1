// The per-cluster entry of the functions (shared/platform/fleet-entry.ts): which settings a run gets, and
// what a fleet deployment refuses, before any etcd or store I/O. The fleet files are local files.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.js';
import { isClusterListing, listFleetClusters, runTarget } from '../../shared/platform/fleet-entry.js';
import { fakeSsm } from '../support/fake-ssm.js';

describe('the per-cluster entry', () => {
  let fleetFile: string;
  const env = { BACKUP_URL: 'file:///tmp/nowhere', ETCD_ENDPOINTS: 'http://127.0.0.1:1' };
  beforeAll(async () => {
    fleetFile = join(await mkdtemp(join(tmpdir(), 'fleet-entry-')), 'fleet.json');
    await writeFile(
      fleetFile,
      JSON.stringify({
        defaults: { PRUNE_KEEP_LAST: '5' },
        clusters: [
          { CLUSTER_NAME: 'prod-a', ETCD_ENDPOINTS: 'http://10.0.0.1:2379' },
          { CLUSTER_NAME: 'prod-b', ETCD_ENDPOINTS: 'http://10.0.0.2:2379', PRUNE_KEEP_LAST: '9' },
        ],
      }),
    );
  });
  afterEach(() => {
    delete process.env.FLEET_FILE;
  });

  it('without FLEET_FILE: the environment and the arguments as they came; a cluster named is refused, not ignored', async () => {
    expect(await runTarget({ dryRun: true }, env)).toEqual({ settings: env, args: { dryRun: true } });
    await expect(runTarget({ cluster: 'prod-a' }, env)).rejects.toThrow(ConfigError);
    await expect(runTarget({ cluster: 'prod-a' }, env)).rejects.toThrow(/event\.cluster.*FLEET_FILE is not set/);
    await expect(listFleetClusters(env)).rejects.toThrow(/FLEET_FILE/);
  });

  it("with FLEET_FILE: the named cluster's settings (environment < defaults < cluster), the cluster taken out of the arguments", async () => {
    process.env.FLEET_FILE = fleetFile;
    const b = await runTarget({ cluster: 'prod-b', dryRun: true }, env);
    expect(b.cluster).toBe('prod-b');
    expect(b.args).toEqual({ dryRun: true });
    expect(b.settings).toMatchObject({
      CLUSTER_NAME: 'prod-b',
      ETCD_ENDPOINTS: 'http://10.0.0.2:2379',
      PRUNE_KEEP_LAST: '9',
      BACKUP_URL: env.BACKUP_URL,
    });
    expect((await runTarget({ cluster: 'prod-a' }, env)).settings).toMatchObject({ CLUSTER_NAME: 'prod-a', PRUNE_KEEP_LAST: '5' });
  });

  it('with FLEET_FILE: a run must name a known cluster; the listing gives the names as per-cluster payloads', async () => {
    process.env.FLEET_FILE = fleetFile;
    await expect(runTarget({}, env)).rejects.toThrow(/event\.cluster: is missing/);
    await expect(runTarget({ cluster: 'prod-z' }, env)).rejects.toThrow(/prod-z/);
    expect(await listFleetClusters(env)).toEqual({ clusters: [{ cluster: 'prod-a' }, { cluster: 'prod-b' }] });
    expect(isClusterListing({ fleetClusters: true })).toBe(true);
    for (const other of [{}, { fleetClusters: 'yes' }, null, 'fleetClusters', { cluster: 'prod-a' }])
      expect(isClusterListing(other)).toBe(false);
  });

  it("with FLEET_FILE: a cluster's run gets that cluster's credentials from its SSM_SECRETS_PATH (a fake SSM endpoint: there is no local SSM)", async () => {
    const ssm = await fakeSsm({ '/etcd/a/ETCD_PASSWORD': 'pw-a-5c1e', '/etcd/b/ETCD_PASSWORD': 'pw-b-5c1e' });
    const saved = { ...process.env };
    try {
      const file = join(await mkdtemp(join(tmpdir(), 'fleet-entry-ssm-')), 'fleet.json');
      await writeFile(
        file,
        JSON.stringify({
          defaults: { ETCD_USERNAME: 'root' },
          clusters: [
            { CLUSTER_NAME: 'a', SSM_SECRETS_PATH: '/etcd/a' },
            { CLUSTER_NAME: 'b', SSM_SECRETS_PATH: '/etcd/b' },
          ],
        }),
      );
      Object.assign(process.env, {
        FLEET_FILE: file,
        AWS_ENDPOINT_URL_SSM: ssm.url,
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'fake-secret-for-the-fake-ssm',
      });
      const b = await runTarget({ cluster: 'b' }, env);
      expect(b.settings).toMatchObject({ CLUSTER_NAME: 'b', ETCD_USERNAME: 'root', ETCD_PASSWORD: 'pw-b-5c1e' });
      // Only the cluster asked for had its secrets read.
      expect(ssm.requests.map((r) => r.Path)).toEqual(['/etcd/b']);
    } finally {
      process.env = saved;
      await ssm.close();
    }
  });
});
