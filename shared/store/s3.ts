import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  paginateListObjectsV2,
  PutObjectRetentionCommand,
  PutObjectTaggingCommand,
  S3Client,
  type S3ServiceException,
  type ServerSideEncryption,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { BackupError, ConfigError } from '../errors.js';
import type { S3Config, S3Encryption } from '../config/config.js';
import { refuseMisencrypted } from './encryption.js';
import { type ObjectParams, type UploadSizes, uploadObject } from './s3-upload.js';
import {
  assertDir,
  type BucketProtection,
  type GetOptions,
  type ObjectEncryption,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type Retention,
} from './types.js';

/** How long a request may see no byte either way before it fails (the server stopped answering). */
const IDLE_TIMEOUT_MS = 120_000;

/**
 * The CA certificates of AWS_CA_BUNDLE (a PEM file), which the AWS CLI and the other AWS SDKs honour and
 * the JavaScript SDK ignores. As there, the bundle replaces the default trust store rather than adding to
 * it. Read when a client is created, like the SDK's own environment settings.
 */
export function caBundle(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const file = env.AWS_CA_BUNDLE;
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(
      'AWS_CA_BUNDLE',
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      'give the path of a PEM file',
    );
  }
}

export function createS3Client(config: S3Config, idleTimeoutMs = IDLE_TIMEOUT_MS): S3Client {
  const ca = caBundle();
  return new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: config.checksum,
    responseChecksumValidation: config.checksum,
    // The SDK sets no timeouts: a server that stops answering would hang the run (until a Lambda deadline,
    // or forever on the CLI). socketTimeout is an idle time, not a bound on a part's transfer; the SDK's
    // requestTimeout (a bound on the whole request) only logs a warning unless told to throw.
    // An options object (not an Agent) for httpsAgent keeps the handler's own agent defaults (keep-alive).
    requestHandler: { connectionTimeout: 10_000, socketTimeout: idleTimeoutMs, ...(ca ? { httpsAgent: { ca } } : {}) },
    // No `Expect: 100-continue` before part bodies: Ceph radosgw answers such a request with `Connection:
    // close`, so every part opened a new connection (and over TLS would pay a handshake). What the header
    // saves, not sending a body the server is about to refuse, matters little for parts of a few MiB.
    expectContinueHeader: false,
  });
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchVersion']);

/** SDK errors carry the useful part in `name` and the HTTP status; S3-compatible servers often send no message. */
export function s3Error(error: unknown, action: string, bucket: string, key: string): BackupError {
  if (error instanceof BackupError) return error;
  const name = (error as Error)?.name ?? 'Error';
  const status = (error as S3ServiceException)?.$metadata?.httpStatusCode;
  const where = `s3://${bucket}/${key}`;
  if (name === 'NoSuchBucket') {
    return new BackupError('store-bucket-missing', `${action} ${where}: bucket "${bucket}" does not exist`, {
      cause: error,
      hint: 'create the bucket (with Object Lock if you want immutable backups) or fix BACKUP_URL',
    });
  }
  if (NOT_FOUND.has(name) || status === 404)
    return new BackupError('store-not-found', `${action} ${where}: no such object`, { cause: error });
  if (name === 'PreconditionFailed' || status === 412)
    return new BackupError('store-exists', `${action} ${where}: the object already exists`, {
      cause: error,
      hint: 'objects are never overwritten',
    });
  if (name === 'AccessDenied' || status === 403) {
    return new BackupError('store-access-denied', `${action} ${where}: access denied (${name})`, {
      cause: error,
      hint: 'check the credentials and the IAM policy for this bucket prefix; a locked object version cannot be deleted until its retention ends',
    });
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'ECONNRESET' || name === 'TimeoutError') {
    return new BackupError('store-unreachable', `${action} ${where}: cannot reach the S3 endpoint (${code ?? name})`, {
      cause: error,
      hint: 'check AWS_ENDPOINT_URL_S3 / network access to S3',
    });
  }
  return new BackupError('store', `${action} ${where} failed: ${name}${status ? ` (HTTP ${status})` : ''}`, { cause: error });
}

/** The request fields that ask for `sse` (PutObject, CreateMultipartUpload, CopyObject); none without it. */
function sseParams(sse: S3Encryption | undefined): { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string } {
  if (!sse) return {};
  return { ServerSideEncryption: sse.algorithm, ...(sse.keyId ? { SSEKMSKeyId: sse.keyId } : {}) };
}

/** Whether the store applied `asked`. AWS reports a KMS key as its ARN whatever form it was given in; radosgw as given. */
export function appliedAsAsked(asked: S3Encryption, got: ObjectEncryption | undefined): boolean {
  if (got?.algorithm !== asked.algorithm) return false;
  return asked.keyId === undefined || got.keyId === asked.keyId || got.keyId?.endsWith(`:key/${asked.keyId}`) === true;
}

/** How objects are written: multipart sizes, and the server-side encryption asked for each one. */
export interface S3WriteOptions extends UploadSizes {
  sse?: S3Encryption;
}

const fromRetention = (mode: string | undefined, until: Date | undefined): Retention | undefined =>
  mode && until ? { mode: mode === 'COMPLIANCE' ? 'compliance' : 'governance', retainUntil: until } : undefined;

/** Per client: the `Date` of its latest response and when it arrived (this host's clock). */
export class S3Store implements ObjectStore {
  readonly description: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly upload: S3WriteOptions,
    private readonly listPageSize = 1000,
    /** CopyObject copies at most 5 GiB; larger objects are copied in parts (UploadPartCopy). */
    private readonly copyLimits = { single: 5 * 1024 ** 3, part: 1024 ** 3 },
  ) {
    this.description = `s3://${bucket}/${prefix}`;
  }

  /**
   * The `Date` of one small listing under the prefix. The SDK hands back no response headers, so a
   * middleware on this one command reads it; any answer will do, a refusal included (the SDK attaches the
   * raw response to the error).
   */
  async serverTime(): Promise<Date | undefined> {
    let date: string | undefined;
    const read = (response: unknown) => {
      date = (response as { headers?: Record<string, string> } | undefined)?.headers?.date;
    };
    const command = new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.full(''), MaxKeys: 1 });
    command.middlewareStack.add(
      (next) => async (args) => {
        try {
          const out = await next(args);
          read(out.response);
          return out;
        } catch (error) {
          read((error as { $response?: unknown }).$response);
          throw error;
        }
      },
      { step: 'deserialize', name: 'etcdBackupServerDate' },
    );
    await this.client.send(command).catch(() => undefined);
    const time = date === undefined ? Number.NaN : Date.parse(date);
    return Number.isNaN(time) ? undefined : new Date(time);
  }

  private full(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private relative(full: string): string {
    return this.prefix ? full.slice(this.prefix.length + 1) : full;
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<ObjectInfo> {
    const Key = this.full(key);
    const params: ObjectParams = {
      Bucket: this.bucket,
      Key,
      // Create-only. AWS honours it on PutObject and CompleteMultipartUpload; some S3-compatible servers
      // only on PutObject, which is why keys are also unique by construction.
      IfNoneMatch: '*',
      ContentType: options.contentType ?? 'application/octet-stream',
      Metadata: options.metadata,
      ...sseParams(this.upload.sse),
    };
    // Aborting fails the body, so put() settles only after the multipart upload has been aborted on the
    // server and no orphan parts outlive this call.
    const onAbort = () => {
      if (body instanceof Readable) body.destroy(new BackupError('aborted', `upload of ${key} aborted`, { cause: options.signal?.reason }));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (options.signal?.aborted) onAbort();
      const versionId = await uploadObject(this.client, params, body, this.upload, options.signal);
      // CompleteMultipartUpload returns no size (and RGW an empty ETag): read the truth back.
      const info = await this.head(key);
      if (!info) throw new BackupError('store', `s3://${this.bucket}/${Key} is missing right after upload`);
      if (versionId) info.versionId = versionId;
      await this.confirmEncryption(info);
      return info;
    } catch (error) {
      if (options.signal?.aborted && !(error instanceof BackupError)) {
        throw new BackupError('aborted', `upload of ${key} aborted`, { cause: options.signal.reason ?? error });
      }
      throw s3Error(error, 'upload', this.bucket, Key);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const Key = this.full(key);
    const range = options.start !== undefined || options.end !== undefined ? `bytes=${options.start ?? 0}-${options.end ?? ''}` : undefined;
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range: range }));
      return response.Body as Readable;
    } catch (error) {
      throw s3Error(error, 'download', this.bucket, Key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.full(key);
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      const info: ObjectInfo = { key, size: r.ContentLength ?? 0, lastModified: r.LastModified ?? new Date(0), metadata: r.Metadata ?? {} };
      if (r.VersionId) info.versionId = r.VersionId;
      if (r.ServerSideEncryption)
        info.encryption = { algorithm: r.ServerSideEncryption, ...(r.SSEKMSKeyId ? { keyId: r.SSEKMSKeyId } : {}) };
      return info;
    } catch (error) {
      const e = s3Error(error, 'stat', this.bucket, Key);
      if (e.code === 'store-not-found') return undefined;
      throw e;
    }
  }

  async *list(dir: string): AsyncIterable<ObjectInfo> {
    assertDir(dir);
    const Prefix = this.full(dir);
    try {
      for await (const page of paginateListObjectsV2(
        { client: this.client, pageSize: this.listPageSize },
        { Bucket: this.bucket, Prefix, Delimiter: '/' },
      )) {
        for (const o of page.Contents ?? []) {
          if (!o.Key || o.Key === Prefix) continue;
          yield { key: this.relative(o.Key), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
        }
      }
    } catch (error) {
      throw s3Error(error, 'list', this.bucket, Prefix);
    }
  }

  /**
   * Without a version id, deletes every version (and delete marker) of the key, each by its id: on a
   * versioned bucket a DeleteObject without one only hides the data behind a new delete marker, and would
   * "succeed" on a locked object. A key with no version left is already gone: nothing is sent, so a prune
   * racing another leaves no stray delete marker.
   */
  async delete(key: string, options: { versionId?: string } = {}): Promise<void> {
    const Key = this.full(key);
    try {
      const versions = options.versionId ? [options.versionId] : await this.versionsOf(Key);
      for (const VersionId of versions) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key, VersionId }));
    } catch (error) {
      const e = s3Error(error, 'delete', this.bucket, Key);
      if (e.code !== 'store-not-found') throw e;
    }
  }

  /**
   * Version ids of exactly this key, delete markers included. An object written while the bucket was
   * unversioned (or an unversioned bucket's only copy) has the id "null", and is deleted by passing
   * "null": that removes its bytes, where leaving the id out would add a delete marker in front of them.
   */
  private async versionsOf(Key: string): Promise<string[]> {
    const versions: string[] = [];
    let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
    for (;;) {
      const page = await this.client.send(
        new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: Key, MaxKeys: this.listPageSize, ...markers }),
      );
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        if (v.Key === Key) versions.push(v.VersionId ?? 'null');
      }
      if (!page.IsTruncated) break;
      markers = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
    }
    return versions;
  }

  async copy(source: string, destination: string, options: { metadata?: Record<string, string> } = {}): Promise<ObjectInfo> {
    const Key = this.full(destination);
    const CopySource = `${this.bucket}/${this.full(source).split('/').map(encodeURIComponent).join('/')}`;
    try {
      const from = await this.head(source);
      if (!from) throw new BackupError('store-not-found', `copy from s3://${this.bucket}/${this.full(source)}: no such object`);
      const metadata = options.metadata ?? from.metadata ?? {};
      const versionId =
        from.size <= this.copyLimits.single
          ? await this.copyWhole(CopySource, Key, metadata).catch((error: unknown) => {
              // radosgw 16 answers CopyObject of an SSE-KMS object with 501 NotImplemented, yet copies it in parts.
              if ((error as Error).name !== 'NotImplemented') throw error;
              return this.copyInParts(CopySource, Key, from.size, metadata);
            })
          : await this.copyInParts(CopySource, Key, from.size, metadata);
      const info = await this.head(destination);
      if (!info) throw new BackupError('store', `s3://${this.bucket}/${Key} is missing right after copy`);
      if (versionId) info.versionId = versionId;
      await this.confirmEncryption(info);
      return info;
    } catch (error) {
      throw s3Error(error, 'copy to', this.bucket, Key);
    }
  }

  private async copyWhole(CopySource: string, Key: string, Metadata: Record<string, string>): Promise<string | undefined> {
    const copied = await this.client.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key,
        CopySource,
        IfNoneMatch: '*',
        Metadata,
        MetadataDirective: 'REPLACE',
        // A copy is encrypted as the request says (or by the bucket default), never as its source.
        ...sseParams(this.upload.sse),
      }),
    );
    return copied.VersionId;
  }

  /** Server-side multipart copy; aborted on any failure so that no parts are left behind. */
  private async copyInParts(CopySource: string, Key: string, size: number, Metadata: Record<string, string>): Promise<string | undefined> {
    const Bucket = this.bucket;
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket, Key, Metadata, ContentType: 'application/octet-stream', ...sseParams(this.upload.sse) }),
    );
    try {
      const Parts: CompletedPart[] = [];
      for (let start = 0, PartNumber = 1; start < size; start += this.copyLimits.part, PartNumber++) {
        const end = Math.min(start + this.copyLimits.part, size) - 1;
        const r = await this.client.send(
          new UploadPartCopyCommand({ Bucket, Key, UploadId, PartNumber, CopySource, CopySourceRange: `bytes=${start}-${end}` }),
        );
        Parts.push({ PartNumber, ETag: r.CopyPartResult?.ETag });
      }
      const done = await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, IfNoneMatch: '*', MultipartUpload: { Parts } }),
      );
      return done.VersionId;
    } catch (error) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Reads back what the store applied: a server that ignores the request (or has no such key) would
   * otherwise leave the object unencrypted while the run reports success.
   */
  private async confirmEncryption(info: ObjectInfo): Promise<void> {
    const asked = this.upload.sse;
    if (!asked || appliedAsAsked(asked, info.encryption)) return;
    throw await refuseMisencrypted(this, `s3://${this.bucket}/${this.full(info.key)}`, info, asked, 'S3_SSE');
  }

  async getTags(key: string): Promise<Record<string, string>> {
    const Key = this.full(key);
    try {
      const r = await this.client.send(new GetObjectTaggingCommand({ Bucket: this.bucket, Key }));
      return Object.fromEntries((r.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    } catch (error) {
      throw s3Error(error, 'read tags of', this.bucket, Key);
    }
  }

  async setTags(key: string, tags: Record<string, string>): Promise<void> {
    const Key = this.full(key);
    try {
      await this.client.send(
        new PutObjectTaggingCommand({
          Bucket: this.bucket,
          Key,
          Tagging: { TagSet: Object.entries(tags).map(([k, v]) => ({ Key: k, Value: v })) },
        }),
      );
    } catch (error) {
      throw s3Error(error, 'tag', this.bucket, Key);
    }
  }

  async getRetention(key: string, options: { versionId?: string } = {}): Promise<Retention | undefined> {
    const Key = this.full(key);
    try {
      const r = await this.client.send(new GetObjectRetentionCommand({ Bucket: this.bucket, Key, VersionId: options.versionId }));
      return fromRetention(r.Retention?.Mode, r.Retention?.RetainUntilDate);
    } catch (error) {
      // No retention configured reads as an error on S3 (NoSuchObjectLockConfiguration / InvalidRequest).
      const name = (error as Error).name;
      if (name === 'NoSuchObjectLockConfiguration' || name === 'ObjectLockConfigurationNotFoundError' || name === 'InvalidRequest')
        return undefined;
      throw s3Error(error, 'read retention of', this.bucket, Key);
    }
  }

  async setRetention(key: string, retention: Retention, options: { versionId?: string } = {}): Promise<void> {
    const Key = this.full(key);
    try {
      await this.client.send(
        new PutObjectRetentionCommand({
          Bucket: this.bucket,
          Key,
          VersionId: options.versionId,
          Retention: { Mode: retention.mode === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE', RetainUntilDate: retention.retainUntil },
        }),
      );
    } catch (error) {
      throw s3Error(error, 'set retention of', this.bucket, Key);
    }
  }

  async cleanupIncomplete(dir: string, idleSince: Date): Promise<string[]> {
    assertDir(dir);
    const Bucket = this.bucket;
    const Prefix = this.full(dir);
    const aborted: string[] = [];
    try {
      let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
      for (;;) {
        const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket, Prefix, ...markers }));
        for (const upload of page.Uploads ?? []) {
          const { Key, UploadId } = upload;
          // The directory boundary: only uploads directly under dir.
          if (!Key || !UploadId || Key.slice(Prefix.length).includes('/')) continue;
          const lastActivity = await this.lastActivity(Key, UploadId, upload.Initiated);
          if (lastActivity < idleSince.getTime()) {
            await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
            aborted.push(this.relative(Key));
          }
        }
        if (!page.IsTruncated) break;
        markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
      }
    } catch (error) {
      throw s3Error(error, 'clean up incomplete uploads under', Bucket, Prefix);
    }
    return aborted;
  }

  /** The newest of the upload's start and its parts' times (all pages of parts). */
  private async lastActivity(Key: string, UploadId: string, initiated: Date | undefined): Promise<number> {
    let latest = initiated?.getTime() ?? 0;
    let PartNumberMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key, UploadId, PartNumberMarker }));
      for (const part of page.Parts ?? []) latest = Math.max(latest, part.LastModified?.getTime() ?? 0);
      if (!page.IsTruncated) return latest;
      PartNumberMarker = page.NextPartNumberMarker;
    }
  }

  async bucketProtection(): Promise<BucketProtection> {
    const Bucket = this.bucket;
    try {
      const versioning = await this.client.send(new GetBucketVersioningCommand({ Bucket }));
      const protection: BucketProtection = { objectRetention: false, versioning: versioning.Status === 'Enabled' };
      try {
        const lock = (await this.client.send(new GetObjectLockConfigurationCommand({ Bucket }))).ObjectLockConfiguration;
        protection.objectRetention = lock?.ObjectLockEnabled === 'Enabled';
        const rule = lock?.Rule?.DefaultRetention;
        const days = (rule?.Days ?? 0) + (rule?.Years ?? 0) * 365;
        if (rule?.Mode && days > 0)
          protection.defaultRetention = { mode: rule.Mode === 'COMPLIANCE' ? 'compliance' : 'governance', periodMs: days * 86_400_000 };
      } catch (error) {
        if ((error as Error).name !== 'ObjectLockConfigurationNotFoundError') throw error;
      }
      return protection;
    } catch (error) {
      throw s3Error(error, 'read the Object Lock settings of', Bucket, '');
    }
  }
}
