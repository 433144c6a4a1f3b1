import { listSnapshots, loadDetails } from '../catalogue.js';
import type { Config } from '../config/config.js';
import {
  type Freshness,
  findLockedCopy,
  freshness,
  type HealthProblem,
  healthProblems,
  type LastVerification,
  type LockedCopy,
  lastVerification,
} from '../health.js';
import type { ObjectStore } from '../store/index.js';

export interface StatusResult extends Freshness {
  ok: boolean;
  cluster: string;
  store: string;
  /** The time the ages are counted from. */
  checkedAt: string;
  /** STATUS_MAX_AGE in seconds (0: the age is not judged). */
  maxAgeSeconds: number;
  /** The newest verification of any snapshot not marked excluded (see health.lastVerification), or null. */
  lastVerification: LastVerification | null;
  immutability: Config['immutability']['mode'];
  /** Immutability on only: the newest good snapshot the store reports under retention, or null when none is. */
  lockedCopy?: LockedCopy | null;
  /** Why `ok` is false; empty when it is true. */
  problems: HealthProblem[];
}

export interface StatusDeps {
  config: Pick<Config, 'cluster' | 'immutability' | 'statusMaxAgeMs'>;
  store: ObjectStore;
  now?: () => Date;
}

/**
 * Is this cluster's backup healthy? Reads the store only (no etcd): the newest good and newest verified
 * snapshots and their ages, the newest verification, and with immutability on whether a good snapshot is
 * under retention; `ok` by healthProblems.
 */
export async function statusTask(deps: StatusDeps): Promise<StatusResult> {
  const { store, config } = deps;
  const now = (deps.now ?? (() => new Date()))();
  const entries = await loadDetails(store, await listSnapshots(store, config.cluster));
  const fresh = freshness(entries, now);
  const last = lastVerification(entries);
  const locked = config.immutability.mode === 'off' ? undefined : await findLockedCopy(store, entries, now);
  const problems = healthProblems({ newestGood: fresh.newestGood, lastVerification: last, lockedCopy: locked }, config.statusMaxAgeMs);
  return {
    ok: problems.length === 0,
    cluster: config.cluster,
    store: store.description,
    checkedAt: now.toISOString(),
    maxAgeSeconds: config.statusMaxAgeMs / 1000,
    ...fresh,
    lastVerification: last,
    immutability: config.immutability.mode,
    ...(locked === undefined ? {} : { lockedCopy: locked }),
    problems,
  };
}
