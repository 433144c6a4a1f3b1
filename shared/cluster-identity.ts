import { isGood, listSnapshots, loadEntryDetails, type SnapshotEntry } from './catalogue.js';
import { PreconditionError } from './errors.js';
import type { ObjectStore } from './store/index.js';

/** A cluster id as etcd prints it (hex); etcd3 and the manifests carry it in decimal. */
export function clusterIdHex(id: string): string {
  try {
    return BigInt(id).toString(16);
  } catch {
    return id;
  }
}

/**
 * The newest good snapshot of the cluster, reading details one entry at a time from the newest: the
 * newest snapshot is good on a healthy schedule, so a run reads one manifest (and one set of tags).
 */
export async function newestGood(store: ObjectStore, cluster: string): Promise<SnapshotEntry | undefined> {
  for (const entry of await listSnapshots(store, cluster)) {
    const detailed = await loadEntryDetails(store, entry);
    if (detailed && isGood(detailed)) return detailed;
  }
  return undefined;
}

/**
 * Refuses to back up an etcd cluster other than the one CLUSTER_NAME has been backing up: an address
 * reused by another cluster would otherwise put that cluster's data (and secrets) among this one's
 * snapshots, and `restore` (latest) would bring it back. With ETCD_CLUSTER_ID set, that id is the one
 * expected and the stored snapshots are not consulted for it: the way to carry on after a deliberate
 * restore, which gives the cluster a new id. Without it, the expected id is the one in `newest`, the newest
 * good snapshot's manifest (newestGood); a cluster with no good snapshot yet accepts any id.
 */
export function checkClusterIdentity(
  newest: SnapshotEntry | undefined,
  cluster: string,
  pinned: string | undefined,
  member: { endpoint: string; clusterId: string },
): void {
  const serving = clusterIdHex(member.clusterId);
  if (pinned !== undefined) {
    if (serving !== pinned) {
      throw new PreconditionError(
        'ETCD_CLUSTER_ID',
        `${member.endpoint} serves etcd cluster ${serving}, not the cluster ${pinned} this setting names`,
        'check that ETCD_ENDPOINTS lists the members of the intended cluster; after a deliberate restore, set ETCD_CLUSTER_ID to the new id',
      );
    }
    return;
  }
  const recorded = newest?.manifest?.etcd.clusterId;
  if (newest === undefined || recorded === undefined || clusterIdHex(recorded) === serving) return;
  throw new PreconditionError(
    'ETCD_ENDPOINTS',
    `${member.endpoint} serves etcd cluster ${serving}, but the newest good snapshot of "${cluster}" (${newest.key}) ` +
      `was taken from etcd cluster ${clusterIdHex(recorded)}; nothing was written`,
    `if that address now belongs to another cluster, fix ETCD_ENDPOINTS (or back it up under its own CLUSTER_NAME); ` +
      `if this cluster was deliberately restored or recreated, set ETCD_CLUSTER_ID=${serving}`,
  );
}
