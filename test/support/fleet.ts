import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSampleData } from './data.js';
import { type EtcdCluster, startEtcd } from './etcd.js';
import { freePort } from './ports.js';

/**
 * The fleet the fan-out tests run over: two real etcd clusters with sample data under the first two names,
 * the third name on a port nothing listens on (a cluster that cannot be reached), written as a fleet file
 * whose defaults are `defaults` (a backend's settings) with one snapshot attempt each.
 */
export async function startTestFleet(
  names: readonly [string, string, string],
  defaults: Record<string, string | undefined>,
): Promise<{ clusters: EtcdCluster[]; fleetFile: string }> {
  const clusters = await Promise.all([startEtcd(), startEtcd()]);
  for (const etcd of clusters) await writeSampleData(etcd.endpoints, { smallKeys: 20 });
  const endpoints = [...clusters.map((c) => c.endpoints.join(',')), `http://127.0.0.1:${await freePort()}`];
  const fleetFile = join(await mkdtemp(join(tmpdir(), 'fleet-')), 'fleet.json');
  await writeFile(
    fleetFile,
    JSON.stringify({
      defaults: { ...defaults, SNAPSHOT_ATTEMPTS: '1' },
      clusters: names.map((name, i) => ({ CLUSTER_NAME: name, ETCD_ENDPOINTS: endpoints[i] })),
    }),
  );
  return { clusters, fleetFile };
}
