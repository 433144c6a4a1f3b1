import { isGood, newestTakenFirst, READS_IN_PARALLEL, type SnapshotEntry, takenAt } from './catalogue.js';
import type { ObjectStore } from './store/index.js';

/** A snapshot named with when its data was taken and how old that data is. */
export interface AgedSnapshot {
  key: string;
  /** When the data was taken (for a protected copy made by reupload: its original's time). */
  time: string;
  ageSeconds: number;
}

/** The ages the alarms watch: list and status report them, and the metrics read them from either result. */
export interface Freshness {
  /** The newest good snapshot (what restore with --allow-unverified takes), or null. */
  newestGood: AgedSnapshot | null;
  /** The newest good snapshot whose newest verification passed (what restore takes by default), or null. */
  newestVerified: AgedSnapshot | null;
}

export function aged(entry: SnapshotEntry, now: Date): AgedSnapshot {
  const time = takenAt(entry);
  return { key: entry.key, time: time.toISOString(), ageSeconds: Math.max(0, Math.round((now.getTime() - time.getTime()) / 1000)) };
}

/** The newest data first (newestTakenFirst) among the entries that `accept`s. */
const newest = (entries: readonly SnapshotEntry[], accept: (e: SnapshotEntry) => boolean): SnapshotEntry | undefined =>
  entries.filter(accept).sort(newestTakenFirst)[0];

/** Freshness of a cluster's snapshots, details loaded (loadDetails): the rule of catalogue.isGood, as restore applies it. */
export function freshness(entries: readonly SnapshotEntry[], now: Date): Freshness {
  const good = newest(entries, (e) => isGood(e));
  const verified = newest(entries, (e) => isGood(e, { requireVerified: true }));
  return { newestGood: good ? aged(good, now) : null, newestVerified: verified ? aged(verified, now) : null };
}

/** The outcome of the newest verification record, whichever snapshot it is of. */
export interface LastVerification {
  /** The snapshot verified. */
  key: string;
  ok: boolean;
  at: string;
}

/**
 * The newest verification of any snapshot not marked excluded: did the latest check pass? Not only the
 * checks of the newest good snapshot (a failed check makes a snapshot not good, so that would never show a
 * failure): a failure stays here until a later verification passes, or someone excludes (or prune removes)
 * the damaged snapshot, which is how an operator says it has been dealt with.
 */
export function lastVerification(entries: readonly SnapshotEntry[]): LastVerification | null {
  let last: SnapshotEntry['verification'];
  let of: SnapshotEntry | undefined;
  for (const e of entries) {
    const v = e.verification;
    if (!v || e.excluded) continue;
    if (!last || v.time.getTime() > last.time.getTime() || (v.time.getTime() === last.time.getTime() && v.key > last.key)) {
      last = v;
      of = e;
    }
  }
  return last && of ? { key: of.key, ok: last.ok, at: last.time.toISOString() } : null;
}

/** A good snapshot still under retention: what an attacker who gets the credentials cannot delete. */
export interface LockedCopy {
  key: string;
  retainUntil: string;
}

/**
 * The newest good snapshot whose retention, as the store reports it (not as a manifest recorded it),
 * ends after `now`; null when none is. Reads retention newest first, a batch at a time, and stops at the
 * first batch that holds a locked one (usually the first: the newest).
 */
export async function findLockedCopy(store: ObjectStore, entries: readonly SnapshotEntry[], now: Date): Promise<LockedCopy | null> {
  const good = entries.filter((e) => isGood(e)).sort(newestTakenFirst);
  for (let i = 0; i < good.length; i += READS_IN_PARALLEL) {
    const batch = good.slice(i, i + READS_IN_PARALLEL);
    const read = await Promise.all(batch.map(async (e) => ({ key: e.key, retention: await store.getRetention(e.key) })));
    const locked = read.find(({ retention }) => retention !== undefined && retention.retainUntil.getTime() > now.getTime());
    if (locked?.retention) return { key: locked.key, retainUntil: locked.retention.retainUntil.toISOString() };
  }
  return null;
}

export type HealthProblemKind = 'no-good-snapshot' | 'stale' | 'verification-failed' | 'no-locked-copy';

export interface HealthProblem {
  kind: HealthProblemKind;
  message: string;
}

/** What the status rule looks at. */
export interface HealthFacts {
  newestGood: AgedSnapshot | null;
  lastVerification: LastVerification | null;
  /** Undefined when immutability is off (nothing to check). */
  lockedCopy?: LockedCopy | null;
}

/**
 * The status rule: not ok when there is no good snapshot, or the newest is older than maxAgeMs (0 = age not
 * checked), or the newest verification failed, or (immutability on) no good snapshot is under retention.
 * The age of the newest verified snapshot is reported but not judged here: verify runs far less often than
 * snapshot, and its own alarm (maxVerifiedAgeSeconds) watches it.
 */
export function healthProblems(facts: HealthFacts, maxAgeMs: number): HealthProblem[] {
  const problems: HealthProblem[] = [];
  const good = facts.newestGood;
  if (!good)
    problems.push({
      kind: 'no-good-snapshot',
      message: 'there is no good snapshot, so restore has nothing to take: see etcd-backup list, and the snapshot runs',
    });
  else if (maxAgeMs > 0 && good.ageSeconds * 1000 > maxAgeMs)
    problems.push({
      kind: 'stale',
      message: `the newest good snapshot ${good.key} is ${duration(good.ageSeconds)} old, more than STATUS_MAX_AGE (${duration(maxAgeMs / 1000)}): check the snapshot runs`,
    });
  const v = facts.lastVerification;
  if (v && !v.ok)
    problems.push({
      kind: 'verification-failed',
      message: `the newest verification (${v.at}) found ${v.key} damaged: see etcd-backup list, then exclude it or verify a newer one`,
    });
  if (facts.lockedCopy === null)
    problems.push({
      kind: 'no-locked-copy',
      message:
        'no good snapshot is under retention, so nothing is protected from deletion: run etcd-backup reupload, and check the snapshot runs',
    });
  return problems;
}

/** 5400 -> "1h30m": ages as a person on call reads them. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return [d && `${d}d`, h && `${h}h`, m && `${m}m`].filter(Boolean).join('');
}
