import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  type ServerSideEncryption,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash, type Hash } from 'node:crypto';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../errors.js';

export interface ObjectParams {
  Bucket: string;
  Key: string;
  IfNoneMatch: string;
  ContentType: string;
  Metadata: Record<string, string> | undefined;
  /** Server-side encryption: sent with PutObject and CreateMultipartUpload (the parts inherit it). */
  ServerSideEncryption?: ServerSideEncryption;
  SSEKMSKeyId?: string;
}

export interface UploadSizes {
  partSize: number;
  /** Parts in flight at most. */
  queueSize: number;
}

/** S3's limit on the parts of one multipart upload. */
const MAX_PARTS = 10_000;

/**
 * SigV4 signs a part's payload by default: the SDK hashes each part with sha256 on the event-loop thread
 * when it sends it (and the server verifies it: a second pass on its side). Over HTTPS, TLS already
 * protects the bytes in transit, so parts go as UNSIGNED-PAYLOAD there, as botocore (the AWS CLI) does;
 * the CRC32 part checksums of AWS_REQUEST_CHECKSUM_CALCULATION=when_supported still let S3 check each
 * part. Over plain HTTP the payload stays signed (there the signature is the only integrity check), with
 * the hash computed by PartSink while the chunks are copied in, still in the CPU cache, instead of by the
 * SDK in a second pass over the whole part.
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

/** A part to send: its bytes, the pool buffer they live in (returned to the pool once sent), its payload hash. */
interface Part {
  data: Buffer;
  pooled?: Buffer;
  sha256Hex?: string | undefined;
}

/**
 * One multipart upload and all its state: the upload id (the upload is created on the server with the
 * first part), the completed parts, the requests in flight, the pool of part buffers and the first failure.
 * Parts are handed to sendPart one at a time; it returns once the part is under way.
 */
class MultipartUpload {
  private uploadId: string | undefined;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Part buffers whose part has been sent, ready for reuse. */
  private readonly free: Buffer[] = [];
  private partNumber = 0;
  /** The sendPart call under way, if any: abort() lets it finish so that every upload id and part is known. */
  private starting: Promise<void> | undefined;
  private stopped = false;
  /** The first error of a part; read on the hot path of PartSink, hence a plain field. */
  failure: { error: unknown } | undefined;

  /**
   * @param checksum AWS_REQUEST_CHECKSUM_CALCULATION=when_supported (the SDK default): CRC32 part checksums,
   * declared when the upload is created and returned per part on completion, as @aws-sdk/lib-storage does;
   * AWS refuses a completion that leaves out checksums it computed for the parts.
   * @param signal Only the caller's signal cancels requests. After a failure the parts in flight are waited
   * for, not cut off: a part cancelled on the client may still land on the server after the abort.
   */
  constructor(
    private readonly client: S3Client,
    private readonly params: ObjectParams,
    readonly sizes: UploadSizes,
    private readonly checksum: boolean,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Whether a part has been handed to sendPart, i.e. the multipart upload exists (or is being created). */
  get started(): boolean {
    return this.partNumber > 0;
  }

  private get requestOptions(): { abortSignal?: AbortSignal } {
    return this.signal ? { abortSignal: this.signal } : {};
  }

  private get where(): string {
    return `s3://${this.params.Bucket}/${this.params.Key}`;
  }

  /** A part buffer of partSize bytes: a free one, or a new one (at most queueSize + 1 exist). */
  buffer(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.sizes.partSize);
  }

  /** Sends one part once fewer than queueSize are in flight; the first creates the multipart upload. */
  async sendPart(part: Part): Promise<void> {
    this.starting = this.start(part);
    try {
      await this.starting;
    } finally {
      this.starting = undefined;
    }
  }

  private async start(part: Part): Promise<void> {
    // After abort() no part may start: it could create an upload that nothing aborts.
    if (this.stopped) throw new Error('upload stopped');
    const partNumber = ++this.partNumber;
    if (partNumber > MAX_PARTS)
      throw new BackupError('store', `${this.where}: more than ${MAX_PARTS} parts of ${this.sizes.partSize} bytes; raise S3_PART_SIZE`);
    if (this.uploadId === undefined) {
      const { Bucket, Key, ContentType, Metadata, ServerSideEncryption, SSEKMSKeyId } = this.params;
      // Not cancellable: its upload id is what lets abort() remove it.
      const created = await this.client.send(
        new CreateMultipartUploadCommand({
          Bucket,
          Key,
          ContentType,
          Metadata,
          ServerSideEncryption,
          SSEKMSKeyId,
          ...(this.checksum ? { ChecksumAlgorithm: 'CRC32' } : {}),
        }),
      );
      if (!created.UploadId) throw new BackupError('store', `${this.where}: CreateMultipartUpload returned no upload id`);
      this.uploadId = created.UploadId;
    }
    while (this.inFlight.size >= this.sizes.queueSize && !this.failure && !this.stopped) await Promise.race(this.inFlight);
    this.throwIfFailed();
    if (this.stopped) throw new Error('upload stopped');
    const sent = this.upload(partNumber, part);
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  /** Never rejects: a failure is kept in `failure` for the next sendPart, complete or the sink to throw. */
  private async upload(PartNumber: number, { data, pooled, sha256Hex }: Part): Promise<void> {
    const { Bucket, Key } = this.params;
    try {
      const command = withPayloadHash(
        new UploadPartCommand({
          Bucket,
          Key,
          UploadId: this.uploadId,
          PartNumber,
          Body: data,
          ...(this.checksum ? { ChecksumAlgorithm: 'CRC32' } : {}),
        }),
        sha256Hex,
      );
      const r = await this.client.send(command, this.requestOptions);
      if (!r.ETag) throw new BackupError('store', `${this.where}: part ${PartNumber} came back without an ETag`);
      // With part checksums on, S3 expects each part's checksum back in CompleteMultipartUpload.
      this.parts.push({ PartNumber, ETag: r.ETag, ...(r.ChecksumCRC32 ? { ChecksumCRC32: r.ChecksumCRC32 } : {}) });
    } catch (error) {
      this.failure ??= { error };
    } finally {
      if (pooled) this.free.push(pooled);
    }
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Waits for the parts in flight and completes the upload; returns the object's version id. */
  async complete(): Promise<string | undefined> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    this.throwIfFailed();
    this.parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    const { Bucket, Key, IfNoneMatch } = this.params;
    const done = await this.client.send(
      new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: this.uploadId, IfNoneMatch, MultipartUpload: { Parts: this.parts } }),
      this.requestOptions,
    );
    return done.VersionId;
  }

  /**
   * Stops sending, lets the part being started and those in flight finish, then aborts the multipart upload
   * (if one was created), so no parts are left behind. Returns the error that stopped the upload: the
   * first part failure, else `reason`.
   */
  async abort(reason: unknown): Promise<unknown> {
    this.stopped = true;
    await this.starting?.catch(() => undefined);
    await Promise.allSettled(this.inFlight);
    if (this.uploadId !== undefined) {
      const { Bucket, Key } = this.params;
      await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: this.uploadId })).catch(() => undefined);
    }
    return this.failure?.error ?? reason;
  }
}

/**
 * The Writable a streamed body is piped into: it copies each chunk into the current part buffer and hands
 * full parts to the upload. A Writable sees each chunk as the body pushed it (an async iterator joins
 * buffered chunks into a new Buffer: one more copy of everything). Its callback is held while sendPart
 * waits for a free slot, which is the backpressure that reaches the body's source.
 */
class PartSink extends Writable {
  private current: Buffer | undefined;
  private filled = 0;
  private hash: Hash | undefined;
  private readonly partSize: number;

  /** @param hashParts compute each part's sha256 for a signed payload (plain HTTP, see withPayloadHash). */
  constructor(
    private readonly upload: MultipartUpload,
    private readonly hashParts: boolean,
  ) {
    super({ highWaterMark: 0 });
    this.partSize = upload.sizes.partSize;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // Most chunks only fill the current part: no promise, no tick.
    const current = this.current;
    if (current && this.filled + chunk.length < this.partSize && !this.upload.failure) {
      this.filled += chunk.copy(current, this.filled);
      this.hash?.update(chunk);
      callback();
    } else {
      this.take(chunk).then(() => callback(), callback);
    }
  }

  private async take(chunk: Buffer): Promise<void> {
    for (let at = 0; at < chunk.length; ) {
      // A full part is sent only once more bytes follow it: a body of exactly one part is a PutObject.
      if (this.current && this.filled === this.partSize) await this.sendCurrent();
      if (!this.current) {
        this.current = this.upload.buffer();
        this.hash = this.hashParts ? createHash('sha256') : undefined;
        this.filled = 0;
      }
      const n = chunk.copy(this.current, this.filled, at);
      this.hash?.update(chunk.subarray(at, at + n));
      this.filled += n;
      at += n;
    }
    this.upload.throwIfFailed();
  }

  private async sendCurrent(): Promise<void> {
    const current = this.current as Buffer;
    this.current = undefined;
    await this.upload.sendPart({ data: current.subarray(0, this.filled), pooled: current, sha256Hex: this.hash?.digest('hex') });
  }

  /** After the body ended: the bytes not yet sent (a whole object when no part was sent). */
  rest(): Buffer {
    return this.current ? this.current.subarray(0, this.filled) : Buffer.alloc(0);
  }

  /** After the body ended: sends what is left as the last part. */
  async flushRest(): Promise<void> {
    if (this.current && this.filled > 0) await this.sendCurrent();
  }
}

async function putObject(
  client: S3Client,
  params: ObjectParams,
  body: Buffer,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const r = await client.send(new PutObjectCommand({ ...params, Body: body }), signal ? { abortSignal: signal } : {});
  return r.VersionId;
}

/**
 * Streams `body` into one object and returns its version id. A body that fits in one part is sent with a
 * single PutObject; a longer one as a multipart upload with up to `queueSize` parts in flight.
 *
 * Memory is fixed: at most queueSize + 1 part buffers of partSize bytes, allocated as needed and reused for
 * every part (the stream's chunks are copied into them once). While all of them are busy the body is not
 * read, which is the backpressure that reaches the etcd stream.
 *
 * On any failure (body error, part error, abort) the requests under way are awaited, then the multipart
 * upload is aborted, so no parts are left behind.
 */
export async function uploadObject(
  client: S3Client,
  params: ObjectParams,
  body: Readable | Buffer,
  sizes: UploadSizes,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const { partSize } = sizes;
  if (Buffer.isBuffer(body) && body.length <= partSize) return putObject(client, params, body, signal);
  const checksum = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
  const upload = new MultipartUpload(client, params, sizes, checksum, signal);
  try {
    if (Buffer.isBuffer(body)) {
      // Parts are views of the caller's buffer: nothing to copy.
      for (let at = 0; at < body.length; at += partSize) await upload.sendPart({ data: body.subarray(at, at + partSize) });
    } else {
      const sink = new PartSink(upload, (await client.config.endpoint?.())?.protocol === 'http:');
      // When the upload fails, pipeline() destroys the body with the error, so its source stops too.
      await pipeline(body, sink);
      if (!upload.started) return await putObject(client, params, sink.rest(), signal);
      await sink.flushRest();
    }
    return await upload.complete();
  } catch (error) {
    // pipeline() rejects as soon as the body fails, possibly while a part is still being started (e.g. the
    // CreateMultipartUpload for the first part is on its way): abort() lets that finish first.
    throw await upload.abort(error);
  }
}
