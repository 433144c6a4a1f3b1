import { compareBytes } from './bbolt-page.js';

// Append-only store for the keys page summaries keep (first/last key of leaves, every branch key), so that
// 500k keys cost 500k * (2 + key length) bytes in a few 1 MiB blocks instead of 500k Buffer objects.
// A reference is a uint32: block index * BLOCK_SIZE + offset. An entry is a u16 length then the bytes;
// keys longer than the cap are cut and the length's top bit marks them, so comparisons know they are
// prefixes.

const BLOCK_BITS = 20;
const BLOCK_SIZE = 1 << BLOCK_BITS;
const TRUNCATED = 0x8000;
/** The cap can never exceed what the 15-bit length holds. */
const MAX_KEY_CAP = TRUNCATED - 1;
/** Keys of bucket `key` (18 bytes) must stay whole: the revision is read from them. */
const MIN_KEY_CAP = 32;
/** No key: a leaf with no elements, or an open range end. */
export const NO_KEY = -1;

export class KeyPool {
  private readonly blocks: Uint8Array[] = [];
  private block: Uint8Array = new Uint8Array(0);
  private used = BLOCK_SIZE; // forces a block on the first add

  constructor(readonly cap: number) {
    if (!(cap >= MIN_KEY_CAP && cap <= MAX_KEY_CAP)) throw new RangeError(`maxKeyBytes must be ${MIN_KEY_CAP}..${MAX_KEY_CAP}`);
  }

  /** Stores b[start, end), cut to the cap, and returns its reference. */
  add(b: Uint8Array, start: number, end: number): number {
    const length = Math.min(end - start, this.cap);
    if (this.used + 2 + length > BLOCK_SIZE) {
      this.block = new Uint8Array(BLOCK_SIZE);
      this.blocks.push(this.block);
      this.used = 0;
    }
    const at = this.used;
    const header = end - start > this.cap ? length | TRUNCATED : length;
    this.block[at] = header & 0xff;
    this.block[at + 1] = header >>> 8;
    // Keys are mostly a few dozen bytes: a loop beats allocating a subarray view per key.
    const block = this.block;
    for (let i = 0; i < length; i++) block[at + 2 + i] = b[start + i]!;
    this.used = at + 2 + length;
    return (this.blocks.length - 1) * BLOCK_SIZE + at;
  }

  /** A copy of the stored bytes (cut to the cap). */
  bytes(ref: number): Uint8Array {
    const block = this.blocks[Math.floor(ref / BLOCK_SIZE)]!;
    const at = ref % BLOCK_SIZE;
    const length = (block[at]! | (block[at + 1]! << 8)) & ~TRUNCATED;
    return block.slice(at + 2, at + 2 + length);
  }

  /** Byte order of two stored keys; undefined when both are cut and agree over the cap. */
  compare(a: number, b: number): number | undefined {
    const blockA = this.blocks[Math.floor(a / BLOCK_SIZE)]!;
    const blockB = this.blocks[Math.floor(b / BLOCK_SIZE)]!;
    const atA = a % BLOCK_SIZE;
    const atB = b % BLOCK_SIZE;
    const headerA = blockA[atA]! | (blockA[atA + 1]! << 8);
    const headerB = blockB[atB]! | (blockB[atB + 1]! << 8);
    const lengthA = headerA & ~TRUNCATED;
    const lengthB = headerB & ~TRUNCATED;
    const common = Math.min(lengthA, lengthB);
    const order = compareBytes(blockA, atA + 2, atA + 2 + common, blockB, atB + 2, atB + 2 + common);
    if (order !== 0) return order;
    // Equal so far: the shorter key is a prefix of the longer. A cut key is longer than the cap, so it
    // loses only to another cut key, and against that the order is unknown.
    const cutA = (headerA & TRUNCATED) !== 0;
    const cutB = (headerB & TRUNCATED) !== 0;
    if (cutA && cutB) return undefined;
    return (cutA ? this.cap + 1 : lengthA) - (cutB ? this.cap + 1 : lengthB);
  }

  /** Bytes in use, for the memory bound (a block's unused tail is zero-filled memory never written). */
  get byteLength(): number {
    return this.blocks.length === 0 ? 0 : (this.blocks.length - 1) * BLOCK_SIZE + this.used;
  }
}
