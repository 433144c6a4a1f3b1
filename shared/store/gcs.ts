import { Storage, type Bucket, type File } from '@google-cloud/storage';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../errors.js';
import { crc32c } from '../snapshot-format/crc32c.js';
import type { GcsConfig } from '../config/config.js';
import { refuseMisencrypted } from './encryption.js';
import {
  assertDir,
  type BucketProtection,
  type GetOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type Retention,
} from './types.js';

export function createGcsClient(config: GcsConfig): Storage {
  const storage = new Storage({
    ...(config.emulatorHost ? { apiEndpoint: config.emulatorHost } : {}),
    ...(config.projectId ? { projectId: config.projectId } : {}),
  });
  // What the library itself does when STORAGE_EMULATOR_HOST is in the environment: JSON API calls go to
  // the emulator's root, not under /storage/v1 (emulators serve e.g. PATCH and rewrite only there). Done
  // here too so that --gcs-emulator-host behaves exactly like the variable.
  if (config.emulatorHost) storage.baseUrl = config.emulatorHost.replace(/\/+$/, '');
  return storage;
}

/**
 * Both a missing bucket and a missing object are 404 "notFound"; only the message tells them apart: "The
 * specified bucket does not exist." against "No such object: <bucket>/<name>". The names are taken out
 * before looking for the word, since a bucket or an object may well be called "backup-bucket".
 */
function isMissingBucket(message: string, bucket: string, key: string): boolean {
  if (/^No such object\b/i.test(message)) return false;
  const withoutNames = [key, bucket].filter(Boolean).reduce((text, name) => text.replaceAll(name, ''), message);
  return /bucket/i.test(withoutNames);
}

export function gcsError(error: unknown, action: string, bucket: string, key: string): BackupError {
  if (error instanceof BackupError) return error;
  const status = (error as { code?: unknown }).code;
  const message = (error as Error)?.message ?? String(error);
  const where = `gs://${bucket}/${key}`;
  if (status === 404 && isMissingBucket(message, bucket, key)) {
    return new BackupError('store-bucket-missing', `${action} ${where}: bucket "${bucket}" does not exist`, {
      cause: error,
      hint: 'create the bucket or fix BACKUP_URL',
    });
  }
  if (status === 404) return new BackupError('store-not-found', `${action} ${where}: no such object`, { cause: error });
  if (status === 412)
    return new BackupError('store-exists', `${action} ${where}: the object already exists`, {
      cause: error,
      hint: 'objects are never overwritten',
    });
  if (status === 403 || status === 401) {
    return new BackupError('store-access-denied', `${action} ${where}: access denied`, {
      cause: error,
      hint: 'check the service account roles on this bucket; an object under retention cannot be deleted',
    });
  }
  if (status === 'ECONNREFUSED' || status === 'ENOTFOUND' || status === 'ETIMEDOUT' || status === 'ECONNRESET') {
    return new BackupError('store-unreachable', `${action} ${where}: cannot reach Cloud Storage (${status})`, {
      cause: error,
      hint: 'check STORAGE_EMULATOR_HOST / network access to Cloud Storage',
    });
  }
  return new BackupError('store', `${action} ${where} failed: ${message}`, { cause: error });
}

// GCS has two object retention modes: Unlocked (can be shortened by an admin) and Locked (cannot).
const toGcsMode = (mode: Retention['mode']) => (mode === 'compliance' ? 'Locked' : 'Unlocked');

function info(key: string, file: File): ObjectInfo {
  const m = file.metadata;
  const result: ObjectInfo = { key, size: Number(m.size ?? 0), lastModified: new Date(m.timeCreated ?? m.updated ?? 0) };
  if (m.generation !== undefined) result.versionId = String(m.generation);
  if (m.metadata) result.metadata = Object.fromEntries(Object.entries(m.metadata).map(([k, v]) => [k, String(v)]));
  if (m.kmsKeyName) result.encryption = { algorithm: 'cmek', keyId: m.kmsKeyName };
  return result;
}

/** GCS reports the key version that encrypted the object: `<key name>/cryptoKeyVersions/<n>`. */
export const cmekApplied = (asked: string, got: ObjectInfo['encryption']): boolean =>
  got?.algorithm === 'cmek' && (got.keyId === asked || got.keyId?.startsWith(`${asked}/cryptoKeyVersions/`) === true);

/**
 * The CRC32CValidator @google-cloud/storage validates uploads with, on the slicing-by-16 CRC-32C of the
 * snapshot inspector instead of the library's byte-at-a-time loop.
 */
class FastCrc32c {
  private crc = 0;

  update(data: Buffer): void {
    this.crc = crc32c(this.crc, data, 0, data.length);
  }

  toBuffer(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.crc);
    return out;
  }

  /** Base64 of the big-endian value, as GCS reports `crc32c`. */
  toString(): string {
    return this.toBuffer().toString('base64');
  }

  toJSON(): string {
    return this.toString();
  }

  validate(input: { toString(): string } | string | Buffer | number): boolean {
    if (typeof input === 'number') return input >>> 0 === this.crc;
    if (Buffer.isBuffer(input)) return input.equals(this.toBuffer());
    return input.toString() === this.toString();
  }
}

/** A response header from gaxios, whose responses carry either a plain object or a Headers. */
function headerValue(headers: unknown, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = (headers as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

export class GcsStore implements ObjectStore {
  readonly description: string;
  private readonly bucketHandle: Bucket;

  constructor(
    private readonly storage: Storage,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly listPageSize = 1000,
    /** GCS_KMS_KEY_NAME: every object written (uploads and copies) is encrypted with this Cloud KMS key. */
    private readonly kmsKeyName?: string,
  ) {
    this.bucketHandle = storage.bucket(bucket);
    this.description = `gs://${bucket}/${prefix}`;
  }

  /**
   * The Date of one small listing under the prefix (a request the roles allow: storage.objects.list). The
   * library's methods hand back bodies only; its underlying request (authenticated as they are, or not at
   * all against an emulator) also hands back the response. A refusal carries a Date too.
   */
  async serverTime(): Promise<Date | undefined> {
    const headers = await new Promise<unknown>((resolve) => {
      this.storage.request(
        { uri: `/b/${encodeURIComponent(this.bucket)}/o`, qs: { maxResults: 1, prefix: this.full('') } },
        (error, _body, response) => resolve(response?.headers ?? (error as { response?: { headers?: unknown } } | null)?.response?.headers),
      );
    });
    const date = headerValue(headers, 'date');
    const time = date === undefined ? Number.NaN : Date.parse(date);
    return Number.isNaN(time) ? undefined : new Date(time);
  }

  private full(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private file(key: string): File {
    return this.bucketHandle.file(this.full(key));
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<ObjectInfo> {
    // The library checks the upload against the CRC-32C the server computed; its own CRC-32C runs a byte
    // at a time (the largest CPU cost of a snapshot upload: docs/benchmarks.md), so hand it the faster one.
    const file = this.bucketHandle.file(this.full(key), {
      crc32cGenerator: () => new FastCrc32c(),
      ...(this.kmsKeyName ? { kmsKeyName: this.kmsKeyName } : {}),
    });
    // A single-request resumable upload streams the body; the object exists only once the request
    // completes, so an aborted stream leaves nothing. ifGenerationMatch 0 makes it create-only.
    const out = file.createWriteStream({
      resumable: true,
      preconditionOpts: { ifGenerationMatch: 0 },
      metadata: { contentType: options.contentType ?? 'application/octet-stream', metadata: options.metadata ?? {} },
    });
    try {
      await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, out, options.signal ? { signal: options.signal } : {});
    } catch (error) {
      if (options.signal?.aborted) throw new BackupError('aborted', `upload of ${key} aborted`, { cause: options.signal.reason ?? error });
      throw gcsError(error, 'upload', this.bucket, this.full(key));
    }
    return this.confirmEncryption(info(key, file));
  }

  /**
   * What the store reported for the object written: a store that ignored the key (an emulator, a key it
   * may not use) would otherwise leave it under Google's default encryption while the run reports success.
   */
  private async confirmEncryption(written: ObjectInfo): Promise<ObjectInfo> {
    const asked = this.kmsKeyName;
    if (!asked || cmekApplied(asked, written.encryption)) return written;
    throw await refuseMisencrypted(
      this,
      `gs://${this.bucket}/${this.full(written.key)}`,
      written,
      { algorithm: 'cmek', keyId: asked },
      'GCS_KMS_KEY_NAME',
    );
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const file = this.file(key);
    // createReadStream is lazy: ask for the metadata first so a missing object fails here, not mid-stream.
    try {
      await file.getMetadata();
    } catch (error) {
      throw gcsError(error, 'download', this.bucket, this.full(key));
    }
    return file.createReadStream({
      ...(options.start !== undefined ? { start: options.start } : {}),
      ...(options.end !== undefined ? { end: options.end } : {}),
      validation: false,
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.file(key);
    try {
      await file.getMetadata();
      return info(key, file);
    } catch (error) {
      const e = gcsError(error, 'stat', this.bucket, this.full(key));
      if (e.code === 'store-not-found') return undefined;
      throw e;
    }
  }

  async *list(dir: string): AsyncIterable<ObjectInfo> {
    assertDir(dir);
    const prefix = this.full(dir);
    let pageToken: string | undefined;
    do {
      let files: File[];
      let next: { pageToken?: string } | null | undefined;
      try {
        [files, next] = await this.bucketHandle.getFiles({
          prefix,
          delimiter: '/',
          autoPaginate: false,
          maxResults: this.listPageSize,
          ...(pageToken ? { pageToken } : {}),
        });
      } catch (error) {
        throw gcsError(error, 'list', this.bucket, prefix);
      }
      for (const file of files) {
        if (file.name === prefix) continue;
        yield {
          key: this.prefix ? file.name.slice(this.prefix.length + 1) : file.name,
          size: Number(file.metadata.size ?? 0),
          lastModified: new Date(file.metadata.timeCreated ?? file.metadata.updated ?? 0),
        };
      }
      pageToken = next?.pageToken;
    } while (pageToken);
  }

  /**
   * Without a version id, deletes every generation: on a bucket with Object Versioning a plain delete only
   * makes the live generation noncurrent.
   */
  async delete(key: string, options: { versionId?: string } = {}): Promise<void> {
    const name = this.full(key);
    try {
      const generations = options.versionId
        ? [Number(options.versionId)]
        : (await this.bucketHandle.getFiles({ prefix: name, versions: true }))[0]
            .filter((f) => f.name === name)
            .map((f) => Number(f.metadata.generation));
      for (const generation of generations.length > 0 ? generations : [undefined]) {
        await this.bucketHandle.file(name, generation === undefined ? {} : { generation }).delete({ ignoreNotFound: true });
      }
    } catch (error) {
      throw gcsError(error, 'delete', this.bucket, name);
    }
  }

  async copy(source: string, destination: string, options: { metadata?: Record<string, string> } = {}): Promise<ObjectInfo> {
    // A destination handle with the key makes the rewrite encrypt the copy with it (destinationKmsKeyName).
    const dest = this.bucketHandle.file(this.full(destination), this.kmsKeyName ? { kmsKeyName: this.kmsKeyName } : {});
    try {
      await this.file(source).copy(dest, {
        preconditionOpts: { ifGenerationMatch: 0 },
        ...(options.metadata ? { metadata: options.metadata } : {}),
      });
      await dest.getMetadata();
      return await this.confirmEncryption(info(destination, dest));
    } catch (error) {
      throw gcsError(error, 'copy to', this.bucket, this.full(destination));
    }
  }

  async getTags(key: string): Promise<Record<string, string>> {
    const info = await this.head(key);
    if (!info) throw new BackupError('store-not-found', `tags of gs://${this.bucket}/${this.full(key)}: no such object`);
    return info.metadata ?? {};
  }

  /** GCS has no tags: custom metadata can be changed on any object, retained or not, without rewriting it. */
  async setTags(key: string, tags: Record<string, string>): Promise<void> {
    const file = this.file(key);
    try {
      const [current] = await file.getMetadata();
      // Keys absent from `tags` are removed by setting them to null.
      const cleared = Object.fromEntries(Object.keys(current.metadata ?? {}).map((k) => [k, null]));
      await file.setMetadata({ metadata: { ...cleared, ...tags } });
    } catch (error) {
      throw gcsError(error, 'tag', this.bucket, this.full(key));
    }
  }

  async getRetention(key: string): Promise<Retention | undefined> {
    const file = this.file(key);
    try {
      const [m] = await file.getMetadata();
      // Two protections can apply: the object's own retention, and the bucket retention policy, which
      // shows on the object as retentionExpirationTime. Whichever ends later is what keeps it.
      const own = m.retention?.retainUntilTime
        ? ({
            mode: m.retention.mode === 'Locked' ? 'compliance' : 'governance',
            retainUntil: new Date(m.retention.retainUntilTime),
          } as const)
        : undefined;
      const policy = m.retentionExpirationTime
        ? ({ mode: 'governance', retainUntil: new Date(m.retentionExpirationTime) } as const)
        : undefined;
      if (!own || !policy) return own ?? policy;
      return own.retainUntil >= policy.retainUntil ? own : policy;
    } catch (error) {
      throw gcsError(error, 'read retention of', this.bucket, this.full(key));
    }
  }

  async cleanupIncomplete(): Promise<string[]> {
    return [];
  }

  async bucketProtection(): Promise<BucketProtection> {
    try {
      const [m] = await this.bucketHandle.getMetadata();
      const protection: BucketProtection = { objectRetention: m.objectRetention?.mode === 'Enabled', versioning: 'n/a' };
      const seconds = Number(m.retentionPolicy?.retentionPeriod ?? 0);
      // A locked bucket retention policy cannot be shortened or removed: the compliance equivalent.
      if (seconds > 0)
        protection.defaultRetention = { mode: m.retentionPolicy?.isLocked ? 'compliance' : 'governance', periodMs: seconds * 1000 };
      return protection;
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) {
        throw new BackupError('store-bucket-missing', `bucket "${this.bucket}" does not exist`, {
          cause: error,
          hint: 'create the bucket (with a retention policy or object retention for immutable backups) or fix BACKUP_URL',
        });
      }
      throw gcsError(error, 'read the retention settings of', this.bucket, '');
    }
  }

  async setRetention(key: string, retention: Retention): Promise<void> {
    const file = this.file(key);
    try {
      await file.setMetadata({ retention: { mode: toGcsMode(retention.mode), retainUntilTime: retention.retainUntil.toISOString() } });
    } catch (error) {
      throw gcsError(error, 'set retention of', this.bucket, this.full(key));
    }
  }
}
