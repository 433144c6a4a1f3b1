/** Stable machine names of what can be wrong with a snapshot; `message` says what and where in words. */
export type ProblemKind =
  /** No bytes at all. */
  | 'empty'
  /** Size is not `n * 512 + 32`, or bytes follow the last page the meta page accounts for. */
  | 'size'
  /** The stream ends before the database does (shorter than the trailer, the meta pages or meta.pgid pages). */
  | 'truncated'
  /** sha256 of the database bytes differs from the 32-byte trailer. */
  | 'trailer-mismatch'
  /** Neither meta page carries the bbolt magic: not a bbolt file. */
  | 'not-bbolt'
  | 'meta-magic'
  | 'meta-version'
  | 'meta-checksum'
  | 'meta-page-size'
  /** Both meta pages are valid but describe different databases (WriteTo writes both from one transaction). */
  | 'meta-mismatch'
  /** A page's header id is not its position. */
  | 'page-id'
  /** A page's flags do not fit its role (tree pages must be branch or leaf, inline buckets leaf). */
  | 'page-flags'
  /** A page id below 2 or at or past meta.pgid, or an overflow run past meta.pgid. */
  | 'page-out-of-range'
  | 'page-reachable-twice'
  /** With a persisted freelist: a page neither reachable nor free. */
  | 'page-unaccounted'
  /** Element offsets or sizes that point outside their page. */
  | 'page-malformed'
  | 'freelist-duplicate'
  | 'freelist-reachable'
  /** Keys not strictly increasing in a page, or outside the range the parent branch gives them. */
  | 'key-order'
  /** A tree deeper than any real bbolt tree: a reference cycle or garbage. */
  | 'tree-depth'
  /** The root bucket holds a plain key (bbolt only puts buckets there). */
  | 'root-not-bucket'
  /** One of the buckets etcd 3.4 always creates is absent. */
  | 'missing-bucket'
  /** A key of bucket `key` is not an etcd revision (8-byte main, '_', 8-byte sub, optional 't'). */
  | 'etcd-key-format'
  /** `finishedCompactRev` in bucket `meta` is not a revision. */
  | 'etcd-meta-format'
  /** Valid bbolt the inspector will not hold in memory (a page or key past the configured limits). */
  | 'unsupported'
  /** The problem list was cut; the message says how many more were found. */
  | 'more-problems';

export interface Problem {
  kind: ProblemKind;
  message: string;
  /** bbolt page id the problem is in. */
  page?: number;
  /** Byte offset in the snapshot file. */
  offset?: number;
}

export interface SnapshotReport {
  ok: boolean;
  problems: Problem[];
  /** Bytes seen, trailer included. */
  size: number;
  /** Hex sha256 of the database bytes (everything but the last 32 bytes): what the trailer should say. */
  sha256: string;
  /** Hex of the last 32 bytes, if there were that many. */
  trailerSha256?: string;
  pageSize?: number;
  /** As `etcdctl snapshot status`: main revision of the last key in bucket `key` (0 if it is empty). */
  revision?: number;
  /** Main revision of `finishedCompactRev` in bucket `meta`, if present. */
  compactRevision?: number;
  /** As etcdctl 3.4 reports it: every row of every top-level bucket, not only bucket `key`. */
  totalKey?: number;
  /** meta.pgid * pageSize, trailer excluded, as etcdctl reports it. */
  totalSize?: number;
  /** etcdctl's CRC-32C over bucket names, keys and values; only with `etcdctlHash: true`. */
  hash?: number;
}

export interface Where {
  page?: number;
  offset?: number;
}

/** Collects problems, keeping the first `limit` so a garbage file cannot grow the report without bound. */
export class ProblemList {
  readonly items: Problem[] = [];
  private dropped = 0;

  constructor(private readonly limit: number) {}

  add(kind: ProblemKind, message: string, where: Where = {}): void {
    if (this.items.length >= this.limit) {
      this.dropped++;
      return;
    }
    const problem: Problem = { kind, message };
    if (where.page !== undefined) problem.page = where.page;
    if (where.offset !== undefined) problem.offset = where.offset;
    this.items.push(problem);
  }

  /** The problems, with a closing 'more-problems' entry if some were dropped. */
  list(): Problem[] {
    if (this.dropped === 0) return this.items;
    return [...this.items, { kind: 'more-problems', message: `${this.dropped} further problems not listed` }];
  }
}
