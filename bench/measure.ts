// Measurement: one command's wall time, peak RSS and CPU (GNU time), and what etcd, the store's server and
// the rest of the machine spent meanwhile (/proc). Everything here reads the kernel's accounting; nothing
// is sampled from inside the measured process.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { children, WORK } from './services.js';

/** Per command; a 2 GiB run takes well under a minute here. */
const COMMAND_TIMEOUT_MS = 5 * 60_000;

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds a process has used so far (0 if it is gone). */
function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU seconds the whole machine has been busy (all cores, all processes). */
function machineBusy(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line;
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

export const load1 = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
export const memAvailableGiB = (): number =>
  Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024 / 1024;

export interface Timed {
  wallS: number;
  rssMiB: number;
  cpuS: number;
  stdout: string;
  stderr: string;
  /** With `ownPeak`: the command's own peak RSS, without the children it ran. */
  ownRssMiB?: number;
}

/** VmHWM of the process GNU time runs (its first child), in MiB; 0 before it exists or after it is gone. */
function commandPeakMiB(timePid: number): number {
  try {
    const pid = readFileSync(`/proc/${timePid}/task/${timePid}/children`, 'utf8').trim().split(' ')[0];
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/**
 * Runs one command under GNU time: wall time (measured here), its peak RSS (%M, the max resident set of
 * the process and of the children it waited for), its user+system CPU (children included). Fails on a
 * non-zero exit or after the timeout. `ownPeak` also reads the command's own peak (VmHWM) every 50 ms:
 * for a command that runs another big one (restore runs etcdutl), %M is the larger of the two. The peak
 * reached in the last 50 ms of a command that allocates until it exits would be missed.
 */
export async function timed(
  cmd: string,
  args: string[],
  {
    env,
    cwd = WORK,
    timeoutMs = COMMAND_TIMEOUT_MS,
    ownPeak = false,
  }: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; ownPeak?: boolean },
): Promise<Timed> {
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
  child.stdout.on('data', (d: Buffer) => {
    stdout = (stdout + d.toString()).slice(-200_000);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, timeoutMs);
  let ownRssMiB = 0;
  const poll = ownPeak && child.pid ? setInterval(() => (ownRssMiB = Math.max(ownRssMiB, commandPeakMiB(child.pid!))), 50) : undefined;
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  clearInterval(poll);
  children.delete(child);
  const wallS = (performance.now() - t0) / 1000;
  let rssMiB = Number.NaN;
  let cpuS = Number.NaN;
  try {
    const last = (readFileSync(timeFile, 'utf8').trim().split('\n').at(-1) ?? '').split(' ').map(Number);
    rssMiB = (last[1] ?? Number.NaN) / 1024;
    cpuS = (last[2] ?? Number.NaN) + (last[3] ?? Number.NaN);
  } catch {
    // no time file: the command did not run
  }
  rmSync(timeFile, { force: true });
  if (timedOut) throw new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs / 1000} s`);
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${stderr.slice(-3000)}`);
  return { wallS, rssMiB, cpuS, stdout, stderr, ...(ownPeak ? { ownRssMiB } : {}) };
}

export interface ServerCpu {
  /** CPU-s of etcd during the run. */
  etcdCpuS: number;
  /** CPU-s of the store's server(s): radosgw + OSD + mon, or the emulator. */
  storeCpuS: number;
  /** CPU-s the machine spent on anything else: other work on a shared machine. */
  foreignCpuS: number;
  /** The 1-minute load average when the run started. */
  load1: number;
}

/** Runs `fn`, adding what the servers (`pids`) and everything else on the machine used meanwhile. */
export async function withServerCpu<R extends { cpuS: number }>(
  pids: { etcd: number[]; store: number[] },
  fn: () => Promise<R>,
): Promise<R & ServerCpu> {
  const sum = (list: number[]) => list.reduce((a, p) => a + cpuOf(p), 0);
  const before = { etcd: sum(pids.etcd), store: sum(pids.store), machine: machineBusy(), load: load1() };
  const result = await fn();
  const etcdCpuS = sum(pids.etcd) - before.etcd;
  const storeCpuS = sum(pids.store) - before.store;
  const machineS = machineBusy() - before.machine;
  const foreignCpuS = Math.max(0, machineS - etcdCpuS - storeCpuS - result.cpuS);
  return { ...result, etcdCpuS, storeCpuS, foreignCpuS, load1: before.load };
}
