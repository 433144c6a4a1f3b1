import { Transform, type TransformCallback } from 'node:stream';
import { constants, zstdCompress } from 'node:zlib';
import type { Compression } from './config/config.js';
import { compressionOf, type SnapshotManifest, storedSizeOf } from './manifest.js';

/**
 * At or above this stored/size ratio a cluster's data counts as incompressible: compressing it saves at
 * most a tenth of the storage and costs the snapshot time. Measured on 1 GiB of random values to radosgw
 * (docs/benchmarks.md): zstd stores 0.99 of the size and takes ~13% longer than storing it plain, on
 * Kubernetes-like data zstd stores 0.15 and is faster than plain; encrypted Secrets in an ordinary
 * cluster are a tenth of its bytes, far from this line.
 */
export const INCOMPRESSIBLE_RATIO = 0.9;

export interface CompressionChoice {
  compression: Compression;
  /** Why the snapshot is stored plain although COMPRESSION asks otherwise. */
  reason?: string;
}

/** What the previous snapshot says of the data's compressibility: stored/size, measured or sampled. */
function ratioOf(previous: SnapshotManifest): number | undefined {
  if (compressionOf(previous) !== 'none') return previous.size > 0 ? storedSizeOf(previous) / previous.size : undefined;
  return previous.zstdSampleRatio;
}

/**
 * The compression of the next snapshot: the configured one, unless the cluster's newest good snapshot shows
 * its data does not compress (stored at INCOMPRESSIBLE_RATIO of its size or more, or, stored plain, sampled
 * so). Every plain snapshot samples its data again (CompressibilitySampler), so a cluster whose data
 * becomes compressible is compressed again from the next run on. Pure: table-tested.
 */
export function chooseCompression(configured: Compression, previous: SnapshotManifest | undefined): CompressionChoice {
  if (configured === 'none' || previous === undefined) return { compression: configured };
  const ratio = ratioOf(previous);
  if (ratio === undefined || ratio < INCOMPRESSIBLE_RATIO) return { compression: configured };
  const how = compressionOf(previous) === 'none' ? 'sampled at' : `stored with ${compressionOf(previous)} at`;
  return {
    compression: 'none',
    reason: `the data does not compress: the previous snapshot (${previous.key}) ${how} ${ratio.toFixed(3)} of its size; stored plain, sampled again`,
  };
}

/** One sample every this many bytes of the stream: ~1.6% of a plain snapshot is compressed on the side. */
const SAMPLE_EVERY = 2 * 1024 * 1024;

/**
 * Passes a plain snapshot through unchanged while zstd (level 1, as a compressed snapshot uses) compresses
 * one chunk (etcd's 32 KiB messages) in every SAMPLE_EVERY bytes on libuv's thread pool: the ratio it
 * gets tells the next run whether compressing pays (chooseCompression). A chunk compressed alone finds
 * fewer matches than the whole stream would, so the estimate errs towards "incompressible" only for data
 * that nearly is. The chunks are only read by the sampling, never changed.
 */
export class CompressibilitySampler extends Transform {
  /** The first sample is taken 1 MiB in, past bbolt's meta and freelist pages (mostly zeros). */
  private untilNext = SAMPLE_EVERY / 2;
  private sampled = 0;
  private compressed = 0;
  private readonly pending = new Set<Promise<void>>();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.untilNext -= chunk.length;
    if (this.untilNext <= 0) {
      this.untilNext = SAMPLE_EVERY;
      this.sample(chunk);
    }
    callback(null, chunk);
  }

  private sample(chunk: Buffer): void {
    const done = new Promise<void>((resolve) => {
      zstdCompress(chunk, { params: { [constants.ZSTD_c_compressionLevel]: 1 } }, (error, out) => {
        // A sample that fails only leaves the estimate with one sample fewer.
        if (!error) {
          this.sampled += chunk.length;
          this.compressed += out.length;
        }
        resolve();
      });
    });
    this.pending.add(done);
    void done.then(() => this.pending.delete(done));
  }

  /** After the stream ended: zstd's stored/size over the samples, rounded to 3 places; none if nothing was sampled. */
  async ratio(): Promise<number | undefined> {
    await Promise.all(this.pending);
    return this.sampled > 0 ? Math.round((this.compressed / this.sampled) * 1000) / 1000 : undefined;
  }
}
