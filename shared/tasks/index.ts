import { loadConfig, type Config, type SettingValues } from '../config/config.js';
import type { SettingName } from '../config/settings.js';
import { BackupError, ConfigError } from '../errors.js';
import { sizeYoungGeneration } from '../gc-settings.js';
import { createLogger, type Logger } from '../log.js';
import type { Progress } from '../progress.js';
import { openStore, type ObjectStore } from '../store/index.js';

export interface TaskContext {
  config: Config;
  store: ObjectStore;
  log: Logger;
  signal?: AbortSignal;
  progress?: Progress;
}

/** Task arguments beyond configuration, as they arrive: CLI flags (kebab-case) or event payload fields (camelCase). */
export type TaskArgs = Record<string, string | boolean | undefined>;

export interface ArgSpec {
  type: 'string' | 'boolean';
  description: string;
}

export type ArgSchema = Readonly<Record<string, ArgSpec>>;

/** The arguments a schema describes, each of the type it declares (runTask checks them before the task runs). */
export type ArgValues<A extends ArgSchema> = { [K in keyof A]?: A[K]['type'] extends 'boolean' ? boolean : string };

/** What every task returns: `ok` false means it ran but found problems (the rest of the result says which). */
export interface TaskResult {
  ok: boolean;
}

/** A task's function; each task module declares the narrower context it needs, which TaskContext satisfies. */
export type TaskFunction<A extends ArgSchema, R extends TaskResult> = (context: TaskContext, args: ArgValues<A>) => Promise<R>;

export interface TaskSpec<A extends ArgSchema, R extends TaskResult> {
  description: string;
  args: A;
  /** The settings the task reads (its `--help` lists these and no others). */
  settings: readonly SettingName[];
  /** Imports the task's module (and the SDKs it needs, etcd3 for snapshot) only when the task runs. */
  load: () => Promise<TaskFunction<A, R>>;
}

/** Infers a spec's argument and result types; the compiler checks that the task function takes what the schema declares. */
function task<const A extends ArgSchema, R extends TaskResult>(spec: TaskSpec<A, R>): TaskSpec<A, R> {
  return spec;
}

/** `dryRun` -> `--dry-run`. */
export function argFlag(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Where the store is and how to reach it, how to log, and the fleet: every task reads these. */
const STORE_SETTINGS = [
  'BACKUP_URL',
  'CLUSTER_NAME',
  'AWS_REGION',
  'AWS_ENDPOINT_URL_S3',
  'S3_FORCE_PATH_STYLE',
  'AWS_REQUEST_CHECKSUM_CALCULATION',
  'S3_PART_SIZE',
  'S3_UPLOAD_CONCURRENCY',
  'STORAGE_EMULATOR_HOST',
  'GOOGLE_CLOUD_PROJECT',
  // Every task checks them with the rest of the configuration; the tasks that write objects apply them.
  'S3_SSE',
  'S3_SSE_KMS_KEY_ID',
  'GCS_KMS_KEY_NAME',
  'LOG_LEVEL',
  'LOG_FORMAT',
  // Every task runs over a fleet as well as on one cluster (shared/fleet/).
  'FLEET_FILE',
  'FLEET_CONCURRENCY',
] as const satisfies readonly SettingName[];
const IMMUTABILITY_SETTINGS = [
  'IMMUTABILITY',
  'IMMUTABILITY_PERIOD',
  'IMMUTABILITY_LOCK',
  'REUPLOAD_INTERVAL',
  'REUPLOAD_MARGIN',
] as const satisfies readonly SettingName[];

const SPECS = {
  snapshot: task({
    description: 'Stream a snapshot from a healthy etcd member into the store, check it, and record its manifest',
    args: {},
    settings: [
      ...STORE_SETTINGS,
      'ETCD_ENDPOINTS',
      'ETCD_USERNAME',
      'ETCD_PASSWORD',
      'ETCD_PASSWORD_FILE',
      'ETCD_CA_FILE',
      'ETCD_CERT_FILE',
      'ETCD_KEY_FILE',
      'ETCD_DIAL_TIMEOUT',
      'ETCD_STREAM_IDLE_TIMEOUT',
      'ETCD_CLUSTER_ID',
      'SNAPSHOT_ATTEMPTS',
      'SNAPSHOT_COMPRESSION',
      'CLOCK_SKEW_TOLERANCE',
      'PRUNE_INCOMPLETE_GRACE',
      ...IMMUTABILITY_SETTINGS,
    ],
    load: async () => (await import('./snapshot.js')).takeSnapshot,
  }),
  verify: task({
    description: 'Prove the latest snapshot (or --key) intact and restorable from the store alone, and record the result',
    args: { key: { type: 'string', description: 'verify this snapshot (a key printed by list) instead of the latest' } },
    settings: STORE_SETTINGS,
    load: async () => (await import('./verify.js')).verifyTask,
  }),
  prune: task({
    description:
      'Apply the retention policy (PRUNE_* settings): delete what no rule keeps, never the newest good snapshot, never a locked object',
    args: { dryRun: { type: 'boolean', description: 'print the plan (kept, deleted, with reasons) and delete nothing' } },
    settings: [
      ...STORE_SETTINGS,
      'PRUNE_KEEP_LAST',
      'PRUNE_KEEP_WITHIN',
      'PRUNE_KEEP_HOURLY_FOR',
      'PRUNE_KEEP_DAILY_FOR',
      'PRUNE_KEEP_WEEKLY_FOR',
      'PRUNE_MAX_AGE',
      'PRUNE_KEEP_MIN',
      'PRUNE_INCOMPLETE_GRACE',
    ],
    load: async () => (await import('./prune.js')).pruneTask,
  }),
  reupload: task({
    description:
      'Keep the newest good snapshot protected while no new ones come (hibernation): extend its retention (object mode) or make a protected server-side copy (bucket mode)',
    args: {},
    settings: [...STORE_SETTINGS, ...IMMUTABILITY_SETTINGS],
    load: async () => (await import('./reupload.js')).reuploadTask,
  }),
  exclude: task({
    description: 'Mark a snapshot that restore and latest-selection must skip (a tag; works on locked objects), or lift the mark',
    args: {
      key: { type: 'string', description: 'the snapshot to mark (a key printed by list)' },
      reason: { type: 'string', description: 'why, shown by list' },
      undo: { type: 'boolean', description: 'lift the mark' },
    },
    settings: STORE_SETTINGS,
    load: async () => (await import('./exclude.js')).excludeTask,
  }),
  restore: task({
    description:
      'Download the newest good snapshot (or --key, --before, --revision) to --output, checking its sha256 trailer and structure on the way; optionally restore it into --data-dir',
    // camelCase here and in event payloads, kebab-case as CLI flags.
    args: {
      output: {
        type: 'string',
        description:
          'write the snapshot to this file (required; must not exist; written to a temporary file next to it and renamed only once the sha256 trailer and structure check out)',
      },
      key: {
        type: 'string',
        description: 'restore this snapshot (a key printed by list), even if it was never verified; an excluded one needs --allow-excluded',
      },
      before: {
        type: 'string',
        description: 'newest good snapshot taken at or before this time (ISO-8601 with a zone, e.g. 2026-01-31T12:00:00Z)',
      },
      revision: {
        type: 'string',
        description: 'newest good snapshot whose revision is at or below this one (it contains no change made after it)',
      },
      allowUnverified: {
        type: 'boolean',
        description: 'also consider snapshots that were never verified (they are still fully checked while downloading)',
      },
      allowExcluded: { type: 'boolean', description: 'with --key: restore it even if it is marked excluded' },
      dataDir: {
        type: 'string',
        description: 'also restore into this etcd data directory (must be empty or absent) with etcdutl, or etcdctl if there is no etcdutl',
      },
      name: { type: 'string', description: 'with --data-dir: member name (etcd --name)' },
      initialCluster: {
        type: 'string',
        description: 'with --data-dir: every member as name=peer-url, comma-separated (etcd --initial-cluster)',
      },
      initialClusterToken: {
        type: 'string',
        description: 'with --data-dir: a token unique to the restored cluster (etcd --initial-cluster-token)',
      },
      initialAdvertisePeerUrls: {
        type: 'string',
        description: "with --data-dir: this member's peer URLs (etcd --initial-advertise-peer-urls)",
      },
      bumpRevision: {
        type: 'string',
        description:
          "with --data-dir: move the revision this far past the snapshot's, so Kubernetes watches see no revision twice (default 1000000000, as the Kubernetes documentation recommends; 0 = no bump; needs etcdutl 3.5.10+)",
      },
      markCompacted: {
        type: 'boolean',
        description: 'with --data-dir: mark the skipped revisions compacted (on whenever the revision is bumped, as etcdutl requires)',
      },
    },
    settings: STORE_SETTINGS,
    load: async () => (await import('./restore/index.js')).restoreTask,
  }),
  list: task({
    description: "List the cluster's snapshots, newest first, with their state, verification and recorded facts",
    args: {},
    settings: STORE_SETTINGS,
    load: async () => (await import('./list.js')).listTask,
  }),
  status: task({
    description:
      'Is the backup healthy? The newest good and newest verified snapshot and their ages, the newest verification, and (immutability on) a locked copy; exit 1 when not ok',
    args: {},
    settings: [...STORE_SETTINGS, ...IMMUTABILITY_SETTINGS, 'STATUS_MAX_AGE'],
    load: async () => (await import('./status.js')).statusTask,
  }),
};

type Specs = typeof SPECS;
export type TaskName = keyof Specs;
/** The arguments task N takes. */
export type ArgsOf<N extends TaskName> = Specs[N]['args'];
/** What task N returns: the return type of its function, read from the module type without loading it. */
export type ResultOf<N extends TaskName> = Awaited<ReturnType<Awaited<ReturnType<Specs[N]['load']>>>>;

/** The registry, typed per task so that `TASKS[task]` for a generic task name keeps its argument and result types. */
export const TASKS: { readonly [N in TaskName]: TaskSpec<ArgsOf<N>, ResultOf<N>> } = SPECS;

export function taskArgs(task: TaskName): ArgSchema {
  return TASKS[task].args;
}

export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(TASKS, name);
}

export interface RunOptions {
  args?: TaskArgs;
  log?: Logger;
  signal?: AbortSignal;
  /** Counts the task's long stream (snapshot, verify, restore): the CLI passes one on a terminal. */
  progress?: Progress;
  /** Overrides the store named by BACKUP_URL (tests). */
  store?: ObjectStore;
}

export interface TaskOutcome<R extends TaskResult = ResultOf<TaskName>> {
  task: TaskName;
  ok: boolean;
  durationMs: number;
  result?: R;
  error?: unknown;
}

/** The arguments, each checked against the schema: no unknown name, each value of its declared type. */
function checkArgs<A extends ArgSchema>(task: TaskName, schema: A, args: TaskArgs): ArgValues<A> {
  const accepted = Object.keys(schema);
  const unknown = Object.keys(args).filter((k) => !accepted.includes(k));
  if (unknown.length > 0)
    throw new ConfigError('event', `unknown field(s) for ${task}: ${unknown.join(', ')}`, `accepted: ${accepted.join(', ') || 'none'}`);
  for (const [name, spec] of Object.entries(schema)) {
    const value = args[name];
    if (value !== undefined && typeof value !== spec.type) throw new ConfigError(name, `must be a ${spec.type}`);
  }
  // Checked just above, name by name and type by type.
  return args as ArgValues<A>;
}

/**
 * The one way every entry point (CLI, Lambda, Cloud Functions) runs a task: validate configuration and
 * arguments before any I/O, open the store, load and run the task, and log exactly one result line with
 * the outcome and figures.
 */
export async function runTask<N extends TaskName>(
  task: N,
  settings: SettingValues,
  options: RunOptions = {},
): Promise<TaskOutcome<ResultOf<N>>> {
  const started = Date.now();
  // Until the configuration is read (its errors are logged too): the CLI's default format.
  let log = options.log ?? createLogger({ format: 'auto' });
  try {
    const config = loadConfig(settings);
    if (!options.log) log = createLogger({ level: config.logLevel, format: config.logFormat });
    log = log.child({ task, cluster: config.cluster });
    const spec: TaskSpec<ArgsOf<N>, ResultOf<N>> = TASKS[task];
    const args = checkArgs(task, spec.args, options.args ?? {});
    const store = options.store ?? (await openStore(config.location, { s3: config.s3, gcs: config.gcs }));
    const context: TaskContext = {
      config,
      store,
      log,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.progress ? { progress: options.progress } : {}),
    };
    // Lowering takes effect, raising does not (gc-settings.ts): a process runs one kind of task (the
    // CLI, each function, a fleet run), and starts at the snapshot's size.
    sizeYoungGeneration(task === 'snapshot' ? 'write' : 'read');
    const run = await spec.load();
    const result = await run(context, args);
    const outcome: TaskOutcome<ResultOf<N>> = { task, ok: result.ok === true, durationMs: Date.now() - started, result };
    log.info(`${task} ${outcome.ok ? 'succeeded' : 'finished with problems'}`, {
      outcome: outcome.ok ? 'success' : 'failure',
      durationMs: outcome.durationMs,
      ...summary(result),
    });
    return outcome;
  } catch (error) {
    const outcome: TaskOutcome<ResultOf<N>> = { task, ok: false, durationMs: Date.now() - started, error };
    log.error(`${task} failed`, { outcome: 'failure', durationMs: outcome.durationMs, error });
    if (!(error instanceof BackupError)) log.debug('unexpected error', { stack: (error as Error)?.stack });
    return outcome;
  }
}

/** Figures worth a log line (not whole listings). */
function summary(result: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result)) {
    if (Array.isArray(v)) out[`${k}Count`] = v.length;
    else if (v === null || typeof v !== 'object') out[k] = v;
  }
  return out;
}
