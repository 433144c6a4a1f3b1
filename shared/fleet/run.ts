import type { SettingValues } from '../config/config.js';
import { BackupError, ConfigError, describeError, type ErrorReport } from '../errors.js';
import type { Logger } from '../log.js';
import { type ResultOf, runTask, type TaskArgs, type TaskName } from '../tasks/index.js';
import { type Fleet, fleetCluster, withClusterSecrets } from './fleet.js';
import { eachLimited } from './pool.js';

/** One cluster's part of a fleet run: its result when the task ran (ok or with problems), or its error. */
export interface FleetClusterOutcome<R = unknown> {
  cluster: string;
  ok: boolean;
  result?: R;
  error?: ErrorReport;
}

/** `ok` only when every cluster is ok. */
export interface FleetOutcome<R = unknown> {
  ok: boolean;
  clusters: FleetClusterOutcome<R>[];
}

export interface FleetRunOptions {
  args?: TaskArgs;
  /** Clusters running at the same time (FLEET_CONCURRENCY). */
  concurrency: number;
  log: Logger;
  /** Aborts every cluster's run; clusters not started yet are reported as aborted without starting. */
  signal?: AbortSignal;
  /** Run this cluster of the fleet only. */
  cluster?: string;
}

/** Failed clusters named in the fleet's log line (each has its own line anyway). */
const LOGGED_FAILURES = 50;

/** Tasks that act on one snapshot a user names (a key, a time): meaningful for one cluster, not for a fleet. */
const ONE_CLUSTER_TASKS: ReadonlySet<TaskName> = new Set<TaskName>(['restore', 'exclude']);

/** Refuses, before anything is read, a task that needs one cluster run over a whole fleet, and an empty cluster name. */
export function checkFleetTask(task: TaskName, cluster: string | undefined): void {
  if (cluster === '')
    throw new ConfigError('--cluster', 'is empty', 'name one cluster of the fleet, or leave --cluster out to run every cluster');
  if (ONE_CLUSTER_TASKS.has(task) && cluster === undefined)
    throw new ConfigError(
      '--cluster',
      `${task} acts on one cluster's snapshot, not on a fleet`,
      `name the cluster: ${task} --fleet FILE --cluster NAME`,
    );
}

/**
 * Runs `task` on every cluster of the fleet (or the one named), at most `concurrency` at a time. Each
 * cluster runs as a task on its own does (its SSM secrets read, then runTask: its own configuration, store,
 * etcd connections and their timeouts, its own result line); a cluster that fails or hangs holds only its own slot until its own
 * timeouts end it, and never stops the others. One more line sums up the fleet.
 */
export async function runFleet<N extends TaskName>(task: N, fleet: Fleet, options: FleetRunOptions): Promise<FleetOutcome<ResultOf<N>>> {
  checkFleetTask(task, options.cluster);
  const clusters = options.cluster === undefined ? fleet.clusters : [fleetCluster(fleet, options.cluster)];
  const started = Date.now();
  const outcomes = await eachLimited(clusters, options.concurrency, async (cluster): Promise<FleetClusterOutcome<ResultOf<N>>> => {
    const { name } = cluster;
    const clusterStarted = Date.now();
    /** A cluster that never reached its task: its result line, as runTask writes one, and its error. */
    const notRun = (error: unknown): FleetClusterOutcome<ResultOf<N>> => {
      const durationMs = Date.now() - clusterStarted;
      options.log.error(`${task} failed`, { task, cluster: name, outcome: 'failure', durationMs, error });
      return { cluster: name, ok: false, error: describeError(error) };
    };
    if (options.signal?.aborted)
      return notRun(
        new BackupError('aborted', `${task} was not started on cluster ${name}: the run was interrupted`, { cause: options.signal.reason }),
      );
    let settings: SettingValues;
    try {
      settings = await withClusterSecrets(cluster, options.signal ? { signal: options.signal } : {});
    } catch (error) {
      return notRun(error);
    }
    const outcome = await runTask(task, settings, {
      log: options.log,
      ...(options.args ? { args: options.args } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return {
      cluster: name,
      ok: outcome.ok,
      ...(outcome.result ? { result: outcome.result } : {}),
      ...(outcome.error !== undefined ? { error: describeError(outcome.error) } : {}),
    };
  });
  const failed = outcomes.filter((o) => !o.ok).map((o) => o.cluster);
  const ok = failed.length === 0;
  const line = `${task} over the fleet: ${outcomes.length - failed.length} of ${outcomes.length} cluster(s) ok`;
  const fields = {
    task,
    fleet: fleet.source,
    outcome: ok ? 'success' : 'failure',
    durationMs: Date.now() - started,
    clusterCount: outcomes.length,
    // Names enough to start from; a line with thousands would be cut or dropped by the log pipeline.
    failed: failed.slice(0, LOGGED_FAILURES),
    failedCount: failed.length,
    failedTruncated: failed.length > LOGGED_FAILURES,
  };
  if (ok) options.log.info(line, fields);
  else options.log.error(line, fields);
  return { ok, clusters: outcomes };
}
