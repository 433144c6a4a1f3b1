// Each failure gives an error that names the cause, and leaves nothing in the store that could pass for
// a snapshot (no object, no manifest, no multipart upload).
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPRESSIONS, type Compression, loadConfig } from '../../shared/config/config.js';
import type { BackupError, ErrorReport } from '../../shared/errors.js';
import { takeSnapshot } from '../../shared/tasks/snapshot.js';
import { BACKEND_KINDS, type BackendKind, makeBackend, multipartUploads } from '../support/backends.js';
import { writeBulk } from '../support/data.js';
import { encodeSnapshotResponse } from '../support/etcd-messages.js';
import { ETCD_VERSIONS, etcdStoreCases, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { freePort } from '../support/ports.js';
import { download, memoryLogger, run, storedKeys } from '../support/run.js';
import { uniqueBucketName } from '../support/stores.js';
import { makePki, type TestPki } from '../support/tls.js';

const code = (outcome: { error?: unknown }) => (outcome.error as BackupError | undefined)?.code;

/** A different compression into each store, so that every encoder's failure path is seen with a real etcd dying. */
const COMPRESSION_IN: Record<BackendKind, Compression> = { local: 'gzip', s3: 'zstd', gcs: 'none' };

describe.each(etcdStoreCases(BACKEND_KINDS, 's3'))('etcd %s killed mid-stream, storing into %s', (version, kind) => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd({ version });
    await writeBulk(etcd.endpoints, 120);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it(`aborts the upload, reports the etcd failure, and leaves no object behind (${COMPRESSION_IN[kind]})`, async () => {
    const backend = await makeBackend(kind);
    let killed = false;
    const log = memoryLogger((entry) => {
      // Kill the member once it has started streaming into the store.
      if (entry.message === 'streaming snapshot' && !killed) {
        killed = true;
        setTimeout(() => void etcd.kill(0), 150);
      }
    });
    const outcome = await run(
      'snapshot',
      {
        ...backend.settings,
        ETCD_ENDPOINTS: etcd.endpoints[0],
        CLUSTER_NAME: 'c',
        ETCD_DIAL_TIMEOUT: '1s',
        SNAPSHOT_COMPRESSION: COMPRESSION_IN[kind],
      },
      { log },
    );
    expect(killed).toBe(true);
    expect(outcome.ok).toBe(false);
    expect(['etcd-stream', 'etcd-unreachable', 'snapshot-integrity']).toContain(code(outcome));
    expect(String((outcome.error as Error).message)).toContain(etcd.endpoints[0]);
    expect(await storedKeys(backend.store, 'c/')).toEqual([]);
    expect(await multipartUploads(backend.settings)).toEqual([]);
  });
});

describe.each(ETCD_VERSIONS)('unreachable or misconfigured endpoints of etcd %s', (version) => {
  let etcd: EtcdCluster;
  let pki: TestPki;
  beforeAll(async () => {
    pki = await makePki();
    etcd = await startEtcd({
      version,
      tls: {
        caFile: pki.caFile,
        certFile: pki.serverCertFile,
        keyFile: pki.serverKeyFile,
        client: { certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
      },
    });
    await etcd.enableAuth('s3cret-pw');
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  const tls = () => ({
    ETCD_ENDPOINTS: etcd.endpoints[0],
    ETCD_CA_FILE: pki.caFile,
    ETCD_CERT_FILE: pki.clientCertFile,
    ETCD_KEY_FILE: pki.clientKeyFile,
    ETCD_USERNAME: 'root',
    ETCD_PASSWORD: 's3cret-pw',
    CLUSTER_NAME: 'c',
  });

  it('snapshots over TLS with a client certificate and user/password', async () => {
    const backend = await makeBackend('local');
    const outcome = await run('snapshot', { ...backend.settings, ...tls() });
    expect(outcome.error).toBeUndefined();
    expect(outcome.ok).toBe(true);
    expect(await storedKeys(backend.store, 'c/')).toHaveLength(2);
  });

  it('accepts the CA, certificate and key as PEM text instead of paths', async () => {
    const backend = await makeBackend('local');
    const pem = async (file: string) => await readFile(file, 'utf8');
    const outcome = await run('snapshot', {
      ...backend.settings,
      ...tls(),
      ETCD_CA_FILE: await pem(pki.caFile),
      ETCD_CERT_FILE: await pem(pki.clientCertFile),
      ETCD_KEY_FILE: await pem(pki.clientKeyFile),
    });
    expect(outcome.ok).toBe(true);
  });

  it('fails with etcd-tls when the server certificate is not signed by the configured CA', async () => {
    const backend = await makeBackend('local');
    const outcome = await run('snapshot', { ...backend.settings, ...tls(), ETCD_CA_FILE: pki.otherCaFile, ETCD_DIAL_TIMEOUT: '2s' });
    expect(code(outcome)).toBe('etcd-tls');
    expect((outcome.error as BackupError).hint).toContain('ETCD_CA_FILE');
    expect(await storedKeys(backend.store, 'c/')).toEqual([]);
  });

  it('fails with etcd-auth on a wrong password, and never prints the password', async () => {
    const backend = await makeBackend('local');
    const outcome = await run('snapshot', { ...backend.settings, ...tls(), ETCD_PASSWORD: 'wrong-pass-word' });
    expect(code(outcome)).toBe('etcd-auth');
    expect(outcome.log.join('\n')).not.toContain('wrong-pass-word');
    expect(await storedKeys(backend.store, 'c/')).toEqual([]);
  });
});

describe('an endpoint where nothing listens', () => {
  it('fails with etcd-unreachable naming the endpoint when nothing listens there', async () => {
    const backend = await makeBackend('local');
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const outcome = await run('snapshot', { ...backend.settings, ETCD_ENDPOINTS: endpoint, ETCD_DIAL_TIMEOUT: '1s', CLUSTER_NAME: 'c' });
    expect(code(outcome)).toBe('etcd-unreachable');
    expect((outcome.error as Error).message).toContain(endpoint);
    expect(await storedKeys(backend.store, 'c/')).toEqual([]);
  });
});

describe('store failures', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd();
    await writeBulk(etcd.endpoints, 20);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('fails with store-unreachable when the S3 endpoint does not answer, and stores nothing', async () => {
    const backend = await makeBackend('s3');
    const outcome = await run('snapshot', {
      ...backend.settings,
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}`,
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: 'c',
    });
    expect(code(outcome)).toBe('store-unreachable');
    expect(await storedKeys(backend.store, 'c/')).toEqual([]);
    expect(await multipartUploads(backend.settings)).toEqual([]);
  });

  it('fails with store-bucket-missing when the S3 bucket does not exist (the GCS emulator creates buckets on write, so S3 only)', async () => {
    const backend = await makeBackend('s3');
    const outcome = await run('snapshot', {
      ...backend.settings,
      BACKUP_URL: `s3://${uniqueBucketName('missing')}/x`,
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: 'c',
    });
    expect(code(outcome)).toBe('store-bucket-missing');
    expect((outcome.error as BackupError).hint).toContain('bucket');
  });

  it('fails clearly when the local BACKUP_URL is not a directory', async () => {
    const outcome = await run('snapshot', {
      BACKUP_URL: 'file:///etc/hostname/backups',
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: 'c',
    });
    expect(code(outcome)).toBe('store');
    expect((outcome.error as BackupError).message).toContain('not a directory');
    expect((outcome.error as BackupError).hint).toContain('BACKUP_URL');
  });
});

describe('stream integrity (fake etcd client: a real server never sends a bad trailer or a short stream)', () => {
  let snapshotBytes: Buffer;
  beforeAll(async () => {
    const etcd = await startEtcd();
    try {
      await writeBulk(etcd.endpoints, 2);
      const backend = await makeBackend('local');
      const outcome = await run('snapshot', { ...backend.settings, ETCD_ENDPOINTS: etcd.endpoints[0], CLUSTER_NAME: 'c' });
      snapshotBytes = await readFile(await download(backend.store, (outcome.result as { key: string }).key));
    } finally {
      await etcd.stop();
    }
  });

  /** An etcd3 stand-in whose Maintenance.Snapshot sends the given bytes in 32 KiB messages, encoded as etcd does. */
  function fakeEtcd(bytes: Buffer) {
    type Deserialize = (message: Buffer) => Buffer;
    return () =>
      ({
        maintenance: {
          status: async () => ({
            header: { cluster_id: '1', member_id: '2', revision: '9' },
            version: '3.4.23',
            leader: '2',
            raftTerm: '2',
            raftIndex: '5',
            raftAppliedIndex: '5',
            dbSize: String(bytes.length),
            errors: [],
            isLearner: false,
          }),
          // The snapshot call goes through the library's connection pool (see snapshot-stream.ts).
          client: {
            withConnection: async (
              _service: string,
              fn: (args: {
                client: { makeServerStreamRequest(method: string, serialize: unknown, deserialize: Deserialize): Readable };
                metadata: unknown;
              }) => unknown,
            ) =>
              fn({
                metadata: {},
                client: {
                  makeServerStreamRequest: (_method, _serialize, deserialize) => {
                    const messages: Buffer[] = [];
                    for (let i = 0; i < bytes.length; i += 32 * 1024) {
                      const blob = bytes.subarray(i, i + 32 * 1024);
                      messages.push(deserialize(encodeSnapshotResponse(blob, bytes.length - i - blob.length)));
                    }
                    return Object.assign(Readable.from(messages), { cancel() {} });
                  },
                },
              }),
          },
        },
        close() {},
      }) as never;
  }

  async function attempt(bytes: Buffer, kind: BackendKind, compression: Compression = 'zstd') {
    const backend = await makeBackend(kind);
    const config = loadConfig({ ...backend.settings, CLUSTER_NAME: 'c', SNAPSHOT_ATTEMPTS: '1', SNAPSHOT_COMPRESSION: compression });
    const error = await takeSnapshot({ config, store: backend.store, log: memoryLogger(), connect: fakeEtcd(bytes) }).then(
      () => undefined,
      (e: unknown) => e as BackupError,
    );
    return { error, keys: await storedKeys(backend.store, 'c/'), settings: backend.settings };
  }

  // The check fails at the very end, when the encoder has passed almost everything on: its failure must
  // still reach the store through the encoder.
  it.each(BACKEND_KINDS.flatMap((kind) => COMPRESSIONS.map((c) => [kind, c] as const)))(
    'a wrong sha256 trailer aborts the upload into %s (%s)',
    async (kind, compression) => {
      const bad = Buffer.from(snapshotBytes);
      bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
      const { error, keys, settings } = await attempt(bad, kind, compression);
      expect(error?.code).toBe('snapshot-integrity');
      expect(error?.message).toMatch(/trailer|sha256/i);
      expect(keys).toEqual([]);
      expect(await multipartUploads(settings)).toEqual([]);
    },
  );

  it.each(BACKEND_KINDS)('a stream that ends early aborts the upload into %s', async (kind) => {
    const { error, keys } = await attempt(snapshotBytes.subarray(0, snapshotBytes.length - 40_000), kind);
    expect(error?.code).toBe('snapshot-integrity');
    expect(keys).toEqual([]);
  });

  it('the fake itself is faithful: the intact bytes are stored and complete', async () => {
    const { error, keys } = await attempt(snapshotBytes, 'local');
    expect(error).toBeUndefined();
    expect(keys).toHaveLength(2);
  });
});

describe('error reports', () => {
  it('keep the cause chain', async () => {
    const outcome = await run('snapshot', {
      ETCD_ENDPOINTS: `http://127.0.0.1:${await freePort()}`,
      ETCD_DIAL_TIMEOUT: '500ms',
      BACKUP_URL: 'file:///tmp/x',
    });
    const { describeError } = await import('../../shared/errors.js');
    const report: ErrorReport = describeError(outcome.error);
    expect(report.cause).toBeDefined();
  });
});

describe('a slow store is not a silent etcd', () => {
  it('backpressure from a store that stalls longer than ETCD_STREAM_IDLE_TIMEOUT does not abort the stream (store slowed by a wrapper: no real store stalls on demand)', async () => {
    const { Transform } = await import('node:stream');
    const etcd = await startEtcd();
    try {
      await writeBulk(etcd.endpoints, 20);
      const backend = await makeBackend('local');
      const slow = Object.create(backend.store) as typeof backend.store;
      slow.put = (key, body, options) => {
        if (Buffer.isBuffer(body)) return backend.store.put(key, body, options);
        let stalled = false;
        const throttle = new Transform({
          transform(chunk, _enc, callback) {
            if (stalled) return callback(null, chunk);
            stalled = true;
            setTimeout(() => callback(null, chunk), 1500);
          },
        });
        return backend.store.put(key, body.pipe(throttle), options);
      };
      const config = loadConfig({
        ...backend.settings,
        ETCD_ENDPOINTS: etcd.endpoints[0],
        CLUSTER_NAME: 'slow',
        ETCD_STREAM_IDLE_TIMEOUT: '500ms',
        SNAPSHOT_ATTEMPTS: '1',
      });
      const result = await takeSnapshot({ config, store: slow, log: memoryLogger() });
      expect(result.ok).toBe(true);
      expect(result.attempts).toHaveLength(1);
    } finally {
      await etcd.stop();
    }
  });
});
