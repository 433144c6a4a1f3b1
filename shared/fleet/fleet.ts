import { isInlinePem, loadConfig, type SettingValues } from '../config/config.js';
import { SETTINGS, type SettingName } from '../config/settings.js';
import { parseInteger } from '../config/units.js';
import { BackupError, ConfigError } from '../errors.js';
import { readFleetSource } from './source.js';
import { SSM_SETTINGS } from './ssm-settings.js';

/**
 * One cluster of a fleet: its settings, environment < defaults < cluster, validated as a whole, without the
 * secrets kept under its SSM_SECRETS_PATH: those are read when the cluster runs (withClusterSecrets).
 */
export interface FleetCluster {
  name: string;
  settings: SettingValues;
  /** SSM_SECRETS_PATH of the cluster (or of `defaults`), when it has one. */
  secretsPath?: string;
}

export interface Fleet {
  /** Where the fleet file was read from, as given (FLEET_FILE / --fleet). */
  source: string;
  clusters: FleetCluster[];
}

/** Settings of the whole run, not of a cluster: the fleet itself, and where the run's log lines go. */
const RUN_SETTINGS: ReadonlySet<string> = new Set(['FLEET_FILE', 'FLEET_CONCURRENCY', 'LOG_LEVEL', 'LOG_FORMAT'] satisfies SettingName[]);

/** Not a setting of the table (the Lambda handler reads it from its environment), but a cluster's secrets may come from there. */
const SSM_SECRETS_PATH = 'SSM_SECRETS_PATH';

/** What a fleet file's `defaults` and clusters may hold. */
const CLUSTER_KEYS: ReadonlySet<string> = new Set([
  ...SETTINGS.map((s) => s.env).filter((name) => !RUN_SETTINGS.has(name)),
  SSM_SECRETS_PATH,
]);

/** Secret settings: a fleet file names where they are (a path, an SSM path), never what they are. */
const SECRET_SETTINGS: ReadonlySet<string> = new Set(SETTINGS.filter((s) => 'secret' in s).map((s) => s.env));

const SECRET_HINT = 'give a file path (ETCD_PASSWORD_FILE, ETCD_KEY_FILE: a mounted secret) or SSM_SECRETS_PATH instead';

/** A cluster's entry as written in the file, its values as strings, checked for shape and secrets. */
interface ClusterEntry {
  name: string;
  values: Record<string, string>;
}

/** A cluster as errors name it: its name quoted as JSON (and cut), as written, before any check of it. */
function clusterLabel(name: string): string {
  return `cluster ${JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}...` : name)}`;
}

/** Where in the file a problem is: the source and the cluster (by name once it is known). */
function at(source: string, where: string): string {
  return `${source}: ${where}`;
}

/**
 * A value as a setting takes it: JSON strings, and numbers and booleans written without quotes. The value
 * is never repeated in an error: it may be a secret written where it does not belong.
 */
function settingValue(source: string, where: string, key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new ConfigError(
    at(source, where),
    `${key} must be a string, a number or a boolean`,
    'write the value as the environment variable would hold it',
  );
}

/** Text that looks like base64 (a PEM file as Kubernetes hands out tls.key is one line of it). */
const BASE64 = /^[A-Za-z0-9+/]{16,}={0,2}$/;

/** A private key, as PEM text or base64-encoded PEM, whatever setting it was written under. */
function holdsPrivateKey(text: string): boolean {
  if (/PRIVATE KEY/.test(text)) return true;
  const compact = text.replace(/\s+/g, '');
  return BASE64.test(compact) && /PRIVATE KEY/.test(Buffer.from(compact, 'base64').toString('latin1'));
}

/** One `defaults` or cluster map: known keys only, no secret written inline. */
function entryValues(source: string, where: string, raw: unknown): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(at(source, where), 'must be an object of settings', 'write { "SETTING_NAME": "value", ... }');
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (RUN_SETTINGS.has(key))
      throw new ConfigError(
        at(source, where),
        `${key} applies to the whole run, not to one cluster`,
        `set ${key} in the environment or as a flag`,
      );
    if (!CLUSTER_KEYS.has(key))
      throw new ConfigError(
        at(source, where),
        `unknown setting "${key}"`,
        'use the environment variable names of the settings table (README, "Configuration")',
      );
    const text = settingValue(source, where, key, value);
    if (SECRET_SETTINGS.has(key) && !key.endsWith('_FILE'))
      throw new ConfigError(at(source, where), `${key} is a secret, and secrets are never written in a fleet file`, SECRET_HINT);
    if ((SECRET_SETTINGS.has(key) && isInlinePem(text)) || holdsPrivateKey(text))
      throw new ConfigError(at(source, where), `${key} holds key material, and secrets are never written in a fleet file`, SECRET_HINT);
    values[key] = text;
  }
  return values;
}

/**
 * Only where the text went wrong: V8's own message quotes the text around the error, which may be a secret
 * written into the file.
 */
function jsonProblem(error: unknown): string {
  const position = /position \d+(?: \(line \d+ column \d+\))?/.exec((error as Error).message)?.[0];
  return position ? `invalid JSON at ${position}` : 'invalid JSON';
}

/** The file's structure, its keys and its secrets, and unique cluster names: everything that needs no setting's meaning. */
export function parseFleet(source: string, text: string): { defaults: Record<string, string>; clusters: ClusterEntry[] } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      'FLEET_FILE',
      `${source} is not a fleet file: ${jsonProblem(error)}`,
      'write JSON: { "defaults": {...}, "clusters": [ {...}, ... ] }',
    );
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document))
    throw new ConfigError(
      'FLEET_FILE',
      `${source} is not a fleet file: not a JSON object`,
      'write { "defaults": {...}, "clusters": [ {...}, ... ] }',
    );
  const unknown = Object.keys(document).filter((key) => key !== 'defaults' && key !== 'clusters');
  if (unknown.length > 0)
    throw new ConfigError(
      'FLEET_FILE',
      `${source}: unknown field(s) ${unknown.join(', ')}`,
      'a fleet file has "defaults" and "clusters" only',
    );
  const { defaults: rawDefaults = {}, clusters: rawClusters } = document as { defaults?: unknown; clusters?: unknown };
  const defaults = entryValues(source, 'defaults', rawDefaults);
  if ('CLUSTER_NAME' in defaults)
    throw new ConfigError(
      at(source, 'defaults'),
      'CLUSTER_NAME names one cluster and cannot be a default',
      'set CLUSTER_NAME in each cluster',
    );
  if (!Array.isArray(rawClusters) || rawClusters.length === 0)
    throw new ConfigError(
      'FLEET_FILE',
      `${source}: "clusters" must be a non-empty list`,
      'list the clusters: "clusters": [ { "CLUSTER_NAME": "prod-a", ... } ]',
    );
  // By lower case: on a case-insensitive file system (macOS, Windows) "Prod" and "prod" share a directory.
  const seen = new Map<string, string>();
  const clusters = rawClusters.map((raw, index): ClusterEntry => {
    const named = (raw as { CLUSTER_NAME?: unknown } | null)?.CLUSTER_NAME;
    const values = entryValues(source, typeof named === 'string' ? clusterLabel(named) : `clusters[${index}]`, raw);
    const name = values.CLUSTER_NAME;
    if (!name)
      throw new ConfigError(at(source, `clusters[${index}]`), 'has no CLUSTER_NAME', 'name every cluster: "CLUSTER_NAME": "prod-a"');
    const other = seen.get(name.toLowerCase());
    if (other !== undefined)
      throw new ConfigError(
        at(source, clusterLabel(name)),
        `the name is used by more than one cluster${other === name ? '' : ` (${JSON.stringify(other)} differs only in case)`}`,
        'give each cluster its own CLUSTER_NAME, different in more than case: it is where its snapshots live',
      );
    seen.set(name.toLowerCase(), name);
    return { name, values };
  });
  return { defaults, clusters };
}

/** A setting of one cluster of a fleet refused: the setting's own refusal, placed in the file and the cluster. */
export class ClusterConfigError extends ConfigError {
  /** The cluster whose setting it is. */
  readonly cluster: string;

  constructor(where: string, cluster: string, error: ConfigError) {
    super(error.setting, '', error.hint, error.cause);
    // The refusal's own message in full, prefixed: the setting (and its message) stays what it was.
    this.message = `${where}: ${error.message}`;
    this.cluster = cluster;
  }
}

/** A cluster's error, saying which cluster of which file (and keeping what went wrong as the cause). */
function inCluster(source: string, name: string, error: unknown): unknown {
  const where = at(source, clusterLabel(name));
  if (error instanceof ConfigError) return new ClusterConfigError(where, name, error);
  if (error instanceof BackupError && error.code === 'config') return new ConfigError(where, error.message, error.hint, error.cause);
  return error;
}

/** Where the environment's settings stop and a cluster's start: the cluster names itself; the fleet is not its setting. */
function environmentBase(env: SettingValues): SettingValues {
  const base: SettingValues = {};
  for (const [key, value] of Object.entries(env) as [SettingName, string | undefined][])
    if (value !== undefined && key !== 'CLUSTER_NAME' && key !== 'FLEET_FILE' && key !== 'FLEET_CONCURRENCY') base[key] = value;
  return base;
}

/** Settings whose cross-checks may need what SSM_SECRETS_PATH supplies (a password file needs its user). */
const CREDENTIAL_SETTINGS: ReadonlySet<string> = new Set([...SSM_SETTINGS, 'ETCD_PASSWORD_FILE']);

/**
 * The whole validated as a single cluster's configuration is (every setting's own check applies). With an
 * SSM path, a refusal of an etcd credential may only mean that SSM supplies the other half (the password of
 * a user named in the file): the credentials are checked when the cluster runs, once they are read, and
 * everything else now.
 */
function validate(settings: SettingValues, secretsPath: string | undefined): void {
  try {
    loadConfig(settings);
  } catch (error) {
    if (!secretsPath || !(error instanceof ConfigError) || !CREDENTIAL_SETTINGS.has(error.setting)) throw error;
    const rest = Object.fromEntries(Object.entries(settings).filter(([key]) => !CREDENTIAL_SETTINGS.has(key)));
    loadConfig(rest);
  }
}

/** One cluster's settings: the cluster's map over `defaults` over the environment, validated (no I/O but local files). */
function resolveCluster(source: string, entry: ClusterEntry, defaults: Record<string, string>, env: SettingValues): FleetCluster {
  const { [SSM_SECRETS_PATH]: secretsPath, ...own } = { ...defaults, ...entry.values };
  const settings: SettingValues = { ...environmentBase(env), ...own };
  try {
    validate(settings, secretsPath);
  } catch (error) {
    throw inCluster(source, entry.name, error);
  }
  return { name: entry.name, settings, ...(secretsPath ? { secretsPath } : {}) };
}

/**
 * The settings a cluster runs with: its own, and the etcd credentials under its SSM_SECRETS_PATH, read now
 * (at every run, so a rotation needs no change). Call it where the cluster runs, not before: one cluster's
 * SSM read failing (throttled, denied, hanging until `signal` or its timeouts) is that cluster's failure
 * (`secrets-unavailable`), never the fleet's.
 */
export async function withClusterSecrets(cluster: FleetCluster, options: { signal?: AbortSignal } = {}): Promise<SettingValues> {
  if (!cluster.secretsPath) return cluster.settings;
  const { settingsFromSsm } = await import('./ssm.js');
  return { ...cluster.settings, ...(await settingsFromSsm(cluster.secretsPath, cluster.settings, options.signal)) };
}

/**
 * Reads the fleet file at `source` (a path, s3://bucket/key, gs://bucket/key or ssm:/parameter/name) and
 * validates it whole, before any I/O on etcd or a backup store: structure, keys, secrets, unique names,
 * then each cluster's settings (`env` < `defaults` < the cluster). Nothing but the fleet file is read: no
 * cluster's SSM secrets (withClusterSecrets reads them when the cluster runs). With `cluster`, every
 * cluster's entry is still checked, but only that one's settings are resolved and validated: what a run
 * of one cluster (a function invoked per cluster) needs.
 */
export async function loadFleet(
  source: string,
  env: SettingValues,
  options: { signal?: AbortSignal; cluster?: string } = {},
): Promise<Fleet> {
  const text = await readFleetSource(source, env, options.signal);
  const { defaults, clusters } = parseFleet(source, text);
  const chosen = options.cluster === undefined ? clusters : [entryNamed(source, clusters, options.cluster)];
  return { source, clusters: chosen.map((entry) => resolveCluster(source, entry, defaults, env)) };
}

function entryNamed<T extends { name: string }>(source: string, clusters: readonly T[], name: string): T {
  const found = clusters.find((c) => c.name === name);
  if (!found)
    throw new ConfigError(
      'CLUSTER_NAME',
      `no ${clusterLabel(name)} in the fleet ${source}`,
      `name one of: ${clusters
        .map((c) => c.name)
        .slice(0, 20)
        .join(', ')}${clusters.length > 20 ? ', ...' : ''}`,
    );
  return found;
}

/** The cluster of that name; a ConfigError naming it (and the fleet's clusters) when the fleet has none. */
export function fleetCluster(fleet: Fleet, name: string): FleetCluster {
  return entryNamed(fleet.source, fleet.clusters, name);
}

/** FLEET_CONCURRENCY, checked: how many clusters run at the same time. */
export function fleetConcurrency(values: SettingValues): number {
  const value = values.FLEET_CONCURRENCY || SETTINGS.find((s) => s.env === 'FLEET_CONCURRENCY')?.default;
  if (value === undefined) throw new ConfigError('FLEET_CONCURRENCY', 'is not set');
  return parseInteger('FLEET_CONCURRENCY', value, 1, 64);
}
