import { Duplex, pipeline, type Readable, type Transform } from 'node:stream';
import { constants, createGunzip, createGzip, createZstdCompress, createZstdDecompress } from 'node:zlib';
import type { Compression } from './config/config.js';
import { BackupError } from './errors.js';
import { compressionOfKey } from './layout.js';
import { metered, type ProgressMeter } from './progress.js';
import type { ObjectStore } from './store/index.js';

/**
 * How a snapshot's bytes are stored: the stages applied, in order, to the bytes etcd sends on their way to
 * the store, and undone in reverse order on the way back. Today there is one stage, compression; a second
 * (client-side encryption, which must come after compression: ciphertext does not compress) would be one
 * more entry here and in the key's suffix, and no reader or writer would change.
 */
export interface StoredEncoding {
  compression: Compression;
}

interface Stage {
  encode(): Transform;
  decode(): Transform;
  /** What the command-line tool that undoes it is called, for error hints. */
  tool: string;
}

/**
 * Size of a decoder's output chunks. node:zlib makes a thread-pool job of every output buffer it fills, and
 * with 64 KiB ones the main thread spent most of a restore waiting for those hand-overs: `restore --output`
 * of a 1 GiB Kubernetes-like snapshot (zstd) from radosgw, 6.0-6.2 s with 64 KiB, 4.4 s with 512 KiB
 * (alternating runs, same peak RSS: 91 MiB); 1 MiB gained nothing more.
 */
const CHUNK = 512 * 1024;

/**
 * What an encoder is fed at a time, and the size of its output chunks. node:zlib hands every written chunk
 * (and every full output buffer) to the thread pool as a job of its own, and on incompressible data the
 * hand-over of etcd's 32 KiB messages cost more CPU than zstd itself. Measured on 1 GiB of random values:
 * zstd alone in a process 4.7 -> 1.4 CPU-s with the CLI's young-generation flags; a whole snapshot into a
 * local directory 11.7 -> 9.4 s (plain: 8.6 s). Two such buffers feed the encoder (BatchedEncoder), one
 * more is its output buffer.
 */
const ENCODE_BATCH = 512 * 1024;

/**
 * Feeds `codec` ENCODE_BATCH bytes at a time from two buffers of its own, reused for the whole stream: the
 * encoder's input is copied once, into a buffer that lives as long as the stream, instead of joined into
 * a new one per batch (measured: see ENCODE_BATCH). A buffer is filled again only once the codec has
 * consumed it: its write callback says so, and the codec's write buffer (64 KiB) holds less than one
 * batch, so each batch waits for the previous one ('drain') and at most two exist.
 */
class BatchedEncoder extends Duplex {
  private readonly free: Buffer[] = [];
  private current: Buffer | undefined;
  private filled = 0;

  constructor(private readonly codec: Transform) {
    super();
    codec.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) codec.pause();
    });
    codec.on('end', () => this.push(null));
    codec.on('error', (error) => this.destroy(error));
  }

  override _read(): void {
    this.codec.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.fill(chunk, 0, callback);
  }

  /** Copies `chunk` from `at` into batches, waiting for 'drain' whenever the codec asks to. */
  private fill(chunk: Buffer, at: number, callback: (error?: Error | null) => void): void {
    while (at < chunk.length) {
      this.current ??= this.free.pop() ?? Buffer.allocUnsafeSlow(ENCODE_BATCH);
      const n = chunk.copy(this.current, this.filled, at);
      this.filled += n;
      at += n;
      if (this.filled === ENCODE_BATCH && !this.send()) {
        this.codec.once('drain', () => this.fill(chunk, at, callback));
        return;
      }
    }
    callback();
  }

  /** Hands the current batch to the codec; false when the codec asks to wait for 'drain'. */
  private send(): boolean {
    const batch = this.current as Buffer;
    this.current = undefined;
    const filled = this.filled;
    this.filled = 0;
    return this.codec.write(filled === batch.length ? batch : batch.subarray(0, filled), () => this.free.push(batch));
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.filled > 0) this.send();
    this.codec.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.codec.destroy();
    callback(error);
  }
}

/**
 * zstd level 1: on Kubernetes-like data it stores nearly what level 3 does for much less CPU. On
 * incompressible values (random bytes, encrypted Secrets) it stores raw blocks, but still costs time: data
 * that did not compress last time is stored plain (compressibility.ts). The frame checksum lets `zstd -d`
 * (and our reader) name a damaged object before etcd's own trailer is reached.
 *
 * gzip level 1: gzip is offered for tools that have no zstd; on incompressible data every level costs
 * several times what zstd does, and higher levels gain little on this kind of data for a lot more CPU.
 */
const STAGES: Record<Exclude<Compression, 'none'>, Stage> = {
  zstd: {
    encode: () =>
      createZstdCompress({
        chunkSize: ENCODE_BATCH,
        params: { [constants.ZSTD_c_compressionLevel]: 1, [constants.ZSTD_c_checksumFlag]: 1 },
      }),
    decode: () => createZstdDecompress({ chunkSize: CHUNK }),
    tool: 'zstd -d',
  },
  gzip: {
    encode: () => createGzip({ chunkSize: ENCODE_BATCH, level: 1 }),
    decode: () => createGunzip({ chunkSize: CHUNK }),
    tool: 'gzip -d',
  },
};

function stages(encoding: StoredEncoding): Stage[] {
  return encoding.compression === 'none' ? [] : [STAGES[encoding.compression]];
}

/** The encoding a snapshot key names (its suffix). */
export function encodingOfKey(key: string): StoredEncoding {
  return { compression: compressionOfKey(key) };
}

/** The transforms that turn snapshot bytes into stored bytes, in order; none for a plain snapshot. */
export function encoders(encoding: StoredEncoding): Duplex[] {
  return stages(encoding).map((s) => new BatchedEncoder(s.encode()));
}

/**
 * The transforms that turn the stored bytes of `key` back into the snapshot etcd sent, in order. A stored
 * object that does not decode (damaged, truncated, or not what its suffix says) fails the stream with a
 * `snapshot-integrity` error naming the key.
 */
export function decoders(key: string): Transform[] {
  return [...stages(encodingOfKey(key))].reverse().map((stage) => withNamedErrors(stage.decode(), key, stage));
}

/** zlib's own codes: Z_DATA_ERROR, Z_BUF_ERROR (ended early), ZSTD_error_*. */
const isDecodeError = (error: Error) => /^(Z_|ZSTD_error)/.test(String((error as NodeJS.ErrnoException).code));

/**
 * zlib's errors ("incorrect header check", "unexpected end of file") name neither the object nor what to
 * do. zlib fails a stream through its `destroy`, so that is where its own errors (and only those: an error
 * of the download passes as it is) become one that does.
 */
function withNamedErrors(decoder: Transform, key: string, stage: Stage): Transform {
  const destroy = decoder.destroy.bind(decoder);
  decoder.destroy = (error?: Error) => {
    if (error && isDecodeError(error)) {
      return destroy(
        new BackupError('snapshot-integrity', `${key} does not decompress: ${error.message}`, {
          cause: error,
          hint: `the stored object is damaged; pick another snapshot (etcd-backup list), and run etcd-backup verify on this one to record the damage (${stage.tool} on a downloaded copy shows the same)`,
        }),
      );
    }
    return destroy(error);
  };
  return decoder;
}

/**
 * The snapshot under `key` as etcd sent it (the plain etcdctl file), whatever its encoding: every reader of
 * snapshot bytes goes through here. `meter` counts the stored bytes as they are downloaded. Destroying the
 * returned stream stops the download; a damaged object fails it with `snapshot-integrity` (see decoders).
 */
export async function openSnapshot(store: ObjectStore, key: string, meter?: ProgressMeter): Promise<Readable> {
  const body = metered(await store.get(key), meter);
  const decode = decoders(key);
  const last = decode.at(-1);
  if (!last) return body;
  // The last decoder carries any failure along the way to whoever reads it.
  pipeline([body, ...decode], () => undefined);
  return last;
}
