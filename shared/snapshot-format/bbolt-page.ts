// bbolt's on-disk format (little-endian, as written on amd64/arm64): page header, meta page, element
// layouts. Pure decoding over (bytes, offset): no allocation, no state. Callers check that the bytes they
// ask for are present; these functions never read past what the caller vouched for.

export const PAGE_HEADER_SIZE = 16;
export const ELEMENT_SIZE = 16; // both branch and leaf elements
export const BUCKET_HEADER_SIZE = 16; // {root u64, sequence u64} at the start of a bucket value

export const BRANCH_PAGE = 0x01;
export const LEAF_PAGE = 0x02;
export const META_PAGE = 0x04;
export const FREELIST_PAGE = 0x10;

/** Leaf element flag: the value is a bucket header (plus an inline page when its root is 0). */
export const BUCKET_LEAF_FLAG = 0x01;

export const MAGIC = 0xed0cdaed;
const VERSION = 2;
/** meta.freelist when the freelist is not persisted (etcd 3.4 runs bbolt with NoFreelistSync). */
export const NO_FREELIST = Number.MAX_SAFE_INTEGER;
/** The meta struct ends here: header (16) + 64 bytes; its checksum covers [16, 72). */
export const META_END = 80;
/** Below this the page size is not worth believing. */
const MIN_PAGE_SIZE = 1024;
const MAX_PAGE_SIZE = 65536;
/** bbolt falls back to the OS page size when meta 0 is unreadable; on the platforms etcd runs on, 4 KiB. */
export const DEFAULT_PAGE_SIZE = 4096;

export function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** u64 as a number; values past 2^53 come back as Number.MAX_SAFE_INTEGER, which no page id reaches. */
export function u64(b: Uint8Array, o: number): number {
  const high = u32(b, o + 4);
  if (high >= 0x200000) return Number.MAX_SAFE_INTEGER;
  return high * 0x100000000 + u32(b, o);
}

export interface Meta {
  magic: number;
  version: number;
  pageSize: number;
  root: number;
  freelist: number;
  pgid: number;
  txid: number;
  /** Why bbolt would refuse this meta page, in bbolt's own order of checks; undefined when valid. */
  invalid?: 'meta-magic' | 'meta-version' | 'meta-checksum' | 'meta-page-size';
}

/** Decodes the meta struct of the meta page at b[o] (META_END bytes must be present). */
export function decodeMeta(b: Uint8Array, o: number): Meta {
  const meta: Meta = {
    magic: u32(b, o + 16),
    version: u32(b, o + 20),
    pageSize: u32(b, o + 24),
    root: u64(b, o + 32),
    freelist: u64(b, o + 48),
    pgid: u64(b, o + 56),
    txid: u64(b, o + 64),
  };
  if (meta.magic !== MAGIC) meta.invalid = 'meta-magic';
  else if (meta.version !== VERSION) meta.invalid = 'meta-version';
  else if (!checksumMatches(b, o)) meta.invalid = 'meta-checksum';
  else if (!isPlausiblePageSize(meta.pageSize)) meta.invalid = 'meta-page-size';
  return meta;
}

/** bbolt sizes pages by the OS page size: a power of two; anything else means the meta lies. */
function isPlausiblePageSize(size: number): boolean {
  return size >= MIN_PAGE_SIZE && size <= MAX_PAGE_SIZE && (size & (size - 1)) === 0;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64_MASK = 0xffffffffffffffffn;

/** meta.checksum is FNV-1a 64 over the meta struct before it (56 bytes). Two pages a file: BigInt is fine. */
function checksumMatches(b: Uint8Array, o: number): boolean {
  let h = FNV_OFFSET;
  for (let i = o + 16; i < o + 72; i++) h = ((h ^ BigInt(b[i]!)) * FNV_PRIME) & U64_MASK;
  const stored = BigInt(u32(b, o + 72)) | (BigInt(u32(b, o + 76)) << 32n);
  return h === stored;
}

/** Strict byte order of a[aStart, aEnd) against b[bStart, bEnd): negative, 0 or positive, like bytes.Compare. */
export function compareBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d;
  }
  return aEnd - aStart - (bEnd - bStart);
}

/** A copy of b[start, end) that does not keep the caller's buffer alive (Buffer#slice would be a view). */
export function copyBytes(b: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(b.subarray(start, end));
}
