import { constants } from 'node:os';
import type { SettingValues } from '../shared/config/config.js';
import { ConfigError, describeError, formatError, formatReport } from '../shared/errors.js';
import { fleetConcurrency, loadFleet } from '../shared/fleet/fleet.js';
import { checkFleetTask, type FleetOutcome, runFleet } from '../shared/fleet/run.js';
import { createLogger, type LogFormat, type LogLevel } from '../shared/log.js';
import { redactSecrets } from '../shared/redact.js';
import type { ResultOf, TaskArgs, TaskName } from '../shared/tasks/index.js';
import { exitStatus, fleetExitStatus } from './exit.js';
import { print } from './output.js';
import { abortOnSignals } from './signals.js';

export interface FleetCommandOptions<N extends TaskName> {
  args: TaskArgs;
  json: boolean;
  /** How one cluster's result reads without --json (the command's own formatter). */
  human: (result: ResultOf<N>) => string;
  cluster?: string;
}

/** The run's log settings, as the environment and flags give them; a bad one is refused with each cluster's settings. */
function runLogger(settings: SettingValues) {
  const level = ['debug', 'info', 'warn', 'error'].includes(settings.LOG_LEVEL ?? '') ? (settings.LOG_LEVEL as LogLevel) : 'info';
  const format = ['auto', 'text', 'json'].includes(settings.LOG_FORMAT ?? '') ? (settings.LOG_FORMAT as LogFormat) : 'auto';
  return createLogger({ level, format });
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

/** Each cluster under its name, then one line for the fleet. */
export function formatFleet<R>(task: TaskName, outcome: FleetOutcome<R>, human: (result: R) => string): string {
  const blocks = outcome.clusters.map((c) => {
    const body = c.result !== undefined ? human(c.result) : c.error ? `${task} failed: ${formatReport(c.error)}` : '';
    return `${c.cluster}: ${c.ok ? 'ok' : 'FAILED'}\n${indent(body)}`;
  });
  const failed = outcome.clusters.filter((c) => !c.ok).map((c) => c.cluster);
  const summary = `${task}: ${outcome.clusters.length - failed.length} of ${outcome.clusters.length} cluster(s) ok${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''}`;
  return [...blocks, summary].join('\n\n');
}

/**
 * CLUSTER_NAME in the environment together with a fleet: meant for one cluster (a shell set up for it), or
 * left over. Either way, running the whole fleet would not be what was asked, so the run is refused.
 */
function checkClusterName(settings: SettingValues, cluster: string | undefined): void {
  if (cluster === undefined && settings.CLUSTER_NAME)
    throw new ConfigError(
      'CLUSTER_NAME',
      'is set in the environment, but with a fleet (FLEET_FILE) each cluster is named in the fleet file',
      'use --cluster NAME to run one cluster of the fleet, or unset CLUSTER_NAME to run them all',
    );
}

/**
 * `<task> --fleet FILE [--cluster NAME]`: the fleet file read and every cluster validated before anything
 * else, then the task on each cluster; one document (--json) or one block per cluster, and exit 0 only
 * when every cluster is ok. Ctrl-C aborts every cluster's run, as it aborts a single run.
 */
export async function runFleetCommand<N extends TaskName>(
  command: N,
  source: string,
  settings: SettingValues,
  options: FleetCommandOptions<N>,
): Promise<number> {
  const log = runLogger(settings);
  const controller = new AbortController();
  const signals = abortOnSignals(controller);
  let outcome: FleetOutcome<ResultOf<N>>;
  try {
    checkFleetTask(command, options.cluster);
    checkClusterName(settings, options.cluster);
    const concurrency = fleetConcurrency(settings);
    const narrow = options.cluster !== undefined ? { cluster: options.cluster } : {};
    const fleet = await loadFleet(source, settings, { signal: controller.signal, ...narrow });
    outcome = await runFleet(command, fleet, { args: options.args, concurrency, log, signal: controller.signal, ...narrow });
  } catch (error) {
    signals.release();
    log.error(`${command} failed`, { task: command, fleet: source, outcome: 'failure', error });
    // The fleet's document shape even when no cluster ran, so a consumer can always read `clusters`.
    if (options.json) print(JSON.stringify({ ok: false, clusters: [], error: describeError(error) }, null, 2));
    else process.stderr.write(`${redactSecrets(`etcd-backup ${command}: ${formatError(error)}`)}\n`);
    return exitStatus({ ok: false, error });
  }
  signals.release();
  print(options.json ? JSON.stringify(outcome, null, 2) : formatFleet(command, outcome, options.human));
  const signal = signals.received();
  return signal && !outcome.ok ? 128 + constants.signals[signal] : fleetExitStatus(outcome);
}
