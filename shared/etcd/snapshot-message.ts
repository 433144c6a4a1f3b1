// The one field this tool reads from etcd's SnapshotResponse messages, decoded straight from the protobuf
// wire format. etcd3's generic decoder builds, for every 32 KiB message, a response object, a header
// object and five int64 fields turned into strings (`longs: String`), none of which the snapshot needs:
// CPU per message and, worse, small objects that live as long as the message waits in the pipeline
// (backpressure from the store), get promoted, and grow the old generation until a full GC (the figures
// are in docs/benchmarks.md, "Memory").
//
//   message SnapshotResponse { ResponseHeader header = 1; uint64 remaining_bytes = 2; bytes blob = 3; }

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;
const BLOB_FIELD = 3;

export const SNAPSHOT_METHOD = '/etcdserverpb.Maintenance/Snapshot';

/** SnapshotRequest has no fields: its encoding is empty. */
export function encodeSnapshotRequest(): Buffer {
  return Buffer.alloc(0);
}

class WireFormatError extends Error {
  constructor(message: string) {
    super(`malformed SnapshotResponse from etcd: ${message}`);
  }
}

/** A position in a message; reading a varint moves it past. (A class, not [value, next] pairs: this runs ~3 times per message.) */
class WireReader {
  at = 0;
  constructor(private readonly b: Buffer) {}

  /** Values past 2^53 only matter as lengths, and are refused there. */
  varint(): number {
    const { b, at } = this;
    let value = 0;
    let scale = 1;
    for (let i = at; i < b.length && i < at + 10; i++) {
      const byte = b[i] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        this.at = i + 1;
        return value;
      }
      scale *= 128;
    }
    throw new WireFormatError(`truncated varint at byte ${at}`);
  }
}

/**
 * The message's `blob` as a view into the message buffer (no copy); an empty buffer when the message has
 * none. Fields are skipped by wire type, so fields a later etcd adds do not break the decoder; a repeated
 * `blob` takes the last value, as protobuf's rules say.
 */
export function decodeSnapshotBlob(message: Buffer): Buffer {
  let blob = message.subarray(0, 0);
  const reader = new WireReader(message);
  while (reader.at < message.length) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === WIRE_VARINT) {
      reader.varint();
    } else if (wireType === WIRE_FIXED64) {
      reader.at += 8;
    } else if (wireType === WIRE_FIXED32) {
      reader.at += 4;
    } else if (wireType === WIRE_LENGTH_DELIMITED) {
      const length = reader.varint();
      const start = reader.at;
      reader.at = start + length;
      if (reader.at > message.length) throw new WireFormatError(`field ${field} runs ${reader.at - message.length} bytes past the message`);
      if (field === BLOB_FIELD) blob = message.subarray(start, reader.at);
    } else {
      throw new WireFormatError(`unsupported wire type ${wireType} at byte ${reader.at - 1}`);
    }
  }
  if (reader.at > message.length) throw new WireFormatError('last field runs past the message');
  return blob;
}
