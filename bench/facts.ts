// The machine and the versions a benchmark ran with, for the report's "Method" section.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { baseEnv } from './runs.js';
import { ROOT } from './settings.js';

const execFileP = promisify(execFile);

export interface Facts {
  date: string;
  nproc: string;
  cpu: string;
  memGiB: string;
  kernel: string;
  os: string;
  node: string;
  etcd: string;
  etcdctl: string;
  radosgw: string;
  aws: string;
  firebase: string;
  deps: Record<string, string>;
  commit: string;
  dirty: boolean;
}

async function version(cmd: string, args: string[], re: RegExp): Promise<string> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { env: { ...baseEnv(), ETCDCTL_API: '3' } });
    return re.exec(`${stdout}\n${stderr}`)?.[1] ?? '?';
  } catch {
    return 'not found';
  }
}

export async function machineFacts(): Promise<Facts> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  let firebase = '?';
  try {
    firebase = JSON.parse(readFileSync(join(ROOT, 'test/services/gcs-emulator/node_modules/firebase-tools/package.json'), 'utf8')).version;
  } catch {
    // not installed
  }
  const git = async (...args: string[]) => (await execFileP('git', ['-C', ROOT, ...args]).catch(() => ({ stdout: '' }))).stdout.trim();
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
    commit: (await git('rev-parse', '--short', 'HEAD')) || '?',
    dirty: (await git('status', '--porcelain')) !== '',
  };
}
