// Listed vs detailed snapshots, on a directory store (a real store that needs no service): a listing reads
// names only; loadDetails returns new entries with state, manifest and exclusion mark, leaving the listed ones as they were.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCLUDE_REASON_TAG, EXCLUDE_TAG, type ListingEntry, listSnapshots, loadDetails, withDetails } from '../../shared/catalogue.js';
import { LocalStore } from '../../shared/store/local.js';
import { plantSnapshot } from '../support/plant.js';

const CLUSTER = 'c1';

describe('catalogue: listed and detailed snapshots', () => {
  let root: string;
  let store: LocalStore;
  const keys: Record<'complete' | 'incomplete' | 'excluded', string> = {} as never;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'catalogue-'));
    store = new LocalStore(root);
    keys.complete = (await plantSnapshot(store, CLUSTER, new Date('2026-01-01T00:00:00Z'), { revision: 10 })).key;
    keys.incomplete = (await plantSnapshot(store, CLUSTER, new Date('2026-01-02T00:00:00Z'), { manifest: false })).key;
    keys.excluded = (await plantSnapshot(store, CLUSTER, new Date('2026-01-03T00:00:00Z'), { revision: 30 })).key;
    await store.setTags(keys.excluded, { [EXCLUDE_TAG]: 'true', [EXCLUDE_REASON_TAG]: 'bad deploy' });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a listing has names, sizes and sidecars, and no state, manifest or exclusion', async () => {
    const listed = await listSnapshots(store, CLUSTER);
    expect(listed.map((e) => e.key)).toEqual([keys.excluded, keys.incomplete, keys.complete]);
    for (const entry of listed) {
      expect(Object.keys(entry).sort()).toEqual(['key', 'requestedRevision', 'sidecars', 'size', 'time']);
    }
  });

  it('loadDetails returns detailed entries in the same order and leaves the listed ones unchanged', async () => {
    const listed = await listSnapshots(store, CLUSTER);
    const before: ListingEntry[] = structuredClone(listed);
    const detailed = await loadDetails(store, listed);
    expect(listed).toEqual(before);
    expect(detailed.map((e) => [e.key, e.state, e.manifest?.revision, e.excluded])).toEqual([
      [keys.excluded, 'complete', 30, { reason: 'bad deploy' }],
      [keys.incomplete, 'incomplete', undefined, undefined],
      [keys.complete, 'complete', 10, undefined],
    ]);
  });

  it('withDetails yields the same detailed entries, newest first, as far as the caller reads', async () => {
    const listed = await listSnapshots(store, CLUSTER);
    const seen: string[] = [];
    for await (const entry of withDetails(store, listed)) {
      seen.push(`${entry.key}:${entry.state}`);
      if (entry.key === keys.incomplete) break;
    }
    expect(seen).toEqual([`${keys.excluded}:complete`, `${keys.incomplete}:incomplete`]);
  });
});
