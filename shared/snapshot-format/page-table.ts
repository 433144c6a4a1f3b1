import type { ProblemKind } from './report.js';

// Compact summaries of pages, one slot per page, in typed-array columns. The inspector keeps one table for
// the file's pages (slot = page id) and one for inline bucket pages found inside leaf values (slots handed
// out in order). Rare facts (bucket elements, watched values, defects) sit in maps keyed by slot.

/** What the scanner made of the bytes at a slot. Only kinds BRANCH and LEAF carry a usable summary. */
export const PageKind = {
  /** Never seen: past the end of the stream, or structure scanning was off. */
  UNSEEN: 0,
  BRANCH: 2,
  LEAF: 3,
  FREELIST: 4,
  /** The header's id is not this position: no page starts here (overflow continuation, zeroes, garbage). */
  MISPLACED: 5,
  /** The header's id fits, its flags are no page type that can sit here. */
  BAD_FLAGS: 6,
  /** The page's overflow runs past meta.pgid. */
  OVERRUN: 7,
  /** Larger than the inspector's page budget: not summarised. */
  TOO_LARGE: 8,
} as const;
export type PageKind = (typeof PageKind)[keyof typeof PageKind];

/** Leaf trait: every key has etcd's revision format (what bucket `key` must hold). */
export const REVISION_KEYS = 0x01;

/** A bucket found in a leaf element: its name and where its tree lives. */
export interface BucketElement {
  name: Uint8Array;
  /** Root page of the bucket's tree; 0 when the bucket is inline. */
  root: number;
  /** Slot in the inline table when root is 0. */
  inlineSlot: number;
  /** File offset of the leaf element, for messages. */
  offset: number;
}

/** Something wrong inside a page, reported only if the page turns out to be reachable. */
export interface Defect {
  kind: ProblemKind;
  message: string;
  offset: number;
}

type Column = Uint8Array | Uint16Array | Uint32Array | Int32Array;

function resized<C extends Column>(column: C, length: number): C {
  const next = new (column.constructor as new (length: number) => C)(length);
  next.set(column.subarray(0, Math.min(column.length, length)));
  return next;
}

export class PageTable {
  kind = new Uint8Array(0);
  /** Elements summarised (leaf rows, branch children). */
  count = new Uint16Array(0);
  overflow = new Uint32Array(0);
  /** Leaf: key-pool reference of the first key. Branch: index of the first element in branchChild/branchKey. */
  first = new Uint32Array(0);
  /** Leaf: key-pool reference of the last key. */
  last = new Uint32Array(0);
  /** Leaf: REVISION_KEYS and friends. */
  traits = new Uint8Array(0);
  /** Leaf, with hashing on: CRC-32C over the page's keys and values in element order, and its byte count. */
  crc: Int32Array | undefined;
  crcBytes: Uint32Array | undefined;

  branchChild = new Uint32Array(0);
  branchKey = new Uint32Array(0);
  branchLength = 0;

  /** Slots handed out (inline table) or highest page id seen + 1 (page table). */
  length = 0;
  readonly buckets = new Map<number, BucketElement[]>();
  /** Value of the watched key (etcd's finishedCompactRev) found in the leaf at this slot. */
  readonly watched = new Map<number, Uint8Array>();
  readonly defects = new Map<number, Defect>();

  constructor(withHash: boolean, private readonly capacityHint = 0) {
    if (withHash) {
      this.crc = new Int32Array(0);
      this.crcBytes = new Uint32Array(0);
    }
  }

  /** Makes `slot` addressable, growing the columns: straight to the hint (meta.pgid) if it covers the slot, else doubling. */
  ensure(slot: number): void {
    if (slot >= this.length) this.length = slot + 1;
    if (slot < this.kind.length) return;
    const capacity = Math.max(slot + 1, this.capacityHint > slot ? this.capacityHint : Math.max(1024, this.kind.length * 2));
    this.kind = resized(this.kind, capacity);
    this.count = resized(this.count, capacity);
    this.overflow = resized(this.overflow, capacity);
    this.first = resized(this.first, capacity);
    this.last = resized(this.last, capacity);
    this.traits = resized(this.traits, capacity);
    if (this.crc) this.crc = resized(this.crc, capacity);
    if (this.crcBytes) this.crcBytes = resized(this.crcBytes, capacity);
  }

  /** Hands out the next slot (inline table). */
  allocate(): number {
    const slot = this.length;
    this.ensure(slot);
    return slot;
  }

  addBranchElement(child: number, keyRef: number): void {
    if (this.branchLength === this.branchChild.length) {
      const capacity = Math.max(4096, this.branchChild.length * 2);
      this.branchChild = resized(this.branchChild, capacity);
      this.branchKey = resized(this.branchKey, capacity);
    }
    this.branchChild[this.branchLength] = child;
    this.branchKey[this.branchLength] = keyRef;
    this.branchLength++;
  }

  /** Keeps the first defect of a slot: enough to say where, and a garbage page cannot pile up more. */
  addDefect(slot: number, defect: Defect): void {
    if (!this.defects.has(slot)) this.defects.set(slot, defect);
  }

  /** Bytes held by the columns, for the memory bound. */
  get byteLength(): number {
    const columns: (Column | undefined)[] = [
      this.kind, this.count, this.overflow, this.first, this.last, this.traits, this.branchChild, this.branchKey, this.crc, this.crcBytes,
    ];
    return columns.reduce((sum, c) => sum + (c?.byteLength ?? 0), 0);
  }
}
