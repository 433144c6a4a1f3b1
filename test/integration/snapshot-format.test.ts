// The snapshot inspector against real etcd 3.4 and 3.5 snapshots, with the same release's tools as the
// oracle (etcdutl where it exists, else etcdctl): `snapshot status` for the facts, `snapshot restore` for
// whether damaged files are really damaged.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotInspector, type SnapshotReport } from '../../shared/snapshot-format/index.js';
import { FilePageTable } from '../../shared/snapshot-format/page-table.js';
import { withBucket, withLeafRow } from '../support/bbolt-edit.js';
import { readAll, writeBulk } from '../support/data.js';
import { ETCD_VERSIONS, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { restoreAccepts } from '../support/restore.js';
import { snapshotStatus, type EtcdctlStatus } from '../support/run.js';

interface Shot {
  name: string;
  file: string;
  bytes: Buffer;
  status: EtcdctlStatus;
  compactedAt?: number;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Feeds `bytes` in chunks of `size` bytes (or of sizes drawn by `size()`), copying each chunk into a reused buffer. */
function inspect(bytes: Uint8Array, size: number | (() => number) = bytes.length, options = {}): SnapshotReport {
  const inspector = new SnapshotInspector(options);
  // A reused buffer proves the inspector keeps nothing it was handed.
  const scratch = new Uint8Array(Math.max(1, typeof size === 'number' ? size : 65536));
  for (let offset = 0; offset < bytes.length; ) {
    const n = Math.min(typeof size === 'number' ? size : size(), bytes.length - offset, scratch.length);
    scratch.set(bytes.subarray(offset, offset + n));
    inspector.update(scratch.subarray(0, n));
    scratch.fill(0xa5);
    offset += n;
  }
  return inspector.finish();
}

function kinds(report: SnapshotReport): string[] {
  return report.problems.map((p) => p.kind);
}

/** Replaces the trailer with the sha256 of the (damaged) database, so only structure can tell. */
function reseal(bytes: Buffer): Buffer {
  const db = bytes.subarray(0, bytes.length - 32);
  return Buffer.concat([db, createHash('sha256').update(db).digest()]);
}

// An independent minimal bbolt reader, only to find pages worth damaging.
const layout = {
  pageSize: (b: Buffer) => b.readUInt32LE(24),
  header(b: Buffer, page: number) {
    const o = page * layout.pageSize(b);
    return {
      id: Number(b.readBigUInt64LE(o)),
      flags: b.readUInt16LE(o + 8),
      count: b.readUInt16LE(o + 10),
      overflow: b.readUInt32LE(o + 12),
    };
  },
  /** Root page of a top-level bucket (0 if inline), found in the root leaf. */
  bucketRoot(b: Buffer, name: string): number {
    const root = Number(b.readBigUInt64LE(32));
    const o = root * layout.pageSize(b);
    for (let i = 0; i < b.readUInt16LE(o + 10); i++) {
      const e = o + 16 + i * 16;
      const keyStart = e + b.readUInt32LE(e + 4);
      const keyEnd = keyStart + b.readUInt32LE(e + 8);
      if (b.toString('latin1', keyStart, keyEnd) === name) return Number(b.readBigUInt64LE(keyEnd));
    }
    throw new Error(`no bucket ${name}`);
  },
  /** Branch elements: file offset of each element and its child page. */
  branch(b: Buffer, page: number): { element: number; child: number }[] {
    const o = page * layout.pageSize(b);
    return Array.from({ length: b.readUInt16LE(o + 10) }, (_, i) => ({
      element: o + 16 + i * 16,
      child: Number(b.readBigUInt64LE(o + 16 + i * 16 + 8)),
    }));
  },
  /** File offsets of a leaf element and of its key. */
  leafElement(b: Buffer, page: number, index: number): { element: number; key: number; keySize: number } {
    const element = page * layout.pageSize(b) + 16 + index * 16;
    return { element, key: element + b.readUInt32LE(element + 4), keySize: b.readUInt32LE(element + 8) };
  },
};

describe.each(ETCD_VERSIONS)('snapshot inspector on real etcd %s snapshots', (version) => {
  let cluster: EtcdCluster;
  let client: Etcd3;
  let dir: string;
  const shots: Shot[] = [];

  async function save(name: string, extra: { user?: string; compactedAt?: number } = {}): Promise<void> {
    const file = join(dir, `${name}.db`);
    await cluster.etcdctl([...(extra.user ? ['--user', extra.user] : []), 'snapshot', 'save', file]);
    const shot: Shot = { name, file, bytes: await readFile(file), status: await snapshotStatus(file, version) };
    if (extra.compactedAt !== undefined) shot.compactedAt = extra.compactedAt;
    shots.push(shot);
  }

  const shot = (name: string): Shot => {
    const found = shots.find((s) => s.name === name);
    if (!found) throw new Error(`no snapshot ${name}`);
    return found;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapshot-format-'));
    cluster = await startEtcd({ version });
    client = new Etcd3({ hosts: cluster.endpoints });
    // Each shape builds on the ones before it: one cluster, seven snapshots.
    await save('empty');

    for (let i = 0; i < 3000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          client.put(`/small/${String(i + j).padStart(5, '0')}`).value(`value-${i + j}-${'x'.repeat((i + j) % 40)}`),
        ),
      );
    }
    await save('small-keys');

    for (const size of [5_000, 100 * 1024, 1024 * 1024]) await client.put(`/large/${size}`).value(randomBytes(size));
    await save('large-values');

    for (let i = 0; i < 3000; i += 7) await client.delete().key(`/small/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < 50; i++) await client.put('/counter').value(String(i));
    await save('deletes');

    const { header } = await client.put('/before-compaction').value('x');
    const compactedAt = Number(header.revision);
    await client.kv.compact({ revision: String(compactedAt), physical: true });
    await client.put('/after-compaction').value('y');
    await save('compacted', { compactedAt });

    const leases = [client.lease(600), client.lease(900), client.lease(1200)];
    for (const [i, lease] of leases.entries()) {
      await lease.grant();
      for (let k = 0; k < 5; k++) await lease.put(`/leased/${i}/${k}`).value('v');
      lease.release();
    }
    await save('leases', { compactedAt });

    await cluster.etcdctl(['user', 'add', 'root:pw']);
    await cluster.etcdctl(['role', 'add', 'reader']);
    await cluster.etcdctl(['user', 'grant-role', 'root', 'root']);
    await cluster.etcdctl(['auth', 'enable']);
    await save('auth', { user: 'root:pw', compactedAt });
  });

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const SHAPES = ['empty', 'small-keys', 'large-values', 'deletes', 'compacted', 'leases', 'auth'];

  it.each(SHAPES)('%s: agrees with snapshot status', (name) => {
    const { bytes, status, compactedAt } = shot(name);
    const report = inspect(bytes, 65536, { etcdctlHash: true });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report).toMatchObject({
      size: bytes.length,
      revision: status.revision,
      totalKey: status.totalKey,
      totalSize: status.totalSize,
      hash: status.hash,
      pageSize: 4096,
      sha256: createHash('sha256')
        .update(bytes.subarray(0, bytes.length - 32))
        .digest('hex'),
      trailerSha256: bytes.subarray(bytes.length - 32).toString('hex'),
    });
    expect(report.compactRevision).toBe(compactedAt);
  });

  it.each(SHAPES)('%s: the same report whatever the chunking', (name) => {
    const { bytes } = shot(name);
    const whole = inspect(bytes, bytes.length, { etcdctlHash: true });
    const sizes: (number | (() => number))[] = [
      65536,
      4096,
      4095,
      7,
      (() => {
        const r = random(7);
        return () => 1 + Math.floor(r() * 9000);
      })(),
    ];
    if (bytes.length < 2_000_000) sizes.push(1);
    for (const size of sizes) expect(inspect(bytes, size, { etcdctlHash: true })).toEqual(whole);
    // Without the hash option only the hash is missing (leaves that straddle chunks are then collected
    // only as far as the summary reads them: the same report from fewer copied bytes).
    const { hash: _hash, ...rest } = whole;
    for (const size of sizes) expect(inspect(bytes, size)).toEqual(rest);
  });

  it('without etcdctl hashing, a leaf ending in a 1 MiB value is collected only up to that value, within a 256 KiB page budget', () => {
    const { bytes } = shot('large-values');
    // The newest row, the 1 MiB value, is the last element of its leaf: its rows before it and its key are
    // what the summary reads (~100 KiB), not the whole 1.1 MiB run of pages.
    const budget = { maxPageBytes: 256 * 1024 };
    const lean = inspect(bytes, 4096, budget);
    expect(lean.problems).toEqual([]);
    const { hash: _hash, ...rest } = inspect(bytes, bytes.length, { etcdctlHash: true });
    expect(lean).toEqual(rest);
    // With hashing every byte of a row is needed, so that leaf is over the budget and reported.
    const hashed = inspect(bytes, 4096, { ...budget, etcdctlHash: true });
    expect(hashed.problems).toContainEqual(expect.objectContaining({ kind: 'unsupported' }));
  });

  it('every snapshot it passes restores, and restored etcd serves the data', async () => {
    for (const { file, bytes } of shots) {
      expect(inspect(bytes).ok).toBe(true);
      expect(await restoreAccepts(file, version)).toBe(true);
    }
    const restored = await startEtcd({ version, restoreFrom: shot('leases').file });
    try {
      expect((await restored.etcdctl(['get', '/after-compaction', '--print-value-only'])).trim()).toBe('y');
    } finally {
      await restored.stop();
    }
  });

  // etcd 3.6 adds meta keys (storageVersion) and a later release may add buckets; no etcd here writes
  // either, so this database is the empty snapshot with both added byte by byte (test/support/bbolt-edit.ts).
  it('a bucket and a meta key it does not know (built byte by byte): agrees with snapshot status, and etcd restores it', async () => {
    const empty = shot('empty');
    const bytes = withBucket(withLeafRow(empty.bytes, 'meta', 'storageVersion', '3.6.0'), 'newBucket', [
      ['a', 'one'],
      ['b', 'two'],
    ]);
    const file = join(dir, 'extra-bucket.db');
    await writeFile(file, bytes);
    const status = await snapshotStatus(file, version);
    // The tool read and counted the additions: the file is a sound bbolt database carrying them.
    expect(status.totalKey).toBe(empty.status.totalKey + 3);
    expect(status.hash).not.toBe(empty.status.hash);
    const report = inspect(bytes, 4096, { etcdctlHash: true });
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({
      ok: true,
      revision: status.revision,
      totalKey: status.totalKey,
      totalSize: status.totalSize,
      hash: status.hash,
    });

    const restored = await startEtcd({ version, restoreFrom: file });
    try {
      await restored.etcdctl(['put', '/after-restore', 'z']);
      expect(await readAll(restored.endpoints)).toEqual(new Map([['/after-restore', Buffer.from('z')]]));
    } finally {
      await restored.stop();
    }
  });

  describe('damaged snapshots', () => {
    // The compacted snapshot has everything: a branch root in bucket `key`, overflow pages, free pages.
    let base: Buffer;
    /** A branch page of bucket `key` whose children are leaves; its second child, not its last. */
    let branch: number;
    let children: { element: number; child: number }[];
    let leaf: number;

    beforeAll(() => {
      base = shot('compacted').bytes;
      branch = layout.bucketRoot(base, 'key');
      expect(layout.header(base, branch).flags).toBe(0x01);
      children = layout.branch(base, branch);
      while (layout.header(base, children[1]!.child).flags === 0x01) {
        branch = children[1]!.child;
        children = layout.branch(base, branch);
      }
      expect(children.length).toBeGreaterThan(2);
      leaf = children[1]!.child;
      expect(layout.header(base, leaf).flags).toBe(0x02);
    });

    function damaged(edit: (b: Buffer) => void): Buffer {
      const copy = Buffer.from(base);
      edit(copy);
      return copy;
    }

    async function damagedFile(name: string, bytes: Buffer): Promise<string> {
      const file = join(dir, `damaged-${name}.db`);
      await writeFile(file, bytes);
      return file;
    }

    it('empty input', () => {
      const report = inspect(new Uint8Array(0));
      expect(report.ok).toBe(false);
      expect(kinds(report)).toEqual(['empty']);
      expect(report.size).toBe(0);
    });

    it('not an etcd snapshot: random bytes, a text file, a 10-byte file', () => {
      const r = random(1);
      const noise = Buffer.from(Array.from({ length: 65536 + 32 }, () => Math.floor(r() * 256)));
      const text = Buffer.from('This is not a snapshot.\n'.repeat(500));
      for (const bytes of [noise, text]) {
        const report = inspect(bytes, 1000);
        expect(report.ok).toBe(false);
        expect(report.problems).toContainEqual(expect.objectContaining({ kind: 'not-bbolt', page: 0, offset: 16 }));
      }
      expect(kinds(inspect(Buffer.from('0123456789')))).toEqual(['truncated']);
    });

    it.each([
      ['inside meta page 0', 50, 0],
      ['inside meta page 1', 4096 + 60, 1],
      ['mid-file', 'half', undefined],
      ['at the end of the database (no trailer)', 'db', undefined],
      ['half-way through the trailer', 'trailer-half', undefined],
    ] as const)('truncated %s', async (_label, at, page) => {
      const db = base.length - 32;
      const cut = at === 'half' ? Math.floor(base.length / 2) : at === 'db' ? db : at === 'trailer-half' ? base.length - 16 : at;
      const bytes = base.subarray(0, cut);
      const report = inspect(bytes, 4093);
      expect(report.ok).toBe(false);
      const truncated = report.problems.find((p) => p.kind === 'truncated');
      expect(truncated).toBeDefined();
      if (page !== undefined) expect(truncated?.page).toBe(page);
      else expect(truncated?.offset).toBe(cut - 32);
      expect(kinds(report)).toContain('trailer-mismatch');
      expect(await restoreAccepts(await damagedFile(`cut-${cut}`, bytes), version)).toBe(false);
    });

    it('a flipped bit in the trailer', async () => {
      const bytes = damaged((b) => {
        b[b.length - 5]! ^= 0x10;
      });
      const report = inspect(bytes);
      expect(report.problems).toEqual([expect.objectContaining({ kind: 'trailer-mismatch', offset: base.length - 32 })]);
      expect(await restoreAccepts(await damagedFile('trailer', bytes), version)).toBe(false);
    });

    // Each structural case twice: as damaged in transit (trailer no longer matches), and re-sealed with a
    // fresh sha256 so that only the structure checks can see it.
    const structural: {
      name: string;
      edit: (b: Buffer) => void;
      expected: () => { kind: string; page: number; offset?: number };
      restoreFails: boolean | 'varies';
    }[] = [
      {
        name: 'meta page 0 (pgid field)',
        edit: (b) => {
          b[56]! ^= 0x01;
        },
        expected: () => ({ kind: 'meta-checksum', page: 0, offset: 72 }),
        restoreFails: false, // bbolt falls back to meta 1, as the inspector does
      },
      {
        name: 'meta page 1 (root field)',
        edit: (b) => {
          b[4096 + 32]! ^= 0x04;
        },
        expected: () => ({ kind: 'meta-checksum', page: 1, offset: 4096 + 72 }),
        restoreFails: false,
      },
      {
        name: 'meta page 0 (magic)',
        edit: (b) => {
          b[17]! ^= 0x80;
        },
        expected: () => ({ kind: 'meta-magic', page: 0, offset: 16 }),
        restoreFails: false,
      },
      {
        name: 'branch page: child id past meta.pgid',
        edit: (b) => {
          b[children[1]!.element + 8 + 3]! ^= 0x01;
        },
        expected: () => ({ kind: 'page-out-of-range', page: branch }),
        restoreFails: true,
      },
      {
        name: 'branch page: child id pointing at a sibling',
        edit: (b) => {
          b.writeBigUInt64LE(BigInt(children[0]!.child), children[1]!.element + 8);
        },
        expected: () => ({ kind: 'page-reachable-twice', page: branch }),
        restoreFails: true,
      },
      {
        name: 'branch page: header id',
        edit: (b) => {
          b[branch * 4096]! ^= 0x20;
        },
        expected: () => ({ kind: 'page-id', page: branch }),
        restoreFails: true,
      },
      {
        name: 'leaf page: element key offset',
        edit: (b) => {
          b[layout.leafElement(base, leaf, 3).element + 4 + 1]! ^= 0x40;
        },
        expected: () => ({ kind: 'page-malformed', page: leaf, offset: layout.leafElement(base, leaf, 3).element }),
        // bbolt reads the key through an unchecked pointer 16 KiB further on: whether the restore trips over
        // what it finds there depends on the (random) data, so etcdctl's outcome is not a fixed oracle here.
        restoreFails: 'varies',
      },
      {
        name: 'leaf page: high bit of the last key (revision order)',
        edit: (b) => {
          b[layout.leafElement(base, leaf, layout.header(base, leaf).count - 1).key]! ^= 0x80;
        },
        expected: () => ({ kind: 'key-order', page: leaf }),
        // etcd 3.4 restores it; the damage is real all the same: bbolt would no longer find that key. 3.5's
        // bbolt walks the tree in key order to rebuild the free list on open, and panics on it.
        restoreFails: version !== '3.4',
      },
      {
        name: 'zeroed leaf page',
        edit: (b) => {
          b.fill(0, leaf * 4096, (leaf + 1) * 4096);
        },
        expected: () => ({ kind: 'page-id', page: leaf }),
        restoreFails: true,
      },
    ];

    it.each(structural)('a flipped bit: $name', async ({ name, edit, expected, restoreFails }) => {
      const want = expected();
      const raw = damaged(edit);
      const rawReport = inspect(raw, 65536);
      expect(rawReport.ok).toBe(false);
      expect(kinds(rawReport)).toContain('trailer-mismatch');
      expect(rawReport.problems).toContainEqual(expect.objectContaining(want));
      expect(await restoreAccepts(await damagedFile(`${name}-raw`, raw), version)).toBe(false);

      const sealed = reseal(raw);
      const sealedReport = inspect(sealed, 7);
      expect(sealedReport.ok).toBe(false);
      expect(kinds(sealedReport)).not.toContain('trailer-mismatch');
      expect(sealedReport.problems[0]).toMatchObject(want);
      if (restoreFails !== 'varies') expect(await restoreAccepts(await damagedFile(`${name}-sealed`, sealed), version)).toBe(!restoreFails);
    });

    it('never throws and never passes damage, whatever the damage and chunking (seeded fuzz)', () => {
      const small = shot('large-values').bytes;
      const r = random(42);
      const pageCount = (small.length - 32) / 4096;
      for (let round = 0; round < 300; round++) {
        let bytes = Buffer.from(small);
        const what = round % 4;
        if (what === 0) bytes = bytes.subarray(0, Math.floor(r() * bytes.length));
        else if (what === 1) bytes[Math.floor(r() * bytes.length)]! ^= 1 << Math.floor(r() * 8);
        else if (what === 2) {
          const page = Math.floor(r() * pageCount);
          bytes.fill(0, page * 4096, (page + 1) * 4096);
        } else for (let i = 0; i < 64; i++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
        const changed = !bytes.equals(small);
        const chunk = 1 + Math.floor(r() * 70000);
        const report = inspect(bytes, chunk, { etcdctlHash: true });
        if (changed) expect(report.ok).toBe(false);
        for (const problem of report.problems) {
          expect(typeof problem.message).toBe('string');
          if (problem.kind !== 'more-problems') {
            expect(problem.page !== undefined || problem.offset !== undefined).toBe(true);
          }
        }
        // Structure alone (trailer re-sealed) may miss damage in values or free pages, but must not throw.
        if (bytes.length > 32) inspect(reseal(bytes), chunk);
      }
    });
  });
});

describe('file page table', () => {
  it('gives a slot only to pages added, in page order, and finds them again across index words and past its hint', () => {
    const table = new FilePageTable(false, 64);
    const added = [2, 30, 31, 32, 63, 64, 95, 96, 1000, 70_000];
    expect(added.map((page) => table.slotFor(page))).toEqual(added.map((_, i) => i));
    for (let page = 0; page <= 70_001; page++) expect(table.slotOf(page)).toBe(added.indexOf(page));
    // Adding again gives the same slot; an earlier page that was never added gets none.
    expect(table.slotFor(1000)).toBe(8);
    expect(table.slotFor(70_000)).toBe(9);
    expect(table.slotFor(33)).toBe(-1);
    expect(table.length).toBe(added.length);
  });
});

describe('a database of more than 200 MB', () => {
  let cluster: EtcdCluster;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapshot-format-big-'));
    cluster = await startEtcd();
    await writeBulk(cluster.endpoints, 210);
    file = join(dir, 'big.db');
    await cluster.etcdctl(['snapshot', 'save', file]);
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Seconds to read the file and hand each chunk to `update`. */
  async function timedRead(update: (chunk: Buffer) => void): Promise<number> {
    const started = process.hrtime.bigint();
    for await (const chunk of createReadStream(file)) update(chunk as Buffer);
    return Number(process.hrtime.bigint() - started) / 1e9;
  }

  async function streamed(
    options = {},
  ): Promise<{ report: SnapshotReport; seconds: number; retained: number; heapGrowth: number; rssGrowth: number }> {
    const before = process.memoryUsage();
    const inspector = new SnapshotInspector(options);
    const readSeconds = await timedRead((chunk) => inspector.update(chunk));
    const started = process.hrtime.bigint();
    const report = inspector.finish();
    const seconds = readSeconds + Number(process.hrtime.bigint() - started) / 1e9;
    const after = process.memoryUsage();
    return {
      report,
      seconds,
      retained: inspector.retainedBytes,
      heapGrowth: after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers,
      rssGrowth: after.rss - before.rss,
    };
  }

  it('streams from disk with bounded memory and agrees with etcdctl', async () => {
    const status = await snapshotStatus(file);
    expect(status.totalSize).toBeGreaterThan(200 * 1024 * 1024);
    const sha = createHash('sha256');
    const shaSeconds = await timedRead((chunk) => sha.update(chunk));
    const plain = await streamed();
    const hashed = await streamed({ etcdctlHash: true });
    for (const { report } of [plain, hashed]) {
      expect(report.problems).toEqual([]);
      expect(report).toMatchObject({ ok: true, revision: status.revision, totalKey: status.totalKey, totalSize: status.totalSize });
    }
    expect(hashed.report.hash).toBe(status.hash);
    const mb = status.totalSize / 1e6;
    const line = (label: string, run: typeof plain) =>
      `${label}: ${(mb / run.seconds).toFixed(0)} MB/s, summaries ${(run.retained / 1e6).toFixed(1)} MB, heap+buffers growth ${(run.heapGrowth / 1e6).toFixed(1)} MB, RSS growth ${(run.rssGrowth / 1e6).toFixed(1)} MB`;
    console.log(
      `inspector over a ${mb.toFixed(0)} MB snapshot read from disk (sha256 alone: ${(mb / shaSeconds).toFixed(0)} MB/s)\n` +
        `  ${line('sha256 + structure', plain)}\n  ${line('with etcdctl hash', hashed)}`,
    );
    // The summaries of a database of 256 KiB values are tiny: its pages are nearly all overflow, which
    // cost a bit each in the page index, not a 16-byte slot.
    // (16 bytes a page, and more, before the page index.)
    expect(plain.retained).toBeLessThan((status.totalSize / 4096) * 2);
  });
});
