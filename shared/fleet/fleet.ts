// TEMPORARY STAND-IN for h-fleet's module (same interface), removed before merging h-fleet.
import { readFile } from 'node:fs/promises';
import type { SettingValues } from '../config/config.js';
import { ConfigError } from '../errors.js';

export interface FleetCluster {
  name: string;
  settings: SettingValues;
}
export interface Fleet {
  source: string;
  clusters: FleetCluster[];
}

export async function loadFleet(source: string, env: SettingValues, _options?: { signal?: AbortSignal }): Promise<Fleet> {
  const doc = JSON.parse(await readFile(source, 'utf8')) as { defaults?: SettingValues; clusters: SettingValues[] };
  return {
    source,
    clusters: doc.clusters.map((c) => ({ name: c.CLUSTER_NAME ?? '', settings: { ...env, ...doc.defaults, ...c } })),
  };
}

export function fleetCluster(fleet: Fleet, name: string): FleetCluster {
  const found = fleet.clusters.find((c) => c.name === name);
  if (!found) throw new ConfigError('--cluster', `no cluster ${name} in ${fleet.source}`);
  return found;
}
