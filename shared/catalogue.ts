import { text } from 'node:stream/consumers';
import { clusterDir, manifestKey, MANIFEST_SUFFIX, newestFirst, parseSnapshotKey } from './layout.js';
import { isManifest, type SnapshotManifest } from './manifest.js';
import type { ObjectStore } from './store/index.js';

/**
 * complete: snapshot and manifest present, structure checks passed.
 * failed-checks: complete, but the checks made while streaming found problems (never restored).
 * incomplete: no manifest (the run died after the upload, or the manifest write failed).
 */
export type SnapshotState = 'complete' | 'failed-checks' | 'incomplete';

export interface SnapshotEntry {
  key: string;
  time: Date;
  /** The revision in the key (cluster revision when requested). */
  requestedRevision: number;
  size: number;
  state: SnapshotState;
  manifest?: SnapshotManifest;
}

const MANIFEST_READS_IN_PARALLEL = 16;

async function readManifest(store: ObjectStore, key: string): Promise<SnapshotManifest | undefined> {
  try {
    const parsed: unknown = JSON.parse(await text(await store.get(key)));
    return isManifest(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The snapshots of one cluster, newest first. Only keys under `<cluster>/` are ever looked at. */
export async function listSnapshots(store: ObjectStore, cluster: string): Promise<SnapshotEntry[]> {
  const entries: SnapshotEntry[] = [];
  const manifests = new Set<string>();
  for await (const object of store.list(clusterDir(cluster))) {
    if (object.key.endsWith(MANIFEST_SUFFIX)) {
      manifests.add(object.key);
      continue;
    }
    const name = parseSnapshotKey(object.key, cluster);
    if (name) entries.push({ key: name.key, time: name.time, requestedRevision: name.revision, size: object.size, state: 'incomplete' });
  }
  entries.sort(newestFirst);
  const pending = entries.filter((e) => manifests.has(manifestKey(e.key)));
  for (let i = 0; i < pending.length; i += MANIFEST_READS_IN_PARALLEL) {
    await Promise.all(
      pending.slice(i, i + MANIFEST_READS_IN_PARALLEL).map(async (entry) => {
        const manifest = await readManifest(store, manifestKey(entry.key));
        // A manifest must describe this very object; one that does not is treated as absent.
        if (manifest && manifest.key === entry.key && manifest.size === entry.size) {
          entry.manifest = manifest;
          entry.state = manifest.checks.ok ? 'complete' : 'failed-checks';
        }
      }),
    );
  }
  return entries;
}
