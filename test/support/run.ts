import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Compression, SettingValues } from '../../shared/config/config.js';
import { compressionOfKey, parseSnapshotKey } from '../../shared/layout.js';
import { createLogger, type Logger } from '../../shared/log.js';
import type { ObjectStore } from '../../shared/store/index.js';
import { type ResultOf, runTask, type RunOptions, type TaskName, type TaskOutcome } from '../../shared/tasks/index.js';
import { type EtcdVersion, etcdTools } from './etcd.js';

const execFileP = promisify(execFile);

/** A logger that keeps its lines for assertions (and prints nothing). */
export function memoryLogger(onLine?: (entry: Record<string, unknown>) => void): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    write: (line) => {
      lines.push(line);
      onLine?.(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return Object.assign(logger, { lines });
}

export async function run<N extends TaskName>(
  task: N,
  settings: SettingValues,
  options: RunOptions = {},
): Promise<TaskOutcome<ResultOf<N>> & { log: string[] }> {
  const log = memoryLogger();
  const outcome = await runTask(task, settings, { log, ...options });
  return { ...outcome, log: log.lines };
}

/** The command-line tool that turns a stored snapshot back into the etcdctl file, by the key's suffix. */
const DECOMPRESS: Record<Compression, string[] | undefined> = { zstd: ['zstd', '-d', '-q'], gzip: ['gzip', '-d'], none: undefined };

/**
 * The snapshot under `key` as a plain file: the stored object downloaded as it is and, when compressed,
 * turned back into the etcdctl file by the standard tool (`zstd -d`, `gzip -d`), as a person recovering by
 * hand would, rather than by this project's own reader.
 */
export async function download(store: ObjectStore, key: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'download-'));
  const file = join(dir, 'snapshot.db');
  const command = DECOMPRESS[compressionOfKey(key)];
  const stored = command ? `${file}${key.slice(key.lastIndexOf('.'))}` : file;
  await pipeline(await store.get(key), createWriteStream(stored));
  if (command) await execFileP(command[0] as string, [...command.slice(1), stored]);
  return file;
}

export interface EtcdctlStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

/** `snapshot status -w json` of a file, by etcdutl where the release has it (3.5+), else by etcdctl. */
export async function snapshotStatus(file: string, version: EtcdVersion = '3.4'): Promise<EtcdctlStatus> {
  const tools = etcdTools(version);
  const { stdout } = await execFileP(tools.etcdutl ?? tools.etcdctl, ['snapshot', 'status', file, '-w', 'json'], { env: tools.env });
  return JSON.parse(stdout) as EtcdctlStatus;
}

export async function storedKeys(store: ObjectStore, dir: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(dir)) keys.push(o.key);
  return keys.sort();
}

/** The snapshot objects (whatever their suffix) of one cluster, sorted; no sidecars. */
export async function storedSnapshots(store: ObjectStore, cluster: string): Promise<string[]> {
  return (await storedKeys(store, `${cluster}/`)).filter((key) => parseSnapshotKey(key, cluster));
}
