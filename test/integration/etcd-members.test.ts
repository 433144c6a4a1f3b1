// Which member serves the snapshot, and failing over when one is down.
import type { SettingValues } from '../../shared/config/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rankMembers, MAX_APPLIED_LAG, type Probe } from '../../shared/etcd/select-member.js';
import { BackupError } from '../../shared/errors.js';
import { makeBackend } from '../support/backends.js';
import { writeSampleData } from '../support/data.js';
import { CLUSTER_CASES, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { run } from '../support/run.js';

function probe(endpoint: string, fields: { leader?: boolean; applied?: number; cluster?: string; error?: string } = {}): Probe {
  const p: Probe = {
    endpoint,
    status: {
      endpoint,
      clusterId: fields.cluster ?? 'c1',
      memberId: endpoint,
      version: '3.4.23',
      isLeader: fields.leader ?? false,
      raftTerm: 2,
      raftAppliedIndex: fields.applied ?? 100,
      dbSize: 1,
      revision: 5,
    },
  };
  if (fields.error) p.error = new BackupError('etcd-unreachable', fields.error);
  return p;
}

describe('member ranking (pure function over status probes)', () => {
  it('prefers followers, then the most up-to-date, then the configured order', () => {
    const { ranked } = rankMembers([
      probe('a', { leader: true, applied: 120 }),
      probe('b', { applied: 100 }),
      probe('c', { applied: 110 }),
      probe('d', { applied: 110 }),
    ]);
    expect(ranked.map((m) => m.endpoint)).toEqual(['c', 'd', 'b', 'a']);
  });

  it('leaves out unreachable members and followers lagging beyond the limit', () => {
    const { ranked, rejected } = rankMembers([
      probe('a', { leader: true, applied: MAX_APPLIED_LAG + 500 }),
      probe('b', { applied: 100 }),
      { endpoint: 'c', error: new BackupError('etcd-unreachable', 'down') },
    ]);
    expect(ranked.map((m) => m.endpoint)).toEqual(['a']);
    expect(rejected.map((p) => p.endpoint).sort()).toEqual(['b', 'c']);
  });

  it('refuses endpoints of different clusters, as a failed precondition naming ETCD_ENDPOINTS (found by asking them)', () => {
    expect(() => rankMembers([probe('a'), probe('b', { cluster: 'c2' })])).toThrow(
      expect.objectContaining({ code: 'precondition', setting: 'ETCD_ENDPOINTS' }),
    );
  });
});

describe.each(CLUSTER_CASES)('a three-member etcd %s cluster %o', (version, { auth }) => {
  let etcd: EtcdCluster;
  const password = 'members-pw';
  beforeAll(async () => {
    etcd = await startEtcd({ version, members: 3 });
    await writeSampleData(etcd.endpoints, { smallKeys: 100 });
    if (auth) await etcd.enableAuth(password);
  });
  /** A snapshot of every member's endpoint into a fresh local store. */
  const snapshot = async (extra: SettingValues = {}) =>
    run('snapshot', {
      ...(await makeBackend('local')).settings,
      ...(auth ? { ETCD_USERNAME: 'root', ETCD_PASSWORD: password } : {}),
      ETCD_ENDPOINTS: etcd.endpoints.join(','),
      CLUSTER_NAME: 'c',
      ...extra,
    });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('snapshots from a follower when all members are healthy', async () => {
    const outcome = await snapshot();
    expect(outcome.ok).toBe(true);
    const result = outcome.result!;
    const status = JSON.parse(await etcd.etcdctl(['endpoint', 'status', '-w', 'json'], { endpoints: [result.endpoint] })) as {
      Status: { leader: string; header: { member_id: string } };
    }[];
    const member = status[0]?.Status;
    expect(member?.leader).not.toBe(member?.header.member_id);
  });

  it('fails over to a healthy member when the first endpoint is down', async () => {
    await etcd.kill(0);
    const outcome = await snapshot({ ETCD_DIAL_TIMEOUT: '1s' });
    expect(outcome.error).toBeUndefined();
    const result = outcome.result!;
    expect(result.endpoint).not.toBe(etcd.endpoints[0]);
    expect(outcome.log.some((line) => line.includes('etcd member not used') && line.includes(etcd.endpoints[0] as string))).toBe(true);
  });
});
