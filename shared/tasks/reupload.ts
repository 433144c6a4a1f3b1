import { text } from 'node:stream/consumers';
import { isGood, listSnapshots } from '../catalogue.js';
import type { Config } from '../config/config.js';
import { BackupError, ConfigError } from '../errors.js';
import { checkBucketProtection, protectObject, type Protection } from '../immutability.js';
import { compressionOfKey, manifestKey, snapshotKey } from '../layout.js';
import type { Logger } from '../log.js';
import { type SnapshotManifest, storedSizeOf } from '../manifest.js';
import { findNewest } from '../selection.js';
import type { ObjectStore } from '../store/index.js';

export interface ReuploadResult {
  ok: boolean;
  action: 'extended' | 'copied' | 'none';
  /** The protected snapshot: the one extended, the new copy, or the one already protected long enough. */
  key: string;
  retainUntil?: string;
  /** For a copy: the snapshot it copies. */
  source?: string;
  protection?: Protection & { manifest: Protection };
}

export interface ReuploadDeps {
  config: Pick<Config, 'cluster' | 'immutability'>;
  store: ObjectStore;
  log: Logger;
  now?: () => Date;
}

/**
 * Keeps a protected copy of the newest good snapshot alive while no new snapshots arrive (a hibernated
 * cluster): when its protection ends within REUPLOAD_MARGIN, object mode extends its retention, bucket mode
 * makes a server-side copy under a new key (protected from now by the bucket default) with a manifest that
 * names the original. Needs no etcd. Running it twice in a row does nothing the second time.
 */
export async function reuploadTask(deps: ReuploadDeps): Promise<ReuploadResult> {
  const { store, log, config } = deps;
  const immutability = await checkBucketProtection(store, config.immutability);
  if (!immutability)
    throw new ConfigError(
      'IMMUTABILITY',
      'reupload keeps a protected copy alive, but IMMUTABILITY is off',
      'set IMMUTABILITY=bucket or object',
    );
  const now = (deps.now ?? (() => new Date()))();
  const entries = await listSnapshots(store, config.cluster);
  const newest = await findNewest(store, entries, (e) => isGood(e));
  if (!newest?.manifest) {
    // Protecting a guess could protect the wrong snapshot; say so loudly instead.
    throw new BackupError(
      'not-found',
      `no good snapshot of cluster "${config.cluster}" to protect (${entries.length} snapshot(s) listed, none complete, unexcluded and not failed)`,
      {
        hint: 'take a snapshot, or lift an exclusion with etcd-backup exclude --undo; until then nothing is being kept immutable',
      },
    );
  }
  const current = await store.getRetention(newest.key);
  if (current && current.retainUntil.getTime() - now.getTime() > immutability.reuploadMarginMs) {
    return { ok: true, action: 'none', key: newest.key, retainUntil: current.retainUntil.toISOString() };
  }

  if (immutability.mode === 'object') {
    const protection = await protectObject(store, newest.key, undefined, immutability, now);
    const manifest = await protectObject(store, manifestKey(newest.key), undefined, immutability, now);
    const result: ReuploadResult = {
      ok: protection.confirmed && manifest.confirmed,
      action: 'extended',
      key: newest.key,
      protection: { ...protection, manifest },
    };
    if (protection.retainUntil) result.retainUntil = protection.retainUntil;
    if (!result.ok)
      log.error('retention of the newest good snapshot could not be extended and confirmed', {
        key: newest.key,
        protection: result.protection,
      });
    return result;
  }

  // Bucket mode: a copy made now is protected from now. The source stays as it is (it may be locked).
  const source = newest.manifest.copyOf ?? newest.key;
  // The copy is the same bytes: the same encoding, so the same suffix.
  const compression = compressionOfKey(newest.key);
  const copyKey = snapshotKey(config.cluster, now, newest.manifest.requestedRevision, compression);
  const copied = await store.copy(newest.key, copyKey);
  const original = JSON.parse(await text(await store.get(manifestKey(newest.key)))) as SnapshotManifest;
  // The copy's own encryption, as read back: a copy is encrypted as configured now, not as its source.
  const { encryption: _source, ...fields } = original;
  const manifest: SnapshotManifest = {
    ...fields,
    key: copyKey,
    compression,
    storedSize: storedSizeOf(original),
    copyOf: source,
    completedAt: now.toISOString(),
    ...(copied.encryption ? { encryption: copied.encryption } : {}),
  };
  const manifestInfo = await store.put(manifestKey(copyKey), Buffer.from(JSON.stringify(manifest, null, 2)), {
    contentType: 'application/json',
  });
  const protection = await protectObject(store, copyKey, copied.versionId, immutability, now);
  const manifestProtection = await protectObject(store, manifestKey(copyKey), manifestInfo.versionId, immutability, now);
  const result: ReuploadResult = {
    ok: protection.confirmed && manifestProtection.confirmed,
    action: 'copied',
    key: copyKey,
    source,
    protection: { ...protection, manifest: manifestProtection },
  };
  if (protection.retainUntil) result.retainUntil = protection.retainUntil;
  if (!result.ok)
    log.error('the protected copy was made but its retention could not be confirmed', { key: copyKey, protection: result.protection });
  return result;
}
