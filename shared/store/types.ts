import type { Readable } from 'node:stream';
import type { RetentionMode } from '../config/config.js';

export interface Retention {
  mode: RetentionMode;
  retainUntil: Date;
}

export interface ObjectInfo {
  /** Key relative to the store's base prefix. */
  key: string;
  size: number;
  /** When the store wrote the object, by its own clock (GCS: timeCreated; a metadata change does not move it). */
  lastModified: Date;
  /** Version id (S3) or generation (GCS) of the object written or described, when the store versions. */
  versionId?: string;
  /** User metadata set at write time (lower-case names). Filled by `head`, not by `list`. */
  metadata?: Record<string, string>;
  /** The server-side encryption the store reports for the object, when it names one. Filled by `head`. */
  encryption?: ObjectEncryption;
}

/**
 * As the store reports it: S3 `AES256` or `aws:kms` with the KMS key id (on AWS the key ARN); GCS `cmek`
 * with the Cloud KMS key version that encrypted the object.
 */
export interface ObjectEncryption {
  algorithm: string;
  keyId?: string;
}

/** How a bucket protects what is written to it (read at start-up when immutability is on). */
export interface BucketProtection {
  /** Objects can carry their own retention: S3 Object Lock enabled / GCS object retention enabled. */
  objectRetention: boolean;
  /** S3 Object Lock needs versioning; 'n/a' where the store does not tie retention to versions (GCS). */
  versioning: boolean | 'n/a';
  /** What protects every new object: S3 Object Lock default retention / GCS bucket retention policy. */
  defaultRetention?: { mode: RetentionMode; periodMs: number };
}

export interface PutOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  /** Aborting makes `put` reject and leaves no object behind. */
  signal?: AbortSignal;
}

export interface GetOptions {
  /** Inclusive byte range. */
  start?: number;
  end?: number;
}

/**
 * One interface over S3, GCS and a local directory. Keys are relative to the base prefix of BACKUP_URL
 * and use "/" as separator. Adapters translate every failure into a BackupError whose code says what
 * happened (store-not-found, store-exists, store-bucket-missing, store-unreachable, ...).
 */
export interface ObjectStore {
  /** A printable description, e.g. s3://bucket/prefix. */
  readonly description: string;
  /**
   * Streams `body` into a new object. Create-only: rejects with store-exists if the key exists. If the
   * body errors, the signal aborts or the store fails, rejects and leaves no object (and no orphan parts).
   */
  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<ObjectInfo>;
  get(key: string, options?: GetOptions): Promise<Readable>;
  /** undefined when the object does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /**
   * Objects directly under `dir` (which must end with "/"): a directory boundary, so "etcd-a/" never
   * yields "etcd-a-2/..." and sub-directories are not descended. Paginates internally.
   */
  list(dir: string): AsyncIterable<ObjectInfo>;
  /**
   * Deletes the object for good: every version of it on a versioned bucket, or just the version given.
   * Missing objects are not an error, and leave nothing behind (no delete marker); an object under
   * retention fails with store-access-denied.
   */
  delete(key: string, options?: { versionId?: string }): Promise<void>;
  /** Server-side copy, create-only on the destination; nothing passes through this process. */
  copy(source: string, destination: string, options?: { metadata?: Record<string, string> }): Promise<ObjectInfo>;
  getTags(key: string): Promise<Record<string, string>>;
  /** Replaces the object's tags (S3 tagging, GCS custom metadata). Allowed on locked objects. */
  setTags(key: string, tags: Record<string, string>): Promise<void>;
  /** undefined when the object has no retention. */
  getRetention(key: string, options?: { versionId?: string }): Promise<Retention | undefined>;
  setRetention(key: string, retention: Retention, options?: { versionId?: string }): Promise<void>;
  bucketProtection(): Promise<BucketProtection>;
  /**
   * Removes what failed uploads left directly under `dir` and nobody has touched since `idleSince`: S3
   * multipart uploads (whose abort failed, e.g. the server was down), local temporary files of a killed
   * process. GCS resumable sessions are not objects and expire by themselves. Returns what was removed.
   */
  cleanupIncomplete(dir: string, idleSince: Date): Promise<string[]>;
  /**
   * The store's own clock: the `Date` of one small request. Absent where the store's clock is this host's
   * (a local directory); undefined when no answer carried one.
   */
  serverTime?(): Promise<Date | undefined>;
}

export function assertDir(dir: string): void {
  if (!dir.endsWith('/')) throw new Error(`list() takes a directory ending with "/", got "${dir}"`);
}
