// Before the task modules load: V8's garbage-collector settings (shared/gc-settings.ts).
import '../gc-settings.js';
import type { SettingValues } from '../config/config.js';
import { SETTINGS } from '../config/settings.js';
import type { Logger } from '../log.js';
import { type ResultOf, runTask, type TaskName, type TaskOutcome } from '../tasks/index.js';
import { deadlineSignal, type PlatformDeadline } from './deadline.js';
import { argsFromPayload } from './event.js';
import { fleetSource, runTarget } from './fleet-entry.js';
import type { RunOutcome } from './metrics.js';

/** One function invocation, as each platform's handler describes it. */
export interface Invocation<N extends TaskName> {
  task: N;
  log: Logger;
  /** The trigger's payload (read inside the run, so a bad one gets the same result line). */
  payload: () => unknown;
  settings: () => SettingValues | Promise<SettingValues>;
  /** Time left before the platform stops the function, when it is known. */
  remainingMs: () => number | undefined;
  deadline: PlatformDeadline;
  /**
   * The platform's metrics line for the run, written to stdout after the result line; `fleet` when the
   * deployment serves a fleet (its alarms then also watch each task across all clusters).
   */
  metricsLine: (cluster: string, outcome: RunOutcome, fleet: boolean) => Record<string, unknown>;
}

/** CLUSTER_NAME as the run used it, for the metric dimension (also when the configuration was refused). */
function clusterName(): string {
  return process.env.CLUSTER_NAME || (SETTINGS.find((s) => s.env === 'CLUSTER_NAME')?.default ?? 'default');
}

/**
 * What Lambda and Cloud Functions share: parse the trigger, run the task from the shared core with an
 * abort ahead of the platform's deadline, log exactly one result line (also when the trigger or the
 * settings were refused before the task could start), then one metrics line. On a fleet deployment the
 * trigger names the cluster, and the run has that cluster's settings (see fleet-entry.ts).
 */
export async function invoke<N extends TaskName>(invocation: Invocation<N>): Promise<TaskOutcome<ResultOf<N>>> {
  const { task, log } = invocation;
  const started = Date.now();
  let deadline: ReturnType<typeof deadlineSignal> | undefined;
  let outcome: TaskOutcome<ResultOf<N>>;
  // The cluster the trigger names, once read: the run's metrics carry it even when the run was refused.
  let named: string | undefined;
  const fleet = fleetSource() !== undefined;
  const cluster = () => (fleet && named) || clusterName();
  try {
    const remainingMs = invocation.remainingMs();
    if (remainingMs !== undefined) deadline = deadlineSignal(remainingMs, log, invocation.deadline);
    const payloadArgs = argsFromPayload(invocation.payload());
    if (typeof payloadArgs.cluster === 'string') named = payloadArgs.cluster;
    const signal = deadline?.signal;
    const { settings, args } = await runTarget(payloadArgs, await invocation.settings(), signal);
    outcome = await runTask(task, settings, { args, log, ...(signal ? { signal } : {}) });
  } catch (error) {
    outcome = { task, ok: false, durationMs: Date.now() - started, error };
    log.error(`${task} failed`, { outcome: 'failure', task, cluster: cluster(), durationMs: outcome.durationMs, error });
  } finally {
    deadline?.clear();
  }
  process.stdout.write(`${JSON.stringify(invocation.metricsLine(cluster(), outcome, fleet))}\n`);
  return outcome;
}
