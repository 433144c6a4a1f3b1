// What the restore benchmark runs (bench/k8s.ts): `etcd-backup restore --data-dir` from S3 as users run it,
// and what they would script instead: `aws s3 cp` of the plain snapshot, then `etcdutl snapshot restore`
// with the same flags ours passed it. etcdutl 3.5 (the primary restore tool) comes first on the PATH of
// our run through a wrapper that times it, so that what our process did and what etcdutl did are told apart.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { timed } from './measure.js';
import { awsS3Cp, baseEnv, binNodeFlags, ourEnv, type Step } from './runs.js';
import { WORK } from './services.js';

/** etcd 3.5's tools, unpacked beside Debian's 3.4 (scripts/services/install.sh). */
const ETCD35_BIN = process.env.ETCD35_DIR ? join(process.env.ETCD35_DIR, 'usr/bin') : '/var/cache/etcd-backup/etcd-3.5/usr/bin';
const ETCDUTL = join(ETCD35_BIN, 'etcdutl');

export interface RestoreRun {
  wallS: number;
  /** Our process alone: its CPU (GNU time's, minus the wrapper's for etcdutl) and its own peak RSS. */
  cpuS: number;
  rssMiB: number;
  /** etcdutl's share: its CPU, wall and peak RSS (the baseline's second step). */
  toolCpuS: number;
  toolWallS: number;
  toolRssMiB: number;
  steps: Step[];
}

const OUTPUT = () => join(WORK, 'restore.db');
const DATA_DIR = () => join(WORK, 'restored');

function clean(): void {
  rmSync(OUTPUT(), { force: true });
  rmSync(DATA_DIR(), { recursive: true, force: true });
}

/** Writes the wrapper `etcdutl` into WORK/tools; each call appends GNU time's "%e %M %U %S" line to `times`. */
function wrapper(times: string): string {
  const dir = join(WORK, 'tools');
  mkdirSync(dir, { recursive: true });
  const script = join(dir, 'etcdutl');
  writeFileSync(script, `#!/bin/sh\nexec /usr/bin/time -f '%e %M %U %S' -a -o '${times}' '${ETCDUTL}' "$@"\n`);
  chmodSync(script, 0o755);
  return dir;
}

/** The flags ours passed to etcdutl after the data dir (the revision bump), from its JSON result. */
export interface OurRestore extends RestoreRun {
  toolFlags: string[];
}

/**
 * `etcd-backup restore --key KEY --output FILE --data-dir DIR --json` from `app`, checked (`ok: true`, the
 * data dir restored); output and data dir removed afterwards. `profileDir`: under `node --cpu-prof`.
 */
export async function restoreOurs(app: string, key: string, { profileDir }: { profileDir?: string } = {}): Promise<OurRestore> {
  clean();
  const times = join(WORK, 'etcdutl-times.txt');
  rmSync(times, { force: true });
  const env = { ...ourEnv('s3'), PATH: `${wrapper(times)}:${process.env.PATH}` };
  const bin = join(app, 'bin/etcd-backup.js');
  const [cmd, pre]: [string, string[]] = profileDir
    ? [process.execPath, [...binNodeFlags(bin), '--cpu-prof', `--cpu-prof-dir=${profileDir}`, bin]]
    : [bin, []];
  try {
    const r = await timed(cmd, [...pre, 'restore', '--key', key, '--output', OUTPUT(), '--data-dir', DATA_DIR(), '--json'], {
      env,
      cwd: app,
      ownPeak: true,
    });
    const result = JSON.parse(r.stdout) as { ok: boolean; dataDir?: { ok: boolean; command: string[] } };
    if (!result.ok || !result.dataDir?.ok) throw new Error(`restore reported problems: ${r.stdout.slice(0, 2000)}`);
    // One line per etcdutl call: `version` (the preflight), then `snapshot restore`.
    const calls = readFileSync(times, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').map(Number));
    const tool = calls.at(-1) ?? [];
    const toolCpuS = calls.reduce((a, c) => a + (c[2] ?? 0) + (c[3] ?? 0), 0);
    const command = result.dataDir.command;
    return {
      wallS: r.wallS,
      cpuS: r.cpuS - toolCpuS,
      rssMiB: r.ownRssMiB ?? Number.NaN,
      toolCpuS,
      toolWallS: tool[0] ?? Number.NaN,
      toolRssMiB: (tool[1] ?? Number.NaN) / 1024,
      toolFlags: command.slice(command.indexOf('--data-dir') + 2),
      steps: [{ what: 'etcd-backup restore', wallS: r.wallS, rssMiB: r.ownRssMiB ?? Number.NaN, cpuS: r.cpuS - toolCpuS }],
    };
  } finally {
    clean();
  }
}

/** `aws s3 cp URL FILE`, then `etcdutl snapshot restore FILE --data-dir DIR FLAGS`; both removed afterwards. */
export async function restoreBaseline(url: string, flags: string[]): Promise<RestoreRun> {
  clean();
  try {
    const cp = await awsS3Cp(url, OUTPUT());
    const tool = await timed(ETCDUTL, ['snapshot', 'restore', OUTPUT(), '--data-dir', DATA_DIR(), ...flags], { env: baseEnv() });
    const steps: Step[] = [
      { what: 'aws s3 cp', wallS: cp.wallS, rssMiB: cp.rssMiB, cpuS: cp.cpuS },
      { what: 'etcdutl snapshot restore', wallS: tool.wallS, rssMiB: tool.rssMiB, cpuS: tool.cpuS },
    ];
    return {
      wallS: cp.wallS + tool.wallS,
      cpuS: cp.cpuS,
      rssMiB: cp.rssMiB,
      toolCpuS: tool.cpuS,
      toolWallS: tool.wallS,
      toolRssMiB: tool.rssMiB,
      steps,
    };
  } finally {
    clean();
  }
}
