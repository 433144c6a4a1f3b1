import type { Meta } from './bbolt-page.js';
import { NO_FREELIST } from './bbolt-page.js';
import { crc32c, crc32cCombine } from './crc32c.js';
import { KEY_BUCKET, META_BUCKET, REQUIRED_BUCKETS, mainRevision } from './etcd-schema.js';
import { NO_KEY, type KeyPool } from './key-pool.js';
import { PageKind, REVISION_KEYS, type BucketElement, type FilePageTable, type PageTable } from './page-table.js';
import type { ProblemList } from './report.js';

// The second half of the inspection, run by finish(): with every page summarised, walk the tree from the
// meta's root the way bbolt's tx.Check does (each page reachable once, ids in range, branch/leaf flags,
// keys ordered within the ranges their parents give them), then the buckets etcd keeps, gathering what
// `etcdctl snapshot status` reports.

/** Real bbolt trees are a handful of levels deep; deeper means a reference loop through garbage. */
const MAX_DEPTH = 64;

export interface TreeInput {
  pages: FilePageTable;
  inline: PageTable;
  pool: KeyPool;
  meta: Meta;
  pageSize: number;
  /** Free page ids read from meta.freelist, or why they could not be; undefined if never received. */
  freelist: Uint32Array | string | undefined;
  hash: boolean;
}

export interface TreeFacts {
  totalKey: number;
  revision?: number;
  compactRevision?: number;
  hash?: number;
}

interface PageRef {
  table: PageTable;
  slot: number;
  /** The file page: the page itself, or for an inline bucket the leaf that holds it. */
  page: number;
  inline: boolean;
}

/** What walking one bucket's tree gathers. */
class BucketWalk {
  rows = 0;
  lastKey = NO_KEY;
  /** finishedCompactRev's value, and the page it sits in. */
  compactValue: { value: Uint8Array; page: number } | undefined;
  readonly buckets: { element: BucketElement; host: number }[] = [];
  constructor(
    readonly name: string,
    readonly hashed: boolean,
    readonly isRoot = false,
  ) {}
}

const decoder = new TextDecoder();

export function checkTree(input: TreeInput, problems: ProblemList): TreeFacts {
  return new TreeCheck(input, problems).run();
}

class TreeCheck {
  private readonly pgid: number;
  /** 1 for pages reached (meta, freelist, tree); sized to the pages received, the rest were never seen. */
  private readonly reachable: Uint8Array;
  private hash = 0;
  private missing = 0;
  private firstMissing = -1;

  constructor(
    private readonly input: TreeInput,
    private readonly problems: ProblemList,
  ) {
    this.pgid = input.meta.pgid;
    this.reachable = new Uint8Array(Math.min(this.pgid, input.pages.examined));
  }

  run(): TreeFacts {
    const { meta } = this.input;
    this.reachable.fill(1, 0, Math.min(2, this.reachable.length));
    const free = meta.freelist === NO_FREELIST ? undefined : this.markFreelist(meta.freelist);

    const root = new BucketWalk('(root)', false, true);
    this.visit(this.physical(meta.root), NO_KEY, NO_KEY, 0, root, 'meta.root', 0);

    const facts: TreeFacts = { totalKey: 0 };
    const seen = new Set<string>();
    for (const { element, host } of root.buckets) {
      const name = decoder.decode(element.name);
      seen.add(name);
      if (this.input.hash) this.hash = crc32cCombine(this.hash, crc32c(0, element.name, 0, element.name.length), element.name.length);
      const walk = new BucketWalk(name, this.input.hash);
      this.walkBucket(element, host, walk, 1);
      facts.totalKey += walk.rows;
      if (name === KEY_BUCKET) this.readRevision(walk, facts);
      if (name === META_BUCKET && walk.compactValue) this.readCompactRevision(walk.compactValue.value, walk.compactValue.page, facts);
    }
    for (const name of REQUIRED_BUCKETS) {
      if (!seen.has(name)) {
        this.problems.add('missing-bucket', `etcd bucket '${name}' is missing from the root bucket (page ${meta.root})`, {
          page: meta.root,
          offset: meta.root * this.input.pageSize,
        });
      }
    }
    if (free) this.checkCoverage(free);
    if (this.missing > 0) {
      this.problems.add(
        'truncated',
        `${this.missing} reachable pages lie past the end of the stream, the first is page ${this.firstMissing}`,
        {
          page: this.firstMissing,
          offset: this.firstMissing * this.input.pageSize,
        },
      );
    }
    if (this.input.hash) facts.hash = this.hash;
    return facts;
  }

  private physical(id: number): PageRef {
    return { table: this.input.pages, slot: this.input.pages.slotOf(id), page: id, inline: false };
  }

  /** Walks a bucket's tree, then (for reachability and order only) any buckets nested in it. */
  private walkBucket(element: BucketElement, host: number, walk: BucketWalk, depth: number): void {
    const ref: PageRef =
      element.root === 0 ? { table: this.input.inline, slot: element.inlineSlot, page: host, inline: true } : this.physical(element.root);
    this.visit(ref, NO_KEY, NO_KEY, depth, walk, `bucket '${walk.name}' in page ${host}`, host);
    for (const nested of walk.buckets) {
      this.walkBucket(nested.element, nested.host, new BucketWalk(`${walk.name}/${decoder.decode(nested.element.name)}`, false), depth + 1);
    }
  }

  /**
   * Checks one page and what hangs below it; keys must lie in [lower, upper). `from` names the reference
   * (in page `fromPage`) that led here. Returns the largest key in the subtree (NO_KEY if none), which the
   * caller's next branch key must exceed.
   */
  private visit(ref: PageRef, lower: number, upper: number, depth: number, walk: BucketWalk, from: string, fromPage: number): number {
    const { table, slot, page } = ref;
    const at = { page, offset: page * this.input.pageSize };
    const where = ref.inline ? `inline bucket in page ${page}` : `page ${page}`;
    if (depth > MAX_DEPTH) {
      this.problems.add('tree-depth', `${where} (from ${from}) is more than ${MAX_DEPTH} levels deep`, at);
      return NO_KEY;
    }
    if (!ref.inline && !this.reach(page, slot, from, fromPage)) return NO_KEY;
    const kind = table.kindAt(slot);
    const defect = table.defects.get(slot);
    if (defect) this.problems.add(defect.kind, `${where}: ${defect.message}`, { page, offset: defect.offset });
    switch (kind) {
      case PageKind.BRANCH:
        return this.visitBranch(ref, lower, upper, depth, walk);
      case PageKind.LEAF:
        return this.visitLeaf(ref, lower, upper, walk);
      case PageKind.MISPLACED:
        this.problems.add('page-id', `${where} (from ${from}): no page starts here, its header carries another id`, at);
        return NO_KEY;
      case PageKind.OVERRUN:
        this.problems.add('page-out-of-range', `${where} (from ${from}): its overflow runs past meta.pgid ${this.pgid}`, at);
        return NO_KEY;
      case PageKind.TOO_LARGE:
        this.problems.add('unsupported', `${where} (from ${from}) is larger than the inspector's page budget`, at);
        return NO_KEY;
      default:
        this.problems.add('page-flags', `${where} (from ${from}) is not a ${ref.inline ? 'leaf' : 'branch or leaf'} page`, at);
        return NO_KEY;
    }
  }

  /**
   * Range, presence and single reachability of a file page and its overflow; false if not to be read.
   * A bad reference is reported at the page holding it.
   */
  private reach(page: number, slot: number, from: string, fromPage: number): boolean {
    const { pages, pageSize } = this.input;
    const at = { page: fromPage, offset: fromPage * pageSize };
    if (page < 2 || page >= this.pgid) {
      this.problems.add('page-out-of-range', `${from} points to page ${page}, outside [2, meta.pgid ${this.pgid})`, at);
      return false;
    }
    const kind = pages.kindAt(slot);
    // UNSEEN (a slot, no summary): the stream ended inside the page.
    if (page >= this.reachable.length || kind === PageKind.UNSEEN) {
      this.missing++;
      if (this.firstMissing < 0) this.firstMissing = page;
      return false;
    }
    const span = kind === PageKind.BRANCH || kind === PageKind.LEAF ? pages.overflow[slot]! + 1 : 1;
    for (let id = page; id < page + span && id < this.reachable.length; id++) {
      if (this.reachable[id]) {
        this.problems.add('page-reachable-twice', `${from} reaches page ${id}, already reached elsewhere`, at);
        return false;
      }
      this.reachable[id] = 1;
    }
    return true;
  }

  private visitBranch(ref: PageRef, lower: number, upper: number, depth: number, walk: BucketWalk): number {
    const { table, slot, page } = ref;
    const { pool, pageSize } = this.input;
    const first = table.first[slot]!;
    const count = table.count[slot]!;
    let runningMin = lower;
    let maxInSubtree = NO_KEY;
    for (let i = 0; i < count; i++) {
      const key = table.branchKey[first + i]!;
      // The first key may equal the lower bound (the parent's key for this page); later ones must exceed
      // everything in the subtree before them.
      if (runningMin !== NO_KEY) {
        const order = pool.compare(runningMin, key);
        if (order !== undefined && (i === 0 ? order > 0 : order >= 0)) {
          this.problems.add('key-order', `bucket '${walk.name}': branch page ${page} key ${i} is below keys that come before it`, {
            page,
            offset: page * pageSize,
          });
        }
      }
      if (upper !== NO_KEY && (pool.compare(key, upper) ?? -1) >= 0) {
        this.problems.add('key-order', `bucket '${walk.name}': branch page ${page} key ${i} is not below its parent's next key`, {
          page,
          offset: page * pageSize,
        });
      }
      const childUpper = i + 1 < count ? table.branchKey[first + i + 1]! : upper;
      const child = this.physical(table.branchChild[first + i]!);
      maxInSubtree = this.visit(child, key, childUpper, depth + 1, walk, `branch page ${page} element ${i}`, page);
      runningMin = maxInSubtree;
    }
    return maxInSubtree;
  }

  private visitLeaf(ref: PageRef, lower: number, upper: number, walk: BucketWalk): number {
    const { table, slot, page } = ref;
    const { pool, pageSize } = this.input;
    const at = { page, offset: page * pageSize };
    const count = table.count[slot]!;
    const buckets = table.buckets.get(slot) ?? [];
    for (const element of buckets) walk.buckets.push({ element, host: page });
    if (walk.isRoot && buckets.length < count) {
      this.problems.add('root-not-bucket', `root bucket page ${page} holds ${count - buckets.length} keys that are not buckets`, at);
    }
    walk.rows += count;
    if (count === 0) return NO_KEY;
    const firstKey = table.first[slot]!;
    const lastKey = table.last[slot]!;
    if (lower !== NO_KEY && (pool.compare(lower, firstKey) ?? 0) > 0) {
      this.problems.add('key-order', `bucket '${walk.name}': leaf page ${page} starts below its parent's key for it`, at);
    }
    if (upper !== NO_KEY && (pool.compare(lastKey, upper) ?? -1) >= 0) {
      this.problems.add('key-order', `bucket '${walk.name}': leaf page ${page} ends at or above its parent's next key`, at);
    }
    if (walk.name === KEY_BUCKET && !(table.traits[slot]! & REVISION_KEYS)) {
      this.problems.add(
        'etcd-key-format',
        `bucket 'key': leaf ${ref.inline ? `inline in page ${page}` : `page ${page}`} holds keys that are not revisions`,
        at,
      );
    }
    const watched = table.watched.get(slot);
    if (walk.name === META_BUCKET && watched) walk.compactValue = { value: watched, page };
    if (walk.hashed && table.crc && table.crcBytes) {
      this.hash = crc32cCombine(this.hash, table.crc[slot]! >>> 0, table.crcBytes[slot]!);
    }
    walk.lastKey = lastKey;
    return lastKey;
  }

  private readRevision(walk: BucketWalk, facts: TreeFacts): void {
    if (walk.lastKey === NO_KEY) {
      facts.revision = 0;
      return;
    }
    facts.revision = mainRevision(this.input.pool.bytes(walk.lastKey));
  }

  private readCompactRevision(value: Uint8Array, page: number, facts: TreeFacts): void {
    const revision = mainRevision(value);
    if (revision === undefined) {
      this.problems.add('etcd-meta-format', `bucket 'meta': finishedCompactRev in page ${page} is not a revision (${value.length} bytes)`, {
        page,
        offset: page * this.input.pageSize,
      });
    } else {
      facts.compactRevision = revision;
    }
  }

  /** Marks the freelist page reachable and returns which pages it lists as free. */
  private markFreelist(id: number): Uint8Array | undefined {
    const { pages, pageSize, freelist } = this.input;
    const slot = pages.slotOf(id);
    if (!this.reach(id, slot, 'meta.freelist', 0)) return undefined;
    if (pages.kindAt(slot) !== PageKind.FREELIST || freelist === undefined) {
      this.problems.add('page-flags', `meta.freelist points to page ${id}, which is not a freelist page`, {
        page: id,
        offset: id * pageSize,
      });
      return undefined;
    }
    // reach() counted a freelist as one page; its overflow belongs to it too.
    for (let p = id + 1; p <= id + pages.overflow[slot]! && p < this.reachable.length; p++) this.reachable[p] = 1;
    if (typeof freelist === 'string') {
      this.problems.add('page-malformed', `freelist page ${id}: ${freelist}`, { page: id, offset: id * pageSize });
      return undefined;
    }
    const free = new Uint8Array(this.reachable.length);
    for (const pageId of freelist) {
      if (pageId < 2 || pageId >= this.pgid) {
        this.problems.add('page-out-of-range', `freelist lists page ${pageId}, outside [2, meta.pgid ${this.pgid})`, {
          page: id,
          offset: id * pageSize,
        });
      } else if (pageId < free.length) {
        if (free[pageId])
          this.problems.add('freelist-duplicate', `freelist lists page ${pageId} twice`, { page: pageId, offset: pageId * pageSize });
        free[pageId] = 1;
      }
    }
    return free;
  }

  /** With a persisted freelist, reachable and free pages must cover [2, pgid) exactly. */
  private checkCoverage(free: Uint8Array): void {
    const { pageSize } = this.input;
    let unaccounted = 0;
    let firstUnaccounted = -1;
    for (let id = 2; id < this.reachable.length; id++) {
      if (this.reachable[id] && free[id]) {
        this.problems.add('freelist-reachable', `page ${id} is reachable and also listed as free`, { page: id, offset: id * pageSize });
      } else if (!this.reachable[id] && !free[id]) {
        unaccounted++;
        if (firstUnaccounted < 0) firstUnaccounted = id;
      }
    }
    if (unaccounted > 0) {
      this.problems.add('page-unaccounted', `${unaccounted} pages are neither reachable nor free, the first is page ${firstUnaccounted}`, {
        page: firstUnaccounted,
        offset: firstUnaccounted * pageSize,
      });
    }
  }
}
