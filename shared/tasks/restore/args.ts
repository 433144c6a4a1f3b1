import { resolve } from 'node:path';
import { parseHttpUrl } from '../../config/urls.js';
import { ConfigError } from '../../errors.js';
import { parseSnapshotKey } from '../../layout.js';

/** The arguments of `etcd-backup restore` as the task runner hands them over (its schema is in shared/tasks/index.ts). */
export interface RestoreArgs {
  output?: string;
  key?: string;
  before?: string;
  revision?: string;
  allowUnverified?: boolean;
  allowExcluded?: boolean;
  dataDir?: string;
  name?: string;
  initialCluster?: string;
  initialClusterToken?: string;
  initialAdvertisePeerUrls?: string;
  bumpRevision?: string;
  markCompacted?: boolean;
}

/** What to restore where: the snapshot is named by `key`, or chosen by `before`, `revision` and `allowUnverified`. */
export interface RestoreOptions {
  /** Absolute. */
  output: string;
  key?: string;
  before?: Date;
  revision?: number;
  allowUnverified: boolean;
  allowExcluded: boolean;
  /** Absolute. */
  dataDir?: string;
  member: MemberFlags;
  /** With dataDir only. */
  bump?: RevisionBump;
}

/** The etcd member flags passed on to `snapshot restore`. */
export interface MemberFlags {
  name?: string;
  initialCluster?: string;
  initialClusterToken?: string;
  initialAdvertisePeerUrls?: string;
}

/**
 * How far the restored member's revision jumps past the snapshot's (etcdutl --bump-revision,
 * --mark-compacted). A restored etcd would otherwise serve revisions the old cluster already served with
 * other contents, and kube-apiserver's watch caches and informers would miss or replay changes; marked
 * compacted, the skipped revisions make every watcher re-list instead.
 */
export interface RevisionBump {
  bumpRevision: number;
  markCompacted: boolean;
}

/** What the Kubernetes documentation recommends: far past any revision a cluster reaches between two snapshots. */
export const DEFAULT_BUMP_REVISION = 1_000_000_000;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

type StringArg = { [K in keyof RestoreArgs]-?: RestoreArgs[K] extends string | undefined ? K : never }[keyof RestoreArgs];

/** Trimmed; an empty value is refused rather than read as absent. */
function text(args: RestoreArgs, name: StringArg): string | undefined {
  const value = args[name];
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new ConfigError(name, 'is empty');
  return value.trim();
}

/** A whole number of at most 16 digits (a safe integer, as revisions are read), at least `min`. */
function wholeNumber(value: string, min: number): number | undefined {
  return /^\d{1,16}$/.test(value) && Number.isSafeInteger(Number(value)) && Number(value) >= min ? Number(value) : undefined;
}

function checkUrls(setting: string, list: string): void {
  for (const url of list.split(',')) parseHttpUrl(setting, url.trim());
}

/**
 * Everything about the arguments that can be checked without I/O, for snapshots of `cluster`. Pure:
 * the same arguments give the same options or the same ConfigError, naming the argument at fault.
 */
export function parseRestoreArgs(args: RestoreArgs, cluster: string): RestoreOptions {
  const output = text(args, 'output');
  if (output === undefined)
    throw new ConfigError('output', 'is required', 'name the file to write the snapshot to, e.g. --output /var/tmp/etcd-restore.db');
  const options: RestoreOptions = {
    output: resolve(output),
    allowUnverified: args.allowUnverified === true,
    allowExcluded: args.allowExcluded === true,
    member: {},
  };
  const key = text(args, 'key');
  if (key !== undefined) {
    if (!parseSnapshotKey(key, cluster))
      throw new ConfigError('key', `"${key}" is not a snapshot key of cluster "${cluster}"`, 'use a key printed by etcd-backup list');
    options.key = key;
  }
  const before = text(args, 'before');
  if (before !== undefined) {
    const time = new Date(before);
    if (!ISO_TIME.test(before) || Number.isNaN(time.getTime())) {
      throw new ConfigError(
        'before',
        `"${before}" is not an ISO-8601 time with a zone`,
        'write e.g. 2026-01-31T12:00:00Z or 2026-01-31T13:00:00+01:00',
      );
    }
    options.before = time;
  }
  const revision = text(args, 'revision');
  if (revision !== undefined) {
    const parsed = wholeNumber(revision, 1);
    if (parsed === undefined)
      throw new ConfigError('revision', `"${revision}" is not a positive whole number`, 'write an etcd revision, e.g. --revision 123456');
    options.revision = parsed;
  }
  if (options.key !== undefined) {
    // (allowUnverified is implied by an explicit key and harmless with it.)
    for (const name of ['before', 'revision'] as const) {
      if (args[name] !== undefined)
        throw new ConfigError(name, 'cannot be combined with key', 'an explicit key names the snapshot; drop one of them');
    }
  } else if (options.allowExcluded) {
    throw new ConfigError(
      'allowExcluded',
      'only applies with key',
      'excluded snapshots are never chosen automatically; name the one you want with --key',
    );
  }
  const dataDir = text(args, 'dataDir');
  if (dataDir !== undefined) options.dataDir = resolve(dataDir);
  for (const name of ['name', 'initialCluster', 'initialClusterToken', 'initialAdvertisePeerUrls'] as const) {
    const value = text(args, name);
    if (value === undefined) continue;
    if (dataDir === undefined) throw new ConfigError(name, 'only applies with dataDir', 'add --data-dir, or drop it');
    options.member[name] = value;
  }
  const bump = parseBump(args, dataDir !== undefined);
  if (bump) options.bump = bump;
  const { name, initialCluster, initialAdvertisePeerUrls } = options.member;
  if (initialAdvertisePeerUrls !== undefined) checkUrls('initialAdvertisePeerUrls', initialAdvertisePeerUrls);
  if (initialCluster !== undefined) {
    const names = new Set<string>();
    for (const member of initialCluster.split(',')) {
      const eq = member.indexOf('=');
      if (eq <= 0)
        throw new ConfigError(
          'initialCluster',
          `"${member}" is not name=peer-url`,
          'write m1=https://10.0.0.1:2380,m2=https://10.0.0.2:2380,...',
        );
      checkUrls('initialCluster', member.slice(eq + 1));
      names.add(member.slice(0, eq).trim());
    }
    // etcd's own default name is "default": a cluster list without this member cannot bootstrap it.
    const self = name ?? 'default';
    if (!names.has(self))
      throw new ConfigError(
        'initialCluster',
        `has no member named "${self}"`,
        `list this member as ${self}=<its peer URL>, and give the same --name`,
      );
  } else if (name !== undefined && name !== 'default') {
    throw new ConfigError('initialCluster', `is required with name "${name}"`, `give --initial-cluster ${name}=<its peer URL>,...`);
  }
  // The file must not land inside the directory the restore tool fills (nor be it).
  if (options.dataDir !== undefined && (options.dataDir === options.output || options.output.startsWith(`${options.dataDir}/`)))
    throw new ConfigError('output', 'must not be inside dataDir', 'write the snapshot file somewhere else, e.g. /var/tmp');
  return options;
}

/**
 * --bump-revision (default DEFAULT_BUMP_REVISION, 0 = none) and --mark-compacted, which follows it:
 * etcdutl requires --mark-compacted with a bump and refuses it without one, so an explicit value must agree.
 */
function parseBump(args: RestoreArgs, hasDataDir: boolean): RevisionBump | undefined {
  const given = text(args, 'bumpRevision');
  if (!hasDataDir) {
    for (const name of ['bumpRevision', 'markCompacted'] as const) {
      if (args[name] !== undefined) throw new ConfigError(name, 'only applies with dataDir', 'add --data-dir, or drop it');
    }
    return undefined;
  }
  let bumpRevision = DEFAULT_BUMP_REVISION;
  if (given !== undefined) {
    const parsed = wholeNumber(given, 0);
    if (parsed === undefined)
      throw new ConfigError(
        'bumpRevision',
        `"${given}" is not a whole number`,
        `write how far to move the revision past the snapshot's, e.g. --bump-revision ${DEFAULT_BUMP_REVISION}, or 0 for no bump`,
      );
    bumpRevision = parsed;
  }
  const markCompacted = bumpRevision > 0;
  if (args.markCompacted === true && !markCompacted)
    throw new ConfigError(
      'markCompacted',
      'needs a revision bump',
      'etcdutl marks the bumped revisions compacted only: drop --mark-compacted, or give --bump-revision N',
    );
  if (args.markCompacted === false && markCompacted)
    throw new ConfigError(
      'markCompacted',
      'cannot be turned off while the revision is bumped',
      'etcdutl requires it with --bump-revision (the skipped revisions must read as compacted, so watchers re-list); to restore with neither, give --bump-revision 0',
    );
  return { bumpRevision, markCompacted };
}
