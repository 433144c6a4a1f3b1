import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SnapshotEntry } from '../../catalogue.js';
import { BackupError, PreconditionError } from '../../errors.js';
import { manifestMismatches, type SnapshotManifest } from '../../manifest.js';
import type { Progress, ProgressMeter } from '../../progress.js';
import { SnapshotInspector, type SnapshotReport } from '../../snapshot-format/index.js';
import type { ObjectStore } from '../../store/index.js';
import { openSnapshot } from '../../stored-encoding.js';

/** Problems that make the file unfit to restore; 'unsupported' only says the inspector could not look at everything. */
function fatalProblems(report: SnapshotReport, manifest: SnapshotManifest | undefined): string[] {
  const fatal = report.problems.filter((p) => p.kind !== 'unsupported').map((p) => `${p.kind}: ${p.message}`);
  if (manifest) fatal.push(...manifestMismatches(manifest, report).map((message) => `manifest-mismatch: ${message}`));
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
 * Streams the snapshot, decompressed (the plain file etcdutl restores, whatever the stored encoding), into a
 * hidden temporary file next to `output` while the inspector the snapshot and
 * verify tasks use reads the same bytes (sha256 trailer, size, bbolt structure, revision), then checks the
 * report and the manifest, fsyncs the file, and only then links it to `output` (create-only). Any failure
 * removes the temporary file: nothing that looks like a snapshot is left at `output` unless the bytes
 * checked out.
 */
export async function download(
  store: ObjectStore,
  entry: SnapshotEntry,
  output: string,
  signal: AbortSignal | undefined,
  progress?: Progress,
): Promise<SnapshotReport> {
  const temp = join(dirname(output), `.${basename(output)}.restore-${randomBytes(6).toString('hex')}.partial`);
  try {
    const report = await streamChecked(store, entry.key, temp, output, signal, progress?.start(entry.size));
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
        throw new PreconditionError('output', `${output} appeared while downloading`, 'restore never overwrites a file: choose a new path');
      throw error;
    }
    return report;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** Writes the snapshot to `temp` (create-only, 0600) through the inspector and returns its report. */
async function streamChecked(
  store: ObjectStore,
  key: string,
  temp: string,
  output: string,
  signal: AbortSignal | undefined,
  meter: ProgressMeter | undefined,
): Promise<SnapshotReport> {
  // Aborted before the download: none is started (the decoders start reading at once, and a GCS read
  // destroyed while its request is in flight fails outside any stream).
  if (signal?.aborted) throw new BackupError('aborted', `restore of ${key} aborted`, { cause: signal.reason });
  const body = await openSnapshot(store, key, meter);
  const inspecting = new InspectingStream();
  // 0600: an etcd snapshot holds every secret the cluster stores.
  const file = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
  try {
    await pipeline(body, inspecting, file, signal ? { signal } : {});
  } catch (error) {
    if (signal?.aborted) throw new BackupError('aborted', `restore of ${key} aborted`, { cause: signal.reason ?? error });
    // A stored object that does not decode: the decoder's error, with what restore has (not) done.
    if (error instanceof BackupError && error.code === 'snapshot-integrity')
      throw new BackupError(error.code, error.message, { cause: error.cause ?? error, hint: INTEGRITY_HINT });
    if (error instanceof BackupError) throw error;
    // A local file error (no space, permission): say which file; the errno stays in the cause.
    if ((error as NodeJS.ErrnoException).path === temp)
      throw new Error(`writing ${output} failed: ${(error as Error).message}`, { cause: error });
    throw error;
  }
  return inspecting.inspector.finish();
}
