import { loadSync } from '@grpc/proto-loader';
import { createRequire } from 'node:module';

// etcd3's own message definitions, loaded the way etcd3 loads them: an encoder for SnapshotResponse that
// is independent of the tool's decoder (shared/etcd/snapshot-message.ts).
const rpcProto = createRequire(import.meta.url).resolve('etcd3/proto/rpc.proto');
const snapshotMethod = loadSync(rpcProto, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true })[
  'etcdserverpb.Maintenance'
] as unknown as {
  Snapshot: { path: string; responseSerialize(value: object): Buffer };
};

export const etcdSnapshotMethodPath = snapshotMethod.Snapshot.path;

/** A SnapshotResponse as etcd sends it: header, remaining_bytes, blob. */
export function encodeSnapshotResponse(blob: Buffer, remaining: number): Buffer {
  return snapshotMethod.Snapshot.responseSerialize({
    header: { cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: '987654321', raft_term: '5' },
    remaining_bytes: String(remaining),
    blob,
  });
}
