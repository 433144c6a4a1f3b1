import type { SnapshotEntry } from '../../catalogue.js';
import { selectForRestore } from '../../selection.js';
import type { Problem, SnapshotReport } from '../../snapshot-format/index.js';
import { parseRestoreArgs, type RestoreArgs } from './args.js';
import { restoreDataDir, type RestoreDataDir } from './data-dir.js';
import { download } from './download.js';
import { checkDataDir, preflight } from './preflight.js';
import type { ReadingTaskDeps } from '../deps.js';

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

export interface RestoreDeps extends ReadingTaskDeps {
  /** Where etcdutl / etcdctl are looked up (default process.env.PATH). */
  path?: string;
}

/**
 * Restores a stored snapshot, step by step: parse the arguments (no I/O), preflight this machine (output
 * path, data dir, restore tool), select the snapshot (newest good and verified by default; --key,
 * --before, --revision, --allow-unverified), download it to --output while checking it, and optionally
 * run `etcdutl snapshot restore` into --data-dir, bumping the revision past the old cluster's. Nothing is
 * downloaded unless every earlier step passed.
 */
export async function restoreTask(deps: RestoreDeps, args: RestoreArgs): Promise<RestoreResult> {
  const { store, log, config } = deps;
  const now = deps.now ?? (() => new Date());
  const options = parseRestoreArgs(args, config.cluster);
  const tool = await preflight(options, deps.path ?? process.env.PATH ?? '');
  const entry = await selectForRestore(store, config.cluster, options);

  log.info('restoring snapshot', {
    key: entry.key,
    storedSize: entry.size,
    output: options.output,
    verified: entry.verification?.ok ?? null,
  });
  const started = now();
  const report = await download(store, entry, options.output, deps.signal, deps.progress);
  const result = describe(entry, options.output, report, now().getTime() - started.getTime());
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
    const target = { dataDir: options.dataDir, member: options.member, bump: options.bump };
    result.dataDir = await restoreDataDir(tool, options.output, target, deps.signal, log);
    result.ok = result.dataDir.ok;
  }
  return result;
}

/** The result for a written file: what the bytes measured, and what the listing and manifest say about the snapshot. */
function describe(entry: SnapshotEntry, path: string, report: SnapshotReport, durationMs: number): RestoreResult {
  const m = entry.manifest;
  const result: RestoreResult = {
    ok: true,
    key: entry.key,
    path,
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
  return result;
}
