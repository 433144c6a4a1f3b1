import { Transform, type TransformCallback } from 'node:stream';
import { BackupError } from './errors.js';
import { SnapshotInspector, type SnapshotReport } from './snapshot-format/index.js';

const TRAILER = 32;
/** Problems that mean the bytes are not the complete snapshot etcd sent: the upload must not complete. */
const STREAM_INTEGRITY = new Set(['empty', 'truncated', 'size', 'trailer-mismatch']);

/**
 * Passes snapshot bytes through unchanged while the inspector hashes and parses them, but holds back the
 * last 32 bytes (the sha256 trailer; etcd sends it as a message of its own) until the stream ends. Only
 * if the trailer matches the database and the size adds up are those bytes released and the stream
 * ended; otherwise the stream fails, so the store aborts the upload and no object that looks complete is
 * ever created.
 */
export class CheckedSnapshotStream extends Transform {
  private readonly inspector = new SnapshotInspector();
  /**
   * The chunks not yet passed on: together at least the last 32 bytes seen, and no more than needed for
   * that (a chunk leaves as soon as the ones after it hold 32 bytes). Whole chunks are held and passed on
   * as they came, never copied or cut: downstream sees the chunks etcd sent, one push each.
   */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private finalReport: SnapshotReport | undefined;

  /** Available once the stream has ended successfully. */
  get report(): SnapshotReport {
    if (!this.finalReport) throw new Error('the snapshot stream has not finished');
    return this.finalReport;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.inspector.update(chunk);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    while (this.heldBytes - (this.held[0] as Buffer).length >= TRAILER) {
      const oldest = this.held.shift() as Buffer;
      this.heldBytes -= oldest.length;
      this.push(oldest);
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const report = this.inspector.finish();
    const broken = report.problems.filter((p) => STREAM_INTEGRITY.has(p.kind));
    if (broken.length > 0) {
      callback(
        new BackupError(
          'snapshot-integrity',
          `the snapshot stream is not a complete snapshot: ${broken.map((p) => p.message).join('; ')}`,
          {
            hint: 'the upload was aborted and nothing was stored; retry, and check the etcd member if it repeats',
          },
        ),
      );
      return;
    }
    this.finalReport = report;
    for (const chunk of this.held) this.push(chunk);
    this.held = [];
    callback();
  }
}
