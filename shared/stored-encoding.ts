import { pipeline, type Readable, Transform } from 'node:stream';
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
 * Output chunks the size of the input etcd sends (32 KiB messages) and bigger: zlib's default of 16 KiB
 * would double the chunks every later stage (counting, the S3 part buffers) handles.
 */
const CHUNK = 64 * 1024;

/**
 * What an encoder is fed at a time, and the size of its output chunks. node:zlib hands every written chunk
 * (and every full output buffer) to the thread pool as a job of its own, and on incompressible data the
 * hand-over of etcd's 32 KiB messages cost more CPU than zstd itself. Measured on 1 GiB of random values:
 * zstd alone in a process 4.7 -> 1.4 CPU-s with the CLI's young-generation flags; a whole snapshot into a
 * local directory 11.7 -> 9.4 s (plain: 8.6 s). One such buffer is held on each side of the encoder.
 */
const ENCODE_BATCH = 512 * 1024;

/** Joins consecutive chunks into ones of at least `size` bytes (the last one may be shorter). */
function batches(size: number): Transform {
  let held: Buffer[] = [];
  let heldBytes = 0;
  const release = (stream: Transform) => {
    if (heldBytes > 0) stream.push(held.length === 1 ? held[0] : Buffer.concat(held, heldBytes));
    held = [];
    heldBytes = 0;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes >= size) release(this);
      callback();
    },
    flush(callback) {
      release(this);
      callback();
    },
  });
}

/**
 * zstd level 1: on Kubernetes-like data it stores nearly what level 3 does for much less CPU, and on
 * incompressible values (random bytes, encrypted Secrets) its match search gives up quickly and stores raw
 * blocks, so no detection of our own is needed. The frame checksum lets `zstd -d` (and our reader) name a
 * damaged object before etcd's own trailer is reached.
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
export function encoders(encoding: StoredEncoding): Transform[] {
  return stages(encoding).flatMap((s) => [batches(ENCODE_BATCH), s.encode()]);
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
