// What the snapshot benchmark runs: our CLI as users run it, the baseline a user would script instead
// (`etcdctl snapshot save` + `aws s3 cp`), the S3 variants, and the function bundles' cold starts; and the
// private build all of them use.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { median, type ServerCpu, timed, withServerCpu } from './measure.js';
import { BUCKET, emptyGcs, emptyS3, etcdMember, gcsEmulator, radosgw, WORK } from './services.js';
import { log, MiB, ROOT, SETTINGS, type Store } from './settings.js';

const execFileP = promisify(execFile);
export const CLUSTER = 'bench';
const HOME = join(WORK, 'home');

/** One step of a run (the baseline has two for S3). */
export interface Step {
  what: string;
  wallS: number;
  rssMiB: number;
  cpuS: number;
}

/** One measured run: wall time, peak RSS and CPU of our process (or the baseline's steps), and the servers'. */
export interface Run extends ServerCpu {
  wallS: number;
  rssMiB: number;
  cpuS: number;
  /** Size of the snapshot written (uncompressed). */
  bytes: number;
  /** Bytes in the store (compressed, for a compressed snapshot). */
  storedBytes: number;
  steps: Step[];
}

/** A clean environment: no settings, credentials or NODE_OPTIONS from the caller's shell leak in. */
export function baseEnv(): NodeJS.ProcessEnv {
  mkdirSync(HOME, { recursive: true });
  return { PATH: process.env.PATH, HOME, LANG: 'C.UTF-8' };
}

export function storeEnv(store: Store): NodeJS.ProcessEnv {
  if (store === 's3') {
    const e = radosgw().env;
    return {
      BACKUP_URL: `s3://${BUCKET}/ours`,
      AWS_ENDPOINT_URL_S3: e.AWS_ENDPOINT_URL_S3,
      AWS_ACCESS_KEY_ID: e.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: e.AWS_SECRET_ACCESS_KEY,
      AWS_REGION: e.AWS_REGION,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
    };
  }
  if (store === 'gcs') return { BACKUP_URL: `gs://${BUCKET}/ours`, ...gcsEmulator().env };
  return { BACKUP_URL: `file://${join(WORK, 'local-store')}` };
}

/** The processes serving a run: etcd, and the store's server(s). */
function serverPids(store: Store): { etcd: number[]; store: number[] } {
  return { etcd: [etcdMember().pid], store: store === 's3' ? radosgw().pids : store === 'gcs' ? gcsEmulator().pids : [] };
}

/** The node flags bin/etcd-backup.js starts node with (its `exec "$n" … "$0"` line, $n being the node it found). */
export function binNodeFlags(bin: string): string[] {
  const flags = /exec "\$n" (.*) "\$0"/.exec(readFileSync(bin, 'utf8'))?.[1];
  if (flags === undefined) throw new Error(`${bin}: no "exec "$n" … "$0"" line: update bench/runs.ts`);
  return flags.split(' ');
}

/** Our CLI's environment for `store`: the store's settings, the cluster, nothing from the caller's shell. */
export function ourEnv(store: Store): NodeJS.ProcessEnv {
  return { ...baseEnv(), ...storeEnv(store), CLUSTER_NAME: CLUSTER, ETCD_ENDPOINTS: etcdMember().url, LOG_LEVEL: 'warn' };
}

/**
 * The snapshot a scheduled run finds in the store: the previous one of the same cluster, kept through the
 * runs of one size and store (the prefix of its keys: the snapshot and its manifest). What a run decides
 * from it (the cluster's identity, whether its data compresses: shared/compressibility.ts) is then decided
 * as on a schedule, not as on a cluster's very first snapshot.
 */
let previous: string | undefined;

/** The previous snapshot's key prefix in the buckets, where BACKUP_URL puts the keys under ours/ (storeEnv). */
const keptInBucket = () => previous && `ours/${previous}`;

/** Empties the store, then takes (untimed) and keeps the snapshot the measured runs will follow. */
export async function takePrevious(store: Store, app: string): Promise<void> {
  previous = undefined;
  await emptyStore(store);
  const { key } = await runOurs(store, app, { keep: true });
  previous = key.replace(/\.db(\.zst|\.gz)?$/, '');
  log(`  previous snapshot (kept, not measured): ${key}`);
}

/** Deletes every stored object but the previous snapshot's. */
async function emptyStore(store: Store): Promise<void> {
  if (store === 's3') await emptyS3(keptInBucket());
  else if (store === 'gcs') await emptyGcs(keptInBucket());
  else {
    const root = join(WORK, 'local-store');
    if (!previous || !existsSync(root)) return rmSync(root, { recursive: true, force: true });
    // The local store keeps each object's metadata beside it as `.<name>.meta.json`.
    const keep = [join(root, previous), join(root, dirname(previous), `.${basename(previous)}`)];
    for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name);
      if (entry.isFile() && !keep.some((k) => path.startsWith(k))) rmSync(path);
    }
  }
}

/**
 * `etcd-backup snapshot --json` from `app`, checked (`ok: true`); the stored snapshot is deleted afterwards
 * unless `keep` (then `key` names it).
 */
export async function runOurs(
  store: Store,
  app: string,
  { env: extraEnv = {}, profileDir, keep = false }: { env?: NodeJS.ProcessEnv; profileDir?: string; keep?: boolean } = {},
): Promise<Run & { key: string }> {
  const env = { ...ourEnv(store), ...extraEnv };
  // Run as a command, as npm links it: its first lines start node with the CLI's own flags. The profiler
  // is a node flag NODE_OPTIONS refuses, so a profiled run starts node itself, with the same flags.
  const bin = join(app, 'bin/etcd-backup.js');
  const [cmd, args]: [string, string[]] = profileDir
    ? [process.execPath, [...binNodeFlags(bin), '--cpu-prof', `--cpu-prof-dir=${profileDir}`, bin]]
    : [bin, []];
  const r = await withServerCpu(serverPids(store), () => timed(cmd, [...args, 'snapshot', '--json'], { env, cwd: app }));
  const result = JSON.parse(r.stdout) as { ok: boolean; key: string; size: number; storedSize?: number };
  if (!result.ok) throw new Error(`snapshot reported problems: ${r.stdout.slice(0, 2000)}`);
  if (!keep) await emptyStore(store);
  return {
    wallS: r.wallS,
    rssMiB: r.rssMiB,
    cpuS: r.cpuS,
    etcdCpuS: r.etcdCpuS,
    storeCpuS: r.storeCpuS,
    foreignCpuS: r.foreignCpuS,
    load1: r.load1,
    bytes: result.size,
    // Written before compression had its own size field, the stored object is the snapshot.
    storedBytes: result.storedSize ?? result.size,
    key: result.key,
    steps: [{ what: 'etcd-backup snapshot', wallS: r.wallS, rssMiB: r.rssMiB, cpuS: r.cpuS }],
  };
}

/**
 * `etcdctl snapshot save`, then for S3 `aws s3 cp` (Debian's AWS CLI with its defaults). `onFile` sees the
 * saved file after the measurement, before it is deleted.
 */
export async function runBaseline(store: Store, { onFile }: { onFile?: (file: string) => Promise<void> } = {}): Promise<Run> {
  const file = join(WORK, 'etcdctl-snapshot.db');
  rmSync(file, { force: true });
  try {
    const run = await withServerCpu(serverPids(store), async () => {
      const save = await timed('etcdctl', ['--endpoints', etcdMember().url, 'snapshot', 'save', file], {
        env: { ...baseEnv(), ETCDCTL_API: '3' },
      });
      const steps: Step[] = [{ what: 'etcdctl snapshot save', wallS: save.wallS, rssMiB: save.rssMiB, cpuS: save.cpuS }];
      const bytes = statSync(file).size;
      if (store === 's3') {
        const cp = await awsS3Cp(file, `s3://${BUCKET}/baseline/snapshot.db`);
        steps.push({ what: 'aws s3 cp', wallS: cp.wallS, rssMiB: cp.rssMiB, cpuS: cp.cpuS });
      }
      const wallS = steps.reduce((a, s) => a + s.wallS, 0);
      const cpuS = steps.reduce((a, s) => a + s.cpuS, 0);
      return { wallS, rssMiB: Math.max(...steps.map((s) => s.rssMiB)), cpuS, bytes, storedBytes: bytes, steps };
    });
    await onFile?.(file);
    return run;
  } finally {
    rmSync(file, { force: true });
    if (store === 's3') await emptyS3(keptInBucket());
  }
}

/** `aws s3 cp FROM TO` against radosgw (Debian's AWS CLI with its defaults), timed. */
export function awsS3Cp(from: string, to: string) {
  const e = radosgw().env;
  return timed(
    '/usr/bin/aws',
    ['--endpoint-url', e.AWS_ENDPOINT_URL_S3 ?? '', 's3', 'cp', from, to, '--only-show-errors', '--no-progress'],
    {
      env: {
        ...baseEnv(),
        AWS_ACCESS_KEY_ID: e.AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: e.AWS_SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION: e.AWS_REGION,
        // The CLI's defaults (8 MiB parts, 10 requests in parallel), whatever ~/.aws says.
        AWS_CONFIG_FILE: join(HOME, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(HOME, 'no-aws-credentials'),
        AWS_PAGER: '',
      },
    },
  );
}

/** Other S3 settings, run after each size's rotation (alternating with each other), to show what a default costs or saves. */
export const S3_VARIANTS = [
  { kind: 'conc2', env: { S3_UPLOAD_CONCURRENCY: '2' }, what: 'ours with S3_UPLOAD_CONCURRENCY=2 (the default before 1)' },
  { kind: 'parts8', env: { S3_PART_SIZE: '8MiB' }, what: 'ours with S3_PART_SIZE=8MiB (the default before 5MiB)' },
  {
    kind: 'none',
    env: { SNAPSHOT_COMPRESSION: 'none' },
    what: 'ours with SNAPSHOT_COMPRESSION=none (stored as it comes, as before compression)',
  },
] as const;

/**
 * Builds the CLI and the function bundles from a private copy of the sources, with the project's own
 * scripts/build.mjs: dist/ in the checkout is shared with whoever else works in it (a test run rebuilds it
 * from scratch), so measuring from it could catch it half-written.
 */
export async function buildApp(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const entry of ['package.json', 'scripts/build.mjs', 'bin', 'cli', 'shared', 'functions']) {
    cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  // The bundles leave some dependencies to node_modules, resolved upwards from the bundle.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  await execFileP(process.execPath, [join(dir, 'scripts/build.mjs')], { cwd: dir, maxBuffer: 16 * MiB });
  const expected = [
    'dist/cli.js',
    ...readdirSync(join(dir, 'functions')).flatMap((task) => ['aws', 'gcp'].map((p) => `dist/functions/${task}/${p}/index.mjs`)),
  ];
  const missing = expected.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) throw new Error(`the build left out ${missing.join(', ')}`);
}

export interface ColdStart {
  bundle: string;
  bytes: number;
  importMs: number;
  frameworkMs: number;
  processMs: number;
  rssMiB: number;
}

/** Size and cold start of every function bundle: `coldstartScript` in fresh node processes, median of SETTINGS.coldRuns. */
export async function coldStarts(app: string, coldstartScript: string): Promise<ColdStart[]> {
  const rows: ColdStart[] = [];
  const base = join(app, 'dist/functions');
  for (const task of readdirSync(base).sort()) {
    for (const platform of ['aws', 'gcp']) {
      const bundle = join(base, task, platform, 'index.mjs');
      if (!existsSync(bundle)) continue;
      const samples: { importMs: number; frameworkMs: number; rssMiB: number; processMs: number }[] = [];
      for (let i = 0; i < SETTINGS.coldRuns; i++) {
        const t0 = performance.now();
        const { stdout } = await execFileP(process.execPath, [coldstartScript, bundle, platform, task], { env: baseEnv(), cwd: app });
        samples.push({ ...JSON.parse(stdout), processMs: performance.now() - t0 });
      }
      const row: ColdStart = {
        bundle: `dist/functions/${task}/${platform}/index.mjs`,
        bytes: statSync(bundle).size,
        importMs: median(samples.map((s) => s.importMs)),
        frameworkMs: median(samples.map((s) => s.frameworkMs)),
        processMs: median(samples.map((s) => s.processMs)),
        rssMiB: median(samples.map((s) => s.rssMiB)),
      };
      rows.push(row);
      log(`cold start ${task}/${platform}: ${row.importMs.toFixed(0)} ms, ${(row.bytes / 1e6).toFixed(2)} MB`);
    }
  }
  return rows;
}
