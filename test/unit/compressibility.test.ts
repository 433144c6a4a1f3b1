import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import type { Compression } from '../../shared/config/config.js';
import { CompressibilitySampler, chooseCompression, INCOMPRESSIBLE_RATIO } from '../../shared/compressibility.js';
import type { SnapshotManifest } from '../../shared/manifest.js';

const MiB = 1024 * 1024;

/** The fields chooseCompression reads; the rest of a manifest does not matter to it. */
function previous(fields: Partial<SnapshotManifest>): SnapshotManifest {
  return { key: 'c/prev.db', size: 1000 * MiB, ...fields } as SnapshotManifest;
}

describe('chooseCompression', () => {
  const cases: [string, Compression, SnapshotManifest | undefined, Compression, boolean][] = [
    ['first snapshot of a cluster', 'zstd', undefined, 'zstd', false],
    ['none is never changed', 'none', previous({ compression: 'zstd', storedSize: 100 * MiB }), 'none', false],
    ['previous compressed well', 'zstd', previous({ compression: 'zstd', storedSize: 150 * MiB }), 'zstd', false],
    ['previous zstd just under the line', 'zstd', previous({ compression: 'zstd', storedSize: 899 * MiB }), 'zstd', false],
    ['previous zstd at the line', 'zstd', previous({ compression: 'zstd', storedSize: 900 * MiB }), 'none', true],
    ['previous zstd incompressible', 'zstd', previous({ compression: 'zstd', storedSize: 990 * MiB }), 'none', true],
    ['previous gzip incompressible, gzip asked', 'gzip', previous({ compression: 'gzip', storedSize: 1001 * MiB }), 'none', true],
    ['previous plain, sampled incompressible', 'zstd', previous({ compression: 'none', sampledEntropy: 0.99 }), 'none', true],
    ['previous plain, sampled compressible again', 'zstd', previous({ compression: 'none', sampledEntropy: 0.31 }), 'zstd', false],
    ['previous plain, sampled at the recompress line', 'zstd', previous({ compression: 'none', sampledEntropy: 0.85 }), 'none', true],
    [
      'previous plain, sampled just under the recompress line',
      'zstd',
      previous({ compression: 'none', sampledEntropy: 0.849 }),
      'zstd',
      false,
    ],
    ['previous compressed, empty (size 0)', 'zstd', previous({ compression: 'zstd', size: 0, storedSize: 13 }), 'zstd', false],
    ['previous plain, not sampled (tiny or older version)', 'zstd', previous({ compression: 'none' }), 'zstd', false],
    ['manifest from before compression', 'gzip', previous({}), 'gzip', false],
  ];
  it.each(cases)('%s', (_name, configured, prev, expected, withReason) => {
    const choice = chooseCompression(configured, prev);
    expect(choice.compression).toBe(expected);
    expect(choice.reason !== undefined).toBe(withReason);
    if (withReason) expect(choice.reason).toContain('c/prev.db');
  });
});

async function sample(chunks: Buffer[]): Promise<{ ratio: number | undefined; passed: Buffer }> {
  const sampler = new CompressibilitySampler();
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    sampler,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return { ratio: sampler.entropy, passed: Buffer.concat(out) };
}

describe('CompressibilitySampler', () => {
  const chunked = (data: Buffer) =>
    Array.from({ length: data.length / (32 * 1024) }, (_, i) => data.subarray(i * 32 * 1024, (i + 1) * 32 * 1024));

  it('random bytes sample at full entropy, and pass through unchanged', async () => {
    const data = randomBytes(16 * MiB);
    const { ratio, passed } = await sample(chunked(data));
    expect(ratio).toBeGreaterThanOrEqual(INCOMPRESSIBLE_RATIO);
    expect(passed.equals(data)).toBe(true);
  });

  it('JSON objects sample well below the line', async () => {
    const objects: string[] = [];
    for (let i = 0, length = 0; length < 16 * MiB; i++) {
      const object = JSON.stringify({
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: { name: `cm-${i}`, namespace: 'team-a', uid: randomBytes(16).toString('hex') },
        data: { 'app.properties': `replicas=${i % 7}\nlog.level=info\n` },
      });
      objects.push(object);
      length += object.length;
    }
    const data = Buffer.from(objects.join('')).subarray(0, 16 * MiB);
    const { ratio } = await sample(chunked(data));
    // Byte entropy alone: JSON text uses ~5 of 8 bits (zstd, which also finds repeats, stores far less).
    expect(ratio).toBeLessThan(0.7);
  });

  it('samples one chunk 1 MiB in and then one every 2 MiB, no others', async () => {
    // Random bytes exactly where the samples fall, zeros everywhere else: full entropy only if it samples
    // those chunks and no others.
    const chunk = 32 * 1024;
    const chunks = Array.from({ length: 256 }, (_, i) => {
      const at = (i + 1) * chunk;
      return at === MiB || (at > MiB && (at - MiB) % (2 * MiB) === 0) ? randomBytes(chunk) : Buffer.alloc(chunk);
    });
    expect((await sample(chunks)).ratio).toBeGreaterThan(0.99);
    const inverted = chunks.map((c) => (c.some((b) => b !== 0) ? Buffer.alloc(chunk) : randomBytes(chunk)));
    expect((await sample(inverted)).ratio).toBe(0);
  });

  it('a stream shorter than the first sample point gives no ratio', async () => {
    const { ratio } = await sample([randomBytes(512 * 1024)]);
    expect(ratio).toBeUndefined();
  });
});
