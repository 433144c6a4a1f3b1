// How snapshot bytes are stored (shared/stored-encoding.ts). The oracle for the encoders is node:zlib's
// one-shot decompressors: a stored object must be one standard zstd or gzip stream of exactly the bytes
// etcd sent, whatever the sizes of the chunks they came in.
import { Readable, type Duplex, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Compression } from '../../shared/config/config.js';
import { BackupError } from '../../shared/errors.js';
import { compressionOfKey, snapshotKey } from '../../shared/layout.js';
import { decoders, encoders } from '../../shared/stored-encoding.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** The encoder's batch (ENCODE_BATCH in stored-encoding.ts): the chunk sizes below sit on and around it. */
const BATCH = 512 * KiB;

type Compressed = Exclude<Compression, 'none'>;
const COMPRESSED: Compressed[] = ['zstd', 'gzip'];
const decompressSync: Record<Compressed, (bytes: Buffer) => Buffer> = { zstd: zstdDecompressSync, gzip: gunzipSync };
const compressSync: Record<Compressed, (bytes: Buffer) => Buffer> = { zstd: zstdCompressSync, gzip: gzipSync };
const MAGIC: Record<Compressed, Buffer> = { zstd: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), gzip: Buffer.from([0x1f, 0x8b]) };

const keyFor = (compression: Compression) =>
  snapshotKey('etcd-a', new Date('2026-11-22T00:12:34.567Z'), 12345, compression, Buffer.from('a1b2c3d4', 'hex'));

/** Incompressible bytes, the same on every run (xorshift32). */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

/** Bytes that compress well, as most of a Kubernetes snapshot does. */
function text(length: number, seed: number): Buffer {
  let line = '';
  for (let i = 0; line.length < length; i++) line += `/registry/pods/ns-${seed % 7}/pod-${i} {"phase":"Running","n":${i % 97}}\n`;
  return Buffer.from(line.slice(0, length));
}

/** Half noise, half text, so both the raw-block and the match-finding paths of the compressors run. */
function content(length: number, seed: number): Buffer {
  const half = length >> 1;
  return Buffer.concat([noise(half, seed), text(length - half, seed)]);
}

/**
 * Chunks whose sizes land on every case of the batching: a byte, etcd's 32 KiB messages, a chunk that ends
 * exactly on a batch boundary, exactly one batch (aligned and not), one byte more than a batch, chunks
 * spanning two and three boundaries, and a total that leaves a partial last batch.
 */
function assortedChunks(): Buffer[] {
  const toBoundary = Symbol('to the next batch boundary');
  const sizes: (number | typeof toBoundary)[] = [
    1,
    32 * KiB,
    BATCH,
    BATCH + 1,
    Math.round(1.3 * MiB),
    ...Array<number>(8).fill(32 * KiB),
    1,
    BATCH,
    7,
    toBoundary,
    BATCH,
    Math.round(1.3 * MiB),
    300_000,
  ];
  const chunks: Buffer[] = [];
  let total = 0;
  for (const [i, size] of sizes.entries()) {
    const length = size === toBoundary ? BATCH - (total % BATCH) : size;
    chunks.push(content(length, i + 1));
    total += length;
  }
  return chunks;
}

/** A sink that keeps what it is given. */
function collector(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    sink: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
    bytes: () => Buffer.concat(chunks),
  };
}

async function encode(compression: Compression, chunks: Buffer[]): Promise<Buffer> {
  const out = collector();
  await pipeline([Readable.from(chunks), ...encoders({ compression }), out.sink]);
  return out.bytes();
}

async function decode(key: string, stored: Buffer, chunkSize = 64 * KiB): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < stored.length; at += chunkSize) chunks.push(stored.subarray(at, at + chunkSize));
  const out = collector();
  await pipeline([Readable.from(chunks), ...decoders(key), out.sink]);
  return out.bytes();
}

/** The one stage a compressed encoding has. */
function theEncoder(compression: Compressed): Duplex {
  const stages = encoders({ compression });
  expect(stages).toHaveLength(1);
  return stages[0] as Duplex;
}

/** Whether `stream` emits 'drain' within `ms`. */
function drains(stream: Writable | Duplex, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      stream.off('drain', onDrain);
      resolve(false);
    }, ms);
    stream.once('drain', onDrain);
  });
}

/** Fails with a clear message instead of the test's timeout when `promise` does not settle. */
function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

describe('stored encoding', () => {
  it('uses keys whose suffix names each compression', () => {
    for (const compression of ['zstd', 'gzip', 'none'] as const) expect(compressionOfKey(keyFor(compression))).toBe(compression);
  });

  it.each(COMPRESSED)('%s: chunks of assorted sizes are stored as one standard stream of exactly those bytes', async (compression) => {
    const chunks = assortedChunks();
    const input = Buffer.concat(chunks);
    expect(input.length).toBeGreaterThan(5 * MiB);
    expect(input.length % BATCH).not.toBe(0);

    const stored = await encode(compression, chunks);
    expect(stored.subarray(0, MAGIC[compression].length).equals(MAGIC[compression])).toBe(true);
    expect(stored.length).toBeLessThan(input.length);
    expect(decompressSync[compression](stored).equals(input)).toBe(true);
    expect((await decode(keyFor(compression), stored)).equals(input)).toBe(true);
  });

  it.each(COMPRESSED)('%s: empty input is stored as a valid stream of nothing', async (compression) => {
    const stored = await encode(compression, []);
    expect(stored.length).toBeGreaterThan(0); // zstdDecompressSync refuses an empty buffer, but be explicit
    expect(decompressSync[compression](stored)).toHaveLength(0);
    expect(await decode(keyFor(compression), stored)).toHaveLength(0);
  });

  it('none: no stages, so the bytes are stored as they come', async () => {
    expect(encoders({ compression: 'none' })).toEqual([]);
    expect(decoders(keyFor('none'))).toEqual([]);
    const chunks = [content(1000, 1), content(BATCH + 1, 2)];
    expect((await encode('none', chunks)).equals(Buffer.concat(chunks))).toBe(true);
  });

  // etcd sends 32 KiB messages; chunks that do not divide a batch (and ones larger than it) must stop the
  // writer just the same, also when a batch fills in the middle of a chunk.
  const SIZES = [32 * KiB, 32 * KiB + 1, 600 * KiB, MiB + 1];
  it.each(COMPRESSED.flatMap((c) => SIZES.map((size) => [c, size] as const)))(
    '%s, chunks of %i bytes: while nothing reads its output the encoder stops taking input, holding a bounded amount, and then delivers all of it',
    async (compression, size) => {
      const encoder = theEncoder(compression);
      const written: Buffer[] = [];
      let accepted = 0;
      // Incompressible chunks: the output is as big as the input, so a reader that does not read must,
      // through the compressor, stop the writer.
      for (let seed = 1; accepted <= 8 * MiB; seed++) {
        const chunk = noise(size, seed);
        written.push(chunk);
        accepted += chunk.length;
        if (encoder.write(chunk)) continue;
        // write() said wait: a 'drain' means it took the bytes on after all; none for a while means it holds.
        if (!(await drains(encoder, 200))) break;
      }
      expect(accepted).toBeLessThan(4 * MiB);
      expect(encoder.writableNeedDrain).toBe(true);

      const out = collector();
      const done = pipeline(encoder, out.sink);
      encoder.end();
      await settlesWithin(done, 5000);
      expect(decompressSync[compression](out.bytes()).equals(Buffer.concat(written))).toBe(true);
    },
  );

  it.each(COMPRESSED)('%s: destroying the encoder mid-stream fails the pipeline with that error', async (compression) => {
    const encoder = theEncoder(compression);
    const boom = new Error('boom');
    async function* source() {
      for (let seed = 1; seed <= 64; seed++) {
        if (seed === 40) encoder.destroy(boom); // 1.25 MiB in: two batches through, a third being filled
        yield content(32 * KiB, seed);
      }
    }
    const out = collector();
    await expect(settlesWithin(pipeline([Readable.from(source()), encoder, out.sink]), 2000)).rejects.toBe(boom);
  });

  it.each(COMPRESSED)('%s: destroying an encoder stalled on a reader that does not read fails the pipeline too', async (compression) => {
    const encoder = theEncoder(compression);
    const boom = new Error('boom');
    async function* source() {
      for (let seed = 1; seed <= 512; seed++) yield noise(32 * KiB, seed);
    }
    // Takes one chunk and never asks for the next: the encoder ends up waiting on its compressor's 'drain'.
    const stuck = new Writable({ write: () => undefined });
    const done = pipeline([Readable.from(source()), encoder, stuck]);
    setTimeout(() => encoder.destroy(boom), 150);
    await expect(settlesWithin(done, 2000)).rejects.toBe(boom);
  });

  describe.each(COMPRESSED)('%s: a stored object that does not decode', (compression) => {
    const key = keyFor(compression);
    const valid = compressSync[compression](content(200 * KiB, 3));

    it.each([
      ['garbage', Buffer.from('these bytes are neither zstd nor gzip, just text '.repeat(100))],
      ['a truncated stream', valid.subarray(0, valid.length - 8)],
    ])('fails with snapshot-integrity naming the key, for %s', async (_what, stored) => {
      const error = await decode(key, stored).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BackupError);
      expect((error as BackupError).code).toBe('snapshot-integrity');
      expect((error as BackupError).message).toContain(key);
      expect((error as BackupError).message).toContain('does not decompress');
    });
  });
});
