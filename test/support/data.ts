import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';

export interface SampleData {
  /** Every live key and its value after the writes. */
  expected: Map<string, Buffer>;
  /** The compaction revision used. */
  compactedAt: number;
}

/**
 * Writes a known history: small keys, values larger than a bbolt page (overflow pages), overwrites,
 * deletes (tombstones), a compaction, then more writes after it.
 */
export async function writeSampleData(endpoints: string[], options: { smallKeys?: number } = {}): Promise<SampleData> {
  const client = new Etcd3({ hosts: endpoints });
  const expected = new Map<string, Buffer>();
  try {
    const put = async (key: string, value: Buffer) => {
      await client.put(key).value(value);
      expected.set(key, value);
    };
    const small = options.smallKeys ?? 500;
    for (let i = 0; i < small; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, small - i) }, (_, j) =>
          put(`/app/small/${String(i + j).padStart(5, '0')}`, Buffer.from(`value-${i + j}`)),
        ),
      );
    }
    for (const size of [5_000, 100_000, 1_000_000]) await put(`/app/large/${size}`, randomBytes(size));
    for (let i = 0; i < 20; i++) await put('/app/counter', Buffer.from(String(i)));
    for (let i = 0; i < small; i += 10) {
      const key = `/app/small/${String(i).padStart(5, '0')}`;
      await client.delete().key(key);
      expected.delete(key);
    }
    const { header } = await client.put('/app/before-compaction').value('x');
    expected.set('/app/before-compaction', Buffer.from('x'));
    const compactedAt = Number(header.revision);
    await client.kv.compact({ revision: String(compactedAt), physical: true });
    await put('/app/after-compaction', Buffer.from('y'));
    await put('/app/binary', randomBytes(64));
    return { expected, compactedAt };
  } finally {
    client.close();
  }
}

/**
 * Writes about `megabytes` of 256 KiB values, 8 at a time (~100 MB/s on loopback). Each value is new random
 * bytes: one value written again and again is what zstd's window finds, and the snapshot would shrink to
 * almost nothing (no multipart upload, nothing like a worst case).
 */
export async function writeBulk(endpoints: string[], megabytes: number): Promise<void> {
  const client = new Etcd3({ hosts: endpoints });
  try {
    const count = megabytes * 4;
    for (let i = 0; i < count; i += 8) {
      await Promise.all(
        Array.from({ length: Math.min(8, count - i) }, (_, j) =>
          client.put(`/bulk/${String(i + j).padStart(7, '0')}`).value(randomBytes(256 * 1024)),
        ),
      );
    }
  } finally {
    client.close();
  }
}

/** Every key and value of the cluster. */
export async function readAll(endpoints: string[]): Promise<Map<string, Buffer>> {
  const client = new Etcd3({ hosts: endpoints });
  try {
    const all = await client.getAll().buffers();
    return new Map(Object.entries(all));
  } finally {
    client.close();
  }
}
