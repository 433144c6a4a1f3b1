import { loadConfig, type Config, type SettingValues } from '../config/config.js';
import { BackupError, ConfigError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { openStore, type ObjectStore } from '../store/index.js';
import { RESTORE_ARGS, RESTORE_DESCRIPTION } from './restore.js';

export interface TaskContext {
  config: Config;
  store: ObjectStore;
  log: Logger;
  signal?: AbortSignal;
}

/** Task arguments beyond configuration: CLI flags (kebab-case) or event payload fields (camelCase). */
export type TaskArgs = Record<string, string | boolean | undefined>;

export interface ArgSpec {
  type: 'string' | 'boolean';
  description: string;
}

interface TaskDefinition {
  description: string;
  args: Readonly<Record<string, ArgSpec>>;
  run(context: TaskContext, args: TaskArgs): Promise<{ ok: boolean }>;
}

/** `dryRun` -> `--dry-run`. */
export function argFlag(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Each task's module (and the SDKs it needs, etcd3 for snapshot) is loaded only when that task runs. */
export const TASKS = {
  snapshot: {
    description: 'Stream a snapshot from a healthy etcd member into the store, check it, and record its manifest',
    args: {},
    run: async (context) => (await import('./snapshot.js')).takeSnapshot(context),
  },
  verify: {
    description: 'Prove the latest snapshot (or --key) intact and restorable from the store alone, and record the result',
    args: { key: { type: 'string', description: 'verify this snapshot (a key printed by list) instead of the latest' } },
    run: async (context, args) => (await import('./verify.js')).verifyTask(context, args),
  },
  prune: {
    description:
      'Apply the retention policy (PRUNE_* settings): delete what no rule keeps, never the newest good snapshot, never a locked object',
    args: { dryRun: { type: 'boolean', description: 'print the plan (kept, deleted, with reasons) and delete nothing' } },
    run: async (context, args) => (await import('./prune.js')).pruneTask(context, args),
  },
  reupload: {
    description:
      'Keep the newest good snapshot protected while no new ones come (hibernation): extend its retention (object mode) or make a protected server-side copy (bucket mode)',
    args: {},
    run: async (context) => (await import('./reupload.js')).reuploadTask(context),
  },
  exclude: {
    description: 'Mark a snapshot that restore and latest-selection must skip (a tag; works on locked objects), or lift the mark',
    args: {
      key: { type: 'string', description: 'the snapshot to mark (a key printed by list)' },
      reason: { type: 'string', description: 'why, shown by list' },
      undo: { type: 'boolean', description: 'lift the mark' },
    },
    run: async (context, args) => (await import('./exclude.js')).excludeTask(context, args),
  },
  restore: {
    description: RESTORE_DESCRIPTION,
    args: RESTORE_ARGS,
    run: async (context, args) => (await import('./restore.js')).restoreTask(context, args),
  },
  list: {
    description: "List the cluster's snapshots, newest first, with their state, verification and recorded facts",
    args: {},
    run: async (context) => (await import('./list.js')).listTask(context),
  },
} as const satisfies Record<string, TaskDefinition>;

export function taskArgs(task: TaskName): Readonly<Record<string, ArgSpec>> {
  return (TASKS[task] as TaskDefinition).args;
}

export type TaskName = keyof typeof TASKS;

export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(TASKS, name);
}

export interface RunOptions {
  args?: TaskArgs;
  log?: Logger;
  signal?: AbortSignal;
  /** Overrides the store named by BACKUP_URL (tests). */
  store?: ObjectStore;
}

export interface TaskOutcome {
  task: TaskName;
  ok: boolean;
  durationMs: number;
  result?: Record<string, unknown>;
  error?: unknown;
}

/**
 * The one way every entry point (CLI, Lambda, Cloud Functions) runs a task: validate configuration
 * before any I/O, open the store, run, and log exactly one result line with the outcome and figures.
 */
export async function runTask(task: TaskName, settings: SettingValues, options: RunOptions = {}): Promise<TaskOutcome> {
  const started = Date.now();
  let log = options.log ?? createLogger();
  try {
    const config = loadConfig(settings);
    if (!options.log) log = createLogger({ level: config.logLevel });
    log = log.child({ task, cluster: config.cluster });
    const args = options.args ?? {};
    const definition: TaskDefinition = TASKS[task];
    const accepted = Object.keys(definition.args);
    const unknown = Object.keys(args).filter((k) => !accepted.includes(k));
    if (unknown.length > 0)
      throw new ConfigError('event', `unknown field(s) for ${task}: ${unknown.join(', ')}`, `accepted: ${accepted.join(', ') || 'none'}`);
    for (const [name, spec] of Object.entries(definition.args)) {
      const value = args[name];
      if (value !== undefined && typeof value !== spec.type) throw new ConfigError(name, `must be a ${spec.type}`);
    }
    const store = options.store ?? (await openStore(config.location, { s3: config.s3, gcs: config.gcs }));
    const context: TaskContext = { config, store, log, ...(options.signal ? { signal: options.signal } : {}) };
    const result = (await definition.run(context, args)) as unknown as Record<string, unknown>;
    const outcome: TaskOutcome = { task, ok: result.ok === true, durationMs: Date.now() - started, result };
    log.info(`${task} ${outcome.ok ? 'succeeded' : 'finished with problems'}`, {
      outcome: outcome.ok ? 'success' : 'failure',
      durationMs: outcome.durationMs,
      ...summary(result),
    });
    return outcome;
  } catch (error) {
    const outcome: TaskOutcome = { task, ok: false, durationMs: Date.now() - started, error };
    log.error(`${task} failed`, { outcome: 'failure', durationMs: outcome.durationMs, error });
    if (!(error instanceof BackupError)) log.debug('unexpected error', { stack: (error as Error)?.stack });
    return outcome;
  }
}

/** Figures worth a log line (not whole listings). */
function summary(result: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(result)) {
    if (Array.isArray(v)) out[`${k}Count`] = v.length;
    else if (v === null || typeof v !== 'object') out[k] = v;
  }
  return out;
}
