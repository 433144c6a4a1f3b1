// The object layout is a compatibility promise: these tests pin it.
import { describe, expect, it } from 'vitest';
import type { Compression } from '../../shared/config/config.js';
import {
  classifyKey,
  compressionOfKey,
  manifestKey,
  newestFirst,
  parseSnapshotKey,
  snapshotKey,
  verificationKey,
} from '../../shared/layout.js';

describe('snapshot keys', () => {
  it('have the documented fixed-width form', () => {
    const key = snapshotKey('etcd-a', new Date('2026-11-22T00:12:34.567Z'), 12345, 'none', Buffer.from('a1b2c3d4', 'hex'));
    expect(key).toBe('etcd-a/20261122T001234.567Z-r00000000000000012345-a1b2c3d4.db');
    expect(manifestKey(key)).toBe('etcd-a/20261122T001234.567Z-r00000000000000012345-a1b2c3d4.manifest.json');
    expect(parseSnapshotKey(key, 'etcd-a')).toEqual({
      key,
      cluster: 'etcd-a',
      time: new Date('2026-11-22T00:12:34.567Z'),
      revision: 12345,
    });
  });

  it('sort by time, then revision, including when revisions grow a digit (v99 -> v100)', () => {
    const t = new Date('2026-01-01T00:00:00.000Z');
    const keys = [
      snapshotKey('c', new Date(t.getTime() + 1), 5),
      snapshotKey('c', t, 100),
      snapshotKey('c', t, 99),
      snapshotKey('c', new Date(t.getTime() + 86_400_000 * 400), 1),
    ];
    const ordered = keys
      .map((key) => ({ key }))
      .sort(newestFirst)
      .map((k) => parseSnapshotKey(k.key, 'c'));
    expect(ordered.map((n) => [n?.time.getTime(), n?.revision])).toEqual([
      [t.getTime() + 86_400_000 * 400, 1],
      [t.getTime() + 1, 5],
      [t.getTime(), 100],
      [t.getTime(), 99],
    ]);
  });

  it('are unique for runs in the same millisecond at the same revision', () => {
    const t = new Date();
    const keys = new Set(Array.from({ length: 1000 }, () => snapshotKey('c', t, 7)));
    expect(keys.size).toBe(1000);
  });

  it("parse only the cluster's own keys", () => {
    const key = snapshotKey('etcd-a-2', new Date(), 1);
    expect(parseSnapshotKey(key, 'etcd-a')).toBeUndefined();
    expect(parseSnapshotKey('etcd-a/notes.txt', 'etcd-a')).toBeUndefined();
    expect(parseSnapshotKey('etcd-a/sub/20261122T001234.567Z-r00000000000000012345-a1b2c3d4.db', 'etcd-a')).toBeUndefined();
  });
});

describe('compressed snapshots', () => {
  const time = new Date('2026-11-22T00:12:34.567Z');
  const base = 'etcd-a/20261122T001234.567Z-r00000000000000012345-a1b2c3d4';
  const verifiedAt = new Date('2026-11-22T01:00:00.000Z');
  it.each([
    ['none', `${base}.db`, `${base}.manifest.json`, `${base}.verify-20261122T010000.000Z-0a0b-ok.json`],
    ['zstd', `${base}.db.zst`, `${base}.db.zst.manifest.json`, `${base}.db.zst.verify-20261122T010000.000Z-0a0b-ok.json`],
    ['gzip', `${base}.db.gz`, `${base}.db.gz.manifest.json`, `${base}.db.gz.verify-20261122T010000.000Z-0a0b-ok.json`],
  ] as [Compression, string, string, string][])('%s: the key, its sidecars, and back', (compression, key, manifest, verification) => {
    expect(snapshotKey('etcd-a', time, 12345, compression, Buffer.from('a1b2c3d4', 'hex'))).toBe(key);
    expect(compressionOfKey(key)).toBe(compression);
    expect(manifestKey(key)).toBe(manifest);
    expect(verificationKey(key, verifiedAt, true, Buffer.from('0a0b', 'hex'))).toBe(verification);
    expect(parseSnapshotKey(key, 'etcd-a')).toEqual({ key, cluster: 'etcd-a', time, revision: 12345 });
    expect(classifyKey(manifest, 'etcd-a')).toEqual({ kind: 'manifest', snapshot: key });
    expect(classifyKey(verification, 'etcd-a')).toEqual({ kind: 'verification', snapshot: key, time: verifiedAt, ok: true });
  });

  // The reason for the suffix in the sidecars' names: a version that knows only .db must see nothing of a
  // compressed snapshot, or it would take its manifest for one whose snapshot is gone and prune it.
  it("their sidecars do not have the form of a plain snapshot's sidecars", () => {
    const plainSidecar = /^etcd-a\/\d{8}T\d{6}\.\d{3}Z-r\d{20}-[0-9a-f]{8}\.(manifest\.json|verify-.*\.json)$/;
    for (const compression of ['zstd', 'gzip'] as const) {
      const key = snapshotKey('etcd-a', time, 1, compression);
      expect(manifestKey(key)).not.toMatch(plainSidecar);
      expect(verificationKey(key, verifiedAt, false)).not.toMatch(plainSidecar);
    }
    expect(manifestKey(`${base}.db`)).toMatch(plainSidecar);
  });

  it('other suffixes are not snapshots', () => {
    for (const name of [`${base}.db.xz`, `${base}.zst`, `${base}.db.zst.tmp`, `${base}.db.gz.manifest.json.bak`])
      expect(classifyKey(name, 'etcd-a')).toBeUndefined();
  });
});
