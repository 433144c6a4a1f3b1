// The status rule and the facts it reads (shared/health.ts), on snapshot entries as loadDetails returns
// them: the one rule for "newest good" and "newest verified" that list, status and their metrics use.
import { describe, expect, it } from 'vitest';
import type { SnapshotEntry } from '../../shared/catalogue.js';
import {
  type AgedSnapshot,
  duration,
  freshness,
  type HealthFacts,
  healthProblems,
  type LastVerification,
  lastVerification,
} from '../../shared/health.js';
import { snapshotKey } from '../../shared/layout.js';

const now = new Date('2026-11-22T12:00:00.000Z');
const at = (iso: string) => new Date(iso);

function entry(time: string, fields: Partial<SnapshotEntry> = {}, revision = Date.parse(time) / 1000): SnapshotEntry {
  const key = snapshotKey('c', at(time), revision);
  return { key, time: at(time), storedAt: at(time), requestedRevision: revision, size: 1, sidecars: [], state: 'complete', ...fields };
}
const verified = (ok: boolean, time: string, key = `c/${time}.verify`) => ({ verification: { ok, time: at(time), key } });

describe('freshness: the newest good and newest verified snapshot, and their ages', () => {
  // Newest first, as a listing: only the last two are good; of them only e is verified.
  const entries = [
    entry('2026-11-22T11:50:00.000Z', { state: 'incomplete' }),
    entry('2026-11-22T11:40:00.000Z', { state: 'failed-checks' }),
    entry('2026-11-22T11:30:00.000Z', { excluded: { reason: 'bad' } }),
    entry('2026-11-22T11:20:00.000Z', verified(false, '2026-11-22T11:25:00.000Z')),
    entry('2026-11-22T11:00:00.000Z', verified(true, '2026-11-22T11:05:00.000Z')),
    entry('2026-11-22T10:00:00.000Z'),
  ];

  it('good = complete, not excluded, not failed by verification (unverified counts); verified = good and its newest verification passed', () => {
    expect(freshness(entries, now)).toEqual({
      newestGood: { key: entries[4]?.key, time: '2026-11-22T11:00:00.000Z', ageSeconds: 3600 },
      newestVerified: { key: entries[4]?.key, time: '2026-11-22T11:00:00.000Z', ageSeconds: 3600 },
    });
    expect(freshness(entries.slice(5), now)).toEqual({
      newestGood: { key: entries[5]?.key, time: '2026-11-22T10:00:00.000Z', ageSeconds: 7200 },
      newestVerified: null,
    });
    expect(freshness(entries.slice(0, 4), now)).toEqual({ newestGood: null, newestVerified: null });
    expect(freshness([], now)).toEqual({ newestGood: null, newestVerified: null });
  });

  it("a protected copy is as old as its original's data, and a key written by a clock running ahead counts from the store's time", () => {
    const copy = entry('2026-11-22T11:00:00.000Z', {
      manifest: { copyOf: 'c/original.db', createdAt: '2026-11-20T12:00:00.000Z' } as SnapshotEntry['manifest'],
    });
    expect(freshness([copy], now).newestGood?.ageSeconds).toBe(2 * 86400);
    const ahead = entry('2026-11-22T13:00:00.000Z', { storedAt: at('2026-11-22T11:30:00.000Z') });
    expect(freshness([ahead], now).newestGood).toMatchObject({ time: '2026-11-22T11:30:00.000Z', ageSeconds: 1800 });
  });
});

describe('lastVerification: the newest verification of any snapshot not excluded', () => {
  const older = entry('2026-11-22T10:00:00.000Z', verified(true, '2026-11-22T11:30:00.000Z'));
  const newer = entry('2026-11-22T11:00:00.000Z', verified(false, '2026-11-22T11:10:00.000Z'));
  it.each([
    ['none verified', [entry('2026-11-22T11:00:00.000Z')], null],
    ['the newest record wins, even of an older snapshot', [newer, older], { key: older.key, ok: true, at: '2026-11-22T11:30:00.000Z' }],
    [
      'a failure of a snapshot that is no longer good still shows',
      [newer, entry('2026-11-22T09:00:00.000Z', verified(true, '2026-11-22T09:10:00.000Z'))],
      { key: newer.key, ok: false, at: '2026-11-22T11:10:00.000Z' },
    ],
    [
      'an excluded snapshot is dealt with: its record does not count',
      [{ ...newer, excluded: {} }, entry('2026-11-22T09:00:00.000Z', verified(true, '2026-11-22T09:10:00.000Z'))],
      { key: expect.any(String), ok: true, at: '2026-11-22T09:10:00.000Z' },
    ],
  ] as const)('%s', (_, entries, expected) => {
    expect(lastVerification(entries)).toEqual(expected);
  });
});

describe('healthProblems: the status rule', () => {
  const good = (ageSeconds: number): AgedSnapshot => ({ key: 'c/k.db', time: '2026-11-22T11:00:00.000Z', ageSeconds });
  const check = (ok: boolean): LastVerification => ({ key: 'c/k.db', ok, at: '2026-11-22T11:05:00.000Z' });
  const locked = { key: 'c/k.db', retainUntil: '2026-12-22T11:00:00.000Z' };
  const H3 = 3 * 3600_000;
  it.each<[string, HealthFacts, number, string[]]>([
    ['fresh, never verified, immutability off', { newestGood: good(3600), lastVerification: null }, H3, []],
    ['fresh, verified ok, locked', { newestGood: good(3600), lastVerification: check(true), lockedCopy: locked }, H3, []],
    ['exactly the maximum age is still ok', { newestGood: good(3 * 3600), lastVerification: null }, H3, []],
    ['a second older is stale', { newestGood: good(3 * 3600 + 1), lastVerification: null }, H3, ['stale']],
    ['0 = age not judged', { newestGood: good(90 * 86400), lastVerification: null }, 0, []],
    ['no good snapshot, whatever the maximum age', { newestGood: null, lastVerification: null }, 0, ['no-good-snapshot']],
    ['the newest verification failed', { newestGood: good(60), lastVerification: check(false) }, H3, ['verification-failed']],
    ['immutability on, nothing locked', { newestGood: good(60), lastVerification: null, lockedCopy: null }, H3, ['no-locked-copy']],
    [
      'everything wrong at once',
      { newestGood: null, lastVerification: check(false), lockedCopy: null },
      H3,
      ['no-good-snapshot', 'verification-failed', 'no-locked-copy'],
    ],
  ])('%s', (_, facts, maxAgeMs, kinds) => {
    const problems = healthProblems(facts, maxAgeMs);
    expect(problems.map((p) => p.kind)).toEqual(kinds);
    for (const p of problems) expect(p.message.length).toBeGreaterThan(20);
  });

  it('says how old and what the limit is', () => {
    expect(healthProblems({ newestGood: good(5 * 3600 + 120), lastVerification: null }, H3)[0]?.message).toBe(
      'the newest good snapshot c/k.db is 5h2m old, more than STATUS_MAX_AGE (3h): check the snapshot runs',
    );
  });

  it.each([
    [0, '0s'],
    [59, '59s'],
    [60, '1m'],
    [3600, '1h'],
    [5400, '1h30m'],
    [86400 + 7200 + 60, '1d2h1m'],
  ])('duration(%i) = %s', (seconds, text) => {
    expect(duration(seconds)).toBe(text);
  });
});
