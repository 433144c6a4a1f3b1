// Encryption with the customer's key. S3: SSE-KMS for real on radosgw through its "testing" KMS backend
// (scripts/services/rgw.sh). radosgw 16 has no SSE-S3 backend: AES256 is checked where it can be, the
// refusal on the real server and the request shape at the adapter boundary. GCS: the emulator ignores
// kmsKeyName, so CMEK is checked at the adapter boundary (request shape; read-back through a proxy that
// reports the key as GCS does), and the tests say so.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer, text } from 'node:stream/consumers';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig, type SettingValues } from '../../shared/config/config.js';
import { manifestKey } from '../../shared/layout.js';
import { createLogger } from '../../shared/log.js';
import type { SnapshotManifest } from '../../shared/manifest.js';
import { openStore } from '../../shared/store/index.js';
import { createS3Client, S3Store } from '../../shared/store/s3.js';
import { reuploadTask } from '../../shared/tasks/reupload.js';
import { makeBackend, multipartUploads, type Backend } from '../support/backends.js';
import { writeBulk, writeSampleData } from '../support/data.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { run, storedKeys } from '../support/run.js';
import { s3Client, s3Service } from '../support/stores.js';

const quiet = createLogger({ write: () => undefined });
const HOUR = 3_600_000;
const MiB = 1024 * 1024;
const GCS_KEY = 'projects/p/locations/europe-west1/keyRings/etcd/cryptoKeys/backups';

let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcd();
  await writeSampleData(etcd.endpoints, { smallKeys: 100 });
  // More than two 5 MiB parts: the snapshot goes as a multipart upload.
  await writeBulk(etcd.endpoints, 12);
});
afterAll(async () => {
  await etcd?.stop();
});

const where = (config: Config) => config.location as { bucket: string; prefix: string };

/** What radosgw reports for a stored object, read with a client of its own (not the store under test). */
async function reported(client: S3Client, config: Config, key: string): Promise<{ algorithm?: string; keyId?: string }> {
  const { bucket, prefix } = where(config);
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}` }));
  return { algorithm: head.ServerSideEncryption, keyId: head.SSEKMSKeyId };
}

/** An S3 store on the settings that records, per request, the SSE headers it sent (the adapter boundary). */
function recordingS3Store(config: Config, copyLimits?: { single: number; part: number }) {
  const client = createS3Client(config.s3);
  const sent: { command: string; sse?: string; keyId?: string }[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const headers = (args.request as { headers: Record<string, string> }).headers;
      sent.push({
        command: context.commandName as string,
        sse: headers['x-amz-server-side-encryption'],
        keyId: headers['x-amz-server-side-encryption-aws-kms-key-id'],
      });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordSse' },
  );
  const { bucket, prefix } = where(config);
  const options = { partSize: config.s3.partSize, queueSize: 1, ...(config.s3.sse ? { sse: config.s3.sse } : {}) };
  return { store: new S3Store(client, bucket, prefix, options, 1000, copyLimits), sent };
}

describe('SSE-KMS on radosgw (its testing KMS backend)', () => {
  let backend: Backend;
  let settings: SettingValues;
  let client: S3Client;
  const kmsKey = () => s3Service().kmsKeyId;
  beforeAll(async () => {
    // Bucket mode, so that reupload copies the snapshot.
    backend = await makeBackend('s3', { defaultRetentionDays: 1 });
    settings = {
      ...backend.settings,
      S3_SSE: 'aws:kms',
      S3_SSE_KMS_KEY_ID: kmsKey(),
      IMMUTABILITY: 'bucket',
      REUPLOAD_INTERVAL: '2h',
      REUPLOAD_MARGIN: '4h',
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: 'sse',
    };
    client = s3Client();
  });
  afterAll(() => client?.destroy());

  it('snapshot (multipart), manifest, verification record and reupload copy are encrypted with the key and recorded; restore reads them back', async () => {
    const config = loadConfig(settings);
    const taken = await run('snapshot', settings);
    expect(taken.error).toBeUndefined();
    const snapshot = taken.result!;
    expect(snapshot.size).toBeGreaterThan(2 * 5 * MiB);
    const expected = { algorithm: 'aws:kms', keyId: kmsKey() };
    const manifest = JSON.parse(await text(await backend.store.get(snapshot.manifestKey))) as SnapshotManifest;
    expect(manifest.encryption).toEqual(expected);

    const verified = await run('verify', settings, { args: { key: snapshot.key } });
    expect(verified.result?.ok).toBe(true);

    // Bucket mode renews protection with a server-side copy; run it as if near the end of the retention.
    const store = await openStore(config.location, config);
    const until = (await store.getRetention(snapshot.key))?.retainUntil as Date;
    const copied = await reuploadTask({ config, store, log: quiet, now: () => new Date(until.getTime() - HOUR) });
    expect(copied).toMatchObject({ ok: true, action: 'copied', source: snapshot.key });
    const copyManifest = JSON.parse(await text(await store.get(manifestKey(copied.key)))) as SnapshotManifest;
    expect(copyManifest).toMatchObject({ copyOf: snapshot.key, encryption: expected });

    const written = [snapshot.key, snapshot.manifestKey, verified.result!.recordKey, copied.key, manifestKey(copied.key)];
    for (const key of written) expect(await reported(client, config, key), key).toEqual(expected);

    // Restore reads an encrypted copy back (verify read the original above).
    const output = join(await mkdtemp(join(tmpdir(), 'restore-sse-')), 'etcd.db');
    const restored = await run('restore', settings, { args: { output, key: copied.key } });
    expect(restored.error).toBeUndefined();
    expect(restored.result).toMatchObject({ ok: true, key: copied.key, sha256: snapshot.sha256 });
    const bytes = await readFile(output);
    expect(
      createHash('sha256')
        .update(bytes.subarray(0, bytes.length - 32))
        .digest('hex'),
    ).toBe(snapshot.sha256);
  });

  it('a copy in parts (UploadPartCopy; limits lowered to 1 MiB single, 5 MiB parts) is encrypted with the key too', async () => {
    const config = loadConfig(settings);
    const { store, sent } = recordingS3Store(config, { single: MiB, part: 5 * MiB });
    const data = randomBytes(12 * MiB + 7);
    await store.put('c1/big.db', data);
    const copied = await store.copy('c1/big.db', 'c1/big-copy.db');
    expect(copied.encryption).toEqual({ algorithm: 'aws:kms', keyId: kmsKey() });
    expect(await reported(client, config, 'c1/big-copy.db')).toEqual({ algorithm: 'aws:kms', keyId: kmsKey() });
    expect((await buffer(await store.get('c1/big-copy.db'))).equals(data)).toBe(true);
    // Both multipart uploads were created asking for the key (their parts inherit it).
    const created = sent.filter((r) => r.command === 'CreateMultipartUploadCommand');
    expect(created).toEqual([
      { command: 'CreateMultipartUploadCommand', sse: 'aws:kms', keyId: kmsKey() },
      { command: 'CreateMultipartUploadCommand', sse: 'aws:kms', keyId: kmsKey() },
    ]);
    expect(sent.some((r) => r.command === 'UploadPartCopyCommand')).toBe(true);
    expect(await multipartUploads(settings, 'prefix')).toEqual([]);
  });

  it('radosgw 16 refuses CopyObject of an SSE-KMS object (501 NotImplemented): the copy is made in parts instead', async () => {
    const config = loadConfig(settings);
    const { store, sent } = recordingS3Store(config);
    const data = randomBytes(64 * 1024);
    await store.put('c1/small.db', data);
    const copied = await store.copy('c1/small.db', 'c1/small-copy.db');
    expect(copied.encryption).toEqual({ algorithm: 'aws:kms', keyId: kmsKey() });
    expect((await buffer(await store.get('c1/small-copy.db'))).equals(data)).toBe(true);
    const copyRequests = sent.map((r) => r.command).filter((c) => /Copy|Multipart/.test(c));
    expect(copyRequests).toEqual([
      'CopyObjectCommand',
      'CreateMultipartUploadCommand',
      'UploadPartCopyCommand',
      'CompleteMultipartUploadCommand',
    ]);
  });

  it('a key the KMS does not have fails the snapshot and leaves nothing', async () => {
    const outcome = await run('snapshot', { ...settings, S3_SSE_KMS_KEY_ID: 'no-such-key', CLUSTER_NAME: 'sse-nokey' });
    expect(outcome.error).toBeDefined();
    expect(await storedKeys(backend.store, 'sse-nokey/')).toEqual([]);
    expect(await multipartUploads(settings, 'prefix')).toEqual([]);
  });
});

describe('SSE-S3 (AES256): radosgw 16 has no SSE-S3 backend', () => {
  it('radosgw stores the object without encryption: the write is refused and the object removed (real server)', async () => {
    const backend = await makeBackend('s3');
    const config = loadConfig({ ...backend.settings, S3_SSE: 'AES256' });
    const store = await openStore(config.location, config);
    await expect(store.put('c/plain.db', Buffer.from('etcd'))).rejects.toMatchObject({
      code: 'store-encryption',
      message: expect.stringContaining('not AES256'),
    });
    expect(await storedKeys(backend.store, 'c/')).toEqual([]);
  });

  it('asks for AES256 on PutObject, CreateMultipartUpload and CopyObject (request shape at the adapter boundary)', async () => {
    const backend = await makeBackend('s3');
    const config = loadConfig({ ...backend.settings, S3_SSE: 'AES256' });
    const { store, sent } = recordingS3Store(config);
    await store.put('c/small.db', Buffer.from('etcd')).catch(() => undefined);
    await store.put('c/big.db', randomBytes(6 * MiB)).catch(() => undefined);
    // A source written without encryption, to copy from.
    await backend.store.put('c/source.db', Buffer.from('etcd'));
    await store.copy('c/source.db', 'c/copy.db').catch(() => undefined);
    const asked = sent.filter((r) => r.sse !== undefined).map((r) => `${r.command} ${r.sse} ${r.keyId ?? '-'}`);
    expect(asked).toEqual(['PutObjectCommand AES256 -', 'CreateMultipartUploadCommand AES256 -', 'CopyObjectCommand AES256 -']);
    // The parts carry no SSE header: S3 refuses one there (they inherit the upload's).
    expect(sent.filter((r) => r.command === 'UploadPartCommand' && r.sse !== undefined)).toEqual([]);
  });
});

/**
 * A pass-through proxy in front of the emulator that answers, for every object resource it returns, the key
 * version that encrypted it, as GCS does for an object written with kmsKeyName (the emulator drops it).
 */
async function reportingKeyProxy(target: string, keyVersion: string): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      async (answer) => {
        const body = await buffer(answer);
        let out = body;
        if (String(answer.headers['content-type']).includes('json') && body.length > 0) {
          const json = JSON.parse(body.toString()) as Record<string, unknown>;
          if (typeof json.name === 'string' && typeof json.bucket === 'string') {
            out = Buffer.from(JSON.stringify({ ...json, kmsKeyName: keyVersion }));
          }
        }
        const headers = { ...answer.headers, 'content-length': String(out.length) };
        delete headers['transfer-encoding'];
        res.writeHead(answer.statusCode ?? 502, headers);
        res.end(out);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('GCS CMEK at the adapter boundary (the emulator accepts and ignores kmsKeyName)', () => {
  it('on the emulator itself, which reports no key, the write is refused and the object removed', async () => {
    const backend = await makeBackend('gcs');
    const config = loadConfig({ ...backend.settings, GCS_KMS_KEY_NAME: GCS_KEY });
    const store = await openStore(config.location, config);
    await expect(store.put('c/x.db', Buffer.from('etcd'))).rejects.toMatchObject({ code: 'store-encryption' });
    expect(await storedKeys(backend.store, 'c/')).toEqual([]);
  });

  it('uploads (snapshot, manifest, record) and copies name the key; read back as GCS reports it (a proxy adds it), the manifest records it', async () => {
    const backend = await makeBackend('gcs');
    const emulator = loadConfig(backend.settings).gcs.emulatorHost as string;
    const keyVersion = `${GCS_KEY}/cryptoKeyVersions/3`;
    const proxy = await reportingKeyProxy(emulator, keyVersion);
    try {
      const settings = {
        ...backend.settings,
        STORAGE_EMULATOR_HOST: proxy.url,
        GCS_KMS_KEY_NAME: GCS_KEY,
        ETCD_ENDPOINTS: etcd.endpoints[0],
        CLUSTER_NAME: 'cmek',
      };
      const taken = await run('snapshot', settings);
      expect(taken.error).toBeUndefined();
      const snapshot = taken.result!;
      const manifest = JSON.parse(await text(await backend.store.get(snapshot.manifestKey))) as SnapshotManifest;
      expect(manifest.encryption).toEqual({ algorithm: 'cmek', keyId: keyVersion });
      const verified = await run('verify', settings, { args: { key: snapshot.key } });
      expect(verified.result?.ok).toBe(true);
      const config = loadConfig(settings);
      const store = await openStore(config.location, config);
      expect((await store.copy(snapshot.key, 'cmek/copy.db')).encryption).toEqual({ algorithm: 'cmek', keyId: keyVersion });

      const key = `kmsKeyName=${encodeURIComponent(GCS_KEY)}`;
      const uploads = proxy.requests.filter((r) => r.startsWith('POST /upload/'));
      expect(uploads).toHaveLength(3);
      for (const upload of uploads) expect(upload).toContain(key);
      const rewrites = proxy.requests.filter((r) => r.includes('/rewriteTo/'));
      expect(rewrites.length).toBeGreaterThan(0);
      for (const rewrite of rewrites) expect(rewrite).toContain(`destinationKmsKeyName=${encodeURIComponent(GCS_KEY)}`);
    } finally {
      await proxy.close();
    }
  });
});
