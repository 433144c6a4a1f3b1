// Member ranking is pure: it works on the probes' results.
import { describe, expect, it } from 'vitest';
import { type MemberStatus, rankMembers } from '../../shared/etcd/select-member.js';

const status = (endpoint: string, clusterId: string, over: Partial<MemberStatus> = {}): MemberStatus => ({
  endpoint,
  clusterId,
  memberId: endpoint,
  version: '3.5.30',
  isLeader: false,
  raftTerm: 2,
  raftAppliedIndex: 100,
  dbSize: 1,
  revision: 10,
  ...over,
});

describe('rankMembers', () => {
  it('refuses endpoints of two clusters as a failed precondition naming ETCD_ENDPOINTS (found by asking them, not in the setting)', () => {
    expect(() =>
      rankMembers([
        { endpoint: 'a', status: status('a', '1') },
        { endpoint: 'b', status: status('b', '2') },
      ]),
    ).toThrow(expect.objectContaining({ code: 'precondition', setting: 'ETCD_ENDPOINTS' }));
  });

  it('puts followers before the leader, then the most up-to-date', () => {
    const { ranked } = rankMembers([
      { endpoint: 'leader', status: status('leader', '1', { isLeader: true, raftAppliedIndex: 120 }) },
      { endpoint: 'behind', status: status('behind', '1', { raftAppliedIndex: 90 }) },
      { endpoint: 'ahead', status: status('ahead', '1', { raftAppliedIndex: 110 }) },
    ]);
    expect(ranked.map((m) => m.endpoint)).toEqual(['ahead', 'behind', 'leader']);
  });
});
