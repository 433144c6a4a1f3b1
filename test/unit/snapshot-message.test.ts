// The tool decodes etcd's SnapshotResponse messages itself (shared/etcd/snapshot-message.ts); the oracle
// here is etcd3's own encoder for them. The real-etcd tests (snapshot, fault drills, auth and TLS) run the
// same decoder on every message etcd 3.4 sends.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeSnapshotBlob, encodeSnapshotRequest, SNAPSHOT_METHOD } from '../../shared/etcd/snapshot-message.js';
import { encodeSnapshotResponse, etcdSnapshotMethodPath } from '../support/etcd-messages.js';

/** A protobuf field: tag (field number, wire type) then its encoded value. */
function field(number: number, wireType: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(number << 3) | wireType]), value]);
}
const lengthDelimited = (bytes: Buffer) => Buffer.concat([Buffer.from([bytes.length]), bytes]);

describe('SnapshotResponse decoding', () => {
  it('gets the blob of a message encoded by etcd3, header and remaining_bytes included, as a view without a copy', () => {
    const blob = randomBytes(32 * 1024);
    const message = encodeSnapshotResponse(blob, 123_456_789_012);
    const decoded = decodeSnapshotBlob(message);
    expect(decoded.equals(blob)).toBe(true);
    expect(decoded.buffer).toBe(message.buffer);
  });

  it('gives an empty blob for a message without one', () => {
    expect(decodeSnapshotBlob(encodeSnapshotResponse(Buffer.alloc(0), 0))).toHaveLength(0);
    expect(decodeSnapshotBlob(Buffer.alloc(0))).toHaveLength(0);
  });

  it('skips fields it does not know, of every wire type, before and after the blob', () => {
    const blob = Buffer.from('the snapshot bytes');
    const message = Buffer.concat([
      field(9, 0, Buffer.from([0xff, 0xff, 0x01])), // varint
      field(10, 1, Buffer.alloc(8, 7)), // fixed64
      field(3, 2, lengthDelimited(blob)),
      field(11, 5, Buffer.alloc(4, 7)), // fixed32
      field(12, 2, lengthDelimited(Buffer.from('later etcd'))),
    ]);
    expect(decodeSnapshotBlob(message).toString()).toBe('the snapshot bytes');
  });

  it('refuses a truncated message, naming SnapshotResponse, instead of passing part of a blob on', () => {
    const message = encodeSnapshotResponse(randomBytes(1000), 0);
    expect(() => decodeSnapshotBlob(message.subarray(0, message.length - 1))).toThrow(
      /malformed SnapshotResponse.*field 3 runs 1 bytes past/,
    );
    expect(() => decodeSnapshotBlob(Buffer.from([0x10, 0xff]))).toThrow(/malformed SnapshotResponse.*truncated varint/);
    expect(() => decodeSnapshotBlob(Buffer.from([0x0b]))).toThrow(/malformed SnapshotResponse.*wire type 3/);
  });

  it('calls the method etcd3 defines, with an empty request', () => {
    expect(SNAPSHOT_METHOD).toBe(etcdSnapshotMethodPath);
    expect(encodeSnapshotRequest()).toHaveLength(0);
  });
});
