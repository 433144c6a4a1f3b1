import type { ProblemKind } from './report.js';

// Compact summaries of pages, one slot per page, in typed-array columns. The inspector keeps one table for
// the file's pages (FilePageTable: a slot for each page that starts at its own position, found through a
// PageIndex) and one for inline bucket pages found inside leaf values (slots handed out in order). Rare
// facts (bucket elements, watched values, defects) sit in maps keyed by slot.

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

  /** Slots handed out. */
  length = 0;
  readonly buckets = new Map<number, BucketElement[]>();
  /** Value of the watched key (etcd's finishedCompactRev) found in the leaf at this slot. */
  readonly watched = new Map<number, Uint8Array>();
  readonly defects = new Map<number, Defect>();

  constructor(
    withHash: boolean,
    private readonly capacityHint = 0,
  ) {
    if (withHash) {
      this.crc = new Int32Array(0);
      this.crcBytes = new Uint32Array(0);
    }
  }

  /**
   * Makes `slot` addressable, growing the columns: straight to the hint if it covers the slot, else
   * doubling. Columns are zero-filled allocations that the system maps as they are written, so what a
   * table costs in memory is the slots used, not the hint.
   */
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

  /** The kind at `slot`; no slot (-1) is a file position examined and found not to start a page. */
  kindAt(slot: number): PageKind {
    return slot < 0 ? PageKind.MISPLACED : (this.kind[slot] as PageKind);
  }

  /** Hands out the next slot. */
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

  /** Bytes of the columns in use (slots handed out, branch elements), for the memory bound. */
  get byteLength(): number {
    const perSlot: (Column | undefined)[] = [
      this.kind,
      this.count,
      this.overflow,
      this.first,
      this.last,
      this.traits,
      this.crc,
      this.crcBytes,
    ];
    const slotBytes = perSlot.reduce((sum, c) => sum + (c?.BYTES_PER_ELEMENT ?? 0), 0);
    return this.length * slotBytes + this.branchLength * (this.branchChild.BYTES_PER_ELEMENT + this.branchKey.BYTES_PER_ELEMENT);
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Page id -> slot, for pages added in increasing id order (the file scan): one bit per page id and, per 32
 * ids, how many slots come before them. 1/4 byte per page id, so that the overflow pages of large values
 * cost a bit each rather than a 16-byte slot.
 */
class PageIndex {
  private bits = new Uint32Array(0);
  private before = new Uint32Array(0);
  private lastPage = -1;
  private slots = 0;

  constructor(capacityHint: number) {
    this.grow(capacityHint);
  }

  private grow(pages: number): void {
    const words = Math.ceil(pages / 32);
    if (words <= this.bits.length) return;
    this.bits = resized(this.bits, words);
    this.before = resized(this.before, words);
  }

  /** The slot of `page`, which is added if it comes after every page added so far; -1 for an earlier page never added. */
  add(page: number): number {
    if (page <= this.lastPage) return this.slotOf(page);
    const word = page >>> 5;
    if (word >= this.bits.length) this.grow(Math.max(page + 1, this.bits.length * 64));
    for (let w = this.lastPage < 0 ? 0 : (this.lastPage >>> 5) + 1; w <= word; w++) this.before[w] = this.slots;
    this.bits[word]! |= 1 << (page & 31);
    this.lastPage = page;
    return this.slots++;
  }

  /** The slot of `page`, or -1 if it has none. */
  slotOf(page: number): number {
    const word = page >>> 5;
    const bit = 1 << (page & 31);
    const bits = this.bits[word];
    if (bits === undefined || page > this.lastPage || (bits & bit) === 0) return -1;
    return this.before[word]! + popcount(bits & (bit - 1));
  }

  get byteLength(): number {
    return this.bits.byteLength + this.before.byteLength;
  }
}

/**
 * The file's pages. A page gets a slot only when the scan finds a page header carrying its own id there;
 * positions without one (overflow continuation, zeroes, garbage) get none, and the tree check reports a
 * reference to such a position as misplaced if the scan got that far, missing if it did not.
 */
export class FilePageTable extends PageTable {
  private readonly index: PageIndex;
  /** Page positions the scan has examined: every id below this was either given a slot or is misplaced. */
  examined = 0;

  constructor(withHash: boolean, capacityHint: number) {
    super(withHash, capacityHint);
    this.index = new PageIndex(capacityHint);
  }

  /** The slot of `page`, taking the next one if the scan has just reached it (pages come in id order). */
  slotFor(page: number): number {
    const slot = this.index.add(page);
    if (slot >= 0) this.ensure(slot);
    return slot;
  }

  slotOf(page: number): number {
    return this.index.slotOf(page);
  }

  override get byteLength(): number {
    return super.byteLength + this.index.byteLength;
  }
}
