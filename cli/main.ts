// First: V8's garbage-collector settings, before anything allocates (shared/gc-settings.ts).
import '../shared/gc-settings.js';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { settingsFromEnv, type SettingValues } from '../shared/config/config.js';
import { SETTINGS } from '../shared/config/settings.js';
import { describeError, formatError } from '../shared/errors.js';
import { redactSecrets } from '../shared/redact.js';
import { argFlag, isTaskName, type ResultOf, runTask, taskArgs, TASKS, type TaskArgs, type TaskName } from '../shared/tasks/index.js';
import { EXIT_OK, EXIT_USAGE, exitStatus } from './exit.js';
import {
  formatExclude,
  formatList,
  formatPrune,
  formatRestore,
  formatReupload,
  formatSnapshot,
  formatStatus,
  formatVerify,
} from './format.js';
import { commandHelp, helpText, versionText } from './help.js';
import { print } from './output.js';
import { abortOnSignals } from './signals.js';

/** Human-readable output per command (without --json). */
const HUMAN: { [N in TaskName]: (result: ResultOf<N>) => string } = {
  snapshot: formatSnapshot,
  verify: formatVerify,
  prune: formatPrune,
  reupload: formatReupload,
  exclude: formatExclude,
  restore: formatRestore,
  list: formatList,
  status: formatStatus,
};

function usageError(message: string, json: boolean): number {
  if (json) print(JSON.stringify({ ok: false, error: { name: 'UsageError', code: 'usage', message } }));
  else process.stderr.write(`${message}\nRun etcd-backup --help for usage.\n`);
  return EXIT_USAGE;
}

export async function main(argv: string[]): Promise<number> {
  const options = Object.fromEntries([
    ['json', { type: 'boolean' }],
    ['help', { type: 'boolean', short: 'h' }],
    ['version', { type: 'boolean' }],
    ...SETTINGS.map((s) => [s.flag.slice(2), { type: 'boolean' in s ? 'boolean' : 'string' }]),
    ...Object.keys(TASKS).flatMap((task) =>
      Object.entries(taskArgs(task as TaskName)).map(([name, spec]) => [argFlag(name).slice(2), { type: spec.type }]),
    ),
  ]) as Record<string, { type: 'boolean' | 'string'; short?: string }>;
  const json = argv.includes('--json');
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    return usageError((error as Error).message, json);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    print(versionText());
    return EXIT_OK;
  }
  const [command, ...extra] = positionals;
  if (values.help && command && isTaskName(command)) {
    print(commandHelp(command));
    return EXIT_OK;
  }
  if (values.help || positionals.length === 0) {
    print(helpText());
    return values.help ? EXIT_OK : EXIT_USAGE;
  }
  if (!command || !isTaskName(command)) return usageError(`unknown command "${command}"; commands: ${Object.keys(TASKS).join(', ')}`, json);
  if (extra.length > 0) return usageError(`unexpected argument(s): ${extra.join(' ')}`, json);

  const settings: SettingValues = settingsFromEnv();
  for (const s of SETTINGS) {
    const value = values[s.flag.slice(2)];
    if (value !== undefined) settings[s.env] = String(value);
  }
  const fleetFile = settings.FLEET_FILE;
  const args: TaskArgs = {};
  const own = taskArgs(command);
  for (const task of Object.keys(TASKS) as TaskName[]) {
    for (const name of Object.keys(taskArgs(task))) {
      const value = values[argFlag(name).slice(2)];
      if (value === undefined) continue;
      if (!(name in own)) return usageError(`${argFlag(name)} is not an option of ${command}`, json);
      args[name] = value;
    }
  }
  if (fleetFile) {
    // With a fleet every cluster names itself; --cluster (CLUSTER_NAME's flag, not its variable) picks one of
    // them. An empty --cluster is passed on, to be refused: it must not mean the whole fleet.
    const cluster = typeof values.cluster === 'string' ? values.cluster : undefined;
    return fleetCommand(command, fleetFile, settings, { args, json, ...(cluster !== undefined ? { cluster } : {}) });
  }
  return runCommand(command, settings, args, json);
}

/** The task over a fleet, with the command's own formatter for each cluster's result. */
async function fleetCommand<N extends TaskName>(
  command: N,
  source: string,
  settings: SettingValues,
  options: { args: TaskArgs; json: boolean; cluster?: string },
): Promise<number> {
  const { runFleetCommand } = await import('./fleet.js');
  const human: (result: ResultOf<N>) => string = HUMAN[command];
  return runFleetCommand(command, source, settings, { ...options, human });
}

/** Runs one task, prints its result (or error) and returns the exit status. */
async function runCommand<N extends TaskName>(command: N, settings: SettingValues, args: TaskArgs, json: boolean): Promise<number> {
  const controller = new AbortController();
  const signals = abortOnSignals(controller);
  // A bar only for a person watching: never into --json output, never into a pipe or a file (where the
  // bar's library is not even loaded).
  const progress = !json && process.stderr.isTTY ? (await import('./progress.js')).terminalProgress(command, process.stderr) : undefined;
  const outcome = await runTask(command, settings, { args, signal: controller.signal, ...(progress ? { progress } : {}) }).finally(() => {
    progress?.close();
    signals.release();
  });
  if (json) {
    print(JSON.stringify(outcome.ok || outcome.result ? outcome.result : { ok: false, error: describeError(outcome.error) }, null, 2));
  } else if (outcome.result) {
    const human: (result: ResultOf<N>) => string = HUMAN[command];
    print(human(outcome.result));
  } else {
    process.stderr.write(`${redactSecrets(`etcd-backup ${command}: ${formatError(outcome.error)}`)}\n`);
  }
  const signal = signals.received();
  // Interrupted: the status a shell gives a process stopped by that signal (130, 143), unless the task finished anyway.
  return signal && !outcome.ok ? 128 + constants.signals[signal] : exitStatus(outcome);
}

process.exitCode = await main(process.argv.slice(2));
