// Helpers for the restore tests: whether a file restores, per-member reads, member status, and a stand-in etcdutl.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { etcdTools, type EtcdVersion } from './etcd.js';

const execFileP = promisify(execFile);

/** Whether `snapshot restore` of that release (etcdutl, else etcdctl; sha256 check included) accepts the file. */
export async function restoreAccepts(file: string, version: EtcdVersion = '3.4'): Promise<boolean> {
  const tools = etcdTools(version);
  const dir = await mkdtemp(join(tmpdir(), 'snapshot-restore-'));
  try {
    await execFileP(tools.etcdutl ?? tools.etcdctl, ['snapshot', 'restore', file, '--data-dir', join(dir, 'data')], {
      env: tools.env,
      maxBuffer: 16 * 1024 * 1024,
    });
    return true;
  } catch {
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every key and value as one member holds it (serializable, member-local reads: no forwarding to the leader). */
export async function readMember(endpoint: string): Promise<Map<string, Buffer>> {
  const client = new Etcd3({ hosts: [endpoint] });
  try {
    const all = await client.getAll().serializable(true).buffers();
    return new Map(Object.entries(all));
  } finally {
    client.close();
  }
}

export interface EndpointStatus {
  endpoint: string;
  revision: number;
  raftIndex: number;
  version: string;
}

/** `etcdctl endpoint status -w json` of one endpoint, as an SRE reads it. */
export async function endpointStatus(endpoint: string): Promise<EndpointStatus> {
  const { stdout } = await execFileP('etcdctl', ['--endpoints', endpoint, 'endpoint', 'status', '-w', 'json'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  const [row] = JSON.parse(stdout) as { Endpoint: string; Status: { header: { revision: number }; raftIndex: number; version: string } }[];
  if (!row) throw new Error(`no status for ${endpoint}`);
  return { endpoint: row.Endpoint, revision: row.Status.header.revision, raftIndex: row.Status.raftIndex, version: row.Status.version };
}

/** Names of the members `etcdctl member list` reports. */
export async function memberNames(endpoint: string): Promise<string[]> {
  const { stdout } = await execFileP('etcdctl', ['--endpoints', endpoint, 'member', 'list', '-w', 'json'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  return ((JSON.parse(stdout) as { members: { name: string }[] }).members ?? []).map((m) => m.name).sort();
}

/**
 * A stand-in `etcdutl` (etcd 3.4 ships none) in a fresh directory: it appends its arguments to `calls`
 * and runs `ETCDCTL_API=3 etcdctl` with them, which takes the same `snapshot restore` flags as etcdutl 3.5.
 * `fail` makes it print that message to stderr and exit 1 instead (for `snapshot restore` only).
 */
export async function fakeEtcdutl(options: { fail?: string } = {}): Promise<{ dir: string; calls: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-etcdutl-'));
  const calls = join(dir, 'calls.log');
  const failure = options.fail ? `if [ "$1" = snapshot ]; then echo ${JSON.stringify(options.fail)} >&2; exit 1; fi\n` : '';
  await writeFile(join(dir, 'etcdutl'), `#!/bin/sh\necho "$*" >> ${JSON.stringify(calls)}\n${failure}ETCDCTL_API=3 exec etcdctl "$@"\n`);
  await chmod(join(dir, 'etcdutl'), 0o755);
  return { dir, calls };
}

/** Entries of a directory, hidden ones included (temporary files must not survive). */
export async function entriesOf(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}
