import type { Etcd3 } from 'etcd3';
import type { SnapshotEntry } from '../catalogue.js';
import { checkClusterIdentity } from '../cluster-identity.js';
import type { Config } from '../config/config.js';
import { checkMemberConsistency, type ConsistencyReport } from '../etcd/consistency.js';
import type { MemberStatus } from '../etcd/select-member.js';
import type { Logger } from '../log.js';

/**
 * Which of the healthy members may serve the snapshot, checked before anything is written: they serve the
 * cluster CLUSTER_NAME has been backing up (cluster-identity.ts; `newest` is its newest good snapshot),
 * and their data agrees with the majority's (etcd/consistency.ts). A member that diverges is left out and
 * reported.
 */
export async function checkSources(
  deps: { config: Pick<Config, 'cluster' | 'etcd'>; log: Logger },
  newest: SnapshotEntry | undefined,
  ranked: MemberStatus[],
  clients: Map<string, Etcd3>,
): Promise<{ sources: MemberStatus[]; consistency: ConsistencyReport }> {
  const { config, log } = deps;
  // rankMembers has refused endpoints of different clusters: the first member speaks for all.
  checkClusterIdentity(newest, config.cluster, config.etcd.clusterId, ranked[0] as MemberStatus);
  const { sources, report } = await checkMemberConsistency(ranked, clients, { timeoutMs: config.etcd.streamIdleTimeoutMs });
  for (const u of report.unchecked) log.warn('etcd member not used: its data could not be hashed', u);
  if (report.diverged.length > 0) {
    log.error('etcd members diverge from the majority: they are not used, and the run fails', {
      diverged: report.diverged,
      hashes: report.hashes,
      revision: report.revision,
    });
  }
  return { sources, consistency: report };
}
