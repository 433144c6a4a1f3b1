// Byte-level edits of a small etcd snapshot, for databases no etcd release here writes: a bucket or a meta
// key that a newer etcd adds. There is no bbolt writer in npm; these rewrite the root leaf page of a snapshot
// whose buckets are all inline in it (an empty cluster's), re-seal the sha256 trailer, and leave judging the
// result to the etcd tools (`snapshot status` runs bbolt's own consistency check first).
import { createHash } from 'node:crypto';

const PAGE_HEADER = 16;
const LEAF_ELEMENT = 16;
const BUCKET_HEADER = 16; // root page id (0: inline), sequence
const LEAF_PAGE = 0x02;
const BUCKET_ROW = 0x01;
const META_ROOT = 16 + 16; // meta page 0: page header, magic, version, pageSize, flags, then root.root

interface Row {
  flags: number;
  key: Buffer;
  value: Buffer;
}

function readLeaf(page: Buffer): Row[] {
  if (page.readUInt16LE(8) !== LEAF_PAGE) throw new Error('not a leaf page');
  return Array.from({ length: page.readUInt16LE(10) }, (_, i) => {
    const element = PAGE_HEADER + i * LEAF_ELEMENT;
    const key = element + page.readUInt32LE(element + 4);
    const value = key + page.readUInt32LE(element + 8);
    return {
      flags: page.readUInt32LE(element),
      key: Buffer.from(page.subarray(key, value)),
      value: Buffer.from(page.subarray(value, value + page.readUInt32LE(element + 12))),
    };
  });
}

/** A leaf page as bbolt's node.write lays it out: elements, then each key followed by its value. */
function writeLeaf(rows: Row[], id: bigint, size?: number): Buffer {
  const data = rows.reduce((n, r) => n + r.key.length + r.value.length, 0);
  const needed = PAGE_HEADER + rows.length * LEAF_ELEMENT + data;
  if (size !== undefined && needed > size) throw new Error(`${needed} bytes do not fit a ${size}-byte page`);
  const page = Buffer.alloc(size ?? needed);
  page.writeBigUInt64LE(id, 0);
  page.writeUInt16LE(LEAF_PAGE, 8);
  page.writeUInt16LE(rows.length, 10);
  let at = PAGE_HEADER + rows.length * LEAF_ELEMENT;
  rows.forEach((row, i) => {
    const element = PAGE_HEADER + i * LEAF_ELEMENT;
    page.writeUInt32LE(row.flags, element);
    page.writeUInt32LE(at - element, element + 4);
    page.writeUInt32LE(row.key.length, element + 8);
    page.writeUInt32LE(row.value.length, element + 12);
    at += row.key.copy(page, at);
    at += row.value.copy(page, at);
  });
  return page;
}

function sorted(rows: Row[]): Row[] {
  return rows.sort((a, b) => Buffer.compare(a.key, b.key));
}

/** An inline bucket's value: its header (root 0, sequence), then its one leaf page. */
function inlineBucket(header: Buffer, rows: Row[]): Buffer {
  return Buffer.concat([header, writeLeaf(sorted(rows), 0n)]);
}

/** Applies `edit` to the rows of the root leaf (the top-level buckets) and returns the re-sealed snapshot. */
function editRoot(snapshot: Buffer, edit: (buckets: Row[]) => void): Buffer {
  const copy = Buffer.from(snapshot);
  const pageSize = copy.readUInt32LE(24);
  const root = Number(copy.readBigUInt64LE(META_ROOT));
  const offset = root * pageSize;
  const buckets = readLeaf(copy.subarray(offset, offset + pageSize));
  edit(buckets);
  writeLeaf(sorted(buckets), BigInt(root), pageSize).copy(copy, offset);
  const db = copy.subarray(0, copy.length - 32);
  createHash('sha256')
    .update(db)
    .digest()
    .copy(copy, copy.length - 32);
  return copy;
}

const bytes = (s: string) => Buffer.from(s, 'utf8');

/** The snapshot with one more top-level bucket, inline, holding `rows`. */
export function withBucket(snapshot: Buffer, name: string, rows: [string, string][]): Buffer {
  return editRoot(snapshot, (buckets) => {
    buckets.push({
      flags: BUCKET_ROW,
      key: bytes(name),
      value: inlineBucket(
        Buffer.alloc(BUCKET_HEADER),
        rows.map(([k, v]) => ({ flags: 0, key: bytes(k), value: bytes(v) })),
      ),
    });
  });
}

/** The snapshot with one more row in the inline top-level bucket `bucket`. */
export function withLeafRow(snapshot: Buffer, bucket: string, key: string, value: string): Buffer {
  return editRoot(snapshot, (buckets) => {
    const row = buckets.find((b) => b.key.equals(bytes(bucket)));
    if (!row || row.flags !== BUCKET_ROW || row.value.readBigUInt64LE(0) !== 0n) throw new Error(`no inline bucket ${bucket}`);
    const header = row.value.subarray(0, BUCKET_HEADER);
    row.value = inlineBucket(header, [...readLeaf(row.value.subarray(BUCKET_HEADER)), { flags: 0, key: bytes(key), value: bytes(value) }]);
  });
}
