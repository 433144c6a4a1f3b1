// One contract, three adapters, each on its real server: local directory, S3 (Ceph radosgw with Object
// Lock, over plain HTTP and over HTTPS with the settings' defaults as on AWS), GCS (the Cloud Storage
// emulator). Where the GCS emulator cannot honour a request (create-only preconditions, retention) the
// test says so in its name and checks what can be checked.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { crc32 } from 'node:zlib';
import { ListObjectVersionsCommand, PutBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import type { BackupError } from '../../shared/errors.js';
import { GcsStore, createGcsClient } from '../../shared/store/gcs.js';
import { LocalStore } from '../../shared/store/local.js';
import { S3Store, caBundle, createS3Client } from '../../shared/store/s3.js';
import type { ObjectStore } from '../../shared/store/types.js';
import { BACKEND_KINDS, makeBackend, multipartUploads, type Backend, type BackendKind, type S3Transport } from '../support/backends.js';
import { recordingProxy } from '../support/recording-proxy.js';
import { connectionCounter, silentServer } from '../support/connection-counter.js';
import { s3Client, uniqueBucketName } from '../support/stores.js';

async function collect(iterable: AsyncIterable<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of iterable) keys.push(o.key);
  return keys;
}

/** A body that yields `chunks` random chunks and then fails, like an etcd stream cut mid-way. */
function failingBody(chunks: number, chunkSize: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent++ < chunks) this.push(randomBytes(chunkSize));
      else this.destroy(new Error('source broke mid-stream'));
    },
  });
}

async function rejection(promise: Promise<unknown>): Promise<BackupError> {
  try {
    await promise;
  } catch (error) {
    return error as BackupError;
  }
  throw new Error('expected a rejection');
}

/** What a client sent for each upload request, read by a middleware after signing (TLS hides it from a proxy). */
interface SentRequest {
  command: string;
  headers: Record<string, string>;
  body: unknown;
}

function recordSignedRequests(client: S3Client): SentRequest[] {
  const sent: SentRequest[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body: unknown };
      sent.push({ command: context.commandName ?? '', headers: { ...request.headers }, body: request.body });
      return next(args);
    },
    // The deserialize step runs after finalizeRequest, where the request is signed.
    { step: 'deserialize', name: 'recordSignedRequests' },
  );
  return sent;
}

/** S3's x-amz-checksum-crc32: the big-endian CRC32, base64. */
function crc32Base64(data: Uint8Array): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc32(data));
  return bytes.toString('base64');
}

const CASES: { name: string; kind: BackendKind; transport?: S3Transport }[] = [
  ...BACKEND_KINDS.map((kind) => ({ name: kind, kind })),
  { name: 's3 over https', kind: 's3', transport: 'https' },
];

describe.each(CASES.map((c) => [c.name, c] as const))('object store contract: %s', (_name, { kind, transport }) => {
  let backend: Backend;
  let store: ObjectStore;
  beforeAll(async () => {
    backend = await makeBackend(kind, { objectLock: kind === 's3', transport });
    store = backend.store;
  });

  it('streams a multi-part object in and out byte for byte, with metadata', async () => {
    const data = randomBytes(12 * 1024 * 1024 + 123); // more than two 5 MiB S3 parts
    const info = await store.put('c1/big.db', Readable.from([data.subarray(0, 5_000_000), data.subarray(5_000_000)]), {
      metadata: { 'etcd-cluster': 'c1' },
    });
    expect(info.size).toBe(data.length);
    const back = await buffer(await store.get('c1/big.db'));
    expect(back.equals(data)).toBe(true);
    const head = await store.head('c1/big.db');
    expect(head?.size).toBe(data.length);
    expect(head?.metadata?.['etcd-cluster']).toBe('c1');
    const range = await buffer(await store.get('c1/big.db', { start: 10, end: 19 }));
    expect(range.equals(data.subarray(10, 20))).toBe(true);
  });

  it('head of a missing object is undefined and get fails with store-not-found', async () => {
    expect(await store.head('c1/missing.db')).toBeUndefined();
    expect((await rejection(store.get('c1/missing.db'))).code).toBe('store-not-found');
  });

  // Ceph RGW ignores If-None-Match on versioned (Object Lock) buckets, so this runs on a plain bucket there.
  it.skipIf(kind === 'gcs')('refuses to overwrite an existing object (create-only; on S3 in an unversioned bucket)', async () => {
    const plain = kind === 's3' ? (await makeBackend('s3', { transport })).store : store;
    await plain.put('c1/once.json', Buffer.from('first'));
    expect((await rejection(plain.put('c1/once.json', Buffer.from('second')))).code).toBe('store-exists');
    expect((await buffer(await plain.get('c1/once.json'))).toString()).toBe('first');
  });

  it.runIf(kind === 'gcs')(
    'sends ifGenerationMatch=0 on uploads and copies (the GCS emulator ignores it, so refusal itself is not observable here)',
    async () => {
      const config = loadConfig(backend.settings);
      const proxy = await recordingProxy(config.gcs.emulatorHost as string);
      try {
        const { bucket, prefix } = config.location as { bucket: string; prefix: string };
        const viaProxy = new GcsStore(createGcsClient({ ...config.gcs, emulatorHost: proxy.url }), bucket, prefix);
        await viaProxy.put('c1/once.json', Buffer.from('first'));
        await viaProxy.copy('c1/once.json', 'c1/once-copy.json');
        const writes = proxy.requests.filter((r) => r.startsWith('POST'));
        expect(writes.length).toBeGreaterThanOrEqual(2);
        for (const write of writes) expect(write).toContain('ifGenerationMatch=0');
      } finally {
        await proxy.close();
      }
    },
  );

  it('leaves no object and no parts when the body fails mid-stream', async () => {
    const error = await rejection(store.put('c1/broken.db', failingBody(20, 1024 * 1024)));
    expect(error).toBeInstanceOf(Error);
    expect(await store.head('c1/broken.db')).toBeUndefined();
    expect(await collect(store.list('c1/'))).not.toContain('c1/broken.db');
    expect(await multipartUploads(backend.settings, 'prefix')).toEqual([]);
  });

  it('leaves nothing when the upload is aborted through its signal', async () => {
    const controller = new AbortController();
    const body = new Readable({
      read() {
        this.push(randomBytes(1024 * 1024));
      },
    });
    const pending = store.put('c1/aborted.db', body, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('deadline')), 300);
    const error = await rejection(pending);
    expect(error.code).toBe('aborted');
    expect(await store.head('c1/aborted.db')).toBeUndefined();
    expect(await multipartUploads(backend.settings, 'prefix')).toEqual([]);
  });

  it('lists with a directory boundary: etcd-a/ never sees etcd-a-2/ nor sub-directories', async () => {
    for (const key of ['etcd-a/1.db', 'etcd-a/2.db', 'etcd-a-2/1.db', 'etcd-a/sub/3.db', 'etcd-ab/1.db'])
      await store.put(key, Buffer.from(key));
    expect((await collect(store.list('etcd-a/'))).sort()).toEqual(['etcd-a/1.db', 'etcd-a/2.db']);
    expect(await collect(store.list('etcd-a-2/'))).toEqual(['etcd-a-2/1.db']);
  });

  it.skipIf(kind === 'local')('paginates listings (page size 7, 20 objects)', async () => {
    const config = loadConfig(backend.settings);
    const { bucket, prefix } = config.location as { bucket: string; prefix: string };
    const paged =
      kind === 's3'
        ? new S3Store(createS3Client(config.s3), bucket, prefix, { partSize: config.s3.partSize, queueSize: 1 }, 7)
        : new GcsStore(createGcsClient(config.gcs), bucket, prefix, 7);
    const keys = Array.from({ length: 20 }, (_, i) => `paged/${String(i).padStart(2, '0')}.db`);
    await Promise.all(keys.map((k) => paged.put(k, Buffer.from(k))));
    expect((await collect(paged.list('paged/'))).sort()).toEqual(keys);
  });

  it('deletes, and deleting a missing object is not an error', async () => {
    await store.put('c1/doomed.db', Buffer.from('x'));
    await store.delete('c1/doomed.db');
    expect(await store.head('c1/doomed.db')).toBeUndefined();
    await store.delete('c1/doomed.db');
  });

  it('copies server-side to a new key', async () => {
    const data = randomBytes(300_000);
    await store.put('c1/original.db', data, { metadata: { 'etcd-cluster': 'c1' } });
    const copied = await store.copy('c1/original.db', 'c1/copy.db');
    expect(copied.size).toBe(data.length);
    expect((await buffer(await store.get('c1/copy.db'))).equals(data)).toBe(true);
  });

  it.runIf(kind === 's3')(
    'copies an object larger than the single-copy limit in parts (limits lowered: 1 MiB single, 5 MiB parts)',
    async () => {
      const config = loadConfig(backend.settings);
      const { bucket, prefix } = config.location as { bucket: string; prefix: string };
      const small = new S3Store(createS3Client(config.s3), bucket, prefix, { partSize: config.s3.partSize, queueSize: 1 }, 1000, {
        single: 1024 * 1024,
        part: 5 * 1024 * 1024,
      });
      const data = randomBytes(12 * 1024 * 1024 + 7);
      await small.put('c1/big-original.db', data, { metadata: { 'etcd-cluster': 'c1' } });
      const copied = await small.copy('c1/big-original.db', 'c1/big-copy.db');
      expect(copied.size).toBe(data.length);
      expect((await buffer(await small.get('c1/big-copy.db'))).equals(data)).toBe(true);
      expect((await small.head('c1/big-copy.db'))?.metadata?.['etcd-cluster']).toBe('c1');
      expect(await multipartUploads(backend.settings, 'prefix')).toEqual([]);
    },
  );

  it.runIf(kind === 's3')('streams a multipart upload with SDK-default CRC32 part checksums (when_supported), as on AWS', async () => {
    const config = loadConfig({ ...backend.settings, AWS_REQUEST_CHECKSUM_CALCULATION: 'when_supported' });
    const { bucket, prefix } = config.location as { bucket: string; prefix: string };
    const store = new S3Store(createS3Client(config.s3), bucket, prefix, { partSize: config.s3.partSize, queueSize: 2 });
    const data = randomBytes(20 * 1024 * 1024 + 5);
    await store.put('c1/checksummed.db', Readable.from([data.subarray(0, 9_000_000), data.subarray(9_000_000)]));
    expect((await buffer(await store.get('c1/checksummed.db'))).equals(data)).toBe(true);
  });

  it.runIf(kind === 's3')(
    `sends parts ${transport === 'https' ? 'as UNSIGNED-PAYLOAD (TLS protects them)' : 'with a signed payload hash'} and with CRC32 checksums under when_supported (seen by a client middleware after signing)`,
    async () => {
      const config = loadConfig({ ...backend.settings, AWS_REQUEST_CHECKSUM_CALCULATION: 'when_supported' });
      const { bucket, prefix } = config.location as { bucket: string; prefix: string };
      const client = createS3Client(config.s3);
      const sent = recordSignedRequests(client);
      const store = new S3Store(client, bucket, prefix, { partSize: config.s3.partSize, queueSize: 2 });
      const data = randomBytes(2 * config.s3.partSize + 7);
      await store.put('c1/signed.db', Readable.from([data.subarray(0, 3_000_000), data.subarray(3_000_000)]));
      expect((await buffer(await store.get('c1/signed.db'))).equals(data)).toBe(true);

      const create = sent.find((r) => r.command === 'CreateMultipartUploadCommand');
      expect(create?.headers['x-amz-checksum-algorithm']).toBe('CRC32');
      const parts = sent.filter((r) => r.command === 'UploadPartCommand');
      expect(parts).toHaveLength(3);
      for (const part of parts) {
        const body = part.body as Uint8Array;
        expect(part.headers['x-amz-content-sha256']).toBe(
          transport === 'https' ? 'UNSIGNED-PAYLOAD' : createHash('sha256').update(body).digest('hex'),
        );
        // The payload hash is one of the signed headers either way.
        expect(part.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-content-sha256/);
        expect(part.headers['x-amz-checksum-crc32']).toBe(crc32Base64(body));
      }
      expect(Buffer.concat(parts.map((p) => p.body as Uint8Array)).equals(data)).toBe(true);
    },
  );

  it.runIf(transport === 'https')('trusts the store only through AWS_CA_BUNDLE (which the JavaScript SDK itself ignores)', async () => {
    const config = loadConfig(backend.settings);
    const { bucket, prefix } = config.location as { bucket: string; prefix: string };
    const bundle = process.env.AWS_CA_BUNDLE;
    expect(bundle).toBeDefined();
    delete process.env.AWS_CA_BUNDLE;
    try {
      const untrusting = new S3Store(createS3Client(config.s3), bucket, prefix, { partSize: config.s3.partSize, queueSize: 1 });
      const error = await rejection(untrusting.put('c1/untrusted.json', Buffer.from('{}')));
      expect(String((error.cause as Error)?.message)).toMatch(/certificate/);
    } finally {
      process.env.AWS_CA_BUNDLE = bundle;
    }
    expect(caBundle()?.toString()).toContain('-----BEGIN CERTIFICATE-----');
    expect(await store.head('c1/untrusted.json')).toBeUndefined();
  });

  it.runIf(kind === 's3')(
    'keeps one connection per part in flight for a whole multipart upload (radosgw closes any request sent with Expect: 100-continue)',
    async () => {
      const proxy = await connectionCounter(backend.settings.AWS_ENDPOINT_URL_S3!);
      try {
        const config = loadConfig({ ...backend.settings, AWS_ENDPOINT_URL_S3: proxy.url });
        const { bucket, prefix } = config.location as { bucket: string; prefix: string };
        const store = new S3Store(createS3Client(config.s3), bucket, prefix, { partSize: config.s3.partSize, queueSize: 2 });
        const data = randomBytes(8 * config.s3.partSize + 5);
        await store.put('c1/one-connection.db', Readable.from([data]));
        // 9 parts, their create and complete: 11 requests over at most the 2 connections of the parts in flight.
        expect(proxy.connections()).toBeLessThanOrEqual(2);
        expect((await buffer(await store.get('c1/one-connection.db'))).equals(data)).toBe(true);
      } finally {
        await proxy.close();
      }
    },
  );

  it.runIf(kind === 's3')(
    'fails an upload to a server that accepts the connection and then says nothing, as unreachable (idle timeout lowered to 1 s)',
    async () => {
      const quiet = await silentServer(new URL(backend.settings.AWS_ENDPOINT_URL_S3 as string).protocol);
      try {
        const config = loadConfig({ ...backend.settings, AWS_ENDPOINT_URL_S3: quiet.url });
        const { bucket, prefix } = config.location as { bucket: string; prefix: string };
        const store = new S3Store(createS3Client(config.s3, 1000), bucket, prefix, { partSize: config.s3.partSize, queueSize: 2 });
        const started = Date.now();
        await expect(store.put('c1/quiet.db', Readable.from([randomBytes(1024)]))).rejects.toMatchObject({ code: 'store-unreachable' });
        expect(Date.now() - started).toBeLessThan(15_000);
      } finally {
        await quiet.close();
      }
    },
    30_000,
  );

  it('sets and reads tags without changing the object', async () => {
    await store.put('c1/tagged.db', Buffer.from('body'));
    await store.setTags('c1/tagged.db', { 'x-etcd-snapshot-exclude': 'true' });
    expect(await store.getTags('c1/tagged.db')).toMatchObject({ 'x-etcd-snapshot-exclude': 'true' });
    await store.setTags('c1/tagged.db', { other: 'v' });
    const tags = await store.getTags('c1/tagged.db');
    expect(tags).toMatchObject({ other: 'v' });
    expect(tags['x-etcd-snapshot-exclude']).toBeUndefined();
    expect((await buffer(await store.get('c1/tagged.db'))).toString()).toBe('body');
  });

  it.runIf(kind === 's3')('sets and reads object retention; the locked version cannot be deleted', async () => {
    const info = await store.put('c1/locked.db', Buffer.from('locked'));
    const retainUntil = new Date(Date.now() + 60_000);
    await store.setRetention('c1/locked.db', { mode: 'governance', retainUntil }, { versionId: info.versionId as string });
    const retention = await store.getRetention('c1/locked.db', { versionId: info.versionId as string });
    expect(retention?.mode).toBe('governance');
    expect(Math.abs((retention?.retainUntil.getTime() ?? 0) - retainUntil.getTime())).toBeLessThan(1000);
    expect((await rejection(store.delete('c1/locked.db', { versionId: info.versionId as string }))).code).toBe('store-access-denied');
    // Tags can still change on a locked object (exclusion marks rely on it).
    await store.setTags('c1/locked.db', { 'x-etcd-snapshot-exclude': 'true' });
    expect(await store.getTags('c1/locked.db')).toMatchObject({ 'x-etcd-snapshot-exclude': 'true' });
  });

  it.runIf(kind === 'local')(
    'creates directories 0700 and files 0600 (objects, sidecars, temp files) under a permissive umask (000)',
    async () => {
      // A root that does not exist yet: the store creates every directory, the root included.
      const root = join(await mkdtemp(join(tmpdir(), 'modes-')), 'new');
      const local = new LocalStore(root);
      const previous = process.umask(0o000);
      try {
        // Reads the directory while the body is still streaming: the temporary file exists by then.
        const tempModes: number[] = [];
        let chunk = 0;
        const body = new Readable({
          read() {
            if (chunk++ === 2) {
              const dir = join(root, 'c1', 'sub');
              tempModes.push(...readdirSync(dir).map((name) => statSync(join(dir, name)).mode & 0o777));
            }
            this.push(chunk <= 4 ? randomBytes(64 * 1024) : null);
          },
        });
        await local.put('c1/sub/snap.db', body, { metadata: { 'etcd-cluster': 'c1' } });
        await local.put('c1/sub/snap.db.manifest.json', Buffer.from('{}'));
        await local.setTags('c1/sub/snap.db', { 'x-etcd-snapshot-exclude': 'true' });
        await local.copy('c1/sub/snap.db', 'c1/copy.db');
        expect(tempModes).toEqual([0o600]);
        const modes: Record<string, string> = {};
        const walk = (dir: string, rel: string) => {
          for (const entry of readdirSync(dir, { withFileTypes: true })) {
            const path = join(dir, entry.name);
            modes[`${rel}${entry.name}${entry.isDirectory() ? '/' : ''}`] = (statSync(path).mode & 0o777).toString(8);
            if (entry.isDirectory()) walk(path, `${rel}${entry.name}/`);
          }
        };
        modes['/'] = (statSync(root).mode & 0o777).toString(8);
        walk(root, '');
        expect(modes).toEqual({
          '/': '700',
          'c1/': '700',
          'c1/sub/': '700',
          'c1/copy.db': '600',
          'c1/.copy.db.meta.json': '600',
          'c1/sub/snap.db': '600',
          'c1/sub/.snap.db.meta.json': '600',
          'c1/sub/snap.db.manifest.json': '600',
          'c1/sub/.snap.db.manifest.json.meta.json': '600',
        });
      } finally {
        process.umask(previous);
      }
    },
  );

  it.runIf(kind === 's3')(
    'deletes an object written before versioning was enabled (the "null" version) for good, and adds no delete marker once nothing is left',
    async () => {
      const plain = await makeBackend('s3', { transport });
      const { bucket, prefix } = loadConfig(plain.settings).location as { bucket: string; prefix: string };
      await plain.store.put('c1/before.db', Buffer.from('written unversioned'));
      await plain.store.put('c1/unversioned.db', Buffer.from('deleted while unversioned'));
      await plain.store.delete('c1/unversioned.db');
      expect(await plain.store.head('c1/unversioned.db')).toBeUndefined();
      const client = s3Client();
      try {
        await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
        await plain.store.put('c1/after.db', Buffer.from('written versioned'));
        const versionsOf = async (key: string) => {
          const Key = `${prefix}/${key}`;
          const page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: Key }));
          return [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].filter((v) => v.Key === Key).map((v) => v.VersionId);
        };
        expect(await versionsOf('c1/before.db')).toEqual(['null']);
        for (const key of ['c1/before.db', 'c1/after.db']) {
          await plain.store.delete(key);
          expect(await versionsOf(key)).toEqual([]);
          // A second prune racing the first: nothing left, nothing sent, no stray delete marker.
          await plain.store.delete(key);
          expect(await versionsOf(key)).toEqual([]);
        }
        expect(await versionsOf('c1/unversioned.db')).toEqual([]);
      } finally {
        client.destroy();
      }
    },
  );

  it.runIf(kind === 'gcs')('tells a missing object from a missing bucket when the bucket and prefix are named "...bucket..."', async () => {
    const config = loadConfig(backend.settings);
    const named = new GcsStore(createGcsClient(config.gcs), uniqueBucketName('my-bucket-x'), 'bucket-backups');
    await named.put('c1/present.db', Buffer.from('x'));
    expect(await named.head('c1/missing.db')).toBeUndefined();
    expect((await rejection(named.get('c1/missing.db'))).code).toBe('store-not-found');
    expect((await rejection(named.getTags('c1/missing.db'))).code).toBe('store-not-found');
    expect((await rejection(named.getRetention('c1/missing.db'))).code).toBe('store-not-found');
    await named.delete('c1/missing.db');
  });

  it.runIf(kind === 'local')('has no retention and says so when asked to set one', async () => {
    await store.put('c1/plain.db', Buffer.from('x'));
    expect(await store.getRetention('c1/plain.db')).toBeUndefined();
    expect((await rejection(store.setRetention('c1/plain.db', { mode: 'governance', retainUntil: new Date() }))).code).toBe(
      'store-unsupported',
    );
  });
});
