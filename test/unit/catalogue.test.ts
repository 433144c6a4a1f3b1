// Listed vs detailed snapshots, on a directory store (a real store that needs no service): a listing reads
// names only; loadDetails returns new entries with state, manifest and exclusion mark, leaving the listed ones as they were.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXCLUDE_REASON_TAG,
  EXCLUDE_TAG,
  isGood,
  type ListingEntry,
  listSnapshots,
  loadDetails,
  withDetails,
} from '../../shared/catalogue.js';
import { MANIFEST_FORMAT } from '../../shared/manifest.js';
import { findNewest } from '../../shared/selection.js';
import { LocalStore } from '../../shared/store/local.js';
import { excludeTask } from '../../shared/tasks/exclude.js';
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
      expect(Object.keys(entry).sort()).toEqual(['key', 'requestedRevision', 'sidecars', 'size', 'storedAt', 'time']);
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

describe('catalogue: manifests this code cannot use', () => {
  let root: string;
  let store: LocalStore;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'catalogue-manifests-'));
    store = new LocalStore(root);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a manifest of a newer format is newer-format; one missing fields is invalid-manifest; neither is good', async () => {
    const day = (d: number) => new Date(`2026-02-0${d}T00:00:00Z`);
    const newer = await plantSnapshot(store, 'm', day(1), {
      editManifest: (m) => {
        m.format = MANIFEST_FORMAT + 1;
        delete m.checks;
      },
    });
    const noChecks = await plantSnapshot(store, 'm', day(2), { editManifest: (m) => delete m.checks });
    const noEtcd = await plantSnapshot(store, 'm', day(3), { editManifest: (m) => delete m.etcd });
    const noCreatedAt = await plantSnapshot(store, 'm', day(4), { editManifest: (m) => delete m.createdAt });
    const detailed = await loadDetails(store, await listSnapshots(store, 'm'));
    const state = (key: string) => detailed.find((e) => e.key === key)?.state;
    expect(state(newer.key)).toBe('newer-format');
    for (const planted of [noChecks, noEtcd, noCreatedAt]) expect(state(planted.key)).toBe('invalid-manifest');
    expect(detailed.filter((e) => isGood(e))).toEqual([]);
    expect(detailed.every((e) => e.manifest === undefined)).toBe(true);
  });

  it("a manifest whose compression or stored size is not the object's is invalid-manifest; one that is, complete", async () => {
    const day = (d: number) => new Date(`2026-03-0${d}T00:00:00Z`);
    const zstd = await plantSnapshot(store, 'z', day(1), { compression: 'zstd' });
    const saysNone = await plantSnapshot(store, 'z', day(2), { compression: 'zstd', editManifest: (m) => (m.compression = 'none') });
    const plainSaysZstd = await plantSnapshot(store, 'z', day(3), {
      editManifest: (m) => Object.assign(m, { compression: 'zstd', storedSize: 64 }),
    });
    const wrongStored = await plantSnapshot(store, 'z', day(4), { compression: 'gzip', editManifest: (m) => (m.storedSize = 63) });
    // A compressed snapshot's manifest must say how many bytes are stored, even where `size` happens to match.
    const noStored = await plantSnapshot(store, 'z', day(5), {
      compression: 'zstd',
      editManifest: (m) => {
        delete m.storedSize;
        m.size = 64;
      },
    });
    const detailed = await loadDetails(store, await listSnapshots(store, 'z'));
    const state = (key: string) => detailed.find((e) => e.key === key)?.state;
    expect(state(zstd.key)).toBe('complete');
    for (const planted of [saysNone, plainSaysZstd, wrongStored, noStored])
      expect(state(planted.key), planted.key).toBe('invalid-manifest');
  });
});

describe('catalogue: which snapshot is newest', () => {
  let root: string;
  let store: LocalStore;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'catalogue-newest-'));
    store = new LocalStore(root);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a key from a clock running a day ahead, with a lower revision, does not beat a snapshot written after it', async () => {
    const future = await plantSnapshot(store, 'clock', new Date(Date.now() + 86_400_000), { revision: 5 });
    const real = await plantSnapshot(store, 'clock', new Date(Date.now() + 5), { revision: 9 });
    const entries = await listSnapshots(store, 'clock');
    expect(entries.map((e) => e.key)).toEqual([real.key, future.key]);
    expect((await findNewest(store, entries, (e) => isGood(e)))?.key).toBe(real.key);
  });

  it("a copy orders by when its data was taken, and inherits its original's exclusion, marked before or after the copy", async () => {
    const hour = (h: number) => new Date(Date.UTC(2026, 0, 10, h));
    const original = await plantSnapshot(store, 'copies', hour(1), { revision: 10 });
    const between = await plantSnapshot(store, 'copies', hour(2), { revision: 20 });
    const copy = await plantSnapshot(store, 'copies', hour(3), {
      revision: 10,
      editManifest: (m) => {
        m.copyOf = original.key;
        m.createdAt = hour(1).toISOString();
      },
    });
    const entries = await listSnapshots(store, 'copies');
    expect(entries[0]?.key).toBe(copy.key); // listed newest (its key's time)...
    expect((await findNewest(store, entries, (e) => isGood(e)))?.key).toBe(between.key); // ...but its data is older

    await excludeTask({ config: { cluster: 'copies' }, store }, { key: between.key });
    expect((await findNewest(store, entries, (e) => isGood(e)))?.key).toBe(copy.key);

    // Excluding the original reaches the copy: through the original's mark, and through the copy's own.
    const excluded = await excludeTask({ config: { cluster: 'copies' }, store }, { key: original.key, reason: 'bad data' });
    expect(excluded.copies).toEqual([copy.key]);
    expect(await findNewest(store, entries, (e) => isGood(e))).toBeUndefined();
    await store.setTags(copy.key, {});
    const [detailedCopy] = await loadDetails(store, entries.slice(0, 1));
    expect(detailedCopy?.excluded).toEqual({ reason: 'bad data', source: original.key });
    await excludeTask({ config: { cluster: 'copies' }, store }, { key: original.key, undo: true });
    expect((await findNewest(store, entries, (e) => isGood(e)))?.key).toBe(copy.key);
  });
});
