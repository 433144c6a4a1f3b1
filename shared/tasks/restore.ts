import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, link, lstat, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { findNewest, isGood, listSnapshots, loadDetails, type SnapshotEntry } from '../catalogue.js';
import { BackupError, ConfigError } from '../errors.js';
import { parseSnapshotKey } from '../layout.js';
import type { Logger } from '../log.js';
import type { SnapshotManifest } from '../manifest.js';
import { SnapshotInspector, type Problem, type SnapshotReport } from '../snapshot-format/index.js';
import type { ObjectStore } from '../store/index.js';
import type { ArgSpec } from './index.js';

const execFileP = promisify(execFile);

/**
 * Arguments of `etcd-backup restore` (camelCase here and in event payloads, kebab-case as CLI flags).
 * Exported so that the task registry and the tests declare exactly the same thing.
 */
export const RESTORE_ARGS = {
  output: {
    type: 'string',
    description:
      'write the snapshot to this file (required; must not exist; written to a temporary file next to it and renamed only once the sha256 trailer and structure check out)',
  },
  key: {
    type: 'string',
    description: 'restore this snapshot (a key printed by list), even if it was never verified; an excluded one needs --allow-excluded',
  },
  before: {
    type: 'string',
    description: 'newest good snapshot taken at or before this time (ISO-8601 with a zone, e.g. 2026-01-31T12:00:00Z)',
  },
  revision: {
    type: 'string',
    description: 'newest good snapshot whose revision is at or below this one (it contains no change made after it)',
  },
  allowUnverified: {
    type: 'boolean',
    description: 'also consider snapshots that were never verified (they are still fully checked while downloading)',
  },
  allowExcluded: { type: 'boolean', description: 'with --key: restore it even if it is marked excluded' },
  dataDir: {
    type: 'string',
    description: 'also restore into this etcd data directory (must be empty or absent) with etcdutl, or etcdctl if there is no etcdutl',
  },
  name: { type: 'string', description: 'with --data-dir: member name (etcd --name)' },
  initialCluster: {
    type: 'string',
    description: 'with --data-dir: every member as name=peer-url, comma-separated (etcd --initial-cluster)',
  },
  initialClusterToken: {
    type: 'string',
    description: 'with --data-dir: a token unique to the restored cluster (etcd --initial-cluster-token)',
  },
  initialAdvertisePeerUrls: {
    type: 'string',
    description: "with --data-dir: this member's peer URLs (etcd --initial-advertise-peer-urls)",
  },
} as const satisfies Record<string, ArgSpec>;

/** Registry entry (description and args) for shared/tasks/index.ts. */
export const RESTORE_DESCRIPTION =
  'Download the newest good snapshot (or --key, --before, --revision) to --output, checking its sha256 trailer and structure on the way; optionally restore it into --data-dir';

export type RestoreArgs = { [K in keyof typeof RESTORE_ARGS]?: string | boolean | undefined };

export interface RestoreDataDir {
  ok: boolean;
  path: string;
  tool: 'etcdutl' | 'etcdctl';
  toolPath: string;
  toolVersion?: string;
  /** The command that was run, for the record (the snapshot path and flags exactly as passed). */
  command: string[];
  durationMs: number;
  /** The tool's error output when it failed (its last lines). */
  error?: string;
}

export interface RestoreResult {
  /** The file is written and checked, and the data dir (if asked for) restored. */
  ok: boolean;
  key: string;
  /** Absolute path of the written snapshot file. */
  path: string;
  size: number;
  /** sha256 of the database (equal to its trailer and the manifest). */
  sha256: string;
  /** As `etcdctl snapshot status` reports it, measured from the bytes written. */
  revision: number;
  compactRevision?: number;
  totalKey?: number;
  totalSize?: number;
  /** When the snapshot was taken (the time in its key). */
  time: string;
  /** The newest verification of the snapshot, or null if it was never verified. */
  verified: { ok: boolean; at: string } | null;
  /** Set when an excluded snapshot was restored with --allow-excluded. */
  excluded?: { reason?: string };
  /** The member that served the snapshot, from the manifest. */
  etcd?: { version: string; clusterId: string; memberId: string };
  /** Problems the inspector reports that do not make the file unusable ('unsupported': too large to inspect). */
  warnings: Problem[];
  durationMs: number;
  bytesPerSecond: number;
  dataDir?: RestoreDataDir;
}

export interface RestoreDeps {
  config: { cluster: string };
  store: ObjectStore;
  log: Logger;
  signal?: AbortSignal;
  now?: () => Date;
  /** Where etcdutl / etcdctl are looked up (default process.env.PATH). */
  path?: string;
}

interface Options {
  output: string;
  key?: string;
  before?: Date;
  revision?: number;
  allowUnverified: boolean;
  allowExcluded: boolean;
  dataDir?: string;
  member: { name?: string; initialCluster?: string; initialClusterToken?: string; initialAdvertisePeerUrls?: string };
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

function stringArg(args: RestoreArgs, name: keyof typeof RESTORE_ARGS): string | undefined {
  const value = args[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ConfigError(name, 'must be a string');
  if (value.trim() === '') throw new ConfigError(name, 'is empty');
  return value.trim();
}

function booleanArg(args: RestoreArgs, name: keyof typeof RESTORE_ARGS): boolean {
  const value = args[name];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new ConfigError(name, 'must be true or false');
  return value;
}

function parseUrls(setting: string, text: string): void {
  for (const url of text.split(',')) {
    let parsed: URL;
    try {
      parsed = new URL(url.trim());
    } catch {
      throw new ConfigError(setting, `"${url}" is not a URL`, 'write http://host:port or https://host:port');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new ConfigError(setting, `"${url}" must start with http:// or https://`);
  }
}

/** Everything that can be checked without I/O. */
function parseArgs(args: RestoreArgs, cluster: string): Options {
  const output = stringArg(args, 'output');
  if (output === undefined)
    throw new ConfigError('output', 'is required', 'name the file to write the snapshot to, e.g. --output /var/tmp/etcd-restore.db');
  const options: Options = {
    output: resolve(output),
    allowUnverified: booleanArg(args, 'allowUnverified'),
    allowExcluded: booleanArg(args, 'allowExcluded'),
    member: {},
  };
  const key = stringArg(args, 'key');
  if (key !== undefined) {
    if (!parseSnapshotKey(key, cluster))
      throw new ConfigError('key', `"${key}" is not a snapshot key of cluster "${cluster}"`, 'use a key printed by etcd-backup list');
    options.key = key;
  }
  const before = stringArg(args, 'before');
  if (before !== undefined) {
    const time = new Date(before);
    if (!ISO_TIME.test(before) || Number.isNaN(time.getTime())) {
      throw new ConfigError(
        'before',
        `"${before}" is not an ISO-8601 time with a zone`,
        'write e.g. 2026-01-31T12:00:00Z or 2026-01-31T13:00:00+01:00',
      );
    }
    options.before = time;
  }
  const revision = stringArg(args, 'revision');
  if (revision !== undefined) {
    if (!/^\d{1,16}$/.test(revision) || !Number.isSafeInteger(Number(revision)) || Number(revision) < 1) {
      throw new ConfigError('revision', `"${revision}" is not a positive whole number`, 'write an etcd revision, e.g. --revision 123456');
    }
    options.revision = Number(revision);
  }
  if (options.key !== undefined) {
    // (allowUnverified is implied by an explicit key and harmless with it.)
    for (const name of ['before', 'revision'] as const) {
      if (args[name] !== undefined)
        throw new ConfigError(name, 'cannot be combined with key', 'an explicit key names the snapshot; drop one of them');
    }
  } else if (options.allowExcluded) {
    throw new ConfigError(
      'allowExcluded',
      'only applies with key',
      'excluded snapshots are never chosen automatically; name the one you want with --key',
    );
  }
  const dataDir = stringArg(args, 'dataDir');
  if (dataDir !== undefined) options.dataDir = resolve(dataDir);
  for (const name of ['name', 'initialCluster', 'initialClusterToken', 'initialAdvertisePeerUrls'] as const) {
    const value = stringArg(args, name);
    if (value === undefined) continue;
    if (dataDir === undefined) throw new ConfigError(name, 'only applies with dataDir', 'add --data-dir, or drop it');
    options.member[name] = value;
  }
  const { name, initialCluster, initialAdvertisePeerUrls } = options.member;
  if (initialAdvertisePeerUrls !== undefined) parseUrls('initialAdvertisePeerUrls', initialAdvertisePeerUrls);
  if (initialCluster !== undefined) {
    const names = new Set<string>();
    for (const member of initialCluster.split(',')) {
      const eq = member.indexOf('=');
      if (eq <= 0)
        throw new ConfigError(
          'initialCluster',
          `"${member}" is not name=peer-url`,
          'write m1=https://10.0.0.1:2380,m2=https://10.0.0.2:2380,...',
        );
      parseUrls('initialCluster', member.slice(eq + 1));
      names.add(member.slice(0, eq).trim());
    }
    // etcd's own default name is "default": a cluster list without this member cannot bootstrap it.
    const self = name ?? 'default';
    if (!names.has(self))
      throw new ConfigError(
        'initialCluster',
        `has no member named "${self}"`,
        `list this member as ${self}=<its peer URL>, and give the same --name`,
      );
  } else if (name !== undefined && name !== 'default') {
    throw new ConfigError('initialCluster', `is required with name "${name}"`, `give --initial-cluster ${name}=<its peer URL>,...`);
  }
  return options;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function checkOutput(output: string): Promise<void> {
  if (await exists(output))
    throw new ConfigError(
      'output',
      `${output} already exists`,
      'restore never overwrites a file: choose a new path, or move the old file away',
    );
  const dir = dirname(output);
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new ConfigError('output', `directory ${dir} does not exist`, 'create it first, or choose another path');
  }
  if (!info.isDirectory()) throw new ConfigError('output', `${dir} is not a directory`);
}

interface Tool {
  tool: 'etcdutl' | 'etcdctl';
  path: string;
  version?: string;
}

async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const ETCDCTL_ENV = { ETCDCTL_API: '3' };

async function findTool(searchPath: string): Promise<Tool> {
  for (const tool of ['etcdutl', 'etcdctl'] as const) {
    const path = await findOnPath(tool, searchPath);
    if (!path) continue;
    let version: string | undefined;
    try {
      const { stdout } = await execFileP(path, ['version'], { env: { ...process.env, ...ETCDCTL_ENV }, timeout: 10_000 });
      version = /version:\s*v?(\d+\.\d+\.\d+\S*)/.exec(stdout)?.[1];
    } catch {
      // An unknown version is not a reason to refuse; the restore itself will say if the tool is unusable.
    }
    if (tool === 'etcdctl' && version) {
      const [major = 0, minor = 0] = version.split('.').map(Number);
      if (major > 3 || (major === 3 && minor >= 6)) continue; // etcdctl 3.6 has no `snapshot restore`
    }
    return version ? { tool, path, version } : { tool, path };
  }
  throw new ConfigError(
    'dataDir',
    'needs etcdutl (etcd 3.5+) or etcdctl (3.4/3.5) on the PATH to restore a data directory',
    'install the etcd client tools, or restore without --data-dir and run etcdutl snapshot restore yourself (see the restore runbook in the README)',
  );
}

/** A data dir must be absent or empty: a restore never mixes with or replaces an existing member's data. */
async function checkDataDir(dataDir: string): Promise<void> {
  let info;
  try {
    info = await lstat(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError('dataDir', `cannot read ${dataDir}: ${(error as Error).message}`);
    const parent = dirname(dataDir);
    if (
      !(await stat(parent).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    )
      throw new ConfigError('dataDir', `parent directory ${parent} does not exist`, 'create it first');
    return;
  }
  if (!info.isDirectory()) throw new ConfigError('dataDir', `${dataDir} exists and is not a directory`);
  const entries = await readdir(dataDir);
  if (entries.length > 0) {
    throw new ConfigError(
      'dataDir',
      `${dataDir} is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''})`,
      'stop the member and move its old data dir away (keep it until the restored cluster is healthy), then retry with an empty or absent directory',
    );
  }
}

/** Newest first; `accept` decides. The --before filter needs only the key, so it is applied before any manifest is read. */
async function choose(store: ObjectStore, cluster: string, options: Options): Promise<SnapshotEntry> {
  const entries = await listSnapshots(store, cluster);
  if (options.key !== undefined) {
    const entry = entries.find((e) => e.key === options.key);
    if (!entry)
      throw new BackupError('not-found', `no snapshot ${options.key} in ${store.description}`, {
        hint: 'use a key printed by etcd-backup list',
      });
    await loadDetails(store, [entry]);
    if (entry.excluded && !options.allowExcluded) {
      throw new ConfigError(
        'key',
        `${entry.key} is marked excluded${entry.excluded.reason ? ` (${entry.excluded.reason})` : ''}`,
        'someone marked it as not to be restored; pass --allow-excluded if you are sure, or pick another key',
      );
    }
    return entry;
  }
  const before = options.before;
  // A protected copy (reupload, bucket mode) carries a newer key than its data: its manifest's createdAt
  // is when the data was taken.
  const takenAt = (e: SnapshotEntry) => (e.manifest ? Date.parse(e.manifest.createdAt) : e.time.getTime());
  const inRange = (e: SnapshotEntry) =>
    (before === undefined || takenAt(e) <= before.getTime()) &&
    (options.revision === undefined || (e.manifest !== undefined && e.manifest.revision <= options.revision));
  const chosen = await findNewest(store, entries, (e) => isGood(e, { requireVerified: !options.allowUnverified }) && inRange(e));
  if (chosen) return chosen;

  const what = [
    `${options.allowUnverified ? 'good snapshot' : 'verified good snapshot'} of cluster "${cluster}"`,
    options.before ? `taken at or before ${options.before.toISOString()}` : undefined,
    options.revision !== undefined ? `at or below revision ${options.revision}` : undefined,
  ]
    .filter(Boolean)
    .join(' ');
  let hint =
    entries.length === 0
      ? 'run etcd-backup snapshot first'
      : 'see etcd-backup list: snapshots that are excluded, failed their checks or verification, or have no manifest are never chosen';
  if (!options.allowUnverified) {
    // Details are loaded for every candidate by now: the search above went through all of them.
    const unverified = entries.find((e) => isGood(e) && inRange(e));
    if (unverified)
      hint = `the newest unverified one is ${unverified.key}: run etcd-backup verify --key ${unverified.key}, or pass --allow-unverified`;
  }
  throw new BackupError('not-found', `no ${what} in ${store.description}`, { hint });
}

/** Problems that make the file unfit to restore; 'unsupported' only says the inspector could not look at everything. */
function fatalProblems(report: SnapshotReport, manifest: SnapshotManifest | undefined): string[] {
  const fatal = report.problems.filter((p) => p.kind !== 'unsupported').map((p) => `${p.kind}: ${p.message}`);
  if (manifest) {
    const fields: [string, number | string, number | string | undefined][] = [
      ['size', manifest.size, report.size],
      ['sha256', manifest.sha256, report.sha256],
      ['revision', manifest.revision, report.revision],
      ['totalKey', manifest.totalKey, report.totalKey],
    ];
    for (const [name, recorded, measured] of fields) {
      if (measured !== undefined && recorded !== measured)
        fatal.push(`manifest-mismatch: the manifest records ${name} ${recorded}, the object has ${measured}`);
    }
  }
  return fatal;
}

/** Passes the bytes through unchanged while the inspector reads the same bytes (sha256, trailer, bbolt structure). */
class InspectingStream extends Transform {
  readonly inspector = new SnapshotInspector();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.inspector.update(chunk);
    callback(null, chunk);
  }
}

const INTEGRITY_HINT =
  'nothing was written to the output path; pick another snapshot (etcd-backup list), and run etcd-backup verify on this one to record the damage';

/**
 * Streams the object into a hidden temporary file next to `output` while the inspector the snapshot and
 * verify tasks use reads the same bytes (sha256 trailer, size, bbolt structure, revision), then checks the
 * report and the manifest, fsyncs the file, and only then links it to `output` (create-only). Any failure
 * removes the temporary file: nothing that looks like a snapshot is left at `output` unless the bytes
 * checked out.
 */
async function download(
  store: ObjectStore,
  entry: SnapshotEntry,
  output: string,
  signal: AbortSignal | undefined,
): Promise<SnapshotReport> {
  const temp = join(dirname(output), `.${basename(output)}.restore-${randomBytes(6).toString('hex')}.partial`);
  try {
    const body = await store.get(entry.key);
    const inspecting = new InspectingStream();
    // 0600: an etcd snapshot holds every secret the cluster stores.
    const file = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
    try {
      await pipeline(body, inspecting, file, signal ? { signal } : {});
    } catch (error) {
      if (signal?.aborted) throw new BackupError('aborted', `restore of ${entry.key} aborted`, { cause: signal.reason ?? error });
      if (error instanceof BackupError) throw error;
      // A local file error (no space, permission): say which file; the errno stays in the cause.
      if ((error as NodeJS.ErrnoException).path === temp)
        throw new Error(`writing ${output} failed: ${(error as Error).message}`, { cause: error });
      throw error;
    }
    const report = inspecting.inspector.finish();
    const fatal = fatalProblems(report, entry.manifest);
    if (fatal.length > 0) {
      throw new BackupError(
        'snapshot-integrity',
        `${entry.key} is damaged: ${fatal.slice(0, 5).join('; ')}${fatal.length > 5 ? `; and ${fatal.length - 5} more` : ''}`,
        { hint: INTEGRITY_HINT },
      );
    }
    const handle = await open(temp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, output);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        throw new ConfigError('output', `${output} appeared while downloading`, 'restore never overwrites a file: choose a new path');
      throw error;
    }
    return report;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

function tail(text: string, lines = 20): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/**
 * Runs `etcdutl snapshot restore` (or `etcdctl snapshot restore`, API v3) into a fresh sibling directory,
 * then moves the result into place: an empty data dir keeps its owner and mode, and a failed run leaves
 * the data dir as it was (empty or absent).
 */
async function restoreDataDir(
  tool: Tool,
  file: string,
  dataDir: string,
  member: Options['member'],
  signal: AbortSignal | undefined,
  log: Logger,
): Promise<RestoreDataDir> {
  const staging = join(dirname(dataDir), `.${basename(dataDir)}.restore-${randomBytes(6).toString('hex')}`);
  const flags: string[] = ['--data-dir', staging];
  if (member.name !== undefined) flags.push('--name', member.name);
  if (member.initialCluster !== undefined) flags.push('--initial-cluster', member.initialCluster);
  if (member.initialClusterToken !== undefined) flags.push('--initial-cluster-token', member.initialClusterToken);
  if (member.initialAdvertisePeerUrls !== undefined) flags.push('--initial-advertise-peer-urls', member.initialAdvertisePeerUrls);
  const argv = ['snapshot', 'restore', file, ...flags];
  const shown = [tool.tool, ...argv.map((a) => (a === staging ? dataDir : a))];
  const base = {
    path: dataDir,
    tool: tool.tool,
    toolPath: tool.path,
    ...(tool.version ? { toolVersion: tool.version } : {}),
    command: shown,
  };
  const started = Date.now();
  log.info('restoring data dir', { dataDir, tool: tool.tool, toolVersion: tool.version, command: shown });
  try {
    await execFileP(tool.path, argv, {
      env: { ...process.env, ...(tool.tool === 'etcdctl' ? ETCDCTL_ENV : {}) },
      maxBuffer: 16 * 1024 * 1024,
      ...(signal ? { signal } : {}),
    });
    if (await exists(dataDir)) {
      // Empty (checked before the download): move the contents in, keeping the directory's owner and mode.
      for (const entry of await readdir(staging)) await rename(join(staging, entry), join(dataDir, entry));
      await rmdir(staging);
    } else {
      await rename(staging, dataDir);
    }
    return { ok: true, ...base, durationMs: Date.now() - started };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    const stderr = (error as { stderr?: string }).stderr;
    const message = stderr?.trim() ? tail(stderr) : (error as Error).message;
    log.error('data dir restore failed', { dataDir, tool: tool.tool, message });
    return { ok: false, ...base, durationMs: Date.now() - started, error: message };
  }
}

/**
 * Restores a stored snapshot: chooses it (newest good and verified by default; --key, --before,
 * --revision, --allow-unverified), streams it to a file while checking it, and optionally runs
 * `etcdutl snapshot restore` into a data directory. Every argument, the output path, the data dir and the
 * restore tool are checked before anything is downloaded.
 */
export async function restoreTask(deps: RestoreDeps, args: RestoreArgs): Promise<RestoreResult> {
  const { store, log, config } = deps;
  const now = deps.now ?? (() => new Date());
  const options = parseArgs(args, config.cluster);
  await checkOutput(options.output);
  let tool: Tool | undefined;
  if (options.dataDir !== undefined) {
    if (options.dataDir === options.output || options.output.startsWith(`${options.dataDir}/`))
      throw new ConfigError('output', 'must not be inside dataDir', 'write the snapshot file somewhere else, e.g. /var/tmp');
    await checkDataDir(options.dataDir);
    tool = await findTool(deps.path ?? process.env.PATH ?? '');
  }

  const entry = await choose(store, config.cluster, options);
  log.info('restoring snapshot', { key: entry.key, size: entry.size, output: options.output, verified: entry.verification?.ok ?? null });
  const started = now();
  const report = await download(store, entry, options.output, deps.signal);
  const durationMs = now().getTime() - started.getTime();
  const m = entry.manifest;
  const result: RestoreResult = {
    ok: true,
    key: entry.key,
    path: options.output,
    size: report.size,
    sha256: report.sha256,
    revision: report.revision ?? m?.revision ?? entry.requestedRevision,
    time: entry.time.toISOString(),
    verified: entry.verification ? { ok: entry.verification.ok, at: entry.verification.time.toISOString() } : null,
    warnings: report.problems.filter((p) => p.kind === 'unsupported'),
    durationMs,
    bytesPerSecond: Math.round(report.size / Math.max(durationMs / 1000, 0.001)),
  };
  for (const field of ['compactRevision', 'totalKey', 'totalSize'] as const) {
    if (report[field] !== undefined) result[field] = report[field];
  }
  if (entry.excluded) result.excluded = entry.excluded;
  if (m) result.etcd = { version: m.etcd.version, clusterId: m.etcd.clusterId, memberId: m.etcd.memberId };
  log.info('snapshot written', {
    key: entry.key,
    path: options.output,
    size: report.size,
    revision: result.revision,
    sha256: report.sha256,
  });

  if (options.dataDir !== undefined && tool) {
    // Checked before the download; checked again in case something created it meanwhile.
    await checkDataDir(options.dataDir);
    result.dataDir = await restoreDataDir(tool, options.output, options.dataDir, options.member, deps.signal, log);
    result.ok = result.dataDir.ok;
  }
  return result;
}
