import type { Etcd3 } from 'etcd3';
import { BackupError, PreconditionError } from '../errors.js';
import { etcdError } from './errors.js';

export interface MemberStatus {
  endpoint: string;
  clusterId: string;
  memberId: string;
  version: string;
  isLeader: boolean;
  raftTerm: number;
  raftAppliedIndex: number;
  dbSize: number;
  /** Cluster revision at the time of the status call. */
  revision: number;
}

export interface Probe {
  endpoint: string;
  status?: MemberStatus;
  error?: BackupError;
}

/** A follower further behind the most advanced member than this (raft entries) is treated as stuck. */
export const MAX_APPLIED_LAG = 10_000;

/**
 * What a member answers while its cluster elects a leader (a member was lost, or the leader stepped down):
 * with auth on, even a status call needs a token, and issuing one goes through raft. An election ends
 * within etcd's election timeout (1 s by default), so such a member is asked again rather than written off.
 */
const DURING_ELECTION = /leader changed|no leader|waiting for leader/i;
const ELECTION_RETRIES = 6;
const ELECTION_RETRY_DELAY_MS = 500;

export async function probeMember(endpoint: string, client: Etcd3): Promise<Probe> {
  for (let attempt = 0; ; attempt++) {
    const probe = await probeOnce(endpoint, client);
    if (attempt === ELECTION_RETRIES || !probe.error || !DURING_ELECTION.test(probe.error.message)) return probe;
    await new Promise((resolve) => setTimeout(resolve, ELECTION_RETRY_DELAY_MS));
  }
}

async function probeOnce(endpoint: string, client: Etcd3): Promise<Probe> {
  try {
    const s = await client.maintenance.status();
    const status: MemberStatus = {
      endpoint,
      clusterId: s.header.cluster_id,
      memberId: s.header.member_id,
      version: s.version,
      isLeader: s.leader === s.header.member_id,
      raftTerm: Number(s.raftTerm),
      raftAppliedIndex: Number(s.raftAppliedIndex ?? s.raftIndex),
      dbSize: Number(s.dbSize),
      revision: Number(s.header.revision),
    };
    const problems = [...(s.errors ?? [])];
    if (s.isLearner) problems.push('member is a learner (not yet in sync)');
    if (s.leader === '0') problems.push('member has no leader (partitioned or quorum lost)');
    if (problems.length > 0) {
      return { endpoint, status, error: new BackupError('etcd-unreachable', `${endpoint} is unhealthy: ${problems.join('; ')}`) };
    }
    return { endpoint, status };
  } catch (error) {
    return { endpoint, error: etcdError(error, endpoint, 'status of') };
  }
}

/**
 * Orders the healthy members for the snapshot: followers before the leader (a snapshot reads the whole
 * database; the leader keeps serving writes and heartbeats undisturbed), then the most up-to-date
 * (highest raft applied index), then the order of ETCD_ENDPOINTS. Members that are unreachable, report
 * alarms, are learners, have no leader, or lag the most advanced member by more than MAX_APPLIED_LAG
 * entries are left out, and so is everything when the endpoints belong to different clusters.
 */
export function rankMembers(probes: Probe[]): { ranked: MemberStatus[]; rejected: Probe[] } {
  const healthy = probes.filter((p): p is Probe & { status: MemberStatus } => p.status !== undefined && p.error === undefined);
  const clusters = new Set(probes.flatMap((p) => (p.status ? [p.status.clusterId] : [])));
  if (clusters.size > 1) {
    throw new PreconditionError(
      'ETCD_ENDPOINTS',
      `the endpoints belong to ${clusters.size} different etcd clusters (${[...clusters].join(', ')})`,
      'list the members of one cluster only; back up each cluster with its own CLUSTER_NAME',
    );
  }
  const best = Math.max(0, ...healthy.map((p) => p.status.raftAppliedIndex));
  const rejected = probes.filter((p) => p.status === undefined || p.error !== undefined);
  const ranked: MemberStatus[] = [];
  for (const p of healthy) {
    if (best - p.status.raftAppliedIndex > MAX_APPLIED_LAG) {
      rejected.push({
        ...p,
        error: new BackupError('etcd-unreachable', `${p.endpoint} lags ${best - p.status.raftAppliedIndex} raft entries behind`),
      });
    } else {
      ranked.push(p.status);
    }
  }
  const order = new Map(probes.map((p, i) => [p.endpoint, i]));
  ranked.sort(
    (a, b) =>
      Number(a.isLeader) - Number(b.isLeader) ||
      b.raftAppliedIndex - a.raftAppliedIndex ||
      (order.get(a.endpoint) ?? 0) - (order.get(b.endpoint) ?? 0),
  );
  return { ranked, rejected };
}
