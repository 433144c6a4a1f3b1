// The object layout is a compatibility promise: these tests pin it.
import { describe, expect, it } from 'vitest';
import { manifestKey, newestFirst, parseSnapshotKey, snapshotKey } from '../../shared/layout.js';

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
