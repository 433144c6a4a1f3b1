// The pure parts of the checks before a snapshot: the majority of the members' hashes, the cluster id
// setting, the MemberDivergence metric. The checks against real etcd are in
// test/integration/etcd-consistency.test.ts.
import { describe, expect, it } from 'vitest';
import { clusterIdHex } from '../../shared/cluster-identity.js';
import { loadConfig } from '../../shared/config/config.js';
import { ConfigError } from '../../shared/errors.js';
import { majorityHash, MemberDivergenceError, type MemberHash } from '../../shared/etcd/consistency.js';
import { emfDocument } from '../../shared/platform/metrics.js';

const hashes = (...values: string[]): MemberHash[] => values.map((hash, i) => ({ endpoint: `m${i}`, memberId: String(i), hash }));

describe('the majority of the members hashes', () => {
  it('is the strict majority; the others diverge', () => {
    const { agreed, diverged } = majorityHash(hashes('1', '2', '1'));
    expect(agreed.map((h) => h.endpoint)).toEqual(['m0', 'm2']);
    expect(diverged.map((h) => h.endpoint)).toEqual(['m1']);
    expect(majorityHash(hashes('7', '7')).diverged).toEqual([]);
  });

  it('does not exist when 2 of 2, 2 of 4 or 3 different hashes disagree: refused, naming every member', () => {
    for (const values of [
      ['1', '2'],
      ['1', '1', '2', '2'],
      ['1', '2', '3'],
    ]) {
      const error = (() => {
        try {
          majorityHash(hashes(...values));
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(MemberDivergenceError);
      expect((error as MemberDivergenceError).code).toBe('member-divergence');
      for (let i = 0; i < values.length; i++) expect((error as Error).message).toContain(`m${i}`);
    }
  });
});

describe('ETCD_CLUSTER_ID', () => {
  it('takes the id in hex as etcd prints it, with or without 0x, in either case', () => {
    expect(loadConfig({ ETCD_CLUSTER_ID: 'CDF818194E3A8C32' }).etcd.clusterId).toBe('cdf818194e3a8c32');
    expect(loadConfig({ ETCD_CLUSTER_ID: '0xcdf818194e3a8c32' }).etcd.clusterId).toBe('cdf818194e3a8c32');
    expect(loadConfig({ ETCD_CLUSTER_ID: '0a1b' }).etcd.clusterId).toBe('a1b');
    expect(loadConfig({}).etcd.clusterId).toBeUndefined();
  });

  it('refuses what is not a 64-bit id, naming the setting', () => {
    for (const value of ['not-an-id', '0', '1cdf818194e3a8c32']) {
      expect(() => loadConfig({ ETCD_CLUSTER_ID: value })).toThrow(ConfigError);
      try {
        loadConfig({ ETCD_CLUSTER_ID: value });
      } catch (error) {
        expect((error as ConfigError).setting).toBe('ETCD_CLUSTER_ID');
      }
    }
  });

  it('compares with the decimal id etcd3 and the manifests carry', () => {
    expect(clusterIdHex('14841639068965178418')).toBe('cdf818194e3a8c32');
  });
});

describe('the MemberDivergence metric', () => {
  const consistency = (diverged: string[]) => ({ compared: true, revision: 9, compactRevision: 0, hashes: [], diverged, unchecked: [] });

  it('counts the diverged members of a run that compared them, 0 when they agree', () => {
    const run = (diverged: string[]) =>
      emfDocument('c', {
        task: 'snapshot',
        ok: diverged.length === 0,
        durationMs: 1,
        result: { ok: true, consistency: consistency(diverged) },
      });
    expect(run([])).toMatchObject({ MemberDivergence: 0 });
    expect(run(['http://m1'])).toMatchObject({ MemberDivergence: 1, Failures: 1 });
  });

  it('counts every member compared when no majority agreed (the run refused)', () => {
    const doc = emfDocument('c', { task: 'snapshot', ok: false, durationMs: 1, error: new MemberDivergenceError(hashes('1', '2')) });
    expect(doc).toMatchObject({ MemberDivergence: 2, Failures: 1 });
  });

  it('is absent when no comparison was made (one member)', () => {
    const doc = emfDocument('c', { task: 'snapshot', ok: true, durationMs: 1, result: { ok: true, consistency: { compared: false } } });
    expect(doc).not.toHaveProperty('MemberDivergence');
  });
});
