// `npm run bench` (through bench/run.sh, which installs and builds first): measures the snapshot task the way
// users run it (`bin/etcd-backup.js snapshot` as a command, settings in the environment) against what a user would
// script instead (`etcdctl snapshot save` + `aws s3 cp`), for the S3 store (Ceph radosgw), the local
// directory store and the GCS store (the Cloud Storage emulator), at etcd databases of about 0.5, 1 and 2 GB;
// profiles one run; measures the function bundles' size and cold-start import time; writes all of it, with
// the method, to docs/benchmarks.md.
//
// Everything runs on loopback, against services this script starts on free ports and stops when it ends
// (also on failure and on ctrl-c); temp files live under /tmp/etcd-backup-bench/run-PID, removed at the end.
// A run that was killed -9 leaves them behind: the next run sweeps them.
//
// Settings (environment):
//   BENCH_SIZES_MIB     etcd database sizes to load, in MiB          default 512,1024,2048
//   BENCH_REPS_S3       repetitions per size (ours and baseline each) default 3
//   BENCH_REPS_LOCAL                                                 default 3
//   BENCH_REPS_GCS                                                   default 2
//   BENCH_GCS_MAX_MIB   largest size run against the GCS emulator    default 1024 (it cannot take 2 GiB, see the doc)
//   BENCH_PROFILE_MIB   size at which one S3 run is profiled         default 1024 (0: no profile)
//   BENCH_BEFORE_MIB    size at which the pre-optimisation CLI runs  default 0 = not at all (it needs
//                       @aws-sdk/lib-storage, no longer a dependency: npm i --no-save it first)
//   BENCH_COLD_RUNS     fresh processes per bundle for cold start     default 5
//   BENCH_DEADLINE_MIN  measurements stop being started after this   default 30
//   BENCH_OUT           the report                                   default docs/benchmarks.md
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BEFORE_REF, CHANGED_FILES, buildBefore } from './before.mjs';
import { analyzeProfile } from './profile.mjs';

const execFileP = promisify(execFile);
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(ROOT, 'package.json'));
const { Etcd3 } = require('etcd3');
const { S3Client, CreateBucketCommand, ListObjectsV2Command, DeleteObjectsCommand } = require('@aws-sdk/client-s3');
const { Storage } = require('@google-cloud/storage');

const MiB = 1024 * 1024;
const num = (name, fallback) => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number, got "${value}"`);
  return n;
};
const SETTINGS = {
  sizesMiB: (process.env.BENCH_SIZES_MIB ?? '512,1024,2048')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0)
    .sort((a, b) => a - b),
  reps: { s3: num('BENCH_REPS_S3', 3), local: num('BENCH_REPS_LOCAL', 3), gcs: num('BENCH_REPS_GCS', 2) },
  gcsMaxMiB: num('BENCH_GCS_MAX_MIB', 1024),
  profileMiB: num('BENCH_PROFILE_MIB', 1024),
  beforeMiB: num('BENCH_BEFORE_MIB', 0),
  coldRuns: num('BENCH_COLD_RUNS', 5),
  deadlineMin: num('BENCH_DEADLINE_MIN', 30),
  out: process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : join(ROOT, 'docs/benchmarks.md'),
};
/** Per command; a 2 GiB run takes well under a minute here. */
const COMMAND_TIMEOUT_MS = 5 * 60_000;
const CLUSTER = 'bench';
const BUCKET = 'bench';

const log = (...args) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------------------------------------------------
// Work dir, cleanup

const BASE = '/tmp/etcd-backup-bench';
const WORK = join(BASE, `run-${process.pid}`);
const SERVICES = join(ROOT, 'scripts/services');
const children = new Set();

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops what a run left behind: its services by their pid files (the scripts check command lines). */
function stopDirSync(dir) {
  for (const entry of existsSync(dir) ? readdirSync(dir) : []) {
    const path = join(dir, entry);
    if (entry.startsWith('rgw')) execFileSync('bash', [join(SERVICES, 'rgw.sh'), 'stop', path], { stdio: 'ignore' });
    else if (entry.startsWith('gcs')) execFileSync('bash', [join(SERVICES, 'gcs.sh'), 'stop', path], { stdio: 'ignore' });
  }
  const etcdPid = join(dir, 'etcd.pid');
  if (existsSync(etcdPid)) {
    execFileSync('bash', ['-c', `source "${join(SERVICES, 'lib.sh')}"; SERVICE=bench; stop_pidfiles TERM "${dir}" "${etcdPid}"`], {
      stdio: 'ignore',
    });
  }
}

function sweepStaleRuns() {
  if (!existsSync(BASE)) return;
  for (const entry of readdirSync(BASE)) {
    const pid = Number(/^run-(\d+)$/.exec(entry)?.[1]);
    if (!pid || pidAlive(pid)) continue;
    const dir = join(BASE, entry);
    log(`removing what an earlier run left behind: ${dir}`);
    try {
      stopDirSync(dir);
    } catch {
      // best effort
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

let cleanedUp = false;
function cleanupSync() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  try {
    stopDirSync(WORK);
  } catch {
    // best effort
  }
  rmSync(WORK, { recursive: true, force: true });
}
process.on('exit', cleanupSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    log(`${signal}: stopping everything`);
    cleanupSync();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Processes and measurements

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds a process has used so far (0 if it is gone). */
function cpuOf(pid) {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU seconds the whole machine has been busy (all cores, all processes). */
function machineBusy() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = line;
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

const load1 = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const memAvailableGiB = () => Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024 / 1024;

/**
 * Runs one command under GNU time: wall time (measured here), its peak RSS (%M, the max resident set
 * of the process), its user+system CPU.
 */
async function timed(cmd, args, { env, cwd = WORK, timeoutMs = COMMAND_TIMEOUT_MS } = {}) {
  const timeFile = join(WORK, `time-${randomBytes(4).toString('hex')}.txt`);
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%e %M %U %S', '-o', timeFile, cmd, ...args], {
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout = (stdout + d).slice(-200_000);
  });
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-20_000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, timeoutMs);
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  children.delete(child);
  const wallS = (performance.now() - t0) / 1000;
  let rssMiB = NaN;
  let cpuS = NaN;
  try {
    const last = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
    rssMiB = last[1] / 1024;
    cpuS = last[2] + last[3];
  } catch {
    // no time file: the command did not run
  }
  rmSync(timeFile, { force: true });
  if (timedOut) throw new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs / 1000} s`);
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${stderr.slice(-3000)}`);
  return { wallS, rssMiB, cpuS, stdout, stderr };
}

// ---------------------------------------------------------------------------------------------------------
// Services

const state = { etcd: undefined, rgw: undefined, gcs: undefined };

async function startEtcd() {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const dataDir = join(WORK, 'etcd-data');
  const url = `http://127.0.0.1:${clientPort}`;
  const child = spawn(
    'etcd',
    [
      '--name',
      'bench',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-cluster',
      `bench=http://127.0.0.1:${peerPort}`,
      // The default quota (2 GiB) would refuse the largest database.
      '--quota-backend-bytes',
      String(8 * 1024 ** 3),
    ],
    { stdio: ['ignore', 'ignore', openSync(join(WORK, 'etcd.log'), 'w')], detached: true },
  );
  writeFileSync(join(WORK, 'etcd.pid'), String(child.pid));
  child.unref();
  const logTail = () => readFileSync(join(WORK, 'etcd.log'), 'utf8').slice(-4000);
  state.etcd = { url, pid: child.pid, child };
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      await execFileP('etcdctl', ['--endpoints', url, 'endpoint', 'health'], { env: { ...process.env, ETCDCTL_API: '3' } });
      return;
    } catch (error) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`etcd did not start: ${error}\n${logTail()}`);
      await sleep(200);
    }
  }
}

async function etcdStatus() {
  const client = new Etcd3({ hosts: state.etcd.url });
  try {
    return await client.maintenance.status();
  } finally {
    client.close();
  }
}

/** Puts 256 KiB values, 8 at a time, until the database is at least `bytes` big. */
async function loadTo(bytes) {
  const client = new Etcd3({ hosts: state.etcd.url });
  const value = randomBytes(256 * 1024);
  const t0 = performance.now();
  let written = 0;
  try {
    let size = Number((await client.maintenance.status()).dbSize);
    const start = size;
    // Bounded: the database grows by at least the value size per put.
    const maxPuts = Math.ceil((bytes - size) / value.length) * 2 + 64;
    while (size < bytes && written < maxPuts) {
      for (let batch = 0; batch < 8; batch++) {
        await Promise.all(Array.from({ length: 8 }, () => client.put(`/bench/${String(state.nextKey++).padStart(8, '0')}`).value(value)));
        written += 8;
      }
      size = Number((await client.maintenance.status()).dbSize);
    }
    const s = (performance.now() - t0) / 1000;
    log(`loaded ${written} values of 256 KiB: database ${(size / MiB).toFixed(0)} MiB (${((size - start) / MiB / s).toFixed(0)} MiB/s)`);
    return { dbBytes: size, seconds: s };
  } finally {
    client.close();
  }
}

async function startRgw(sizeMiB) {
  const dir = join(WORK, `rgw-${sizeMiB}`);
  // RAM-backed: room for two snapshots at once plus slack; each is deleted (and garbage-collected) right
  // after its run, so RAM in use stays near one snapshot.
  const memstore = Math.max(4 * 1024, 3 * sizeMiB + 2048) * MiB;
  await execFileP('bash', [join(SERVICES, 'rgw.sh'), 'start', dir], {
    env: { ...process.env, RGW_MEMSTORE_BYTES: String(memstore) },
    maxBuffer: 16 * MiB,
  });
  const env = Object.fromEntries(
    readFileSync(join(dir, 'env'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const pid = (name) => Number(readFileSync(join(dir, 'run', `${name}.pid`), 'utf8'));
  state.rgw = { dir, env, pids: [pid('client.rgw.a'), pid('osd.0'), pid('mon.a')] };
  const client = s3Client();
  try {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  } finally {
    client.destroy();
  }
}

async function stopRgw() {
  if (!state.rgw) return;
  await execFileP('bash', [join(SERVICES, 'rgw.sh'), 'stop', state.rgw.dir]);
  rmSync(state.rgw.dir, { recursive: true, force: true });
  state.rgw = undefined;
}

function s3Client() {
  const e = state.rgw.env;
  return new S3Client({
    endpoint: e.AWS_ENDPOINT_URL_S3,
    region: e.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Deletes every object in the bench bucket and has radosgw free their space now (not in 2 hours). */
async function emptyS3() {
  const client = s3Client();
  try {
    for (let page = 0; page < 100; page++) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key }));
      if (keys.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys } }));
    }
  } finally {
    client.destroy();
  }
  await execFileP('radosgw-admin', ['-c', join(state.rgw.dir, 'ceph.conf'), 'gc', 'process', '--include-all'], { maxBuffer: 16 * MiB });
}

async function startGcs(sizeMiB) {
  const dir = join(WORK, `gcs-${sizeMiB}`);
  await execFileP('bash', [join(SERVICES, 'gcs.sh'), 'start', dir], { maxBuffer: 16 * MiB });
  const env = Object.fromEntries(
    readFileSync(join(dir, 'env'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  state.gcs = { dir, env, pids: [Number(readFileSync(join(dir, 'emulator.pid'), 'utf8'))] };
}

/** The emulator's peak RSS so far, in MiB (VmHWM). */
function gcsPeakMiB() {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${state.gcs.pids[0]}/status`, 'utf8'))?.[1]) / 1024;
  } catch {
    return NaN;
  }
}

async function stopGcs() {
  if (!state.gcs) return;
  await execFileP('bash', [join(SERVICES, 'gcs.sh'), 'stop', state.gcs.dir]);
  rmSync(state.gcs.dir, { recursive: true, force: true });
  state.gcs = undefined;
}

async function emptyGcs() {
  const storage = new Storage({ apiEndpoint: state.gcs.env.STORAGE_EMULATOR_HOST, projectId: state.gcs.env.GOOGLE_CLOUD_PROJECT });
  const [files] = await storage.bucket(BUCKET).getFiles();
  for (const file of files) await file.delete({ ignoreNotFound: true });
}

// ---------------------------------------------------------------------------------------------------------
// What is measured

const HOME = join(WORK, 'home');
/** A clean environment: no settings, credentials or NODE_OPTIONS from the caller's shell leak in. */
const baseEnv = () => ({ PATH: process.env.PATH, HOME, LANG: 'C.UTF-8' });

function storeEnv(store) {
  if (store === 's3') {
    const e = state.rgw.env;
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
  if (store === 'gcs') return { BACKUP_URL: `gs://${BUCKET}/ours`, ...state.gcs.env };
  return { BACKUP_URL: `file://${join(WORK, 'local-store')}` };
}

/** The processes serving a run: etcd, and the store's server(s). */
function serverPids(store) {
  return { etcd: [state.etcd.pid], store: store === 's3' ? state.rgw.pids : store === 'gcs' ? state.gcs.pids : [] };
}

/** Runs `fn`, adding what etcd, the store server and everything else on the machine used meanwhile. */
async function withServerCpu(store, fn) {
  const pids = serverPids(store);
  const sum = (list) => list.reduce((a, p) => a + cpuOf(p), 0);
  const before = { etcd: sum(pids.etcd), store: sum(pids.store), machine: machineBusy(), load: load1() };
  const result = await fn();
  const etcdCpuS = sum(pids.etcd) - before.etcd;
  const storeCpuS = sum(pids.store) - before.store;
  const machineS = machineBusy() - before.machine;
  const foreignCpuS = Math.max(0, machineS - etcdCpuS - storeCpuS - result.cpuS);
  return { ...result, etcdCpuS, storeCpuS, foreignCpuS, load1: before.load };
}

/** The node flags bin/etcd-backup.js starts node with (its `exec node … "$0"` line). */
function binNodeFlags(bin) {
  const flags = /exec node (.*) "\$0"/.exec(readFileSync(bin, 'utf8'))?.[1];
  if (flags === undefined) throw new Error(`${bin}: no "exec node … "$0"" line: update bench/bench.mjs`);
  return flags.split(' ');
}

async function runOurs(store, app, { env: extraEnv = {}, profileDir } = {}) {
  const env = { ...baseEnv(), ...storeEnv(store), CLUSTER_NAME: CLUSTER, ETCD_ENDPOINTS: state.etcd.url, LOG_LEVEL: 'warn', ...extraEnv };
  // Run as a command, as npm links it: its first lines start node with the CLI's own flags. The profiler
  // is a node flag NODE_OPTIONS refuses, so a profiled run starts node itself, with the same flags.
  const bin = join(app, 'bin/etcd-backup.js');
  const [cmd, args] = profileDir
    ? [process.execPath, [...binNodeFlags(bin), '--cpu-prof', `--cpu-prof-dir=${profileDir}`, bin]]
    : [bin, []];
  const r = await withServerCpu(store, () => timed(cmd, [...args, 'snapshot', '--json'], { env, cwd: app }));
  const result = JSON.parse(r.stdout);
  if (!result.ok) throw new Error(`snapshot reported problems: ${r.stdout.slice(0, 2000)}`);
  if (store === 's3') await emptyS3();
  else if (store === 'gcs') await emptyGcs();
  else rmSync(join(WORK, 'local-store'), { recursive: true, force: true });
  return { ...r, bytes: result.size, steps: [{ what: 'etcd-backup snapshot', wallS: r.wallS, rssMiB: r.rssMiB, cpuS: r.cpuS }] };
}

async function runBaseline(store) {
  const file = join(WORK, 'etcdctl-snapshot.db');
  rmSync(file, { force: true });
  try {
    return await withServerCpu(store, async () => {
      const save = await timed('etcdctl', ['--endpoints', state.etcd.url, 'snapshot', 'save', file], {
        env: { ...baseEnv(), ETCDCTL_API: '3' },
      });
      const steps = [{ what: 'etcdctl snapshot save', wallS: save.wallS, rssMiB: save.rssMiB, cpuS: save.cpuS }];
      const bytes = statSync(file).size;
      if (store === 's3') {
        const e = state.rgw.env;
        const cp = await timed(
          '/usr/bin/aws',
          [
            '--endpoint-url',
            e.AWS_ENDPOINT_URL_S3,
            's3',
            'cp',
            file,
            `s3://${BUCKET}/baseline/snapshot.db`,
            '--only-show-errors',
            '--no-progress',
          ],
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
        steps.push({ what: 'aws s3 cp', wallS: cp.wallS, rssMiB: cp.rssMiB, cpuS: cp.cpuS });
      }
      const wallS = steps.reduce((a, s) => a + s.wallS, 0);
      return { wallS, rssMiB: Math.max(...steps.map((s) => s.rssMiB)), cpuS: steps.reduce((a, s) => a + s.cpuS, 0), bytes, steps };
    });
  } finally {
    rmSync(file, { force: true });
    if (store === 's3') await emptyS3();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Main

const results = [];
const notes = [];
const emulatorPeaks = [];
const started = Date.now();
const pastDeadline = () => Date.now() - started > SETTINGS.deadlineMin * 60_000;

/** Other S3 settings, run after each size's rotation (ours and the variants alternating), to show what a default costs or saves. */
const S3_VARIANTS = [
  { kind: 'conc2', env: { S3_UPLOAD_CONCURRENCY: '2' }, what: 'ours with S3_UPLOAD_CONCURRENCY=2 (the default before 1)' },
  { kind: 'parts8', env: { S3_PART_SIZE: '8MiB' }, what: 'ours with S3_PART_SIZE=8MiB (the default before 5MiB)' },
];
const VARIANT_REPS = 2;

async function measure(store, sizeMiB, kind, rep, fn) {
  if (pastDeadline()) {
    notes.push(`Deadline (${SETTINGS.deadlineMin} min) reached: ${store} ${kind} at ${sizeMiB} MiB, repetition ${rep}, was not run.`);
    return;
  }
  log(`${store} ${sizeMiB} MiB: ${kind} #${rep} ...`);
  const r = await fn();
  results.push({ store, sizeMiB, kind, rep, ...r, stdout: undefined, stderr: undefined });
  log(
    `  ${r.wallS.toFixed(2)} s, peak RSS ${r.rssMiB.toFixed(0)} MiB, ${(r.bytes / MiB).toFixed(0)} MiB (etcd ${r.etcdCpuS.toFixed(1)} CPU-s, store ${r.storeCpuS.toFixed(1)}, other load ${r.foreignCpuS.toFixed(1)})`,
  );
}

/**
 * Builds the CLI and the function bundles from a private copy of the sources, with the project's own
 * scripts/build.mjs: dist/ in the checkout is shared with whoever else works in it (a test run rebuilds it
 * from scratch), so measuring from it could catch it half-written.
 */
async function buildApp(dir) {
  mkdirSync(dir, { recursive: true });
  for (const entry of ['package.json', 'scripts/build.mjs', 'bin', 'cli', 'shared', 'functions']) {
    cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  // The bundles leave some dependencies to node_modules, resolved upwards from the bundle.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  await execFileP(process.execPath, [join(dir, 'scripts/build.mjs')], { cwd: dir, maxBuffer: 16 * MiB });
  const missing = readdirSync(join(dir, 'functions'))
    .flatMap((task) => ['aws', 'gcp'].map((p) => `dist/functions/${task}/${p}/index.mjs`))
    .filter((f) => !existsSync(join(dir, f)));
  if (!existsSync(join(dir, 'dist/cli.js')) || missing.length > 0)
    throw new Error(`the build left out ${['dist/cli.js', ...missing].filter((f) => !existsSync(join(dir, f))).join(', ')}`);
}

async function coldStarts(app) {
  const rows = [];
  const base = join(app, 'dist/functions');
  for (const task of readdirSync(base).sort()) {
    for (const platform of ['aws', 'gcp']) {
      const bundle = join(base, task, platform, 'index.mjs');
      if (!existsSync(bundle)) continue;
      const samples = [];
      for (let i = 0; i < SETTINGS.coldRuns; i++) {
        const t0 = performance.now();
        const { stdout } = await execFileP(process.execPath, [join(ROOT, 'bench/coldstart.mjs'), bundle, platform, task], {
          env: baseEnv(),
          cwd: app,
        });
        samples.push({ ...JSON.parse(stdout), processMs: performance.now() - t0 });
      }
      rows.push({
        bundle: `dist/functions/${task}/${platform}/index.mjs`,
        bytes: statSync(bundle).size,
        importMs: median(samples.map((s) => s.importMs)),
        frameworkMs: median(samples.map((s) => s.frameworkMs)),
        processMs: median(samples.map((s) => s.processMs)),
        rssMiB: median(samples.map((s) => s.rssMiB)),
      });
      log(`cold start ${task}/${platform}: ${rows.at(-1).importMs.toFixed(0)} ms, ${(rows.at(-1).bytes / 1e6).toFixed(2)} MB`);
    }
  }
  return rows;
}

async function machineFacts() {
  const version = async (cmd, args, re) => {
    try {
      const { stdout, stderr } = await execFileP(cmd, args, { env: { ...baseEnv(), ETCDCTL_API: '3' } });
      const text = `${stdout}\n${stderr}`;
      return (re ? re.exec(text)?.[1] : text.trim().split('\n')[0]) ?? '?';
    } catch {
      return 'not found';
    }
  };
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  let firebase = '?';
  try {
    firebase = JSON.parse(readFileSync(join(ROOT, 'test/services/gcs-emulator/node_modules/firebase-tools/package.json'), 'utf8')).version;
  } catch {
    // not installed
  }
  return {
    date: new Date().toISOString(),
    nproc: (await execFileP('nproc')).stdout.trim(),
    cpu: cpus()[0]?.model ?? '?',
    memGiB: (totalmem() / 1024 ** 3).toFixed(1),
    kernel: (await execFileP('uname', ['-r'])).stdout.trim(),
    os: /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '?',
    node: process.version,
    etcd: await version('etcd', ['--version'], /etcd Version: (\S+)/),
    etcdctl: await version('etcdctl', ['version'], /etcdctl version: (\S+)/),
    radosgw: await version('radosgw', ['--version'], /ceph version (\S+)/),
    aws: await version('/usr/bin/aws', ['--version'], /(aws-cli\/\S+ Python\/\S+)/),
    firebase,
    deps: pkg.dependencies,
    commit: (await execFileP('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).catch(() => ({ stdout: '?' }))).stdout.trim(),
    dirty: (await execFileP('git', ['-C', ROOT, 'status', '--porcelain']).catch(() => ({ stdout: '' }))).stdout.trim() !== '',
  };
}

async function main() {
  sweepStaleRuns();
  mkdirSync(HOME, { recursive: true });
  const app = join(WORK, 'app');
  log('building the CLI and the function bundles (scripts/build.mjs, private copy of the sources)');
  await buildApp(app);
  let before;
  if (SETTINGS.beforeMiB > 0) {
    before = join(WORK, 'app-before');
    try {
      mkdirSync(before, { recursive: true });
      await buildBefore(app, before, BEFORE_REF, CHANGED_FILES, ROOT);
      symlinkSync(join(ROOT, 'node_modules'), join(before, 'node_modules'));
    } catch (error) {
      notes.push(
        `The pre-optimisation CLI (${BEFORE_REF}) could not be built against this tree, so it was not measured: ${String(error).split('\n')[0]}`,
      );
      before = undefined;
    }
  }
  const facts = await machineFacts();
  log(`machine: ${facts.nproc} cores, ${facts.memGiB} GiB, ${facts.cpu}; load ${load1()}`);

  const cold = await coldStarts(app);

  /** Ours and the baseline in turn, with the pre-optimisation CLI in the rotation at its size when given. */
  const alternate = async (store, sizeMiB, beforeApp) => {
    for (let rep = 1; rep <= SETTINGS.reps[store]; rep++) {
      await measure(store, sizeMiB, 'ours', rep, () => runOurs(store, app));
      await measure(store, sizeMiB, 'baseline', rep, () => runBaseline(store));
      if (beforeApp && sizeMiB === SETTINGS.beforeMiB && rep <= 2)
        await measure(store, sizeMiB, 'before', rep, () => runOurs(store, beforeApp));
    }
  };

  await startEtcd();
  state.nextKey = 0;
  const loads = [];
  let profile;
  for (const sizeMiB of SETTINGS.sizesMiB) {
    loads.push({ sizeMiB, ...(await loadTo(sizeMiB * MiB)) });

    // S3 (radosgw)
    const needS3 = (2.5 * sizeMiB) / 1024 + 1;
    if (memAvailableGiB() < needS3) {
      notes.push(
        `S3 at ${sizeMiB} MiB skipped: ${memAvailableGiB().toFixed(1)} GiB of memory available, radosgw's RAM store needs about ${needS3.toFixed(1)}.`,
      );
    } else {
      await startRgw(sizeMiB);
      try {
        await alternate('s3', sizeMiB, before);
        for (let rep = 1; rep <= VARIANT_REPS; rep++) {
          for (const v of S3_VARIANTS) await measure('s3', sizeMiB, v.kind, rep, () => runOurs('s3', app, { env: v.env }));
        }
        if (sizeMiB === SETTINGS.profileMiB && !pastDeadline()) {
          const dir = join(WORK, 'profile');
          log(`profiling one S3 run at ${sizeMiB} MiB`);
          const r = await runOurs('s3', app, { profileDir: dir });
          profile = {
            sizeMiB,
            wallS: r.wallS,
            ...analyzeProfile(
              join(
                dir,
                readdirSync(dir).find((f) => f.endsWith('.cpuprofile')),
              ),
            ),
          };
        }
      } finally {
        await stopRgw();
      }
    }

    // Local directory
    await alternate('local', sizeMiB, before);

    // GCS (emulator)
    const needGcs = (3.5 * sizeMiB) / 1024 + 1;
    if (sizeMiB > SETTINGS.gcsMaxMiB) {
      notes.push(`GCS at ${sizeMiB} MiB not run: the emulator cannot store an object of 2 GiB or more (see "GCS emulator" above).`);
    } else if (memAvailableGiB() < needGcs) {
      notes.push(
        `GCS at ${sizeMiB} MiB skipped: ${memAvailableGiB().toFixed(1)} GiB of memory available, the emulator needs about ${needGcs.toFixed(1)}.`,
      );
    } else {
      await startGcs(sizeMiB);
      try {
        await alternate('gcs', sizeMiB);
        const object = summarize('gcs', sizeMiB, 'ours')?.bytes;
        if (object) emulatorPeaks.push({ sizeMiB, objectMiB: object / MiB, peakMiB: gcsPeakMiB() });
      } finally {
        await stopGcs();
      }
    }
  }
  const dbSize = Number((await etcdStatus()).dbSize);
  const durationS = (Date.now() - started) / 1000;
  const report = renderReport({ facts, cold, loads, profile, durationS, dbSize, before: Boolean(before) });
  writeFileSync(SETTINGS.out, report);
  log(`wrote ${relative(process.cwd(), SETTINGS.out)} after ${(durationS / 60).toFixed(1)} min`);
}

// ---------------------------------------------------------------------------------------------------------
// The report

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const yes = (ok) => (ok ? 'met' : '**missed**');

function summarize(store, sizeMiB, kind) {
  const rows = results.filter((r) => r.store === store && r.sizeMiB === sizeMiB && r.kind === kind);
  if (rows.length === 0) return undefined;
  return {
    n: rows.length,
    wallS: median(rows.map((r) => r.wallS)),
    walls: rows.map((r) => r.wallS),
    rssMiB: median(rows.map((r) => r.rssMiB)),
    rssMax: Math.max(...rows.map((r) => r.rssMiB)),
    cpuS: median(rows.map((r) => r.cpuS)),
    etcdCpuS: median(rows.map((r) => r.etcdCpuS)),
    storeCpuS: median(rows.map((r) => r.storeCpuS)),
    foreignCpuS: median(rows.map((r) => r.foreignCpuS)),
    load1: median(rows.map((r) => r.load1)),
    bytes: median(rows.map((r) => r.bytes)),
    steps: rows[0].steps.map((s, i) => ({
      what: s.what,
      wallS: median(rows.map((r) => r.steps[i]?.wallS)),
      rssMiB: median(rows.map((r) => r.steps[i]?.rssMiB)),
    })),
  };
}

function storeTable(store, title, baselineName, targetWall) {
  const lines = [];
  lines.push(
    `| etcd database | snapshot | ours: wall (median of n) | ${baselineName}: wall | ratio ours/baseline | ours: peak RSS (median, max) | baseline peak RSS per step | CPU-s ours / etcd / store server | other load on the machine (CPU-s) |`,
  );
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const ratios = [];
  const rss = [];
  const medians = [];
  for (const sizeMiB of SETTINGS.sizesMiB) {
    const ours = summarize(store, sizeMiB, 'ours');
    const base = summarize(store, sizeMiB, 'baseline');
    if (!ours || !base) continue;
    const ratio = ours.wallS / base.wallS;
    ratios.push(ratio);
    rss.push(ours.rssMax);
    medians.push(ours.rssMiB);
    lines.push(
      `| ${sizeMiB} MiB | ${f0(ours.bytes / MiB)} MiB | ${f2(ours.wallS)} s (n=${ours.n}: ${ours.walls.map(f2).join(', ')}) | ${f2(base.wallS)} s (${base.steps.map((s) => `${s.what} ${f2(s.wallS)}`).join(' + ')}) | **${f2(ratio)}** | ${f0(ours.rssMiB)} MiB, ${f0(ours.rssMax)} | ${base.steps.map((s) => `${s.what.split(' ')[0]} ${f0(s.rssMiB)}`).join(', ')} MiB | ${f1(ours.cpuS)} / ${f1(ours.etcdCpuS)} / ${f1(ours.storeCpuS)} | ${f1(ours.foreignCpuS)} (ours runs), ${f1(base.foreignCpuS)} (baseline runs) |`,
    );
  }
  const verdict = [];
  if (ratios.length) {
    const worst = Math.max(...ratios);
    if (targetWall)
      verdict.push(`wall time ≤ ${targetWall}× the baseline: ${yes(worst <= targetWall)} (ratios ${ratios.map(f2).join(', ')})`);
    const max = Math.max(...rss);
    verdict.push(`peak RSS ≤ 128 MiB: ${yes(max <= 128)} (largest of all runs ${f0(max)} MiB)`);
    const spread = Math.max(...medians) - Math.min(...medians);
    verdict.push(`peak RSS flat across sizes: ${spread <= 16 ? 'yes' : '**no**'} (medians ${medians.map(f0).join(', ')} MiB)`);
  }
  return { title, table: lines.join('\n'), verdict };
}

function variantRows() {
  const rows = [];
  for (const store of ['s3', 'local', 'gcs']) {
    for (const sizeMiB of SETTINGS.sizesMiB) {
      const ours = summarize(store, sizeMiB, 'ours');
      for (const { kind, what } of [
        { kind: 'before', what: `before the optimisations (${BEFORE_REF}'s ${CHANGED_FILES.length} streaming-path files)` },
        ...S3_VARIANTS,
      ]) {
        const v = summarize(store, sizeMiB, kind);
        if (!v || !ours) continue;
        rows.push(
          `| ${store} | ${sizeMiB} MiB | ${what} | ${f2(v.wallS)} s (n=${v.n}) | ${f2(ours.wallS)} s | ${f2(v.wallS / ours.wallS)} | ${f0(v.rssMax)} MiB vs ${f0(ours.rssMax)} MiB | ${f1(v.cpuS)} vs ${f1(ours.cpuS)} | ${f1(v.etcdCpuS)} vs ${f1(ours.etcdCpuS)} |`,
        );
      }
    }
  }
  return rows;
}

function renderReport({ facts, cold, loads, profile, durationS, dbSize, before }) {
  const out = [];
  const p = (s = '') => out.push(s);
  const s3 = storeTable('s3', 'S3 (Ceph radosgw on loopback)', '`etcdctl snapshot save` + `aws s3 cp`', 0.6);
  const local = storeTable('local', 'Local directory', '`etcdctl snapshot save`', 0.6);
  const gcs = storeTable('gcs', 'GCS (Cloud Storage emulator on loopback)', '`etcdctl snapshot save`', 0.6);
  const maxBundle = Math.max(...cold.map((c) => c.bytes));
  const maxImport = Math.max(...cold.map((c) => c.importMs));

  p('# Benchmarks');
  p();
  p(
    `Written by \`npm run bench\` (bench/run.sh → bench/bench.mjs) on ${facts.date.slice(0, 16).replace('T', ' ')} UTC, commit ${facts.commit}${facts.dirty ? ' with uncommitted changes' : ''}, in ${(durationS / 60).toFixed(1)} minutes. Every number below comes from that one run; rerun it to refresh this file (do not edit it by hand: the next run overwrites it).`,
  );
  p();
  p('## Summary');
  p();
  p('| target | result |');
  p('| --- | --- |');
  for (const [name, t] of [
    ['S3', s3],
    ['local', local],
    ['GCS', gcs],
  ])
    for (const v of t.verdict) p(`| ${name}: ${v.split(':')[0]} | ${v.slice(v.indexOf(':') + 2)} |`);
  p(
    `| function bundles ≤ 2 MB | ${yes(maxBundle <= 2_000_000)} with 2 MB = 2,000,000 bytes, ${yes(maxBundle <= 2 * MiB)} with 2 MiB (largest ${maxBundle.toLocaleString('en-US')} bytes = ${(maxBundle / MiB).toFixed(2)} MiB) |`,
  );
  p(
    `| cold start (import + handler) ≤ 300 ms | ${yes(maxImport <= 300)} (slowest ${f0(maxImport)} ms, median of ${SETTINGS.coldRuns} fresh processes per bundle) |`,
  );
  p();
  const wallSum = results.reduce((a, r) => a + r.wallS, 0);
  const foreignSum = results.reduce((a, r) => a + r.foreignCpuS, 0);
  p(
    `Other work on this (shared) machine during the measured runs: ${f1(foreignSum)} CPU-s over ${f0(wallSum)} s of runs, i.e. ${f0((100 * foreignSum) / (2 * wallSum))}% of the 2 cores on average; per row in the "other load" columns.`,
  );
  p();
  p(
    'The wall-time target (≤ 0.6× the baseline) was set for the S3 comparison, where the baseline writes the snapshot to disk and then uploads it; it is shown for the local and GCS stores too, where the baseline (`etcdctl snapshot save` alone) never leaves the machine and is the floor rather than a competitor.',
  );
  p();
  p('## Method');
  p();
  p(
    `Machine: \`nproc\` = ${facts.nproc} (${facts.cpu}), ${facts.memGiB} GiB RAM, ${facts.os}, Linux ${facts.kernel}. Node ${facts.node}; etcd ${facts.etcd} and etcdctl ${facts.etcdctl} (Debian); Ceph radosgw ${facts.radosgw} (Debian, one mon + one OSD on memstore, i.e. RAM); ${facts.aws} (Debian's \`awscli\`, /usr/bin/aws); Cloud Storage emulator from firebase-tools ${facts.firebase}; @aws-sdk/client-s3 ${facts.deps['@aws-sdk/client-s3']}, @google-cloud/storage ${facts.deps['@google-cloud/storage']}, etcd3 ${facts.deps.etcd3}.`,
  );
  p();
  p(
    '- **Data.** One etcd member on loopback (`--quota-backend-bytes` 8 GiB), filled with 256 KiB random values by 8 concurrent puts until its database reaches each size in turn: ' +
      loads
        .map(
          (l) =>
            `${l.sizeMiB} MiB (reached ${f0(l.dbBytes / MiB)} MiB, ${f0((l.dbBytes - (loads[loads.indexOf(l) - 1]?.dbBytes ?? 0)) / MiB / l.seconds)} MiB/s)`,
        )
        .join(', ') +
      `. Final database: ${f0(dbSize / MiB)} MiB.`,
  );
  p(
    "- **Ours**: `bin/etcd-backup.js snapshot --json` run as a command, as npm links it (so with the `--max-semi-space-size=1` and `MALLOC_ARENA_MAX=2` its first lines give node), settings in the environment only (a clean environment: `BACKUP_URL`, `CLUSTER_NAME`, `ETCD_ENDPOINTS`, `LOG_LEVEL=warn` and the store's variables; for radosgw `S3_FORCE_PATH_STYLE=true`, `AWS_REQUEST_CHECKSUM_CALCULATION=when_required`, `AWS_ENDPOINT_URL_S3` and the keys; defaults otherwise, e.g. 5 MiB parts, one uploading while the next fills). The CLI and the bundles are built by the project's `scripts/build.mjs` (what `npm run build` runs) from a private copy of the sources taken at the start, so that other work in the checkout (a test run rebuilds `dist/`) cannot change what is measured. Every run is checked: exit status 0 and `ok: true`.",
  );
  p(
    "- **Baseline**: what a user would script instead, with the same etcd and store: `etcdctl snapshot save FILE`, then for S3 `aws s3 cp FILE s3://…` (the AWS CLI's defaults: 8 MiB parts, 10 requests in parallel; no config file). For the local and GCS stores the baseline is `etcdctl snapshot save` alone. Wall time of the baseline = the sum of its steps; its peak RSS is shown per step.",
  );
  p(
    `- **Order.** For each size: S3, then local, then GCS; within a store ours and the baseline alternate (ours, baseline, ours, baseline, …), ${SETTINGS.reps.s3} repetitions each for S3, ${SETTINGS.reps.local} for local, ${SETTINGS.reps.gcs} for GCS (the emulator makes those runs long, and they measure it more than this project; fewer keeps the whole run within ~15 minutes on 2 cores); the tables give the median. Stored objects and the baseline's file are deleted after every run (radosgw's garbage collection is run at once, \`radosgw-admin gc process --include-all\`, so its RAM store does not fill up). radosgw and the emulator are started fresh for each size.`,
  );
  p(
    "- **Wall time**: from spawning the process to its exit (Node start-up, module loading, member selection and the manifest included). **Peak RSS**: GNU time's `%M` (the process's maximum resident set). **CPU-s**: user + system CPU of our process (GNU time), and of etcd and of the store server (radosgw + OSD + mon, or the emulator) over the same interval, from /proc/PID/stat. **Other load**: CPU-seconds the machine spent on anything else during the run (/proc/stat minus the processes above); this machine is shared with other work, and when that number is high the wall times are inflated, mostly in whichever runs it overlapped.",
  );
  p(
    `- **Profile**: one more S3 run at ${SETTINGS.profileMiB} MiB under \`node --cpu-prof\` (not used for the timings), every sample put in one category by its stack (bench/profile.mjs).`,
  );
  p(
    `- **Bundles**: size of each dist/functions/*/*/index.mjs; cold start = in a fresh \`node\` process (bench/coldstart.mjs), the time to \`import()\` the bundle and get its handler (Lambda: the \`handler\` export; Cloud Functions: the function the bundle registers, read through the Functions Framework, which the runtime loads before the bundle and is timed apart), median of ${SETTINGS.coldRuns} processes.`,
  );
  p();
  for (const t of [s3, local, gcs]) {
    p(`## ${t.title}`);
    p();
    p(t.table);
    p();
  }
  p(
    'Baseline steps and ratios: for S3 the ratio compares the whole pipeline (save, then upload) with one streaming run; our run needs no disk space for the snapshot.',
  );
  p();
  p('### GCS emulator');
  p();
  const peaks = emulatorPeaks.map((e) => `${f0(e.peakMiB)} MiB after uploads of ${f0(e.objectMiB)} MiB`).join(', ');
  p(
    `The emulator (firebase-tools) holds a whole upload in memory (its peak RSS in this run: ${peaks || 'not measured'}) and is single-threaded JavaScript, so it, not the client, sets the pace of the GCS runs (compare its CPU-seconds with ours in the table): they measure the emulator more than this project. It cannot store an object of 2 GiB or more at all: it appends the upload to its file with one \`fs.writeSync\` call, which refuses more than 2,147,483,647 bytes (\`ERR_OUT_OF_RANGE\`, and the emulator process dies; seen while preparing this benchmark with a 2.17 GB snapshot). Hence GCS runs only up to ${SETTINGS.gcsMaxMiB} MiB.`,
  );
  p();
  const variants = variantRows();
  if (variants.length) {
    p('## Variants (same run)');
    p();
    p('| store | size | variant | variant wall | ours wall | variant/ours | peak RSS (max) | CPU-s ours process | CPU-s etcd |');
    p('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of variants) p(r);
    p();
    if (before)
      p(
        `"Before" is the CLI built from this tree with ${CHANGED_FILES.map((f) => `\`${f}\``).join(', ')} as they were at commit ${BEFORE_REF}, i.e. without the changes listed under "Optimisations"; it runs in the same rotation as ours and the baseline.`,
      );
    p(
      `Variant rows: ${VARIANT_REPS} runs per size (median wall, largest peak RSS), alternating with each other after the rotation above. \`S3_UPLOAD_CONCURRENCY=2\` was the default before 1: one more 5 MiB part buffer and a second request in flight. \`S3_PART_SIZE=8MiB\` was the default before 5 MiB: 2 × 3 MiB more part buffers; now that parts reuse connections, the part size makes little difference to the time (see "Optimisations").`,
    );
    p();
  }
  if (profile) {
    p(`## Where the time goes (profile of one S3 run at ${profile.sizeMiB} MiB)`);
    p();
    p(
      `Main thread: ${f1(profile.totalS)} s profiled, ${f1(profile.busyS)} s busy (${f0((100 * profile.busyS) / profile.totalS)}%); the rest is waiting for etcd or radosgw. Wall time of this run: ${f2(profile.wallS)} s (with the profiler on).`,
    );
    p();
    p('| category | seconds | % of run | % of busy time |');
    p('| --- | --- | --- | --- |');
    for (const c of profile.categories) p(`| ${c.name} | ${f2(c.s)} | ${f1(c.pct)} | ${c.busyPct === undefined ? '' : f1(c.busyPct)} |`);
    p();
    p('Top functions by self time:');
    p();
    p('| function | seconds | % |');
    p('| --- | --- | --- |');
    for (const c of profile.top) p(`| \`${c.name.replace(/\|/g, '\\|')}\` | ${f2(c.s)} | ${f1(c.pct)} |`);
    p();
  }
  p('## Function bundles');
  p();
  p(
    '| bundle | size (bytes) | import + handler (ms) | Functions Framework import before it (ms) | whole process, spawn to exit (ms) | RSS after import (MiB) |',
  );
  p('| --- | --- | --- | --- | --- | --- |');
  for (const c of cold)
    p(
      `| ${c.bundle} | ${c.bytes.toLocaleString('en-US')} | ${f0(c.importMs)} | ${c.frameworkMs ? f0(c.frameworkMs) : '–'} | ${f0(c.processMs)} | ${f0(c.rssMiB)} |`,
    );
  p();
  if (notes.length) {
    p('## Notes from this run');
    p();
    for (const n of notes) p(`- ${n}`);
    p();
  }
  const staticPart = join(ROOT, 'bench/analysis.md');
  if (existsSync(staticPart)) {
    p(readFileSync(staticPart, 'utf8').trim());
    p();
  }
  return out.join('\n');
}

try {
  await main();
} catch (error) {
  log(`failed: ${error?.stack ?? error}`);
  process.exitCode = 1;
} finally {
  cleanupSync();
}
