import { SETTINGS } from '../shared/config/settings.js';
import { argFlag, taskArgs, TASKS, type TaskName } from '../shared/tasks/index.js';
import { TOOL } from '../shared/version.js';
import { EXIT_FAILED, EXIT_OK, EXIT_PRECONDITION, EXIT_USAGE } from './exit.js';

export function helpText(): string {
  const commands = Object.entries(TASKS).flatMap(([name, t]) => [
    `  ${name.padEnd(10)} ${t.description}`,
    ...Object.entries(taskArgs(name as TaskName)).map(
      ([arg, spec]) => `  ${''.padEnd(10)}   ${(argFlag(arg) + (spec.type === 'string' ? ' VALUE' : '')).padEnd(24)} ${spec.description}`,
    ),
  ]);
  const width = Math.max(...SETTINGS.map((s) => s.flag.length + ('boolean' in s ? 0 : 6)));
  const settings = SETTINGS.map((s) => {
    const flag = 'boolean' in s ? s.flag : `${s.flag} VALUE`;
    const def = 'default' in s ? ` [default: ${s.default}]` : '';
    return `  ${flag.padEnd(width)}  ${s.env}: ${s.description}${def}`;
  });
  return [
    `${TOOL.name} ${TOOL.version}: back up etcd into S3, Google Cloud Storage or a local directory`,
    '',
    `Usage: ${TOOL.name} <command> [options]`,
    '',
    'Commands:',
    ...commands,
    '',
    'Output:',
    '  --json     print exactly one JSON document on stdout (logs always go to stderr)',
    '  --help     this text',
    '',
    'Settings (each flag overrides its environment variable):',
    ...settings,
    '',
    'Exit status:',
    `  ${EXIT_OK}  success`,
    `  ${EXIT_FAILED}  the task failed, or finished with problems (the output says which)`,
    `  ${EXIT_USAGE}  bad usage, setting or argument: refused before any I/O`,
    `  ${EXIT_PRECONDITION}  refused by what was found: the output file exists, the data dir is not empty, no restore tool on the PATH, the snapshot is excluded`,
  ].join('\n');
}
