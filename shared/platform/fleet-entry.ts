import type { SettingValues } from '../config/config.js';
import { ConfigError } from '../errors.js';
import { fleetCluster, loadFleet, parseFleet, withClusterSecrets } from '../fleet/fleet.js';
import { readFleetSource } from '../fleet/source.js';
import type { TaskArgs } from '../tasks/index.js';

/**
 * A function deployed for a fleet (FLEET_FILE set) is the one the platform's fan-out calls: once to list
 * the clusters (`{"fleetClusters": true}`), then once per cluster with `{"cluster": NAME, ...task
 * arguments}`. The listing asks the function itself, so the fleet file is read with the same access
 * and checked by the same code (its structure, keys, inline secrets and unique names) before any cluster
 * runs: a bad file fails the fan-out once instead of once per cluster. Each cluster's own settings are
 * resolved and validated in that cluster's invocation, so a bad cluster fails alone.
 */
export const LIST_CLUSTERS = 'fleetClusters';

/** One item per cluster, already shaped as the per-cluster payload the fan-out merges its arguments into. */
export interface FleetClusterList {
  clusters: { cluster: string }[];
}

/** The fleet file the deployment serves, if it serves one. Read from the function's environment. */
export const fleetSource = (): string | undefined => process.env.FLEET_FILE || undefined;

/** Whether the payload asks for the cluster list rather than a task run. */
export function isClusterListing(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && (payload as Record<string, unknown>)[LIST_CLUSTERS] === true;
}

export async function listFleetClusters(env: SettingValues, signal?: AbortSignal): Promise<FleetClusterList> {
  const source = fleetSource();
  if (!source)
    throw new ConfigError(
      'FLEET_FILE',
      `is not set, so there is no cluster list to give (${LIST_CLUSTERS})`,
      'deploy the fleet stack, or invoke the task itself',
    );
  const { clusters } = parseFleet(source, await readFleetSource(source, env, signal));
  return { clusters: clusters.map((c) => ({ cluster: c.name })) };
}

/** The settings and arguments of one run: the cluster's own on a fleet, the environment's otherwise. */
export interface RunTarget {
  /** The cluster's name on a fleet; undefined on a single-cluster deployment (CLUSTER_NAME is the cluster). */
  cluster?: string;
  settings: SettingValues;
  args: TaskArgs;
}

/**
 * Picks the cluster a payload names. On a fleet every run names one (the fan-out does), and it runs with
 * that cluster's settings only; without FLEET_FILE a `cluster` is refused rather than ignored, since the
 * function would back up CLUSTER_NAME instead of the cluster asked for.
 */
export async function runTarget(args: TaskArgs, env: SettingValues, signal?: AbortSignal): Promise<RunTarget> {
  const { cluster, ...taskArgs } = args;
  const source = fleetSource();
  if (!source) {
    if (cluster !== undefined)
      throw new ConfigError(
        'event.cluster',
        'names a fleet cluster, but FLEET_FILE is not set',
        'leave it out: this function backs up CLUSTER_NAME',
      );
    return { settings: env, args: taskArgs };
  }
  if (typeof cluster !== 'string' || cluster === '')
    throw new ConfigError(
      'event.cluster',
      `is missing: this function serves the fleet in ${source}, one cluster per invocation`,
      `name one ({"cluster": "NAME"}), or send {"${LIST_CLUSTERS}": true} for the names`,
    );
  // Only this cluster's settings are validated, and only its secrets (SSM_SECRETS_PATH) read, at run time.
  const options = signal ? { signal } : {};
  const fleet = await loadFleet(source, env, { cluster, ...options });
  return { cluster, settings: await withClusterSecrets(fleetCluster(fleet, cluster), options), args: taskArgs };
}
