import { Transform, type TransformCallback } from 'node:stream';
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

/**
 * A plain snapshot's sampled entropy below which compressing is tried again. Lower than the line above:
 * entropy counts no repeats, and zstd's ratio on data with few of them sits near its entropy, so data
 * just under 0.9 could otherwise be compressed and stored plain in turn, run after run.
 */
export const RECOMPRESS_ENTROPY = 0.85;

export interface CompressionChoice {
  compression: Compression;
  /** Why the snapshot is stored plain although SNAPSHOT_COMPRESSION asks otherwise. */
  reason?: string;
}

/**
 * The compression of the next snapshot: the configured one, unless the cluster's newest good snapshot shows
 * its data does not compress (stored at INCOMPRESSIBLE_RATIO of its size or more, or, stored plain, a
 * sampled entropy of RECOMPRESS_ENTROPY or more). Every plain snapshot samples its data again
 * (CompressibilitySampler), so a cluster whose data becomes compressible is compressed again from the next
 * run on. Pure: table-tested.
 */
export function chooseCompression(configured: Compression, previous: SnapshotManifest | undefined): CompressionChoice {
  if (configured === 'none' || previous === undefined) return { compression: configured };
  const stored = compressionOf(previous);
  const plain = stored === 'none';
  // Stored compressed: what it stored, of its size; stored plain: what its sample says.
  const compressedRatio = previous.size > 0 ? storedSizeOf(previous) / previous.size : undefined;
  const ratio = plain ? previous.sampledEntropy : compressedRatio;
  const line = plain ? RECOMPRESS_ENTROPY : INCOMPRESSIBLE_RATIO;
  if (ratio === undefined || ratio < line) return { compression: configured };
  const measured = plain
    ? `is plain with a sampled entropy of ${ratio.toFixed(3)} of 8 bits a byte`
    : `was stored with ${stored} at ${ratio.toFixed(3)} of its size`;
  return {
    compression: 'none',
    reason: `the data does not compress: the previous snapshot (${previous.key}) ${measured}; this one is stored plain and sampled again`,
  };
}

/** One sample every this many bytes of the stream (~1.6% of a plain snapshot). */
const SAMPLE_EVERY = 2 * 1024 * 1024;

/**
 * Passes a plain snapshot through unchanged while it measures the byte entropy of one chunk (etcd's 32 KiB
 * messages) in every SAMPLE_EVERY bytes, as a share of the 8 bits a byte can carry: random or encrypted
 * data is at ~1.0, text and protobuf well below. It tells the next run whether compressing is worth trying
 * (chooseCompression). Entropy counts no repeats, so it never says "incompressible" of data that zstd
 * would shrink by finding them, except of random data repeated. Measured first with zstd itself on the
 * samples: synchronously, its context set up per sample cost ~1 CPU-s and 11 MiB of peak RSS per GiB;
 * on the thread pool through one long-lived stream, still 10 MiB. The histogram costs ~30 µs a sample.
 */
export class CompressibilitySampler extends Transform {
  /** The first sample is taken 1 MiB in, past bbolt's meta and freelist pages (mostly zeros). */
  private untilNext = SAMPLE_EVERY / 2;
  private readonly counts = new Uint32Array(256);
  private sampled = 0;
  /** Sum over the samples of entropy (0-1) times sample length. */
  private weighted = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.untilNext -= chunk.length;
    if (this.untilNext <= 0) {
      this.untilNext = SAMPLE_EVERY;
      this.sample(chunk);
    }
    callback(null, chunk);
  }

  private sample(chunk: Buffer): void {
    const counts = this.counts;
    counts.fill(0);
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      counts[byte] = (counts[byte] as number) + 1;
    }
    let bits = 0;
    for (const n of counts) {
      if (n === 0) continue;
      const p = n / chunk.length;
      bits -= p * Math.log2(p);
    }
    this.sampled += chunk.length;
    this.weighted += (bits / 8) * chunk.length;
  }

  /** The samples' entropy so far, a share of 8 bits per byte (0-1) rounded to 3 places; none if nothing was sampled. */
  get entropy(): number | undefined {
    return this.sampled > 0 ? Math.round((this.weighted / this.sampled) * 1000) / 1000 : undefined;
  }
}
