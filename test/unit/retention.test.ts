// The retention rules as documented, on synthetic histories with a fake clock (pure: no store, no sleep).
import { describe, expect, it } from 'vitest';
import type { SnapshotEntry } from '../../shared/catalogue.js';
import { loadConfig, type RetentionPolicy } from '../../shared/config/config.js';
import { snapshotKey } from '../../shared/layout.js';
import { planRetention } from '../../shared/retention.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = new Date('2026-03-04T10:30:00.000Z'); // a Wednesday

const OFF: RetentionPolicy = {
  keepWithinMs: 0,
  keepHourlyForMs: 0,
  keepDailyForMs: 0,
  keepWeeklyForMs: 0,
  keepLast: 0,
  maxAgeMs: undefined,
  keepMin: 0,
  incompleteGraceMs: 0,
};

let counter = 0;
function entry(time: Date, fields: Partial<SnapshotEntry> = {}): SnapshotEntry {
  const random = Buffer.alloc(4);
  random.writeUInt32BE(++counter);
  return {
    key: snapshotKey('c', time, 100, 'none', random),
    time,
    storedAt: time,
    requestedRevision: 100,
    size: 1,
    state: 'complete',
    sidecars: [],
    ...fields,
  };
}

function newestFirst(entries: SnapshotEntry[]): SnapshotEntry[] {
  return [...entries].sort((a, b) => (a.key < b.key ? 1 : -1));
}

function kept(entries: SnapshotEntry[], policy: Partial<RetentionPolicy>, now = NOW): Date[] {
  return planRetention(newestFirst(entries), { ...OFF, ...policy }, now)
    .filter((d) => d.keep)
    .map((d) => d.entry.time)
    .sort((a, b) => a.getTime() - b.getTime());
}

const at = (iso: string) => new Date(iso);

describe('time buckets at their edges (UTC)', () => {
  it('keep-within keeps what is strictly younger than the duration', () => {
    const e = [entry(new Date(NOW.getTime() - DAY)), entry(new Date(NOW.getTime() - DAY + 1))];
    expect(kept(e, { keepWithinMs: DAY })).toEqual([new Date(NOW.getTime() - DAY + 1)]);
  });

  it('hourly keeps the newest of each UTC hour; 12:59:59.999 and 13:00 are different hours', () => {
    const e = [
      '2026-03-04T08:10:00.000Z',
      '2026-03-04T08:59:59.999Z',
      '2026-03-04T09:00:00.000Z',
      '2026-03-04T09:20:00.000Z',
      '2026-03-04T09:40:00.000Z',
    ].map((t) => entry(at(t)));
    expect(kept(e, { keepHourlyForMs: 7 * DAY })).toEqual([at('2026-03-04T08:59:59.999Z'), at('2026-03-04T09:40:00.000Z')]);
  });

  it('hourly only looks back as far as its duration', () => {
    const e = [
      entry(at('2026-03-04T10:00:00.000Z')),
      entry(at('2026-03-04T07:30:00.000Z')),
      entry(at('2026-03-04T07:29:59.999Z')),
      entry(at('2026-03-04T06:00:00.000Z')),
    ];
    // 3 h back from 10:30 is 07:30: 07:30:00.000 is exactly 3 h old (not younger), so no bucket rule keeps it.
    expect(kept(e, { keepHourlyForMs: 3 * HOUR })).toEqual([at('2026-03-04T10:00:00.000Z')]);
    expect(kept(e, { keepHourlyForMs: 3 * HOUR + 1 })).toEqual([at('2026-03-04T07:30:00.000Z'), at('2026-03-04T10:00:00.000Z')]);
  });

  it('daily keeps the newest of each UTC day; 23:59:59.999 and 00:00 are different days', () => {
    const e = ['2026-03-02T01:00:00.000Z', '2026-03-02T23:59:59.999Z', '2026-03-03T00:00:00.000Z', '2026-03-03T05:00:00.000Z'].map((t) =>
      entry(at(t)),
    );
    expect(kept(e, { keepDailyForMs: 30 * DAY })).toEqual([at('2026-03-02T23:59:59.999Z'), at('2026-03-03T05:00:00.000Z')]);
  });

  it('weekly keeps the newest of each ISO week; Sunday 23:59:59.999 and Monday 00:00 are different weeks', () => {
    const e = [
      '2026-02-23T00:00:00.000Z',
      '2026-03-01T23:59:59.999Z',
      '2026-03-02T00:00:00.000Z',
      '2026-03-03T12:00:00.000Z',
      '2026-02-22T23:59:59.999Z',
    ].map((t) => entry(at(t)));
    expect(kept(e, { keepWeeklyForMs: 182 * DAY })).toEqual([
      at('2026-02-22T23:59:59.999Z'),
      at('2026-03-01T23:59:59.999Z'),
      at('2026-03-03T12:00:00.000Z'),
    ]);
  });
});

describe('the default policy over four months of snapshots every 15 minutes', () => {
  const start = NOW.getTime() - 120 * DAY;
  const history: SnapshotEntry[] = [];
  for (let t = start; t <= NOW.getTime() - 15 * 60_000; t += 15 * 60_000) history.push(entry(new Date(t)));
  const policy = loadConfig({}).retention;
  const plan = planRetention(newestFirst(history), policy, NOW);
  const keptTimes = plan.filter((d) => d.keep).map((d) => d.entry.time.getTime());

  it('uses the documented defaults', () => {
    expect(policy).toMatchObject({
      keepWithinMs: DAY,
      keepHourlyForMs: 7 * DAY,
      keepDailyForMs: 30 * DAY,
      keepWeeklyForMs: 182 * DAY,
      keepLast: 0,
      keepMin: 3,
      maxAgeMs: undefined,
    });
  });

  it('keeps exactly: the last 24 h, then hourly for 7 days, daily for 30 days, weekly beyond', () => {
    const expected = new Set<number>();
    for (const t of history.map((e) => e.time.getTime())) {
      const age = NOW.getTime() - t;
      const next = t + 15 * 60_000; // the next snapshot in the history (every 15 min, no gaps)
      const lastOfHour = Math.floor(next / HOUR) !== Math.floor(t / HOUR) || next > NOW.getTime() - 15 * 60_000;
      const lastOfDay = Math.floor(next / DAY) !== Math.floor(t / DAY) || next > NOW.getTime() - 15 * 60_000;
      // ISO weeks start on Monday; 1970-01-05 was a Monday.
      const week = (ms: number) => Math.floor((ms - 4 * DAY) / (7 * DAY));
      const lastOfWeek = week(next) !== week(t) || next > NOW.getTime() - 15 * 60_000;
      if (age < DAY || (age < 7 * DAY && lastOfHour) || (age < 30 * DAY && lastOfDay) || (age < 182 * DAY && lastOfWeek)) expected.add(t);
    }
    expect([...keptTimes].sort()).toEqual([...expected].sort());
    // 96 in the last day + 6 x 24 hourly + 23 daily + the weeks before that, roughly.
    expect(keptTimes.length).toBeGreaterThan(96 + 144 + 23);
    expect(keptTimes.length).toBeLessThan(96 + 144 + 23 + 20);
  });

  it('says why for every decision', () => {
    for (const d of plan) expect(d.reasons.length).toBeGreaterThan(0);
  });
});

describe('keep-last, max age, floor and invariants', () => {
  it('PRUNE_KEEP_LAST alone is the whole policy; buckets apply only when set explicitly', () => {
    expect(loadConfig({ PRUNE_KEEP_LAST: '5' }).retention).toMatchObject({
      keepLast: 5,
      keepWithinMs: 0,
      keepHourlyForMs: 0,
      keepDailyForMs: 0,
      keepWeeklyForMs: 0,
    });
    expect(loadConfig({ PRUNE_KEEP_LAST: '5', PRUNE_KEEP_DAILY_FOR: '10d' }).retention).toMatchObject({
      keepLast: 5,
      keepWithinMs: DAY,
      keepDailyForMs: 10 * DAY,
    });
  });

  it('keep-last counts good snapshots only', () => {
    const e = [
      entry(at('2026-03-04T10:00:00.000Z'), { excluded: {} }),
      entry(at('2026-03-04T09:00:00.000Z')),
      entry(at('2026-03-04T08:00:00.000Z')),
      entry(at('2026-03-04T07:00:00.000Z')),
    ];
    expect(kept(e, { keepLast: 2 })).toEqual([at('2026-03-04T08:00:00.000Z'), at('2026-03-04T09:00:00.000Z')]);
  });

  it('max age cuts what rules keep, but not the floor', () => {
    const e = [0, 10, 20, 30, 40].map((d) => entry(new Date(NOW.getTime() - d * DAY - HOUR)));
    expect(kept(e, { keepLast: 5, maxAgeMs: 15 * DAY })).toHaveLength(2);
    expect(kept(e, { keepLast: 5, maxAgeMs: 15 * DAY, keepMin: 4 })).toHaveLength(4);
  });

  it('never deletes the newest good snapshot, even with every rule off', () => {
    const e = [entry(at('2026-01-01T00:00:00.000Z')), entry(at('2025-12-01T00:00:00.000Z'))];
    expect(kept(e, { maxAgeMs: DAY })).toEqual([at('2026-01-01T00:00:00.000Z')]);
  });

  it('an excluded or failed-verification snapshot is not the newest good one', () => {
    const e = [
      entry(at('2026-03-04T10:00:00.000Z'), { excluded: { reason: 'suspect' } }),
      entry(at('2026-03-04T09:00:00.000Z'), { verification: { ok: false, time: NOW, key: 'x' } }),
      entry(at('2026-03-04T08:00:00.000Z')),
    ];
    expect(kept(e, {})).toEqual([at('2026-03-04T08:00:00.000Z')]);
  });

  it('keeps the newest snapshot that verified ok as well as the newest good one', () => {
    const e = [
      entry(at('2026-03-04T10:00:00.000Z')),
      entry(at('2026-03-04T09:00:00.000Z')),
      entry(at('2026-03-04T08:00:00.000Z'), { verification: { ok: true, time: NOW, key: 'v' } }),
    ];
    expect(kept(e, { keepLast: 1 })).toEqual([at('2026-03-04T08:00:00.000Z'), at('2026-03-04T10:00:00.000Z')]);
  });

  it('snapshots with identical timestamps: the one that sorts newest is kept, deterministically', () => {
    const t = at('2026-03-04T10:00:00.000Z');
    const e = [entry(t), entry(t), entry(t)];
    const newest = newestFirst(e)[0];
    for (let i = 0; i < 3; i++) {
      const plan = planRetention(newestFirst(e), { ...OFF, keepLast: 1 }, NOW);
      expect(plan.filter((d) => d.keep).map((d) => d.entry.key)).toEqual([newest?.key]);
    }
  });

  it('a just-uploaded snapshot whose manifest is not written yet survives keep-last 1', () => {
    const e = [entry(new Date(NOW.getTime() - 1000), { state: 'incomplete' }), entry(new Date(NOW.getTime() - HOUR))];
    expect(kept(e, { keepLast: 1, incompleteGraceMs: HOUR })).toHaveLength(2);
    expect(kept(e, { keepLast: 1, incompleteGraceMs: 500 })).toHaveLength(1);
  });

  it('a snapshot whose manifest has a newer format is never deleted, whatever its age and the policy', () => {
    const old = entry(new Date(NOW.getTime() - 400 * DAY), { state: 'newer-format' });
    const e = [entry(new Date(NOW.getTime() - HOUR)), old];
    const plan = planRetention(newestFirst(e), { ...OFF, keepLast: 1, maxAgeMs: 30 * DAY }, NOW);
    expect(plan.find((d) => d.entry === old)).toMatchObject({ keep: true, reasons: [expect.stringContaining('newer format')] });
  });
});

describe('keys from a clock running ahead', () => {
  it('count from when the store received them: not younger than keep-within, and not the newest', () => {
    const stored = new Date(NOW.getTime() - 3 * DAY);
    // Written three days ago by a host whose clock was ten days ahead: its key says a week from now.
    const ahead = entry(new Date(NOW.getTime() + 7 * DAY), { storedAt: stored, requestedRevision: 50 });
    const real = entry(new Date(NOW.getTime() - HOUR), { requestedRevision: 90 });
    const plan = planRetention(newestFirst([ahead, real]), { ...OFF, keepLast: 1, keepWithinMs: DAY }, NOW);
    expect(plan.map((d) => [d.entry.key, d.keep])).toEqual([
      [real.key, true],
      [ahead.key, false],
    ]);
  });
});
