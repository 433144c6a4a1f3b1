import { pipeline, Transform } from 'node:stream';
import type { Etcd3 } from 'etcd3';
import type { Compression, Config } from '../config/config.js';
import { CheckedSnapshotStream } from '../checked-stream.js';
import type { SnapshotEntry } from '../catalogue.js';
import { checkClock } from '../clock.js';
import { newestGood } from '../cluster-identity.js';
import { CompressibilitySampler, type CompressionChoice, chooseCompression } from '../compressibility.js';
import { etcdClient } from '../etcd/client.js';
import type { ConsistencyReport } from '../etcd/consistency.js';
import { probeMember, rankMembers, type MemberStatus } from '../etcd/select-member.js';
import { openSnapshotStream } from '../etcd/snapshot-stream.js';
import { BackupError, describeError, type ErrorReport } from '../errors.js';
import { clusterDir, manifestKey, snapshotKey } from '../layout.js';
import type { Logger } from '../log.js';
import type { SnapshotManifest } from '../manifest.js';
import { metered, type Progress } from '../progress.js';
import type { ObjectStore } from '../store/index.js';
import { encoders, type StoredEncoding } from '../stored-encoding.js';
import { TOOL } from '../version.js';
import { checkBucketProtection, protectObject, type ActiveImmutability, type Protection } from '../immutability.js';
import { checkSources } from './snapshot-sources.js';

export interface SnapshotDeps {
  config: Pick<Config, 'cluster' | 'etcd' | 'snapshotAttempts' | 'compression' | 'immutability' | 'retention' | 'clockSkewToleranceMs'>;
  store: ObjectStore;
  log: Logger;
  /** Makes the etcd client for one endpoint; tests may pass their own. */
  connect?: (endpoint: string) => Etcd3;
  now?: () => Date;
  /** Aborting (e.g. a Lambda deadline) stops the stream and aborts the upload. */
  signal?: AbortSignal;
  /** Counts the stream against the member's reported database size (a terminal draws it). */
  progress?: Progress;
}

export interface SnapshotAttempt {
  endpoint: string;
  error?: ErrorReport;
}

export interface SnapshotResult {
  ok: boolean;
  key: string;
  manifestKey: string;
  compression: Compression;
  /** Why the snapshot is stored plain although SNAPSHOT_COMPRESSION asks for compression (compressibility.ts). */
  compressionReason?: string;
  /** Bytes of the snapshot as etcd sent it (uncompressed). */
  size: number;
  /** Bytes in the store. */
  storedSize: number;
  /** Plain snapshots: the sampled byte entropy of the data, a share of 8 bits (as in the manifest). */
  sampledEntropy?: number;
  /** Of the uncompressed database, as its trailer says. */
  sha256: string;
  revision: number;
  totalKey: number;
  etcdVersion: string;
  clusterId: string;
  memberId: string;
  endpoint: string;
  durationMs: number;
  bytesPerSecond: number;
  problems: SnapshotManifest['checks']['problems'];
  /** Leftovers of earlier failed runs removed before this one (see cleanupLeftovers). */
  cleaned?: string[];
  /** With IMMUTABILITY on: the retention of the snapshot (and its manifest) as read back from the store. */
  protection?: Protection & { manifest: Protection };
  attempts: SnapshotAttempt[];
  /** The members' HashKV comparison; a member listed in `diverged` was not used, and `ok` is false. */
  consistency?: ConsistencyReport;
}

/** Counts the bytes that go to the store, to hold against what the store says it received. */
class ByteCounter extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error: null, chunk: Buffer) => void): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/** Errors worth trying on another member; store and integrity failures would just repeat. */
const RETRYABLE = new Set(['etcd-unreachable', 'etcd-stream', 'snapshot-integrity']);

async function withClients<T>(
  endpoints: string[],
  connect: (endpoint: string) => Etcd3,
  fn: (clients: Map<string, Etcd3>) => Promise<T>,
): Promise<T> {
  const clients = new Map(endpoints.map((e) => [e, connect(e)]));
  try {
    return await fn(clients);
  } finally {
    for (const client of clients.values()) client.close();
  }
}

async function streamOnce(
  deps: SnapshotDeps,
  member: MemberStatus,
  client: Etcd3,
  immutability: ActiveImmutability | undefined,
  choice: CompressionChoice,
): Promise<SnapshotResult> {
  const { store, log, config } = deps;
  const now = deps.now ?? (() => new Date());
  const source = await openSnapshotStream(client, member.endpoint, { idleTimeoutMs: config.etcd.streamIdleTimeoutMs });
  const started = now();
  const encoding: StoredEncoding = { compression: choice.compression };
  const key = snapshotKey(config.cluster, started, member.revision, encoding.compression);
  log.info('streaming snapshot', { endpoint: member.endpoint, memberId: member.memberId, key });
  const checked = new CheckedSnapshotStream();
  const stored = new ByteCounter();
  // A plain snapshot samples its data for the next run's choice (compressibility.ts).
  const sampler = encoding.compression === 'none' ? new CompressibilitySampler() : undefined;
  const stages = sampler ? [sampler] : encoders(encoding);
  // etcd -> trailer check (on the bytes etcd sent) -> encoding -> counter -> store. The pipeline passes a
  // failure anywhere along it (etcd, the check, the encoder) on to the last stream, which fails the upload;
  // a store that gives up destroys the last stream, which the pipeline carries back to the gRPC call. The
  // callback has nothing to add: put() reports the failure.
  pipeline([metered(source.body, deps.progress?.start(member.dbSize)), checked, ...stages, stored], () => undefined);
  const onAbort = () => source.cancel(new BackupError('aborted', 'snapshot aborted', { cause: deps.signal?.reason }));
  deps.signal?.addEventListener('abort', onAbort, { once: true });
  let uploaded;
  try {
    uploaded = await store.put(key, stored, {
      contentType: 'application/octet-stream',
      metadata: {
        'etcd-cluster': config.cluster,
        'etcd-member-id': member.memberId,
        'etcd-version': member.version,
        'etcd-requested-revision': String(member.revision),
      },
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
  } catch (error) {
    // A store that failed before reading the stream (e.g. it could not create the object) leaves the gRPC
    // call paused, not ended: end it now rather than when the clients close.
    stored.destroy(error as Error);
    throw error;
  } finally {
    deps.signal?.removeEventListener('abort', onAbort);
  }
  const report = checked.report;
  const sampledEntropy = sampler?.entropy;
  const completed = now();
  const manifest: SnapshotManifest = {
    format: 1,
    key,
    cluster: config.cluster,
    createdAt: started.toISOString(),
    completedAt: completed.toISOString(),
    size: report.size,
    sha256: report.sha256,
    compression: encoding.compression,
    storedSize: stored.bytes,
    ...(sampledEntropy !== undefined ? { sampledEntropy } : {}),
    revision: report.revision ?? 0,
    compactRevision: report.compactRevision ?? 0,
    requestedRevision: member.revision,
    totalKey: report.totalKey ?? 0,
    totalSize: report.totalSize ?? 0,
    etcd: {
      version: member.version,
      clusterId: member.clusterId,
      memberId: member.memberId,
      endpoint: member.endpoint,
      isLeader: member.isLeader,
    },
    checks: { ok: report.ok, problems: report.problems },
    tool: TOOL,
    ...(uploaded.encryption ? { encryption: uploaded.encryption } : {}),
  };
  if (uploaded.size !== stored.bytes) {
    await store.delete(key).catch(() => undefined);
    throw new BackupError('store', `the store holds ${uploaded.size} bytes for ${key} but ${stored.bytes} were sent`, {
      hint: 'the object was removed; check the store',
    });
  }
  const mKey = manifestKey(key);
  let manifestInfo;
  try {
    manifestInfo = await store.put(mKey, Buffer.from(JSON.stringify(manifest, null, 2)), { contentType: 'application/json' });
  } catch (error) {
    // Without its manifest the snapshot is listed as incomplete; remove it if the store lets us.
    await store.delete(key).catch(() => undefined);
    throw error;
  }
  const durationMs = completed.getTime() - started.getTime();
  let protection: SnapshotResult['protection'];
  if (immutability) {
    const snapshotProtection = await protectObject(store, key, uploaded.versionId, immutability, completed);
    protection = { ...snapshotProtection, manifest: await protectObject(store, mKey, manifestInfo.versionId, immutability, completed) };
    if (!protection.confirmed || !protection.manifest.confirmed) {
      log.error('the snapshot is stored but its retention could not be confirmed: it is NOT protected', { key, protection });
    }
  }
  return {
    ok: report.ok && (protection === undefined || (protection.confirmed && protection.manifest.confirmed)),
    key,
    manifestKey: mKey,
    compression: encoding.compression,
    ...(choice.reason ? { compressionReason: choice.reason } : {}),
    size: report.size,
    storedSize: stored.bytes,
    ...(sampledEntropy !== undefined ? { sampledEntropy } : {}),
    sha256: report.sha256,
    revision: manifest.revision,
    totalKey: manifest.totalKey,
    etcdVersion: member.version,
    clusterId: member.clusterId,
    memberId: member.memberId,
    endpoint: member.endpoint,
    durationMs,
    bytesPerSecond: Math.round(report.size / Math.max(durationMs / 1000, 0.001)),
    problems: report.problems,
    ...(protection ? { protection } : {}),
    attempts: [],
  };
}

/**
 * An upload whose abort failed (the store was down) leaves parts behind; so does a process killed
 * mid-upload. Anything quiet for longer than PRUNE_INCOMPLETE_GRACE is a leftover; a younger one may be
 * another run's live upload (a large part of a slow run can take minutes). Cleanup problems do not stop
 * the snapshot.
 */
async function cleanupLeftovers(deps: SnapshotDeps): Promise<string[]> {
  const now = (deps.now ?? (() => new Date()))();
  const idleSince = new Date(now.getTime() - deps.config.retention.incompleteGraceMs);
  try {
    const cleaned = await deps.store.cleanupIncomplete(clusterDir(deps.config.cluster), idleSince);
    if (cleaned.length > 0) deps.log.warn('removed leftovers of failed uploads', { cleaned });
    return cleaned;
  } catch (error) {
    deps.log.warn('could not clean up leftovers of failed uploads', { error });
    return [];
  }
}

/**
 * The cluster's newest good snapshot: what the identity check holds the members against and what the
 * compression is chosen from. With ETCD_CLUSTER_ID set the identity check does not need it, and a store
 * whose history cannot be read (a manifest's KMS key, a passing error) must not stop the backup over a
 * compression choice: the setting's compression is used.
 */
async function previousSnapshot(deps: SnapshotDeps): Promise<SnapshotEntry | undefined> {
  const { config, store, log } = deps;
  if (config.etcd.clusterId === undefined) return newestGood(store, config.cluster);
  try {
    return await newestGood(store, config.cluster);
  } catch (error) {
    log.warn('could not read the newest snapshot to choose the compression; using SNAPSHOT_COMPRESSION as set', { error });
    return undefined;
  }
}

/**
 * Takes one snapshot: picks a healthy member, streams Maintenance.Snapshot through the trailer check into
 * the store, then writes the manifest. A failed stream is retried on the next member (up to
 * SNAPSHOT_ATTEMPTS); every failed attempt has left nothing in the store.
 */
export async function takeSnapshot(deps: SnapshotDeps): Promise<SnapshotResult> {
  const { config, log } = deps;
  const connect = deps.connect ?? ((endpoint: string) => etcdClient(config.etcd, endpoint));
  // The start-up check: a bucket that cannot protect what IMMUTABILITY asks fails before etcd is touched.
  const immutability = await checkBucketProtection(deps.store, config.immutability);
  const cleaned = await cleanupLeftovers(deps);
  // The key carries this host's time: a clock the store disagrees with is refused before anything is written.
  await checkClock(deps.store, (deps.now ?? (() => new Date()))(), config.clockSkewToleranceMs);
  return withClients(config.etcd.endpoints, connect, async (clients) => {
    const probes = await Promise.all(config.etcd.endpoints.map((e) => probeMember(e, clients.get(e) as Etcd3)));
    const { ranked, rejected } = rankMembers(probes);
    for (const p of rejected) log.warn('etcd member not used', { endpoint: p.endpoint, error: p.error });
    if (ranked.length === 0) {
      const first = rejected[0]?.error;
      throw new BackupError(
        first?.code ?? 'etcd-unreachable',
        `no healthy etcd member: ${rejected.map((p) => p.error?.message ?? p.endpoint).join('; ')}`,
        {
          cause: first,
          hint: first?.hint ?? 'check ETCD_ENDPOINTS and the health of the cluster',
        },
      );
    }
    const newest = await previousSnapshot(deps);
    const { sources, consistency } = await checkSources(deps, newest, ranked, clients);
    const choice = chooseCompression(config.compression, newest?.manifest);
    if (choice.reason) log.info('storing the snapshot plain', { compression: config.compression, reason: choice.reason });
    const attempts: SnapshotAttempt[] = [];
    let lastError: unknown;
    for (let i = 0; i < config.snapshotAttempts; i++) {
      const member = sources[i % sources.length] as MemberStatus;
      try {
        const result = await streamOnce(deps, member, clients.get(member.endpoint) as Etcd3, immutability, choice);
        result.attempts = [...attempts, { endpoint: member.endpoint }];
        result.consistency = consistency;
        if (consistency.diverged.length > 0) result.ok = false;
        if (cleaned.length > 0) result.cleaned = cleaned;
        return result;
      } catch (error) {
        lastError = error;
        attempts.push({ endpoint: member.endpoint, error: describeError(error) });
        const code = error instanceof BackupError ? error.code : 'etcd-stream';
        if (!RETRYABLE.has(code) || deps.signal?.aborted) break;
        log.warn('snapshot attempt failed; trying the next member', { attempt: i + 1, endpoint: member.endpoint, error });
      }
    }
    if (lastError instanceof BackupError && attempts.length === 1) throw lastError;
    throw new BackupError(
      lastError instanceof BackupError ? lastError.code : 'etcd-stream',
      `snapshot failed after ${attempts.length} attempt(s): ${attempts.map((a) => `${a.endpoint}: ${a.error?.message}`).join('; ')}`,
      { cause: lastError },
    );
  });
}
