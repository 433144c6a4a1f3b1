import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
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
  ListObjectVersionsCommand,
  ListPartsCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  PutObjectRetentionCommand,
  PutObjectTaggingCommand,
  S3Client,
  type S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { createHash, type Hash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../errors.js';
import type { S3Config } from '../config/config.js';
import {
  assertDir,
  type BucketProtection,
  type GetOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type Retention,
} from './types.js';

/** How long a request may see no byte either way before it fails (the server stopped answering). */
const IDLE_TIMEOUT_MS = 120_000;

export function createS3Client(config: S3Config, idleTimeoutMs = IDLE_TIMEOUT_MS): S3Client {
  return new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: config.checksum,
    responseChecksumValidation: config.checksum,
    // The SDK sets no timeouts: a server that stops answering would hang the run (until a Lambda deadline,
    // or forever on the CLI). socketTimeout is an idle time, not a bound on a part's transfer; the SDK's
    // requestTimeout (a bound on the whole request) only logs a warning unless told to throw.
    requestHandler: { connectionTimeout: 10_000, socketTimeout: idleTimeoutMs },
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

const fromRetention = (mode: string | undefined, until: Date | undefined): Retention | undefined =>
  mode && until ? { mode: mode === 'COMPLIANCE' ? 'compliance' : 'governance', retainUntil: until } : undefined;

interface ObjectParams {
  Bucket: string;
  Key: string;
  IfNoneMatch: string;
  ContentType: string;
  Metadata: Record<string, string> | undefined;
}

/**
 * SigV4 signs a part's payload by default: the SDK hashes each part with sha256 on the event-loop
 * thread when it sends it (and the server verifies it: a second pass on its side). Over HTTPS, TLS already
 * protects the bytes in transit, so parts go as UNSIGNED-PAYLOAD there, as botocore (the AWS CLI) does;
 * the CRC32 part checksums of AWS_REQUEST_CHECKSUM_CALCULATION=when_supported still let S3 check each
 * part. Over plain HTTP the payload stays signed (there the signature is the only integrity check), with
 * the hash computed by uploadObject while the chunks are copied in, still in the CPU cache, instead of
 * by the SDK over the whole part afterwards (about 40% less CPU for that hash here).
 */
function withPayloadHash(command: UploadPartCommand, sha256Hex: string | undefined): UploadPartCommand {
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { protocol?: string; headers?: Record<string, string> };
      if (request.headers) {
        if (request.protocol === 'https:') request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        // The signer takes a payload hash found in this header instead of computing one.
        else if (sha256Hex) request.headers['x-amz-content-sha256'] = sha256Hex;
      }
      return next(args);
    },
    { step: 'build', name: 'etcdBackupPayloadHash' },
  );
  return command;
}

/** S3's limit on the parts of one multipart upload. */
const MAX_PARTS = 10_000;

/**
 * Streams `body` into one object and returns its version id. A body that fits in one part is sent with a
 * single PutObject; a longer one as a multipart upload with up to `queueSize` parts in flight.
 *
 * Memory is fixed: at most queueSize + 1 part buffers of partSize bytes, allocated as needed and reused for
 * every part (the stream's chunks are copied into them once). While all of them are busy the body is not
 * read, which is the backpressure that reaches the etcd stream. (lib-storage's Upload, used before, made a
 * fresh Buffer.concat copy per part; the garbage cost CPU in GC and raised the peak RSS.)
 *
 * On any failure (body error, part error, abort) the requests under way are awaited, then the multipart
 * upload is aborted, so no parts are left behind.
 */
async function uploadObject(
  client: S3Client,
  params: ObjectParams,
  body: Readable | Buffer,
  sizes: { partSize: number; queueSize: number },
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const { partSize, queueSize } = sizes;
  const { Bucket, Key } = params;
  // Only the caller's signal cancels requests. After a failure the parts in flight are waited for, not
  // cut off: a part cancelled on the client may still land on the server after the abort.
  const requestOptions = signal ? { abortSignal: signal } : {};
  if (Buffer.isBuffer(body) && body.length <= partSize) {
    const r = await client.send(new PutObjectCommand({ ...params, Body: body }), requestOptions);
    return r.VersionId;
  }
  // AWS_REQUEST_CHECKSUM_CALCULATION=when_supported (the SDK default): CRC32 part checksums, declared when
  // the upload is created and returned per part on completion, as @aws-sdk/lib-storage does; AWS refuses
  // a completion that leaves out checksums it computed for the parts.
  const checksum = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED' ? ({ ChecksumAlgorithm: 'CRC32' } as const) : {};
  const free: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  let uploadId: string | undefined;
  let failure: { error: unknown } | undefined;
  let stopped = false;

  const startPart = (PartNumber: number, data: Buffer, pooled: Buffer | undefined, sha256Hex: string | undefined) => {
    const sent = (async () => {
      try {
        const command = withPayloadHash(
          new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body: data, ...checksum }),
          sha256Hex,
        );
        const r = await client.send(command, requestOptions);
        if (!r.ETag) throw new BackupError('store', `s3://${Bucket}/${Key}: part ${PartNumber} came back without an ETag`);
        // With part checksums on, S3 expects each part's checksum back in CompleteMultipartUpload.
        parts.push({ PartNumber, ETag: r.ETag, ...(r.ChecksumCRC32 ? { ChecksumCRC32: r.ChecksumCRC32 } : {}) });
      } catch (error) {
        failure ??= { error };
      } finally {
        if (pooled) free.push(pooled);
      }
    })();
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  };
  let partNumber = 0;
  /** Sends one part once fewer than queueSize are in flight; the first creates the multipart upload. */
  const send = async (data: Buffer, pooled: Buffer | undefined, sha256Hex?: string) => {
    if (++partNumber > MAX_PARTS)
      throw new BackupError('store', `s3://${Bucket}/${Key}: more than ${MAX_PARTS} parts of ${partSize} bytes; raise S3_PART_SIZE`);
    if (uploadId === undefined) {
      // Not cancellable: its upload id is what lets the cleanup below abort it.
      const created = await client.send(
        new CreateMultipartUploadCommand({ Bucket, Key, ContentType: params.ContentType, Metadata: params.Metadata, ...checksum }),
      );
      if (!created.UploadId) throw new BackupError('store', `s3://${Bucket}/${Key}: CreateMultipartUpload returned no upload id`);
      uploadId = created.UploadId;
    }
    while (inFlight.size >= queueSize && !failure && !stopped) await Promise.race(inFlight);
    if (failure) throw failure.error;
    if (stopped) throw new Error('upload stopped');
    startPart(partNumber, data, pooled, sha256Hex);
  };

  let pending: Promise<void> | undefined;
  try {
    if (Buffer.isBuffer(body)) {
      // Parts are views of the caller's buffer: nothing to copy.
      for (let at = 0; at < body.length; at += partSize) await send(body.subarray(at, at + partSize), undefined);
    } else {
      // Parts are sent with a signed payload hash only to plain-HTTP endpoints (see withPayloadHash).
      const hashParts = (await client.config.endpoint?.())?.protocol === 'http:';
      let current: Buffer | undefined;
      let hash: Hash | undefined;
      let filled = 0;
      const take = async (chunk: Buffer) => {
        for (let at = 0; at < chunk.length; ) {
          // A full part is sent only once more bytes follow it: a body of exactly one part is a PutObject.
          if (current && filled === partSize) {
            const sha256Hex = hash?.digest('hex');
            await send(current, current, sha256Hex);
            current = undefined;
          }
          if (!current) {
            current = free.pop() ?? Buffer.allocUnsafeSlow(partSize);
            hash = hashParts ? createHash('sha256') : undefined;
            filled = 0;
          }
          const n = chunk.copy(current, filled, at);
          hash?.update(chunk.subarray(at, at + n));
          filled += n;
          at += n;
        }
        if (failure) throw failure.error;
      };
      // A Writable sees each chunk as the body pushed it (an async iterator joins buffered chunks into a
      // new Buffer: one more copy of everything). When the upload fails, pipeline() destroys the body
      // with the error, so its source stops too.
      const sink = new Writable({
        highWaterMark: 0,
        write(chunk: Buffer, _encoding, callback) {
          // Most chunks only fill the current part: no promise, no tick.
          if (current && filled + chunk.length < partSize && !failure) {
            filled += chunk.copy(current, filled);
            hash?.update(chunk);
            callback();
          } else {
            pending = take(chunk);
            pending.then(() => callback(), callback);
          }
        },
      });
      await pipeline(body, sink);
      const last = current ? current.subarray(0, filled) : Buffer.alloc(0);
      if (uploadId === undefined) {
        const r = await client.send(new PutObjectCommand({ ...params, Body: last }), requestOptions);
        return r.VersionId;
      }
      if (last.length > 0) await send(last, current, hash?.digest('hex'));
    }
    while (inFlight.size > 0) await Promise.race(inFlight);
    if (failure) throw failure.error;
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId: uploadId,
        IfNoneMatch: params.IfNoneMatch,
        MultipartUpload: { Parts: parts },
      }),
      requestOptions,
    );
    return done.VersionId;
  } catch (error) {
    const reason = failure?.error ?? error;
    // pipeline() rejects as soon as the body fails, possibly while a chunk is still being handled (e.g.
    // the CreateMultipartUpload for the first part is on its way): let that finish, so that every
    // upload id and part that exists is known before the abort.
    stopped = true;
    await pending?.catch(() => undefined);
    await Promise.allSettled(inFlight);
    if (uploadId !== undefined) {
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => undefined);
    }
    throw reason;
  }
}

export class S3Store implements ObjectStore {
  readonly description: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly upload: { partSize: number; queueSize: number },
    private readonly listPageSize = 1000,
    /** CopyObject copies at most 5 GiB; larger objects are copied in parts (UploadPartCopy). */
    private readonly copyLimits = { single: 5 * 1024 ** 3, part: 1024 ** 3 },
  ) {
    this.description = `s3://${bucket}/${prefix}`;
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
   * Without a version id, deletes every version (and delete marker) of the key: on a versioned bucket a
   * plain DeleteObject only hides the data behind a delete marker, and would "succeed" on a locked object.
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

  /** Version ids of exactly this key; [undefined] on an unversioned bucket (a plain delete then suffices). */
  private async versionsOf(Key: string): Promise<(string | undefined)[]> {
    const versions: (string | undefined)[] = [];
    let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
    for (;;) {
      const page = await this.client.send(
        new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: Key, MaxKeys: this.listPageSize, ...markers }),
      );
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        if (v.Key === Key) versions.push(v.VersionId === 'null' ? undefined : v.VersionId);
      }
      if (!page.IsTruncated) break;
      markers = { KeyMarker: page.NextKeyMarker, VersionIdMarker: page.NextVersionIdMarker };
    }
    return versions.length > 0 ? versions : [undefined];
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
          ? (
              await this.client.send(
                new CopyObjectCommand({
                  Bucket: this.bucket,
                  Key,
                  CopySource,
                  IfNoneMatch: '*',
                  Metadata: metadata,
                  MetadataDirective: 'REPLACE',
                }),
              )
            ).VersionId
          : await this.copyInParts(CopySource, Key, from.size, metadata);
      const info = await this.head(destination);
      if (!info) throw new BackupError('store', `s3://${this.bucket}/${Key} is missing right after copy`);
      if (versionId) info.versionId = versionId;
      return info;
    } catch (error) {
      throw s3Error(error, 'copy to', this.bucket, Key);
    }
  }

  /** Server-side multipart copy; aborted on any failure so that no parts are left behind. */
  private async copyInParts(CopySource: string, Key: string, size: number, Metadata: Record<string, string>): Promise<string | undefined> {
    const Bucket = this.bucket;
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket, Key, Metadata, ContentType: 'application/octet-stream' }),
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
