// How store answers are read (pure: no store). A refused delete counts as retention only while the
// retention lasts; GCS's 404s name a missing bucket or a missing object only in their message, with the
// wording Cloud Storage uses (the emulator cannot produce a missing bucket: it creates buckets on write).
import { describe, expect, it } from 'vitest';
import { gcsError } from '../../shared/store/gcs.js';
import { RETENTION_CLOCK_SLACK_MS, stillRetained } from '../../shared/tasks/prune.js';

const NOW = new Date('2026-03-04T10:30:00.000Z');
const until = (offsetMs: number) => ({ mode: 'governance' as const, retainUntil: new Date(NOW.getTime() + offsetMs) });

describe('a refused delete and the retention of the object', () => {
  it('is retention while the retain-until is ahead, or behind by less than the clock slack', () => {
    expect(RETENTION_CLOCK_SLACK_MS).toBe(5 * 60_000);
    expect(stillRetained(until(60_000), NOW)).toBe(true);
    expect(stillRetained(until(-RETENTION_CLOCK_SLACK_MS + 1000), NOW)).toBe(true);
  });

  it('is not retention once the retain-until is behind by the clock slack or more, nor without one', () => {
    expect(stillRetained(until(-RETENTION_CLOCK_SLACK_MS), NOW)).toBe(false);
    expect(stillRetained(until(-24 * 3_600_000), NOW)).toBe(false);
    expect(stillRetained(undefined, NOW)).toBe(false);
  });
});

describe('GCS 404s', () => {
  const notFound = (message: string) => Object.assign(new Error(message), { code: 404 });

  it('a missing object is store-not-found, whatever the bucket and object are called', () => {
    const error = gcsError(notFound('No such object: my-bucket-x/bucket-backups/c/x.db'), 'stat', 'my-bucket-x', 'bucket-backups/c/x.db');
    expect(error.code).toBe('store-not-found');
    expect(gcsError(notFound('Not Found'), 'stat', 'backup-bucket', 'etcd/c/x.db').code).toBe('store-not-found');
  });

  it('a missing bucket is store-bucket-missing, also when its name contains "bucket"', () => {
    for (const bucket of ['backups', 'my-bucket-x']) {
      const error = gcsError(notFound('The specified bucket does not exist.'), 'list', bucket, 'etcd/c/');
      expect(error.code).toBe('store-bucket-missing');
    }
  });
});
