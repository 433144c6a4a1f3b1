import { EXCLUDE_REASON_TAG, EXCLUDE_TAG, listSnapshots, loadDetails } from '../catalogue.js';
import { BackupError, ConfigError } from '../errors.js';
import { parseSnapshotKey } from '../layout.js';
import type { ObjectStore } from '../store/index.js';

export interface ExcludeResult {
  ok: true;
  key: string;
  excluded: boolean;
  reason?: string;
  /** Protected copies of this snapshot (reupload), marked or lifted with it. */
  copies: string[];
}

/** S3 tag values allow letters, digits, spaces and + - = . _ : / @ (256 characters). */
function tagValue(reason: string): string {
  return reason
    .replace(/[^\p{L}\p{N} +\-=._:/@]/gu, ' ')
    .trim()
    .slice(0, 256);
}

/**
 * Marks a snapshot that restore and every "latest" selection must skip, or lifts the mark (undo). Only the
 * object's tags change (S3 object tags, GCS custom metadata): allowed on locked objects, and the snapshot
 * itself is neither modified nor deleted.
 */
export async function excludeTask(
  deps: { config: { cluster: string }; store: ObjectStore },
  args: { key?: string; reason?: string; undo?: boolean },
): Promise<ExcludeResult> {
  const { store, config } = deps;
  const key = args.key;
  if (key === undefined) throw new ConfigError('key', 'is required', 'name the snapshot with --key (a key printed by etcd-backup list)');
  if (!parseSnapshotKey(key, config.cluster))
    throw new ConfigError('key', `"${key}" is not a snapshot key of cluster "${config.cluster}"`, 'use a key printed by etcd-backup list');
  if (args.undo === true && args.reason !== undefined) throw new ConfigError('reason', 'does not go with --undo');
  if (!(await store.head(key)))
    throw new BackupError('not-found', `no snapshot ${key} in ${store.description}`, { hint: 'use a key printed by etcd-backup list' });
  const result: ExcludeResult = { ok: true, key, excluded: args.undo !== true, copies: await copiesOf(store, config.cluster, key) };
  const reason = result.excluded && args.reason !== undefined ? tagValue(args.reason) : '';
  if (reason) result.reason = reason;
  // Copies carry their own mark too, so that it outlives the original (prune may delete an excluded one).
  for (const target of [key, ...result.copies]) await mark(store, target, result.excluded, reason);
  return result;
}

/** Read-modify-write: on GCS the "tags" are the object's custom metadata, which must be kept. */
async function mark(store: ObjectStore, key: string, excluded: boolean, reason: string): Promise<void> {
  const tags = await store.getTags(key);
  delete tags[EXCLUDE_TAG];
  delete tags[EXCLUDE_REASON_TAG];
  if (excluded) tags[EXCLUDE_TAG] = 'true';
  if (excluded && reason) tags[EXCLUDE_REASON_TAG] = reason;
  await store.setTags(key, tags);
}

/** The copies reupload made of `key`: they keep its revision in their keys, so only those manifests are read. */
async function copiesOf(store: ObjectStore, cluster: string, key: string): Promise<string[]> {
  const entries = await listSnapshots(store, cluster);
  const revision = entries.find((e) => e.key === key)?.requestedRevision;
  const candidates = entries.filter((e) => e.key !== key && e.requestedRevision === revision);
  return (await loadDetails(store, candidates)).filter((e) => e.manifest?.copyOf === key).map((e) => e.key);
}
