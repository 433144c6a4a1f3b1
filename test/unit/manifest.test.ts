// What counts as a manifest: every field the tool reads, typed; a newer format is recognised as such.
import { describe, expect, it } from 'vitest';
import { compressionOf, isManifest, isNewerManifest, MANIFEST_FORMAT, storedSizeOf } from '../../shared/manifest.js';
import { plantedManifest } from '../support/plant.js';

const valid = (): Record<string, unknown> => ({ ...plantedManifest('c/k.db', 'c', new Date('2026-01-01T00:00:00Z'), 64, 7) });

describe('isManifest', () => {
  it('accepts a manifest as the snapshot task writes it, and a copy naming its original', () => {
    expect(isManifest(valid())).toBe(true);
    expect(isManifest({ ...valid(), copyOf: 'c/original.db' })).toBe(true);
  });

  it('accepts each compression with its stored size; one written before compression existed is a plain snapshot', () => {
    for (const compression of ['zstd', 'gzip', 'none'])
      expect(isManifest({ ...valid(), key: 'c/k.db.zst', compression, storedSize: 20 })).toBe(true);
    const old = valid();
    expect(isManifest(old) && [compressionOf(old), storedSizeOf(old)]).toEqual(['none', 64]);
    const zstd = { ...valid(), compression: 'zstd', storedSize: 20 };
    expect(isManifest(zstd) && [compressionOf(zstd), storedSizeOf(zstd)]).toEqual(['zstd', 20]);
  });

  it.each([
    'format',
    'key',
    'cluster',
    'createdAt',
    'completedAt',
    'size',
    'sha256',
    'revision',
    'compactRevision',
    'requestedRevision',
    'totalKey',
    'totalSize',
    'etcd',
    'checks',
    'tool',
  ])('refuses a manifest without %s', (field) => {
    const m = valid();
    delete m[field];
    expect(isManifest(m)).toBe(false);
    expect(isNewerManifest(m)).toBe(false);
  });

  it.each([
    ['checks without ok', { checks: { problems: [] } }],
    ['checks.problems not a list', { checks: { ok: true, problems: 'none' } }],
    ['etcd without clusterId', { etcd: { version: '3.5', memberId: '1', endpoint: 'x', isLeader: true } }],
    ['a revision as a string', { revision: '7' }],
    ['a negative size', { size: -1 }],
    ['a createdAt that is no time', { createdAt: 'yesterday' }],
    ['copyOf not a string', { copyOf: 1 }],
    ['an unknown compression', { compression: 'xz' }],
    ['a storedSize that is no count', { storedSize: '20' }],
  ])('refuses %s', (_, change) => {
    expect(isManifest({ ...valid(), ...change })).toBe(false);
  });

  it.each([null, [], 'manifest', 1])('refuses %o', (value) => {
    expect(isManifest(value)).toBe(false);
    expect(isNewerManifest(value)).toBe(false);
  });
});

describe('a manifest of a newer format', () => {
  it('is not a manifest this code reads, but is recognised as newer (whatever else it holds)', () => {
    const newer = { ...valid(), format: MANIFEST_FORMAT + 1 };
    expect(isManifest(newer)).toBe(false);
    expect(isNewerManifest(newer)).toBe(true);
    expect(isNewerManifest({ format: MANIFEST_FORMAT + 1 })).toBe(true);
  });

  it('an older or non-numeric format is not "newer"', () => {
    expect(isNewerManifest({ ...valid(), format: 0 })).toBe(false);
    expect(isNewerManifest({ ...valid(), format: '2' })).toBe(false);
  });
});
