// Service management for the benchmarks: the run's work dir, etcd (test/support/etcd.ts, the launcher the
// tests use), Ceph radosgw and the Cloud Storage emulator (scripts/services/*.sh, as for the tests), and
// stopping all of it when the run ends, also on failure and on ctrl-c.
//
// Everything lives under /tmp/etcd-backup-bench/run-PID and is removed at the end. A run that was killed -9
// leaves its dir and services behind: the next run stops them by their pid files and removes the dir.
import { type ChildProcess, execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { Etcd3 } from 'etcd3';
import { type EtcdCluster, startEtcd as startEtcdCluster } from '../test/support/etcd.js';
import { log, MiB, ROOT } from './settings.js';

const execFileP = promisify(execFile);
const BASE = '/tmp/etcd-backup-bench';
export const WORK = join(BASE, `run-${process.pid}`);
const SERVICES = join(ROOT, 'scripts/services');
export const BUCKET = 'bench';

// ---------------------------------------------------------------------------------------------------------
// Cleanup

/** Processes the measurements spawned (each in its own process group), killed if the run ends early. */
export const children = new Set<ChildProcess>();

/** Stops what a run left in `dir`: its services by their pid files (the scripts check command lines). */
function stopDirSync(dir: string): void {
  for (const entry of existsSync(dir) ? readdirSync(dir) : []) {
    const path = join(dir, entry);
    if (entry.startsWith('rgw')) execFileSync('bash', [join(SERVICES, 'rgw.sh'), 'stop', path], { stdio: 'ignore' });
    else if (entry.startsWith('gcs')) execFileSync('bash', [join(SERVICES, 'gcs.sh'), 'stop', path], { stdio: 'ignore' });
  }
  const etcdPid = join(dir, 'etcd.pid');
  if (existsSync(etcdPid)) {
    // The marker: etcd's command line names its data dir, which is under `dir`.
    execFileSync('bash', ['-c', `source "${join(SERVICES, 'lib.sh')}"; SERVICE=bench; stop_pidfiles TERM "${dir}" "${etcdPid}"`], {
      stdio: 'ignore',
    });
  }
}

function sweepStaleRuns(): void {
  if (!existsSync(BASE)) return;
  for (const entry of readdirSync(BASE)) {
    const pid = Number(/^run-(\d+)$/.exec(entry)?.[1]);
    if (!pid || existsSync(`/proc/${pid}`)) continue;
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
function cleanupSync(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of children) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
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

/**
 * Runs `main` with the work dir prepared and everything stopped and removed afterwards, however it ends;
 * a failure is logged and sets exit status 1.
 */
export async function withServices(main: () => Promise<void>): Promise<void> {
  sweepStaleRuns();
  mkdirSync(WORK, { recursive: true });
  process.on('exit', cleanupSync);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(signal, () => {
      log(`${signal}: stopping everything`);
      cleanupSync();
      process.exit(code);
    });
  }
  try {
    await main();
  } catch (error) {
    log(`failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exitCode = 1;
  } finally {
    await stopEtcd().catch(() => undefined);
    cleanupSync();
  }
}

// ---------------------------------------------------------------------------------------------------------
// etcd

let etcd: { cluster: EtcdCluster; url: string; pid: number } | undefined;

/** The running member: its client URL and pid (for its CPU time). */
export function etcdMember(): { url: string; pid: number } {
  if (!etcd) throw new Error('etcd is not running');
  return etcd;
}

/** One etcd member on free loopback ports, data dir in the work dir; its quota (8 GiB) takes the largest database. */
export async function startEtcd(): Promise<void> {
  const cluster = await startEtcdCluster({
    dataDirs: [join(WORK, 'etcd-data')],
    // The launcher shortens raft's timers for the tests' elections; the benchmark runs etcd's defaults,
    // as measured in docs/benchmarks.md (for flags given twice, etcd takes the last).
    extraArgs: ['--heartbeat-interval', '100', '--election-timeout', '1000'],
  });
  const member = cluster.members[0];
  if (!member?.process.pid) throw new Error('etcd started without a pid');
  // For the sweep of a run killed -9 (the launcher's own stop needs this process alive).
  writeFileSync(join(WORK, 'etcd.pid'), String(member.process.pid));
  etcd = { cluster, url: member.clientUrl, pid: member.process.pid };
}

async function stopEtcd(): Promise<void> {
  const running = etcd;
  etcd = undefined;
  await running?.cluster.stop();
}

export async function etcdDbSize(): Promise<number> {
  const client = new Etcd3({ hosts: etcdMember().url });
  try {
    return Number((await client.maintenance.status()).dbSize);
  } finally {
    client.close();
  }
}

let nextKey = 0;

/**
 * Puts 256 KiB random values, 8 at a time, until the database is at least `bytes` big. Each value is fresh:
 * one value written over and over would compress to nearly nothing (a compressor finds each copy within
 * its window of the one before), and this data set is the worst case for compression.
 */
export async function loadTo(bytes: number): Promise<{ dbBytes: number; seconds: number }> {
  const client = new Etcd3({ hosts: etcdMember().url });
  const VALUE = 256 * 1024;
  const t0 = performance.now();
  let written = 0;
  try {
    let size = Number((await client.maintenance.status()).dbSize);
    const start = size;
    // Bounded: the database grows by at least the value size per put.
    const maxPuts = Math.ceil((bytes - size) / VALUE) * 2 + 64;
    while (size < bytes && written < maxPuts) {
      for (let batch = 0; batch < 8; batch++) {
        await Promise.all(
          Array.from({ length: 8 }, () => client.put(`/bench/${String(nextKey++).padStart(8, '0')}`).value(randomBytes(VALUE))),
        );
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

// ---------------------------------------------------------------------------------------------------------
// Stores

/** The variables a service script wrote to DIR/env. */
function readEnvFile(dir: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(dir, 'env'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

export interface RunningStore {
  dir: string;
  /** What the service script wrote: endpoint, keys, project. */
  env: Record<string, string>;
  /** The server's processes, for their CPU time. */
  pids: number[];
}

let rgw: RunningStore | undefined;
let gcs: RunningStore | undefined;

export function radosgw(): RunningStore {
  if (!rgw) throw new Error('radosgw is not running');
  return rgw;
}

export function gcsEmulator(): RunningStore {
  if (!gcs) throw new Error('the GCS emulator is not running');
  return gcs;
}

/** Starts radosgw with a RAM store of `memstoreBytes` and creates the bench bucket. */
export async function startRgw(name: string, memstoreBytes: number): Promise<RunningStore> {
  const dir = join(WORK, `rgw-${name}`);
  await execFileP('bash', [join(SERVICES, 'rgw.sh'), 'start', dir], {
    env: { ...process.env, RGW_MEMSTORE_BYTES: String(memstoreBytes) },
    maxBuffer: 16 * MiB,
  });
  const pid = (daemon: string) => Number(readFileSync(join(dir, 'run', `${daemon}.pid`), 'utf8'));
  rgw = { dir, env: readEnvFile(dir), pids: [pid('client.rgw.a'), pid('osd.0'), pid('mon.a')] };
  const client = s3Client();
  try {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  } finally {
    client.destroy();
  }
  return rgw;
}

export async function stopRgw(): Promise<void> {
  if (!rgw) return;
  await execFileP('bash', [join(SERVICES, 'rgw.sh'), 'stop', rgw.dir]);
  rmSync(rgw.dir, { recursive: true, force: true });
  rgw = undefined;
}

function s3Client(): S3Client {
  const e = radosgw().env;
  return new S3Client({
    endpoint: e.AWS_ENDPOINT_URL_S3,
    region: e.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: e.AWS_SECRET_ACCESS_KEY ?? '' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * Deletes every object in the bench bucket but those whose key starts with `keep` (the previous snapshot,
 * see runs.ts) and has radosgw free their space now (not in 2 hours).
 */
export async function emptyS3(keep?: string): Promise<void> {
  const client = s3Client();
  try {
    for (let page = 0; page < 100; page++) {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
      const keys = (listed.Contents ?? []).filter((o) => keep === undefined || !o.Key?.startsWith(keep)).map((o) => ({ Key: o.Key }));
      if (keys.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys } }));
    }
  } finally {
    client.destroy();
  }
  await execFileP('radosgw-admin', ['-c', join(radosgw().dir, 'ceph.conf'), 'gc', 'process', '--include-all'], { maxBuffer: 16 * MiB });
}

export async function startGcs(name: string): Promise<RunningStore> {
  const dir = join(WORK, `gcs-${name}`);
  await execFileP('bash', [join(SERVICES, 'gcs.sh'), 'start', dir], { maxBuffer: 16 * MiB });
  gcs = { dir, env: readEnvFile(dir), pids: [Number(readFileSync(join(dir, 'emulator.pid'), 'utf8'))] };
  return gcs;
}

/** The emulator's peak RSS so far, in MiB (VmHWM). */
export function gcsPeakMiB(): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${gcsEmulator().pids[0]}/status`, 'utf8'))?.[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

export async function stopGcs(): Promise<void> {
  if (!gcs) return;
  await execFileP('bash', [join(SERVICES, 'gcs.sh'), 'stop', gcs.dir]);
  rmSync(gcs.dir, { recursive: true, force: true });
  gcs = undefined;
}

export async function emptyGcs(keep?: string): Promise<void> {
  const e = gcsEmulator().env;
  const storage = new Storage({ apiEndpoint: e.STORAGE_EMULATOR_HOST, projectId: e.GOOGLE_CLOUD_PROJECT });
  const [files] = await storage.bucket(BUCKET).getFiles();
  for (const file of files) if (keep === undefined || !file.name.startsWith(keep)) await file.delete({ ignoreNotFound: true });
}
