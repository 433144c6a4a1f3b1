import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../../log.js';
import type { MemberFlags, RevisionBump } from './args.js';
import { ETCDCTL_ENV, exists, type RestoreTool } from './preflight.js';

const execFileP = promisify(execFile);

export interface RestoreDataDir {
  ok: boolean;
  path: string;
  tool: 'etcdutl' | 'etcdctl';
  toolPath: string;
  toolVersion?: string;
  /** How far the revision was moved past the snapshot's (0: not at all); etcdutl --bump-revision. */
  bumpRevision: number;
  /** Whether the skipped revisions were marked compacted (etcdutl --mark-compacted): with any bump. */
  markCompacted: boolean;
  /** The command that was run, for the record (the snapshot path and flags exactly as passed). */
  command: string[];
  durationMs: number;
  /** The tool's error output when it failed (its last lines). */
  error?: string;
}

function tail(text: string, lines = 20): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** Where and as what member to restore, and how far to bump the revision. */
export interface DataDirTarget {
  dataDir: string;
  member: MemberFlags;
  bump?: RevisionBump;
}

/**
 * Runs `etcdutl snapshot restore` (or `etcdctl snapshot restore`, API v3) into a fresh sibling directory,
 * then moves the result into place: an empty data dir keeps its owner and mode, and a failed run leaves
 * the data dir as it was (empty or absent). A failure of the tool is reported in the result, not thrown:
 * the snapshot file is good and stays.
 */
export async function restoreDataDir(
  tool: RestoreTool,
  file: string,
  { dataDir, member, bump }: DataDirTarget,
  signal: AbortSignal | undefined,
  log: Logger,
): Promise<RestoreDataDir> {
  const staging = join(dirname(dataDir), `.${basename(dataDir)}.restore-${randomBytes(6).toString('hex')}`);
  const flags: string[] = ['--data-dir', staging];
  if (member.name !== undefined) flags.push('--name', member.name);
  if (member.initialCluster !== undefined) flags.push('--initial-cluster', member.initialCluster);
  if (member.initialClusterToken !== undefined) flags.push('--initial-cluster-token', member.initialClusterToken);
  if (member.initialAdvertisePeerUrls !== undefined) flags.push('--initial-advertise-peer-urls', member.initialAdvertisePeerUrls);
  const bumpRevision = bump?.bumpRevision ?? 0;
  const markCompacted = bump?.markCompacted ?? false;
  if (bumpRevision > 0) flags.push('--bump-revision', String(bumpRevision));
  if (markCompacted) flags.push('--mark-compacted');
  const argv = ['snapshot', 'restore', file, ...flags];
  const shown = [tool.tool, ...argv.map((a) => (a === staging ? dataDir : a))];
  const base = {
    path: dataDir,
    tool: tool.tool,
    toolPath: tool.path,
    ...(tool.version ? { toolVersion: tool.version } : {}),
    bumpRevision,
    markCompacted,
    command: shown,
  };
  const started = Date.now();
  log.info('restoring data dir', { dataDir, tool: tool.tool, toolVersion: tool.version, bumpRevision, command: shown });
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
