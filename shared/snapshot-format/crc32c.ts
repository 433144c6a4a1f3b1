// CRC-32C (Castagnoli), the checksum `etcdctl snapshot status` reports as "hash". Node has no native
// CRC-32C (zlib.crc32 is the IEEE polynomial), so this is table-driven JavaScript, slicing by 16 bytes.
// The inspector hashes each leaf page as it streams past and joins the per-page values in tree order at
// the end with crc32cCombine, which is why combining is here too.

const POLY = 0x82f63b78; // reflected Castagnoli polynomial
const SLICES = 16;

const TABLE = (() => {
  const table = new Int32Array(256 * SLICES);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    table[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let s = 1; s < SLICES; s++) {
      const prev = table[(s - 1) * 256 + n]!;
      table[s * 256 + n] = (prev >>> 8) ^ table[prev & 0xff]!;
    }
  }
  return table;
})();

/** Continues `crc` (a finished CRC-32C, 0 for none) over bytes[start, end). */
export function crc32c(crc: number, bytes: Uint8Array, start: number, end: number): number {
  const t = TABLE;
  let c = ~crc;
  let i = start;
  const fastEnd = end - ((end - start) % SLICES);
  for (; i < fastEnd; i += SLICES) {
    const a = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) ^ c;
    c =
      t[3840 + (a & 0xff)]! ^
      t[3584 + ((a >>> 8) & 0xff)]! ^
      t[3328 + ((a >>> 16) & 0xff)]! ^
      t[3072 + (a >>> 24)]! ^
      t[2816 + bytes[i + 4]!]! ^
      t[2560 + bytes[i + 5]!]! ^
      t[2304 + bytes[i + 6]!]! ^
      t[2048 + bytes[i + 7]!]! ^
      t[1792 + bytes[i + 8]!]! ^
      t[1536 + bytes[i + 9]!]! ^
      t[1280 + bytes[i + 10]!]! ^
      t[1024 + bytes[i + 11]!]! ^
      t[768 + bytes[i + 12]!]! ^
      t[512 + bytes[i + 13]!]! ^
      t[256 + bytes[i + 14]!]! ^
      t[bytes[i + 15]!]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// Combining follows zlib's crc32_combine: multiply crcA by x^(8 * lengthB) modulo the polynomial.

/** a * b modulo the polynomial, in the reflected representation. */
function multiplyModP(a: number, b: number): number {
  let m = 0x80000000;
  let product = 0;
  for (;;) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** X_POW_2N[k] = x^(2^k) modulo the polynomial; 64 entries cover any length a double holds exactly. */
const X_POW_2N = (() => {
  const table = new Uint32Array(64);
  let p = 0x40000000; // x^1
  table[0] = p;
  for (let k = 1; k < 64; k++) table[k] = p = multiplyModP(p, p);
  return table;
})();

/** CRC-32C of A followed by B, given crc(A), crc(B) and B's length in bytes. */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  // x^(8 * lengthB): walk the bits of lengthB (a double: lengths may pass 2^32), starting at x^(2^3).
  let p = 0x80000000; // x^0
  let k = 3;
  for (let n = lengthB; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) p = multiplyModP(X_POW_2N[k]!, p);
  }
  return (multiplyModP(p, crcA) ^ crcB) >>> 0;
}
