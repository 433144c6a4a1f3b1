import { isGood, newestTakenFirst, type SnapshotEntry, takenAt } from './catalogue.js';
import type { RetentionPolicy } from './config/config.js';

export interface Decision {
  entry: SnapshotEntry;
  keep: boolean;
  /** Why: every rule that keeps it, or why it goes. */
  reasons: string[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function hourOf(time: Date): string {
  return time.toISOString().slice(0, 13);
}

function dayOf(time: Date): string {
  return time.toISOString().slice(0, 10);
}

/** The Monday (UTC) that starts the ISO week of `time`. */
function weekOf(time: Date): string {
  const midnight = Math.floor(time.getTime() / DAY) * DAY;
  const weekday = (new Date(midnight).getUTCDay() + 6) % 7; // Monday = 0
  return `week of ${dayOf(new Date(midnight - weekday * DAY))}`;
}

/**
 * Decides, for entries with their details loaded, which are kept and why (the rules are described with
 * RetentionPolicy). Pure: the same entries, policy and `now` always give the same plan, newest first.
 * A snapshot's time is when its data was taken (takenAt: a copy counts from its original, and a key written
 * by a clock running ahead from when the store received it), and "newest" is newestTakenFirst, the order
 * restore chooses by.
 *
 * Invariants, whatever the policy: the newest good snapshot and the newest good snapshot that verified ok
 * are never deleted ("good": complete, not excluded, not failed by its newest verification); nor is a
 * snapshot whose manifest has a newer format than this code knows. Everything else is deleted.
 */
export function planRetention(entries: SnapshotEntry[], policy: RetentionPolicy, now: Date): Decision[] {
  const decisions = [...entries].sort(newestTakenFirst).map((entry) => ({ entry, keep: false, reasons: [] as string[] }));
  const age = (e: SnapshotEntry) => now.getTime() - takenAt(e).getTime();
  const good = decisions.filter((d) => isGood(d.entry));
  const keep = (d: Decision, reason: string) => {
    d.keep = true;
    d.reasons.push(reason);
  };

  for (const d of decisions) {
    if (age(d.entry) < policy.keepWithinMs) keep(d, `younger than keep-within`);
    if (d.entry.state === 'incomplete' && age(d.entry) < policy.incompleteGraceMs)
      keep(d, 'incomplete but younger than the grace period (a run may be finishing it)');
  }
  const buckets: [number, (t: Date) => string, string][] = [
    [policy.keepHourlyForMs, hourOf, 'newest of hour'],
    [policy.keepDailyForMs, dayOf, 'newest of day'],
    [policy.keepWeeklyForMs, weekOf, 'newest of'],
  ];
  for (const [within, bucketOf, label] of buckets) {
    const seen = new Set<string>();
    for (const d of good) {
      if (age(d.entry) >= within) continue;
      const bucket = bucketOf(takenAt(d.entry));
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      keep(d, `${label} ${bucket}`);
    }
  }
  for (const [i, d] of good.slice(0, policy.keepLast).entries()) keep(d, `keep-last ${i + 1}/${policy.keepLast}`);

  if (policy.maxAgeMs !== undefined) {
    for (const d of decisions) {
      if (d.keep && age(d.entry) > policy.maxAgeMs) {
        d.keep = false;
        d.reasons = [`older than max-age (kept by: ${d.reasons.join('; ')})`];
      }
    }
  }
  for (const [i, d] of good.slice(0, policy.keepMin).entries())
    keep(d, `floor: one of the ${policy.keepMin} newest good snapshots (${i + 1})`);

  const newestGood = good[0];
  if (newestGood) keep(newestGood, 'invariant: the newest good snapshot');
  const newestVerified = good.find((d) => d.entry.verification?.ok === true);
  if (newestVerified) keep(newestVerified, 'invariant: the newest snapshot that verified ok');
  // Placed after max-age: what a newer version wrote is that version's to judge, whatever its age.
  for (const d of decisions)
    if (d.entry.state === 'newer-format') keep(d, 'invariant: its manifest has a newer format than this version knows');

  for (const d of decisions) {
    if (d.keep) continue;
    if (d.reasons.length > 0) continue;
    const e = d.entry;
    if (e.state === 'incomplete') d.reasons.push('incomplete (no manifest) and older than the grace period');
    else if (e.state === 'failed-checks') d.reasons.push('failed the checks made while it was taken, and older than keep-within');
    else if (e.state === 'invalid-manifest')
      d.reasons.push('its manifest is unreadable, lacks fields or describes another object, and older than keep-within');
    else if (e.excluded) d.reasons.push('excluded, and older than keep-within');
    else if (e.verification && !e.verification.ok) d.reasons.push('failed verification, and older than keep-within');
    else d.reasons.push('kept by no rule');
  }
  return decisions;
}
