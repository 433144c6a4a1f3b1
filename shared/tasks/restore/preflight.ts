import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, lstat, readdir, stat } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PreconditionError } from '../../errors.js';
import type { RestoreOptions } from './args.js';

const execFileP = promisify(execFile);

/** etcdctl 3.4 speaks the v2 API unless told otherwise. */
export const ETCDCTL_ENV = { ETCDCTL_API: '3' };

/** The program that turns a snapshot file into a data dir. */
export interface RestoreTool {
  tool: 'etcdutl' | 'etcdctl';
  path: string;
  version?: string;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** The output file must not exist (restore never overwrites), and its directory must. */
async function checkOutput(output: string): Promise<void> {
  if (await exists(output))
    throw new PreconditionError(
      'output',
      `${output} already exists`,
      'restore never overwrites a file: choose a new path, or move the old file away',
    );
  const dir = dirname(output);
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new PreconditionError('output', `directory ${dir} does not exist`, 'create it first, or choose another path');
  }
  if (!info.isDirectory()) throw new PreconditionError('output', `${dir} is not a directory`);
}

/** A data dir must be absent or empty: a restore never mixes with or replaces an existing member's data. */
export async function checkDataDir(dataDir: string): Promise<void> {
  let info;
  try {
    info = await lstat(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new PreconditionError('dataDir', `cannot read ${dataDir}: ${(error as Error).message}`);
    const parent = dirname(dataDir);
    const parentIsDir = await stat(parent).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!parentIsDir) throw new PreconditionError('dataDir', `parent directory ${parent} does not exist`, 'create it first');
    return;
  }
  if (!info.isDirectory()) throw new PreconditionError('dataDir', `${dataDir} exists and is not a directory`);
  const entries = await readdir(dataDir);
  if (entries.length > 0) {
    throw new PreconditionError(
      'dataDir',
      `${dataDir} is not empty (${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', ...' : ''})`,
      'stop the member and move its old data dir away (keep it until the restored cluster is healthy), then retry with an empty or absent directory',
    );
  }
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

/** etcdutl (3.5+), else etcdctl up to 3.5 (3.6 has no `snapshot restore`), on `searchPath`. */
async function findTool(searchPath: string): Promise<RestoreTool> {
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
      if (major > 3 || (major === 3 && minor >= 6)) continue;
    }
    return version ? { tool, path, version } : { tool, path };
  }
  throw new PreconditionError(
    'dataDir',
    'needs etcdutl (etcd 3.5+) or etcdctl (3.4/3.5) on the PATH to restore a data directory',
    'install the etcd client tools, or restore without --data-dir and run etcdutl snapshot restore yourself (see docs/restore.md)',
  );
}

/** The first release whose `snapshot restore` (etcdutl's, and the deprecated etcdctl 3.5 one) takes --bump-revision and --mark-compacted. */
export const BUMP_SINCE = [3, 5, 10] as const;

/** Whether a tool of this version can bump the revision; an unknown version cannot be trusted to. */
export function canBumpRevision(version: string | undefined): boolean {
  const parts = /^(\d+)\.(\d+)\.(\d+)/
    .exec(version ?? '')
    ?.slice(1)
    .map(Number);
  if (!parts) return false;
  for (const [i, since] of BUMP_SINCE.entries()) {
    const part = parts[i] ?? 0;
    if (part !== since) return part > since;
  }
  return true;
}

/**
 * What must hold on this machine before anything is downloaded: the output path is free, the data dir
 * (if asked for) is empty or absent, and a restore tool is on `searchPath` that can apply the revision
 * bump asked for. Returns that tool.
 */
export async function preflight(options: RestoreOptions, searchPath: string): Promise<RestoreTool | undefined> {
  await checkOutput(options.output);
  if (options.dataDir === undefined) return undefined;
  await checkDataDir(options.dataDir);
  const tool = await findTool(searchPath);
  if ((options.bump?.bumpRevision ?? 0) > 0 && !canBumpRevision(tool.version)) {
    throw new PreconditionError(
      'bumpRevision',
      `${tool.tool} ${tool.version ?? 'of unknown version'} (${tool.path}) cannot bump the revision: --bump-revision needs etcdutl ${BUMP_SINCE.join('.')} or later`,
      "without the bump the restored cluster serves revisions the old one already served, and Kubernetes' watch caches and informers miss changes: put etcdutl 3.5.10+ first on the PATH; only if no client watches etcd (not Kubernetes), pass --bump-revision 0",
    );
  }
  return tool;
}
