import { text } from 'node:stream/consumers';
import { BackupError } from './errors.js';
import { classifyKey, clusterDir, compressionOfKey, manifestKey, newestFirst } from './layout.js';
import { compressionOf, isManifest, isNewerManifest, type SnapshotManifest, storedSizeOf } from './manifest.js';
import type { ObjectStore } from './store/index.js';

/**
 * complete: snapshot and manifest present, structure checks passed while streaming.
 * failed-checks: complete, but the checks made while streaming found problems (never restored).
 * incomplete: no manifest (the run died after the upload, or the manifest write failed).
 * invalid-manifest: a manifest exists but is unreadable, lacks fields, or describes another object (never restored).
 * newer-format: the manifest was written by a newer version of this tool, in a format this one cannot read:
 *   never chosen, and never deleted by prune (what it says is unknown here, so nothing is decided on it).
 */
export type SnapshotState = 'complete' | 'failed-checks' | 'incomplete' | 'invalid-manifest' | 'newer-format';

/** The tag (S3 object tag, GCS custom metadata) that marks a snapshot restore and "latest" must skip. */
export const EXCLUDE_TAG = 'x-etcd-snapshot-exclude';
export const EXCLUDE_REASON_TAG = 'x-etcd-snapshot-exclude-reason';

export interface Verification {
  ok: boolean;
  time: Date;
  key: string;
}

/** A snapshot as one listing of the store shows it: names and sizes only, nothing read. */
export interface ListingEntry {
  key: string;
  /** The time in the key: the writer's clock. */
  time: Date;
  /**
   * When the store says the object was written (S3 LastModified, GCS timeCreated, a file's mtime): the
   * store's clock, which a writer's clock running ahead cannot move.
   */
  storedAt: Date;
  /** The revision in the key (cluster revision when requested). */
  requestedRevision: number;
  size: number;
  /** The newest verification record (its outcome is in its name). */
  verification?: Verification;
  /** Objects that belong to this snapshot and go with it: manifest, verification records. */
  sidecars: string[];
}

/** A listed snapshot with its details loaded (loadDetails): its manifest, the state it implies, and its exclusion mark. */
export interface SnapshotEntry extends ListingEntry {
  state: SnapshotState;
  manifest?: SnapshotManifest;
  /** Marked excluded, or a copy (reupload) of a snapshot that is: `source` names it. */
  excluded?: { reason?: string; source?: string };
}

/** S3 object times are whole seconds: a key's time may exceed its object's by up to this much. */
const STORE_TIME_RESOLUTION_MS = 1000;

/**
 * The time a listing can vouch for: the key's time, but never later than the store's own time of the write.
 * Snapshots are taken before they are stored, so on a host with a sane clock this is the key's time; a key
 * written by a clock running ahead counts from when the store received it.
 */
export function listedTime(entry: ListingEntry): Date {
  return entry.time.getTime() <= entry.storedAt.getTime() + STORE_TIME_RESOLUTION_MS ? entry.time : entry.storedAt;
}

/**
 * When the snapshot's data was taken. For a protected copy (reupload, bucket mode) that is its original's
 * time, recorded in the manifest; never later than the copy's own listed time.
 */
export function takenAt(entry: SnapshotEntry): Date {
  const listed = listedTime(entry);
  const original = entry.manifest?.copyOf === undefined ? undefined : Date.parse(entry.manifest.createdAt);
  return original !== undefined && original < listed.getTime() ? new Date(original) : listed;
}

/** Listing order, newest first: listed time, then key (time, revision, random). */
export function newestListedFirst(a: ListingEntry, b: ListingEntry): number {
  return listedTime(b).getTime() - listedTime(a).getTime() || newestFirst(a, b);
}

/**
 * Newest data first: when the data was taken, then the revision (monotonic within a cluster), then the key
 * (of two copies of the same data, the later copy first).
 */
export function newestTakenFirst(a: SnapshotEntry, b: SnapshotEntry): number {
  return takenAt(b).getTime() - takenAt(a).getTime() || b.requestedRevision - a.requestedRevision || newestFirst(a, b);
}

const READS_IN_PARALLEL = 16;

/** The store says the object is not there (any more). */
const isGone = (error: unknown) => error instanceof BackupError && error.code === 'store-not-found';

/**
 * The manifest; 'invalid' when it exists but is not a manifest; 'gone' when it was listed but deleted since
 * (a concurrent prune). A manifest that cannot be read for another reason (the store failing) fails the
 * caller: deciding on an unknown state could delete a good snapshot.
 */
async function readManifest(store: ObjectStore, key: string): Promise<SnapshotManifest | 'invalid' | 'newer' | 'gone'> {
  let body: string;
  try {
    body = await text(await store.get(key));
  } catch (error) {
    if (isGone(error)) return 'gone';
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'invalid';
  }
  return isManifest(parsed) ? parsed : isNewerManifest(parsed) ? 'newer' : 'invalid';
}

export interface ClusterListing {
  /** Newest first. */
  snapshots: ListingEntry[];
  /** Sidecars (manifests, verification records) whose snapshot no longer exists. */
  orphans: string[];
}

/**
 * Everything this tool wrote for one cluster, from one listing of `<cluster>/` (a directory boundary: no
 * other cluster's objects are ever looked at). Manifests and exclusion marks are not read here: see
 * loadDetails, which callers run on the entries they need.
 */
export async function listCluster(store: ObjectStore, cluster: string): Promise<ClusterListing> {
  const entries = new Map<string, ListingEntry>();
  const sidecars: { snapshot: string; key: string; verification?: Verification }[] = [];
  for await (const object of store.list(clusterDir(cluster))) {
    const what = classifyKey(object.key, cluster);
    if (what?.kind === 'snapshot') {
      entries.set(object.key, {
        key: object.key,
        time: what.name.time,
        storedAt: object.lastModified,
        requestedRevision: what.name.revision,
        size: object.size,
        sidecars: [],
      });
    } else if (what?.kind === 'manifest') {
      sidecars.push({ snapshot: what.snapshot, key: object.key });
    } else if (what?.kind === 'verification') {
      sidecars.push({ snapshot: what.snapshot, key: object.key, verification: { ok: what.ok, time: what.time, key: object.key } });
    }
  }
  const orphans: string[] = [];
  for (const sidecar of sidecars) {
    const entry = entries.get(sidecar.snapshot);
    if (!entry) {
      orphans.push(sidecar.key);
      continue;
    }
    entry.sidecars.push(sidecar.key);
    const v = sidecar.verification;
    if (v && (!entry.verification || v.key > entry.verification.key)) entry.verification = v;
  }
  return { snapshots: [...entries.values()].sort(newestListedFirst), orphans };
}

/** The snapshots of one cluster, newest first. */
export async function listSnapshots(store: ObjectStore, cluster: string): Promise<ListingEntry[]> {
  return (await listCluster(store, cluster)).snapshots;
}

/** Runs `fn` over the items, a bounded number at a time (a listing can hold thousands of snapshots). */
export async function inBatches<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += READS_IN_PARALLEL)
    results.push(...(await Promise.all(items.slice(i, i + READS_IN_PARALLEL).map(fn))));
  return results;
}

/**
 * Reads the manifest (which sets the state) and the exclusion mark of each entry, in parallel; same order.
 * Entries deleted since the listing (see loadEntryDetails) are left out.
 */
export async function loadDetails(store: ObjectStore, entries: ListingEntry[]): Promise<SnapshotEntry[]> {
  return (await inBatches(entries, (entry) => loadEntryDetails(store, entry))).filter((e) => e !== undefined);
}

/**
 * One entry with its details (see loadDetails); undefined when the snapshot was deleted after it was listed
 * (another run pruned it, or a failed snapshot run removed it): there is nothing left to choose or delete,
 * so callers skip it rather than fail. A snapshot still there whose manifest went is what a new listing
 * would call it: incomplete.
 */
export async function loadEntryDetails(store: ObjectStore, entry: ListingEntry): Promise<SnapshotEntry | undefined> {
  const mKey = manifestKey(entry.key);
  // Tags that cannot be read fail the caller too: an unread exclusion mark could let restore pick it.
  const [manifest, tags] = await Promise.all([
    entry.sidecars.includes(mKey) ? readManifest(store, mKey) : Promise.resolve(undefined),
    store.getTags(entry.key).catch((error: unknown) => {
      if (isGone(error)) return undefined;
      throw error;
    }),
  ]);
  if (tags === undefined) return undefined;
  // Prune deletes a snapshot before its manifest: a manifest gone usually means the snapshot went first.
  if (manifest === 'gone' && !(await store.head(entry.key))) return undefined;
  const detailed: SnapshotEntry = { ...entry, state: 'incomplete' };
  if (manifest === 'newer') {
    detailed.state = 'newer-format';
  } else if (manifest === 'invalid' || (typeof manifest === 'object' && !describes(manifest, entry))) {
    // Present but not describing this very object: never good, and not a run still finishing either.
    detailed.state = 'invalid-manifest';
  } else if (typeof manifest === 'object') {
    detailed.manifest = manifest;
    detailed.state = manifest.checks.ok ? 'complete' : 'failed-checks';
  }
  const excluded = exclusion(tags) ?? (await inheritedExclusion(store, detailed.manifest?.copyOf));
  if (excluded) detailed.excluded = excluded;
  return detailed;
}

/** The manifest is this very object's: its key, its stored size, the compression its suffix says. */
function describes(manifest: SnapshotManifest, entry: ListingEntry): boolean {
  return manifest.key === entry.key && storedSizeOf(manifest) === entry.size && compressionOf(manifest) === compressionOfKey(entry.key);
}

function exclusion(tags: Record<string, string>): { reason?: string } | undefined {
  if (tags[EXCLUDE_TAG] !== 'true') return undefined;
  const reason = tags[EXCLUDE_REASON_TAG];
  return reason ? { reason } : {};
}

/**
 * A copy holds its original's data, so an exclusion of the original (made before or after the copy)
 * applies to it too. An original that no longer exists passes nothing on: exclude marks the copies as well.
 */
async function inheritedExclusion(store: ObjectStore, source: string | undefined): Promise<SnapshotEntry['excluded']> {
  if (source === undefined) return undefined;
  let tags: Record<string, string>;
  try {
    tags = await store.getTags(source);
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
  const mark = exclusion(tags);
  return mark && { ...mark, source };
}

/**
 * The entries with their details, in their order (newest first for a listing), loaded a batch at a time as
 * far down as the caller reads; entries deleted since the listing are left out.
 */
export async function* withDetails(store: ObjectStore, entries: ListingEntry[]): AsyncGenerator<SnapshotEntry> {
  for (let i = 0; i < entries.length; i += READS_IN_PARALLEL) yield* await loadDetails(store, entries.slice(i, i + READS_IN_PARALLEL));
}

export interface Selection {
  /** Only snapshots whose newest verification passed. */
  requireVerified?: boolean;
}

/**
 * A snapshot fit for use: complete, not excluded, and not failed by its newest verification (and, when
 * asked, verified).
 */
export function isGood(entry: SnapshotEntry, selection: Selection = {}): boolean {
  if (entry.state !== 'complete' || entry.excluded) return false;
  if (entry.verification && !entry.verification.ok) return false;
  return !selection.requireVerified || entry.verification?.ok === true;
}
