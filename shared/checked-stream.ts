import { Transform, type TransformCallback } from 'node:stream';
import { BackupError } from './errors.js';
import { SnapshotInspector, type SnapshotReport } from './snapshot-format/index.js';

const TRAILER = 32;
/** Problems that mean the bytes are not the complete snapshot etcd sent: the upload must not complete. */
const STREAM_INTEGRITY = new Set(['empty', 'truncated', 'size', 'trailer-mismatch']);

/**
 * Passes snapshot bytes through unchanged while the inspector hashes and parses them, but holds back the
 * last 32 bytes (the sha256 trailer) until the stream ends. Only if the trailer matches the database and
 * the size adds up are those bytes released and the stream ended; otherwise the stream fails, so the
 * store aborts the upload and no object that looks complete is ever created.
 */
export class CheckedSnapshotStream extends Transform {
  private readonly inspector = new SnapshotInspector();
  private held: Buffer = Buffer.alloc(0);
  private finalReport: SnapshotReport | undefined;

  /** Available once the stream has ended successfully. */
  get report(): SnapshotReport {
    if (!this.finalReport) throw new Error('the snapshot stream has not finished');
    return this.finalReport;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.inspector.update(chunk);
    if (chunk.length >= TRAILER) {
      if (this.held.length > 0) this.push(this.held);
      if (chunk.length > TRAILER) this.push(chunk.subarray(0, chunk.length - TRAILER));
      // Copy: keeping a view would pin the whole chunk's memory.
      this.held = Buffer.from(chunk.subarray(chunk.length - TRAILER));
    } else {
      const joined = Buffer.concat([this.held, chunk]);
      if (joined.length > TRAILER) this.push(joined.subarray(0, joined.length - TRAILER));
      this.held = Buffer.from(joined.subarray(Math.max(0, joined.length - TRAILER)));
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const report = this.inspector.finish();
    const broken = report.problems.filter((p) => STREAM_INTEGRITY.has(p.kind));
    if (broken.length > 0) {
      callback(
        new BackupError('snapshot-integrity', `the snapshot stream is not a complete snapshot: ${broken.map((p) => p.message).join('; ')}`, {
          hint: 'the upload was aborted and nothing was stored; retry, and check the etcd member if it repeats',
        }),
      );
      return;
    }
    this.finalReport = report;
    this.push(this.held);
    callback();
  }
}
