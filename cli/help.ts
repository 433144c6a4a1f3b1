import { SETTINGS } from '../shared/config/settings.js';
import { argFlag, taskArgs, TASKS, type TaskName } from '../shared/tasks/index.js';
import { TOOL } from '../shared/version.js';
import { EXIT_FAILED, EXIT_OK, EXIT_PRECONDITION, EXIT_USAGE } from './exit.js';

type Setting = (typeof SETTINGS)[number];

/** One line per argument of the task, its flag and what it does. */
function argLines(task: TaskName, indent: string): string[] {
  return Object.entries(taskArgs(task)).map(
    ([arg, spec]) => `${indent}${(argFlag(arg) + (spec.type === 'string' ? ' VALUE' : '')).padEnd(24)} ${spec.description}`,
  );
}

/** One line per setting: flag, env var, what it does, default. */
function settingLines(settings: readonly Setting[]): string[] {
  const width = Math.max(...settings.map((s) => s.flag.length + ('boolean' in s ? 0 : 6)));
  return settings.map((s) => {
    const flag = 'boolean' in s ? s.flag : `${s.flag} VALUE`;
    const def = 'default' in s ? ` [default: ${s.default}]` : '';
    return `  ${flag.padEnd(width)}  ${s.env}: ${s.description}${def}`;
  });
}

const OUTPUT = [
  'Output:',
  '  --json     print exactly one JSON document on stdout (logs always go to stderr)',
  '  --help     this text',
] as const;

/** Where a task reads the etcd settings: etcdctl's own variables stand in for unset ones. */
const ETCDCTL_NOTE = [
  "etcdctl's variables are read when the settings above are unset: ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ETCDCTL_CERT,",
  'ETCDCTL_KEY, and ETCDCTL_USER as user:password.',
] as const;

const EXIT_STATUS = [
  'Exit status:',
  `  ${EXIT_OK}  success`,
  `  ${EXIT_FAILED}  the task failed, or finished with problems (the output says which)`,
  `  ${EXIT_USAGE}  bad usage, setting or argument: refused before any I/O`,
  `  ${EXIT_PRECONDITION}  refused by what was found: the output file exists, the data dir is not empty, no restore tool on the PATH, the snapshot is excluded`,
  '  130, 143  interrupted by SIGINT (Ctrl-C) or SIGTERM: the upload was aborted and temporary files removed',
] as const;

export function versionText(): string {
  return `${TOOL.name} ${TOOL.version}`;
}

export function helpText(): string {
  const commands = Object.entries(TASKS).flatMap(([name, t]) => [
    `  ${name.padEnd(10)} ${t.description}`,
    ...argLines(name as TaskName, `  ${''.padEnd(10)}   `),
  ]);
  return [
    `${TOOL.name} ${TOOL.version}: back up etcd into S3, Google Cloud Storage or a local directory`,
    '',
    `Usage: ${TOOL.name} <command> [options]`,
    `       ${TOOL.name} <command> --help    that command's options and the settings it reads`,
    `       ${TOOL.name} --version`,
    '',
    'Commands:',
    ...commands,
    '',
    ...OUTPUT,
    '  --version  print the version',
    '',
    'Settings (each flag overrides its environment variable):',
    ...settingLines(SETTINGS),
    ...ETCDCTL_NOTE,
    '',
    ...EXIT_STATUS,
  ].join('\n');
}

/** `etcd-backup <task> --help`: the task's own flags and the settings it reads, and no others. */
export function commandHelp(task: TaskName): string {
  const spec = TASKS[task];
  const args = argLines(task, '  ');
  return [
    `Usage: ${TOOL.name} ${task} [options]`,
    '',
    spec.description,
    '',
    ...(args.length > 0 ? ['Options:', ...args, ''] : []),
    ...OUTPUT,
    '',
    'Settings (each flag overrides its environment variable):',
    ...settingLines(SETTINGS.filter((s) => spec.settings.includes(s.env))),
    ...(spec.settings.includes('ETCD_ENDPOINTS') ? ETCDCTL_NOTE : []),
    '',
    ...EXIT_STATUS,
  ].join('\n');
}
