// First: caps the young generation before anything allocates (shared/young-generation.ts).
import '../shared/young-generation.js';
import { parseArgs } from 'node:util';
import { settingsFromEnv, type SettingValues } from '../shared/config/config.js';
import { SETTINGS } from '../shared/config/settings.js';
import { describeError, formatError } from '../shared/errors.js';
import { redactSecrets } from '../shared/redact.js';
import { argFlag, isTaskName, type ResultOf, runTask, taskArgs, TASKS, type TaskArgs, type TaskName } from '../shared/tasks/index.js';
import { EXIT_OK, EXIT_USAGE, exitStatus } from './exit.js';
import { formatExclude, formatList, formatPrune, formatRestore, formatReupload, formatSnapshot, formatVerify } from './format.js';
import { helpText } from './help.js';

/** Human-readable output per command (without --json). */
const HUMAN: { [N in TaskName]: (result: ResultOf<N>) => string } = {
  snapshot: formatSnapshot,
  verify: formatVerify,
  prune: formatPrune,
  reupload: formatReupload,
  exclude: formatExclude,
  restore: formatRestore,
  list: formatList,
};

function print(text: string): void {
  process.stdout.write(`${redactSecrets(text)}\n`);
}

function usageError(message: string, json: boolean): number {
  if (json) print(JSON.stringify({ ok: false, error: { name: 'UsageError', code: 'usage', message } }));
  else process.stderr.write(`${message}\nRun etcd-backup --help for usage.\n`);
  return EXIT_USAGE;
}

export async function main(argv: string[]): Promise<number> {
  const options = Object.fromEntries([
    ['json', { type: 'boolean' }],
    ['help', { type: 'boolean', short: 'h' }],
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
  if (values.help || positionals.length === 0) {
    print(helpText());
    return values.help ? EXIT_OK : EXIT_USAGE;
  }
  const [command, ...extra] = positionals;
  if (!command || !isTaskName(command)) return usageError(`unknown command "${command}"; commands: ${Object.keys(TASKS).join(', ')}`, json);
  if (extra.length > 0) return usageError(`unexpected argument(s): ${extra.join(' ')}`, json);

  const settings: SettingValues = settingsFromEnv();
  for (const s of SETTINGS) {
    const value = values[s.flag.slice(2)];
    if (value !== undefined) settings[s.env] = String(value);
  }
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
  return runCommand(command, settings, args, json);
}

/** Runs one task, prints its result (or error) and returns the exit status. */
async function runCommand<N extends TaskName>(command: N, settings: SettingValues, args: TaskArgs, json: boolean): Promise<number> {
  const outcome = await runTask(command, settings, { args });
  if (json) {
    print(JSON.stringify(outcome.ok || outcome.result ? outcome.result : { ok: false, error: describeError(outcome.error) }, null, 2));
  } else if (outcome.result) {
    const human: (result: ResultOf<N>) => string = HUMAN[command];
    print(human(outcome.result));
  } else {
    process.stderr.write(`${redactSecrets(`etcd-backup ${command}: ${formatError(outcome.error)}`)}\n`);
  }
  return exitStatus(outcome);
}

process.exitCode = await main(process.argv.slice(2));
