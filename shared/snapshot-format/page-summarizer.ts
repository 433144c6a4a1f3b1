import {
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  ELEMENT_SIZE,
  LEAF_PAGE,
  PAGE_HEADER_SIZE,
  compareBytes,
  copyBytes,
  u16,
  u32,
  u64,
} from './bbolt-page.js';
import { crc32c } from './crc32c.js';
import { isFinishedCompactRevKey, isRevisionKey } from './etcd-schema.js';
import type { KeyPool } from './key-pool.js';
import { PageKind, REVISION_KEYS, type PageTable } from './page-table.js';

// Turns one complete branch or leaf page (b[start, start + length), overflow included) into its summary
// in a PageTable. Every offset read from the page is checked against the page's end before use; what does
// not fit becomes a defect on the slot, and the walk at the end reports it if the page is reachable.
// Stale pages (free, never reachable) go through here too, which is why nothing is reported directly.

export interface SummaryContext {
  readonly pool: KeyPool;
  /** Where inline bucket pages found in leaf values go. */
  readonly inline: PageTable;
  /** Compute the per-page CRC-32C for etcdctl's hash. */
  readonly hash: boolean;
}

/** bbolt never nests inline buckets (a bucket with sub-buckets is not inlineable); garbage might. */
const MAX_INLINE_DEPTH = 4;
/** A finishedCompactRev value is 17 bytes; keep a little more so a wrong length shows. */
const WATCHED_VALUE_BYTES = 32;
/** Page ids (branch children, free pages) are clamped to this: out of range of any database summarised here. */
export const ID_OUT_OF_RANGE = 0xffffffff;

function elementsFit(table: PageTable, slot: number, declared: number, start: number, end: number, fileOffset: number): boolean {
  if (start + PAGE_HEADER_SIZE + declared * ELEMENT_SIZE <= end) return true;
  table.addDefect(slot, {
    kind: 'page-malformed',
    message: `${declared} elements do not fit in ${end - start} bytes`,
    offset: fileOffset,
  });
  return false;
}

export function summarizeBranch(
  ctx: SummaryContext,
  table: PageTable,
  slot: number,
  b: Uint8Array,
  start: number,
  length: number,
  fileOffset: number,
): void {
  const end = start + length;
  table.ensure(slot);
  table.kind[slot] = PageKind.BRANCH;
  table.first[slot] = table.branchLength;
  table.count[slot] = 0;
  const declared = u16(b, start + 10);
  if (!elementsFit(table, slot, declared, start, end, fileOffset)) return;
  let previousStart = 0;
  let previousEnd = 0;
  let count = 0;
  for (let i = 0; i < declared; i++) {
    const e = start + PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    const keyStart = e + u32(b, e);
    const keyEnd = keyStart + u32(b, e + 4);
    if (keyEnd > end) {
      table.addDefect(slot, {
        kind: 'page-malformed',
        message: `branch element ${i} points past the end of its page`,
        offset: fileOffset + e - start,
      });
      break;
    }
    if (i > 0 && compareBytes(b, previousStart, previousEnd, b, keyStart, keyEnd) >= 0) {
      table.addDefect(slot, {
        kind: 'key-order',
        message: `branch key ${i} is not greater than key ${i - 1}`,
        offset: fileOffset + e - start,
      });
    }
    table.addBranchElement(Math.min(u64(b, e + 8), ID_OUT_OF_RANGE), ctx.pool.add(b, keyStart, keyEnd));
    previousStart = keyStart;
    previousEnd = keyEnd;
    count++;
  }
  table.count[slot] = count;
}

export function summarizeLeaf(
  ctx: SummaryContext,
  table: PageTable,
  slot: number,
  b: Uint8Array,
  start: number,
  length: number,
  fileOffset: number,
  depth = 0,
): void {
  const end = start + length;
  table.ensure(slot);
  table.kind[slot] = PageKind.LEAF;
  table.count[slot] = 0;
  table.traits[slot] = 0;
  const declared = u16(b, start + 10);
  if (!elementsFit(table, slot, declared, start, end, fileOffset)) return;
  let revisionKeys = true;
  let crc = 0;
  let crcBytes = 0;
  let previousStart = 0;
  let previousEnd = 0;
  let count = 0;
  for (let i = 0; i < declared; i++) {
    const e = start + PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    const keyStart = e + u32(b, e + 4);
    const keyEnd = keyStart + u32(b, e + 8);
    const valueEnd = keyEnd + u32(b, e + 12);
    if (valueEnd > end) {
      table.addDefect(slot, {
        kind: 'page-malformed',
        message: `leaf element ${i} points past the end of its page`,
        offset: fileOffset + e - start,
      });
      break;
    }
    if (i === 0) {
      table.first[slot] = ctx.pool.add(b, keyStart, keyEnd);
    } else if (compareBytes(b, previousStart, previousEnd, b, keyStart, keyEnd) >= 0) {
      table.addDefect(slot, {
        kind: 'key-order',
        message: `leaf key ${i} is not greater than key ${i - 1}`,
        offset: fileOffset + e - start,
      });
    }
    if (revisionKeys && !isRevisionKey(b, keyStart, keyEnd)) revisionKeys = false;
    // etcdctl hashes a row's key and value; for a nested bucket ForEach gives a nil value.
    let hashedEnd = valueEnd;
    if (u32(b, e) & BUCKET_LEAF_FLAG) {
      summarizeBucketElement(ctx, table, slot, b, keyStart, keyEnd, valueEnd, fileOffset - start, fileOffset + e - start, depth);
      hashedEnd = keyEnd;
    } else if (isFinishedCompactRevKey(b, keyStart, keyEnd)) {
      table.watched.set(slot, copyBytes(b, keyEnd, Math.min(valueEnd, keyEnd + WATCHED_VALUE_BYTES)));
    }
    if (ctx.hash) {
      // bbolt lays a row's value right after its key, so one call covers both.
      crc = crc32c(crc, b, keyStart, hashedEnd);
      crcBytes += hashedEnd - keyStart;
    }
    previousStart = keyStart;
    previousEnd = keyEnd;
    count++;
  }
  table.count[slot] = count;
  if (count > 0) table.last[slot] = count === 1 ? table.first[slot]! : ctx.pool.add(b, previousStart, previousEnd);
  if (revisionKeys) table.traits[slot] = REVISION_KEYS;
  if (table.crc && table.crcBytes) {
    table.crc[slot] = crc;
    table.crcBytes[slot] = crcBytes;
  }
}

/** A leaf's header and element table, within its `length` bytes. */
export function leafHeadSize(header: Uint8Array, length: number): number {
  return Math.min(length, PAGE_HEADER_SIZE + u16(header, 10) * ELEMENT_SIZE);
}

/**
 * How many bytes from the start of a leaf page summarizeLeaf reads when it does not hash: the element
 * table, every key, bucket values whole and the first bytes of other values (enough for a watched one).
 * `head` holds at least the header and as much of the element table as `length` allows. A page whose
 * overflow holds one large value needs a few dozen bytes of it, not the value.
 */
export function leafBytesRead(head: Uint8Array, length: number): number {
  const declared = u16(head, 10);
  let need = leafHeadSize(head, length);
  for (let i = 0; i < declared; i++) {
    const e = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    // A table longer than the page: summarizeLeaf reports it without reading elements.
    if (e + ELEMENT_SIZE > head.length) break;
    const keyEnd = e + u32(head, e + 4) + u32(head, e + 8);
    const valueEnd = keyEnd + u32(head, e + 12);
    const read = u32(head, e) & BUCKET_LEAF_FLAG ? valueEnd : Math.min(valueEnd, keyEnd + WATCHED_VALUE_BYTES);
    need = Math.max(need, Math.min(read, length));
  }
  return need;
}

/**
 * A leaf element flagged as bucket: its value is {root, sequence}, and for root 0 an inline leaf page
 * follows. `base` turns buffer positions into file offsets.
 */
function summarizeBucketElement(
  ctx: SummaryContext,
  table: PageTable,
  slot: number,
  b: Uint8Array,
  keyStart: number,
  keyEnd: number,
  valueEnd: number,
  base: number,
  elementOffset: number,
  depth: number,
): void {
  if (valueEnd - keyEnd < BUCKET_HEADER_SIZE) {
    table.addDefect(slot, { kind: 'page-malformed', message: 'bucket value shorter than a bucket header', offset: elementOffset });
    return;
  }
  if (keyEnd - keyStart > ctx.pool.cap) {
    table.addDefect(slot, { kind: 'unsupported', message: `bucket name longer than ${ctx.pool.cap} bytes`, offset: elementOffset });
  }
  const root = u64(b, keyEnd);
  let inlineSlot = -1;
  if (root === 0) {
    inlineSlot = ctx.inline.allocate();
    const pageStart = keyEnd + BUCKET_HEADER_SIZE;
    const pageLength = valueEnd - pageStart;
    if (pageLength < PAGE_HEADER_SIZE) {
      ctx.inline.kind[inlineSlot] = PageKind.LEAF;
      ctx.inline.addDefect(inlineSlot, {
        kind: 'page-malformed',
        message: 'inline bucket shorter than a page header',
        offset: elementOffset,
      });
    } else if (u16(b, pageStart + 8) !== LEAF_PAGE) {
      ctx.inline.kind[inlineSlot] = PageKind.BAD_FLAGS;
    } else if (depth >= MAX_INLINE_DEPTH) {
      ctx.inline.kind[inlineSlot] = PageKind.LEAF;
      ctx.inline.addDefect(inlineSlot, {
        kind: 'unsupported',
        message: `inline buckets nested deeper than ${MAX_INLINE_DEPTH}`,
        offset: elementOffset,
      });
    } else {
      summarizeLeaf(ctx, ctx.inline, inlineSlot, b, pageStart, pageLength, base + pageStart, depth + 1);
    }
  }
  const element = { name: copyBytes(b, keyStart, Math.min(keyEnd, keyStart + ctx.pool.cap)), root, inlineSlot, offset: elementOffset };
  const list = table.buckets.get(slot);
  if (list) list.push(element);
  else table.buckets.set(slot, [element]);
}

/** Free page ids of a freelist page, or a message saying why they cannot be read. */
export function readFreelist(b: Uint8Array, start: number, length: number): Uint32Array | string {
  const end = start + length;
  let count = u16(b, start + 10);
  let idsStart = start + PAGE_HEADER_SIZE;
  // A count of 0xFFFF means the real count is the first u64 (freelists longer than a u16).
  if (count === 0xffff) {
    if (idsStart + 8 > end) return 'freelist count past the end of its page';
    count = u64(b, idsStart);
    idsStart += 8;
  }
  if (idsStart + count * 8 > end) return `${count} free page ids do not fit in the freelist page`;
  const ids = new Uint32Array(count);
  for (let i = 0; i < count; i++) ids[i] = Math.min(u64(b, idsStart + i * 8), ID_OUT_OF_RANGE);
  return ids;
}
