// Streaming inspector for etcd snapshots (`DB || sha256(DB)`, as Maintenance.Snapshot and
// `etcdctl snapshot save` produce them): feed it every chunk of the file, in order, of any size; finish()
// says whether the bytes are an intact etcd 3.4 snapshot and what etcdctl would report about it.
//
// Design
// - Trailer: only the last 32 bytes of the stream are the trailer, so update() holds back 32 bytes and
//   releases the rest as database bytes. Released bytes go to node:crypto's sha256 as they are (no copy)
//   and to the page scanner.
// - Page scanner: bbolt pages are laid out by id (page i at i * pageSize) but the tree must be walked from
//   the root, which may come after its children. So each page is summarised as it streams past and the
//   tree is resolved at finish() (tree-check.ts). Pages are examined at every page boundary, overflow runs
//   included: a free page's stale header may claim an overflow run that now holds live pages, so skipping
//   runs could skip live pages. A page entirely inside a chunk is summarised in place; one that straddles
//   chunks is copied into a buffer first (the only copying, at page boundaries; budgeted by maxPageBytes
//   over all pages in flight, with larger ones marked and reported 'unsupported' if reachable). A leaf is
//   copied only as far as its summary reads (unless etcdctl hashing is on): the rows of a leaf whose
//   overflow holds large values are mostly value bytes, which only the sha256 needs.
// - Nothing is reported while streaming: a page's defects only matter if the walk reaches it, since free
//   pages keep whatever they held when freed. meta.freelist is 2^64-1 in etcd 3.4 (bbolt NoFreelistSync),
//   so bbolt itself counts every unreachable page as free.
// - Summaries (page-table.ts) live in typed-array columns, one slot per page that starts at its own
//   position: kind u8, element count u16, overflow u32, first/last key refs u32+u32, traits u8 = 16 bytes
//   (+8 with etcdctlHash). A bit per page id maps ids to slots, so overflow continuation pages cost a bit
//   each: a database of large values needs next to nothing. Keys go to a block pool (key-pool.ts) as u16
//   length + bytes, cut at maxKeyBytes: leaves keep their first and last key, branches every key plus the
//   child id (u32 + u32 per element). Bucket elements, inline bucket pages and defects are few and kept in
//   maps.
// - Memory bound: with P pages, L leaves, E branch elements (about one per page below the root) and keys of
//   k bytes: 16 P + L * 2 (2 + k) + E (10 + k), plus up to 2x slack on the branch arrays while they grow,
//   plus the pages in flight (one page normally, never more than maxPageBytes). For etcd's bucket `key`
//   (k = 17/18) and a 2 GiB database (P = 524288): 8 + 20 + 14 = 42 MiB with every page a leaf of two or
//   more keys (docs/benchmarks.md, "Memory", has what real snapshots measure). The tree walk in finish()
//   adds one byte a page (reachability).

import { createHash, type Hash } from 'node:crypto';
import {
  BRANCH_PAGE,
  DEFAULT_PAGE_SIZE,
  FREELIST_PAGE,
  LEAF_PAGE,
  MAGIC,
  META_END,
  META_PAGE,
  PAGE_HEADER_SIZE,
  decodeMeta,
  u16,
  u32,
  u64,
  type Meta,
} from './bbolt-page.js';
import { KeyPool } from './key-pool.js';
import { FilePageTable, PageKind, PageTable } from './page-table.js';
import { leafBytesRead, leafHeadSize, readFreelist, summarizeBranch, summarizeLeaf, type SummaryContext } from './page-summarizer.js';
import { ProblemList, type SnapshotReport } from './report.js';
import { checkTree } from './tree-check.js';

const TRAILER_SIZE = 32;
/** etcdutl's hasChecksum: a snapshot with its trailer is n * 512 + 32 bytes. */
const SIZE_ALIGNMENT = 512;
/** Pre-size page columns from meta.pgid up to this many pages (8 GiB at 4 KiB); grow past it by doubling. */
const PAGE_HINT_CAP = 1 << 21;
/** The page budget must hold at least one page of the largest plausible size. */
const MIN_PAGE_BUDGET = 65536;

export interface SnapshotInspectorOptions {
  /**
   * Also compute the CRC-32C `etcdctl snapshot status` calls hash. Off by default: it is a JavaScript loop
   * over every key and value and costs about as much CPU as the sha256 itself.
   */
  etcdctlHash?: boolean;
  /** Longest key kept whole in page summaries (default 512); longer keys are compared by their prefix. */
  maxKeyBytes?: number;
  /** Budget for pages being assembled across chunks (default 64 MiB); a larger page is not summarised. */
  maxPageBytes?: number;
  /** Problems listed before the rest is only counted (default 100). */
  maxProblems?: number;
}

/**
 * A page that straddles chunks, being copied together. A probe collects just a header; a leaf head, a
 * leaf's header and element table, to learn how much of the leaf the summary reads (leafBytesRead); a page,
 * the bytes to summarise (`length` is the page's own length, which may be more).
 */
type AssemblyKind = 'probe' | 'leaf-head' | 'page';

class Assembly {
  filled = 0;
  constructor(
    readonly page: number,
    readonly start: number,
    public bytes: Uint8Array,
    public kind: AssemblyKind,
    public length: number,
  ) {}

  /** Copies what `view` (file bytes from `base`) holds of the missing part; true once complete. */
  fill(view: Uint8Array, base: number): boolean {
    const from = this.start + this.filled - base;
    const n = Math.min(this.bytes.length - this.filled, view.length - from);
    if (n > 0) {
      this.bytes.set(view.subarray(from, from + n), this.filled);
      this.filled += n;
    }
    return this.filled === this.bytes.length;
  }

  /** Goes on collecting `size` bytes of the page as `kind`, keeping those already copied. */
  become(kind: AssemblyKind, size: number, length: number): void {
    const bytes = new Uint8Array(size);
    bytes.set(this.bytes.subarray(0, this.filled));
    this.bytes = bytes;
    this.kind = kind;
    this.length = length;
  }
}

/** Everything that exists once a valid meta page says how big the database is. */
interface Structure {
  meta: Meta;
  pages: FilePageTable;
  context: SummaryContext;
  freelist: Uint32Array | string | undefined;
}

export class SnapshotInspector {
  private readonly hashRows: boolean;
  private readonly maxKeyBytes: number;
  private readonly maxPageBytes: number;
  private readonly maxProblems: number;

  private readonly sha: Hash = createHash('sha256');
  private size = 0;
  private readonly tail = new Uint8Array(TRAILER_SIZE);
  private tailLength = 0;
  /** Database bytes released so far: the file offset of the next one. */
  private dbLength = 0;

  /** The first META_END bytes, gathered before the page size is known. */
  private readonly prelude = new Uint8Array(META_END);
  private preludeLength = 0;
  private pageSize = 0;
  private readonly metas: { meta: Meta; headerId: number; headerFlags: number }[] = [];
  private structure: Structure | undefined;
  private scanning = true;
  private nextPageStart = 0;
  private assemblies: Assembly[] = [];
  private assemblyBytes = 0;
  private report: SnapshotReport | undefined;

  constructor(options: SnapshotInspectorOptions = {}) {
    this.hashRows = options.etcdctlHash ?? false;
    this.maxKeyBytes = options.maxKeyBytes ?? 512;
    this.maxPageBytes = options.maxPageBytes ?? 64 * 1024 * 1024;
    if (!(this.maxPageBytes >= MIN_PAGE_BUDGET)) throw new RangeError(`maxPageBytes must be at least ${MIN_PAGE_BUDGET}`);
    this.maxProblems = options.maxProblems ?? 100;
  }

  /** Feeds the next bytes of the snapshot file. The chunk is not kept: the caller may reuse it. */
  update(chunk: Uint8Array): void {
    if (this.report) throw new Error('SnapshotInspector.update() after finish()');
    this.size += chunk.length;
    const total = this.tailLength + chunk.length;
    if (total <= TRAILER_SIZE) {
      this.tail.set(chunk, this.tailLength);
      this.tailLength = total;
      return;
    }
    const release = total - TRAILER_SIZE;
    if (release <= this.tailLength) {
      // A chunk of at most 32 bytes: the oldest held-back bytes are database bytes after all.
      this.consume(this.tail.slice(0, release));
      this.tail.copyWithin(0, release, this.tailLength);
      this.tail.set(chunk, this.tailLength - release);
    } else {
      // Released tail bytes are copied (slice) because the tail buffer is reused below.
      if (this.tailLength > 0) this.consume(this.tail.slice(0, this.tailLength));
      this.consume(chunk.subarray(0, chunk.length - TRAILER_SIZE));
      this.tail.set(chunk.subarray(chunk.length - TRAILER_SIZE));
    }
    this.tailLength = TRAILER_SIZE;
  }

  /** Bytes held for page summaries and pages in flight: what the memory bound above is about. */
  get retainedBytes(): number {
    const s = this.structure;
    if (!s) return this.assemblyBytes;
    return s.pages.byteLength + s.context.inline.byteLength + s.context.pool.byteLength + this.assemblyBytes;
  }

  /** Ends the stream and returns the report; later calls return the same report. */
  finish(): SnapshotReport {
    if (this.report) return this.report;
    const problems = new ProblemList(this.maxProblems);
    const report: SnapshotReport = { ok: false, problems: [], size: this.size, sha256: this.sha.digest('hex') };
    this.report = report;
    if (this.size === 0) {
      problems.add('empty', 'no bytes at all');
    } else if (this.checkSizeAndTrailer(report, problems)) {
      this.checkMetas(problems);
      if (this.structure) this.checkStructure(this.structure, report, problems);
    }
    report.problems = problems.list();
    report.ok = report.problems.length === 0;
    this.assemblies = [];
    return report;
  }

  private consume(bytes: Uint8Array): void {
    this.sha.update(bytes);
    if (this.scanning) this.scan(bytes, this.dbLength);
    this.dbLength += bytes.length;
  }

  /** Scans database bytes view = file[base, base + view.length). */
  private scan(view: Uint8Array, base: number): void {
    if (this.pageSize === 0) {
      const take = Math.min(META_END - this.preludeLength, view.length);
      this.prelude.set(view.subarray(0, take), this.preludeLength);
      this.preludeLength += take;
      if (this.preludeLength < META_END) return;
      // bbolt reads the page size from meta 0 and falls back to the OS page size if meta 0 is invalid.
      const meta0 = decodeMeta(this.prelude, 0);
      this.pageSize = meta0.invalid ? DEFAULT_PAGE_SIZE : meta0.pageSize;
      this.scanPages(this.prelude, 0);
      view = view.subarray(take);
      base += take;
    }
    this.scanPages(view, base);
  }

  private scanPages(view: Uint8Array, base: number): void {
    const end = base + view.length;
    if (this.assemblies.length > 0) {
      const pending = this.assemblies;
      this.assemblies = [];
      for (const assembly of pending) this.advance(assembly, view, base);
    }
    const pageSize = this.pageSize;
    let start = this.nextPageStart;
    for (; start < end && this.scanning; start += pageSize) {
      const page = start / pageSize;
      const at = start - base;
      if (start + PAGE_HEADER_SIZE > end) {
        this.assemble(page, start, 'probe', PAGE_HEADER_SIZE, PAGE_HEADER_SIZE, view, base);
        continue;
      }
      const length = this.pageLength(page, view, at);
      if (length === 0) continue;
      if (start + length <= end) {
        this.summarize(page, view, at, length);
      } else {
        const { kind, size } = this.collecting(page, view.subarray(at, at + PAGE_HEADER_SIZE), length);
        this.assemble(page, start, kind, size, length, view, base);
      }
    }
    this.nextPageStart = start;
  }

  /**
   * How to collect a page that runs past the chunk: whole, or, for a leaf when etcdctl hashing is off, its
   * head first and then only what the summary reads (leafBytesRead). A leaf whose overflow holds one large
   * value is then not copied whole, which for databases of large values meant copying nearly every byte.
   */
  private collecting(page: number, header: Uint8Array, length: number): { kind: AssemblyKind; size: number } {
    const head = leafHeadSize(header, length);
    const leafHead = !this.hashRows && page >= 2 && u16(header, 8) === LEAF_PAGE && head < length;
    return leafHead ? { kind: 'leaf-head', size: head } : { kind: 'page', size: length };
  }

  private assemble(page: number, start: number, kind: AssemblyKind, size: number, length: number, view: Uint8Array, base: number): void {
    if (!this.reserve(page, size)) return;
    this.advance(new Assembly(page, start, new Uint8Array(size), kind, length), view, base);
  }

  /** Takes `length` bytes of the in-flight budget; a page that does not fit is marked and skipped. */
  private reserve(page: number, length: number): boolean {
    if (this.assemblyBytes + length > this.maxPageBytes) {
      const { pages } = this.structure!;
      pages.kind[pages.slotFor(page)] = PageKind.TOO_LARGE;
      return false;
    }
    this.assemblyBytes += length;
    return true;
  }

  /** Fills an assembly from the view; summarises it when complete, or goes on to the next step. */
  private advance(assembly: Assembly, view: Uint8Array, base: number): void {
    for (;;) {
      if (!assembly.fill(view, base)) {
        this.assemblies.push(assembly);
        return;
      }
      const { page, bytes } = assembly;
      this.assemblyBytes -= bytes.length;
      if (assembly.kind === 'page') {
        this.summarize(page, bytes, 0, assembly.length);
        return;
      }
      let next: { kind: AssemblyKind; size: number };
      let { length } = assembly;
      if (assembly.kind === 'probe') {
        length = this.pageLength(page, bytes, 0);
        if (length === 0) return;
        next = this.collecting(page, bytes, length);
      } else {
        next = { kind: 'page', size: leafBytesRead(bytes, length) };
      }
      if (!this.reserve(page, next.size)) return;
      assembly.become(next.kind, next.size, length);
    }
  }

  /**
   * Reads the header of the page starting at b[at] and returns how many bytes to collect for it, or 0 when
   * there is nothing to summarise there (its kind is then recorded).
   */
  private pageLength(page: number, b: Uint8Array, at: number): number {
    if (page < 2) return META_END;
    const { meta, pages } = this.structure!;
    pages.examined = page + 1;
    // No page starts here (overflow continuation, zeroes, garbage): no slot (see FilePageTable).
    if (u64(b, at) !== page) return 0;
    const slot = pages.slotFor(page);
    const flags = u16(b, at + 8);
    const overflow = u32(b, at + 12);
    if (flags === FREELIST_PAGE && page !== meta.freelist) {
      pages.kind[slot] = PageKind.FREELIST; // a stale freelist: only meta.freelist's is read
      return 0;
    }
    if (flags !== BRANCH_PAGE && flags !== LEAF_PAGE && flags !== FREELIST_PAGE) {
      pages.kind[slot] = PageKind.BAD_FLAGS;
      return 0;
    }
    pages.overflow[slot] = overflow;
    if (page + overflow + 1 > meta.pgid) {
      pages.kind[slot] = PageKind.OVERRUN;
      return 0;
    }
    return (overflow + 1) * this.pageSize;
  }

  /** b[at, at + length) holds the whole page (or, for pages 0 and 1, the meta struct). */
  private summarize(page: number, b: Uint8Array, at: number, length: number): void {
    if (page < 2) {
      this.readMeta(page, b, at);
      return;
    }
    const s = this.structure!;
    const flags = u16(b, at + 8);
    const fileOffset = page * this.pageSize;
    const slot = s.pages.slotOf(page);
    if (flags === BRANCH_PAGE) summarizeBranch(s.context, s.pages, slot, b, at, length, fileOffset);
    else if (flags === LEAF_PAGE) summarizeLeaf(s.context, s.pages, slot, b, at, length, fileOffset);
    else {
      s.pages.kind[slot] = PageKind.FREELIST;
      s.freelist = readFreelist(b, at, length);
    }
  }

  private readMeta(page: number, b: Uint8Array, at: number): void {
    this.metas[page] = { meta: decodeMeta(b, at), headerId: u64(b, at), headerFlags: u16(b, at + 8) };
    if (page === 1) this.chooseMeta();
  }

  /** As bbolt: the valid meta with the highest txid describes the database. None valid: stop scanning. */
  private chooseMeta(): void {
    const valid = this.metas.map((m) => m.meta).filter((m) => !m.invalid);
    const meta = valid.sort((a, b) => b.txid - a.txid)[0];
    if (!meta || meta.pageSize !== this.pageSize) {
      this.scanning = false;
      return;
    }
    const pages = new FilePageTable(this.hashRows, Math.min(meta.pgid, PAGE_HINT_CAP));
    const context: SummaryContext = { pool: new KeyPool(this.maxKeyBytes), inline: new PageTable(this.hashRows), hash: this.hashRows };
    this.structure = { meta, pages, context, freelist: undefined };
  }

  /** False when there is not even a trailer, let alone database bytes to look at. */
  private checkSizeAndTrailer(report: SnapshotReport, problems: ProblemList): boolean {
    const { size } = this;
    if (size <= TRAILER_SIZE) {
      problems.add('truncated', `${size} bytes: no database bytes before the 32-byte sha256 trailer`, { offset: size });
      return false;
    }
    report.trailerSha256 = Buffer.from(this.tail).toString('hex');
    if (size % SIZE_ALIGNMENT !== TRAILER_SIZE) {
      problems.add('size', `${size} bytes is not n * ${SIZE_ALIGNMENT} + ${TRAILER_SIZE} (database pages followed by the sha256 trailer)`, {
        offset: size,
      });
    }
    if (report.trailerSha256 !== report.sha256) {
      problems.add(
        'trailer-mismatch',
        `sha256 of the first ${this.dbLength} bytes is ${report.sha256}, the trailer says ${report.trailerSha256}`,
        {
          offset: this.dbLength,
        },
      );
    }
    return true;
  }

  private checkMetas(problems: ProblemList): void {
    const [first, second] = this.metas;
    if (!first) {
      // Fewer than META_END database bytes: say "not bbolt" only if the magic's place shows it.
      if (this.preludeLength >= 20 && u32(this.prelude, 16) !== MAGIC)
        problems.add('not-bbolt', 'no bbolt magic at offset 16', { page: 0, offset: 16 });
      else problems.add('truncated', `the stream ends inside meta page 0, at offset ${this.dbLength}`, { page: 0, offset: this.dbLength });
      return;
    }
    if (!second) {
      if (first.meta.invalid === 'meta-magic') problems.add('not-bbolt', 'no bbolt magic at offset 16', { page: 0, offset: 16 });
      else
        problems.add('truncated', `the stream ends before meta page 1 is complete, at offset ${this.dbLength}`, {
          page: 1,
          offset: this.dbLength,
        });
      return;
    }
    if (first.meta.invalid === 'meta-magic' && second.meta.invalid === 'meta-magic') {
      problems.add('not-bbolt', `no bbolt magic in meta page 0 or 1 (offsets 16 and ${this.pageSize + 16})`, { page: 0, offset: 16 });
      return;
    }
    this.metas.forEach(({ meta, headerId, headerFlags }, page) => {
      const pageStart = page * this.pageSize;
      if (meta.invalid) {
        const [field, offset] = META_FIELDS[meta.invalid];
        problems.add(meta.invalid, `meta page ${page}: ${field}`, { page, offset: pageStart + offset });
      }
      if (headerId !== page) problems.add('page-id', `meta page ${page}: header id is ${headerId}`, { page, offset: pageStart });
      if (headerFlags !== META_PAGE)
        problems.add('page-flags', `meta page ${page}: header flags are 0x${headerFlags.toString(16)}, not meta`, {
          page,
          offset: pageStart + 8,
        });
    });
    const [a, b] = [first.meta, second.meta];
    if (!a.invalid && !b.invalid && (a.root !== b.root || a.pgid !== b.pgid || a.freelist !== b.freelist || a.pageSize !== b.pageSize)) {
      problems.add(
        'meta-mismatch',
        `meta pages 0 and 1 disagree (root ${a.root}/${b.root}, pgid ${a.pgid}/${b.pgid}, freelist ${a.freelist}/${b.freelist})`,
        { page: 1, offset: this.pageSize },
      );
    }
    if (!this.structure && (!a.invalid || !b.invalid)) {
      // A valid meta whose page size is not the one the file was scanned with (meta 0 was unreadable).
      problems.add('meta-page-size', `the valid meta page gives a page size other than ${this.pageSize}: structure not checked`, {
        page: 1,
        offset: this.pageSize + 24,
      });
    }
  }

  private checkStructure(s: Structure, report: SnapshotReport, problems: ProblemList): void {
    const { meta } = s;
    report.pageSize = this.pageSize;
    report.totalSize = meta.pgid * this.pageSize;
    if (this.dbLength < report.totalSize) {
      problems.add('truncated', `the stream ends at database offset ${this.dbLength}, meta.pgid ${meta.pgid} says ${report.totalSize}`, {
        page: Math.floor(this.dbLength / this.pageSize),
        offset: this.dbLength,
      });
    } else if (this.dbLength > report.totalSize) {
      problems.add('size', `${this.dbLength - report.totalSize} bytes follow the last page meta.pgid accounts for`, {
        offset: report.totalSize,
      });
    }
    const facts = checkTree(
      {
        pages: s.pages,
        inline: s.context.inline,
        pool: s.context.pool,
        meta,
        pageSize: this.pageSize,
        freelist: s.freelist,
        hash: this.hashRows,
      },
      problems,
    );
    report.totalKey = facts.totalKey;
    if (facts.revision !== undefined) report.revision = facts.revision;
    if (facts.compactRevision !== undefined) report.compactRevision = facts.compactRevision;
    if (facts.hash !== undefined) report.hash = facts.hash;
  }
}

/** Which field failed each meta check, and its offset in the page. */
const META_FIELDS = {
  'meta-magic': ['magic is not 0xED0CDAED', 16],
  'meta-version': ['version is not 2', 20],
  'meta-page-size': ['page size is not a power of two between 1 KiB and 64 KiB', 24],
  'meta-checksum': ['FNV-1a checksum of the meta fields does not match', 72],
} as const;
