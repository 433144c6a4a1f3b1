import type { Etcd3 } from 'etcd3';
import { Readable } from 'node:stream';
import { BackupError } from '../errors.js';
import { etcdError } from './errors.js';
import { decodeSnapshotBlob, encodeSnapshotRequest, SNAPSHOT_METHOD } from './snapshot-message.js';

export interface SnapshotStream {
  /** The snapshot bytes exactly as `etcdctl snapshot save` writes them (database, then sha256 trailer). */
  body: Readable;
  cancel(reason: Error): void;
}

/**
 * Opens Maintenance.Snapshot on one member and waits for the first message, so that an unreachable or
 * refusing member fails here, before any object is created in the store. Backpressure: the body is read
 * on demand, and grpc-js only asks the HTTP/2 stream for more when the consumer does.
 */
type GrpcStream = Readable & { cancel(): void };
interface GrpcClient {
  makeServerStreamRequest(
    method: string,
    serialize: () => Buffer,
    deserialize: (message: Buffer) => Buffer,
    request: object,
    metadata: unknown,
  ): GrpcStream;
}
interface ConnectionPool {
  withConnection<T>(service: 'Maintenance', fn: (args: { client: GrpcClient; metadata: unknown }) => T): Promise<T>;
}

/**
 * Opens the call on etcd3's own connection (same channel, TLS and auth token) rather than through
 * `maintenance.snapshot()`: etcd3 1.1.2 passes the auth metadata there where grpc expects the request
 * message, so the token is never sent and etcd with auth enabled answers "user name is empty". The
 * messages are decoded by snapshot-message.ts: the stream yields each message's blob.
 */
function startSnapshotCall(client: Etcd3): Promise<GrpcStream> {
  const pool = (client.maintenance as unknown as { client: ConnectionPool }).client;
  return pool.withConnection('Maintenance', ({ client: grpc, metadata }) =>
    grpc.makeServerStreamRequest(SNAPSHOT_METHOD, encodeSnapshotRequest, decodeSnapshotBlob, {}, metadata),
  );
}

export async function openSnapshotStream(client: Etcd3, endpoint: string, options: { idleTimeoutMs: number }): Promise<SnapshotStream> {
  let stream: GrpcStream;
  try {
    stream = await startSnapshotCall(client);
  } catch (error) {
    throw etcdError(error, endpoint, 'snapshot from');
  }
  let failure: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timerOff = false;
  const stopIdleTimer = () => {
    timerOff = true;
    clearTimeout(timer);
  };
  const cancel = (reason: Error) => {
    failure ??= reason;
    stopIdleTimer();
    stream.cancel();
  };
  // Re-armed on every message: refresh() reschedules the one timer instead of a clearTimeout and a new
  // setTimeout per message.
  const armIdleTimer = () => {
    if (timerOff) return;
    if (timer) {
      timer.refresh();
      return;
    }
    timer = setTimeout(
      () =>
        cancel(
          new BackupError('etcd-stream', `snapshot from ${endpoint}: no data for ${options.idleTimeoutMs} ms`, {
            hint: 'the member may be overloaded or hung; raise ETCD_STREAM_IDLE_TIMEOUT if this is expected',
          }),
        ),
      options.idleTimeoutMs,
    );
  };

  // The messages' blobs are pushed as they come (no copy), through event handlers rather than async
  // iteration: at ~30,000 messages per GB, per-message promises and iterator results were a visible
  // share of the CPU and of the garbage. The gRPC stream is paused while the body's buffer is full.
  const body = new Readable({
    highWaterMark: 256 * 1024,
    read() {
      // The store wants more: from now on, silence is etcd's again.
      armIdleTimer();
      stream.resume();
    },
    destroy(error, callback) {
      stopIdleTimer();
      stream.cancel();
      callback(error);
    },
  });
  let started = false;
  const firstMessage = new Promise<void>((resolve, reject) => {
    stream.on('data', (blob: Buffer) => {
      armIdleTimer();
      if (blob.length === 0) return;
      if (!body.push(blob)) {
        // The store is slow (backpressure), not etcd: no idle clock while we are not asking for data.
        stream.pause();
        clearTimeout(timer);
        timer = undefined;
      }
      if (!started) {
        started = true;
        resolve();
      }
    });
    stream.on('end', () => {
      stopIdleTimer();
      if (failure) {
        if (started) body.destroy(failure);
        else reject(failure);
        return;
      }
      body.push(null);
      started = true;
      resolve();
    });
    stream.on('error', (error: unknown) => {
      stopIdleTimer();
      const reason = failure ?? etcdError(error, endpoint, 'snapshot stream from');
      // Before the first message nobody listens to the body yet: the caller gets the error instead.
      if (started) body.destroy(reason);
      else reject(reason);
    });
  });
  armIdleTimer();
  try {
    await firstMessage;
  } catch (error) {
    stopIdleTimer();
    stream.cancel();
    throw error;
  }
  return { body, cancel };
}
