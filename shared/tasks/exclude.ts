import { EXCLUDE_REASON_TAG, EXCLUDE_TAG } from '../catalogue.js';
import { BackupError, ConfigError } from '../errors.js';
import { parseSnapshotKey } from '../layout.js';
import type { ObjectStore } from '../store/index.js';

export interface ExcludeResult {
  ok: true;
  key: string;
  excluded: boolean;
  reason?: string;
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
  // Read-modify-write: on GCS the "tags" are the object's custom metadata, which must be kept.
  const tags = await store.getTags(key);
  delete tags[EXCLUDE_TAG];
  delete tags[EXCLUDE_REASON_TAG];
  const result: ExcludeResult = { ok: true, key, excluded: args.undo !== true };
  if (result.excluded) {
    tags[EXCLUDE_TAG] = 'true';
    const reason = args.reason === undefined ? '' : tagValue(args.reason);
    if (reason) tags[EXCLUDE_REASON_TAG] = result.reason = reason;
  }
  await store.setTags(key, tags);
  return result;
}
