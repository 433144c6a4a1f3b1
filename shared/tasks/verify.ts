import { manifestMismatches } from '../manifest.js';
import { listSnapshots, type SnapshotEntry } from '../catalogue.js';
import { BackupError, ConfigError } from '../errors.js';
import { parseSnapshotKey, verificationKey } from '../layout.js';
import { SnapshotInspector, type SnapshotReport } from '../snapshot-format/index.js';
import { findKey, findNewest } from '../selection.js';
import type { ObjectStore } from '../store/index.js';
import { openSnapshot } from '../stored-encoding.js';
import type { VerificationRecord, VerifyProblem } from '../verification.js';
import { TOOL } from '../version.js';
import type { ReadingTaskDeps } from './deps.js';

/** The verification record as stored, plus where it was stored and how fast the check ran. */
export interface VerifyResult extends Omit<VerificationRecord, 'format' | 'tool'> {
  recordKey: string;
  durationMs: number;
  bytesPerSecond: number;
}

export type VerifyDeps = ReadingTaskDeps;

async function chooseTarget(store: ObjectStore, cluster: string, key: string | undefined): Promise<SnapshotEntry> {
  // A key of the wrong shape is bad usage: refused before the store is read.
  if (key !== undefined && !parseSnapshotKey(key, cluster))
    throw new ConfigError('key', `"${key}" is not a snapshot key of cluster "${cluster}"`, 'use a key printed by etcd-backup list');
  const entries = await listSnapshots(store, cluster);
  if (key !== undefined) return findKey(store, entries, key);
  // The latest snapshot that finished (has a manifest) and is not excluded, whatever earlier verifications said.
  const latest = await findNewest(store, entries, (e) => e.manifest !== undefined && !e.excluded);
  if (!latest)
    throw new BackupError('not-found', `no complete snapshot of cluster "${cluster}" in ${store.description}`, {
      hint: 'run etcd-backup snapshot first',
    });
  return latest;
}

/** The writer's record must agree with what the bytes say; the bytes are the truth. */
function compareWithManifest(report: SnapshotReport, entry: SnapshotEntry): VerifyProblem[] {
  const manifest = entry.manifest;
  if (entry.state === 'invalid-manifest')
    return [{ kind: 'manifest-mismatch', message: 'the manifest is unreadable or describes another object' }];
  if (!manifest) return [{ kind: 'manifest-missing', message: 'the snapshot has no manifest: the run that wrote it did not finish' }];
  return manifestMismatches(manifest, report).map((message) => ({ kind: 'manifest-mismatch', message }));
}

/**
 * Proves a stored snapshot intact from the store alone: streams it through the inspector (sha256 trailer,
 * bbolt structure, etcd revision and key count) with bounded memory, compares the result with the
 * manifest, and records the outcome next to the snapshot (the snapshot itself is never modified).
 */
export async function verifyTask(deps: VerifyDeps, args: { key?: string }): Promise<VerifyResult> {
  const { store, log, config } = deps;
  const now = deps.now ?? (() => new Date());
  const target = await chooseTarget(store, config.cluster, args.key);
  log.info('verifying snapshot', { key: target.key, storedSize: target.size });
  const started = now();
  const aborted = () => new BackupError('aborted', `verification of ${target.key} aborted`, { cause: deps.signal?.reason });
  // Aborted while the snapshot was being chosen: no download is started (the decoders start reading at
  // once, and a GCS read destroyed while its request is in flight fails outside any stream).
  if (deps.signal?.aborted) throw aborted();
  const body = await openSnapshot(store, target.key, deps.progress?.start(target.size));
  const onAbort = () => body.destroy(aborted());
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  // Aborted while the download was being opened: an abort event that has already fired never fires again.
  if (deps.signal?.aborted) onAbort();
  const inspector = new SnapshotInspector();
  // A stored object that does not decode is damage to record, like bytes that do not check out.
  let undecodable: VerifyProblem | undefined;
  try {
    for await (const chunk of body) inspector.update(chunk as Buffer);
  } catch (error) {
    if (error instanceof BackupError && error.code === 'snapshot-integrity' && !deps.signal?.aborted) {
      undecodable = { kind: 'undecodable', message: error.message };
    } else if (error instanceof BackupError) {
      throw error;
    } else {
      throw new BackupError('store-unreachable', `the download of ${target.key} broke off: ${(error as Error).message}`, {
        cause: error,
        hint: 'nothing was recorded; run verify again, and check the network path to the store if it repeats',
      });
    }
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
  }
  const report = inspector.finish();
  const problems: VerifyProblem[] = [...(undecodable ? [undecodable] : []), ...report.problems, ...compareWithManifest(report, target)];
  const ok = problems.length === 0;
  const verifiedAt = now();
  const record: VerificationRecord = {
    format: 1,
    key: target.key,
    verifiedAt: verifiedAt.toISOString(),
    ok,
    size: report.size,
    sha256: report.sha256,
    problems,
    tool: TOOL,
  };
  for (const field of ['revision', 'compactRevision', 'totalKey', 'totalSize'] as const) {
    if (report[field] !== undefined) record[field] = report[field];
  }
  const recordKey = verificationKey(target.key, verifiedAt, ok);
  await store.put(recordKey, Buffer.from(JSON.stringify(record, null, 2)), { contentType: 'application/json' });
  if (!ok) log.warn('snapshot failed verification', { key: target.key, problems: problems.slice(0, 10) });
  const durationMs = verifiedAt.getTime() - started.getTime();
  const { format: _format, tool: _tool, ...fields } = record;
  return { ...fields, recordKey, durationMs, bytesPerSecond: Math.round(report.size / Math.max(durationMs / 1000, 0.001)) };
}
