import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { registerSecret } from '../redact.js';
import type { LogFormat, LogLevel } from '../log.js';
import { parseBackupUrl, type StoreLocation } from './location.js';
import { SETTINGS, type SettingName } from './settings.js';
import { parseBoolean, parseDuration, parseInteger, parseSize } from './units.js';
import { parseHttpUrl } from './urls.js';

export type SettingValues = Partial<Record<SettingName, string | undefined>>;

export interface EtcdConfig {
  endpoints: string[];
  username?: string;
  password?: string;
  /** PEM contents, read from the file settings (or given inline). */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  dialTimeoutMs: number;
  streamIdleTimeoutMs: number;
  /** ETCD_CLUSTER_ID: the cluster id the members must serve, lowercase hex without leading zeros. */
  clusterId?: string;
}

export interface S3Config {
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  checksum: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  partSize: number;
  queueSize: number;
  /** Server-side encryption asked for every object written (S3_SSE, S3_SSE_KMS_KEY_ID). */
  sse?: S3Encryption;
}

/** SSE-S3 (AES256) or SSE-KMS (aws:kms, with the account's aws/s3 key when no key id is given). */
export interface S3Encryption {
  algorithm: 'AES256' | 'aws:kms';
  keyId?: string;
}

export interface GcsConfig {
  emulatorHost?: string;
  projectId?: string;
  /** The Cloud KMS key (CMEK) every object written is encrypted with (GCS_KMS_KEY_NAME). */
  kmsKeyName?: string;
}

export interface Config {
  backupUrl: string;
  location: StoreLocation;
  cluster: string;
  etcd: EtcdConfig;
  snapshotAttempts: number;
  /** How the snapshot task stores what it takes (SNAPSHOT_COMPRESSION); readers go by each key. */
  compression: Compression;
  /** How far this host's clock may be from the store's before a snapshot is refused; 0 = not checked. */
  clockSkewToleranceMs: number;
  /** status: the oldest the newest good snapshot may be (0: not judged). */
  statusMaxAgeMs: number;
  s3: S3Config;
  gcs: GcsConfig;
  retention: RetentionPolicy;
  immutability: ImmutabilityConfig;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

/**
 * Retention policy settings (PRUNE_*). Every duration is measured back from the run's `now`, in UTC; 0 turns
 * a rule off.
 *
 * - keepWithin: every snapshot younger than this is kept, good or not.
 * - keepHourlyFor / keepDailyFor / keepWeeklyFor: among good snapshots younger than this, the newest of each
 *   UTC hour / UTC day / ISO week (Monday 00:00 UTC) is kept.
 * - keepLast: the N newest good snapshots are kept.
 * - maxAge: an outer bound: snapshots older than this are deleted even if a rule above keeps them...
 * - keepMin: ...except the K newest good snapshots, which are kept whatever their age (the floor). Never
 *   above keepLast: an explicit keep-last lowers the default floor; an explicit floor above it is refused.
 * - incompleteGrace: a snapshot without a manifest younger than this is kept (a run may still be writing
 *   its manifest); older ones are leftovers of failed runs.
 */
export interface RetentionPolicy {
  keepWithinMs: number;
  keepHourlyForMs: number;
  keepDailyForMs: number;
  keepWeeklyForMs: number;
  keepLast: number;
  maxAgeMs: number | undefined;
  keepMin: number;
  incompleteGraceMs: number;
}

/** How a snapshot is stored: a standard zstd or gzip stream of the etcdctl file, or that file as is. */
export type Compression = 'zstd' | 'gzip' | 'none';
export const COMPRESSIONS: readonly Compression[] = ['zstd', 'gzip', 'none'];

function parseCompression(text: string): Compression {
  const value = text.toLowerCase();
  const found = COMPRESSIONS.find((c) => c === value);
  if (!found)
    throw new ConfigError(
      'SNAPSHOT_COMPRESSION',
      `"${text}" is not zstd, gzip or none`,
      'set SNAPSHOT_COMPRESSION (--compression) to zstd, gzip or none',
    );
  return found;
}

/** S3 GOVERNANCE/COMPLIANCE; GCS Unlocked/Locked map to governance/compliance. */
export type RetentionMode = 'governance' | 'compliance';

export interface ImmutabilityConfig {
  mode: 'off' | 'bucket' | 'object';
  /** Object mode: the protection each snapshot gets. Bucket mode: the bucket's default, read at start-up. */
  periodMs?: number;
  lock: RetentionMode;
  reuploadIntervalMs: number;
  reuploadMarginMs: number;
}

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function defaultValue(name: SettingName, cwd: string): string | undefined {
  if (name === 'BACKUP_URL') return `file://${cwd}/backups`;
  const setting = SETTINGS.find((s) => s.env === name);
  return setting && 'default' in setting ? setting.default : undefined;
}

const BASE64_PEM = /^LS0tLS1CRUdJTi[A-Za-z0-9+/=\s]*$/; // base64 of "-----BEGIN"

/** PEM text, or PEM text base64-encoded: what a PEM setting takes instead of a file path. */
export function isInlinePem(value: string): boolean {
  return value.includes('-----BEGIN ') || BASE64_PEM.test(value);
}

/**
 * PEM settings accept a path, the PEM text itself, or the PEM text base64-encoded (as Kubernetes Secrets
 * and many secret managers hand it out). The value is never repeated in an error: it may be a key.
 */
function readPem(name: SettingName, value: string | undefined): Buffer | undefined {
  if (!value) return undefined;
  if (value.includes('-----BEGIN ')) return Buffer.from(value);
  if (BASE64_PEM.test(value)) return Buffer.from(value, 'base64');
  try {
    return readFileSync(value);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(
      name,
      `is neither PEM text nor a readable file (${reason})`,
      'give a readable file path, the PEM text itself, or the PEM text base64-encoded',
    );
  }
}

function parseEndpoints(text: string): string[] {
  const endpoints = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (endpoints.length === 0)
    throw new ConfigError('ETCD_ENDPOINTS', 'no endpoint given', 'list client URLs such as https://10.0.0.1:2379,https://10.0.0.2:2379');
  for (const endpoint of endpoints) {
    const url = parseHttpUrl('ETCD_ENDPOINTS', endpoint);
    if (url.pathname !== '/' || url.search || url.hash)
      throw new ConfigError('ETCD_ENDPOINTS', `"${endpoint}" must be scheme://host:port only`);
  }
  return endpoints;
}

/**
 * Validates every setting once, before any I/O, and names the setting at fault. `values` holds env vars
 * with CLI flags or event overrides already applied on top.
 */
/**
 * A cluster id as etcd logs it (`cluster-id`) and as a refused snapshot names it: up to 16 hex digits (a
 * uint64), an optional 0x. etcdctl's JSON and `-w fields` output show the same id in decimal; a short
 * decimal string would read as another hex id, so only hex is accepted.
 */
function parseClusterId(value: string): string {
  const hex = value.trim().replace(/^0x/i, '').toLowerCase();
  if (!/^[0-9a-f]{1,16}$/.test(hex) || /^0+$/.test(hex))
    throw new ConfigError(
      'ETCD_CLUSTER_ID',
      `"${value}" is not a cluster id`,
      'give the id in hex as etcd logs it (cluster-id) and as a refused snapshot names it, e.g. cdf818194e3a8c32',
    );
  return BigInt(`0x${hex}`).toString(16);
}

export function loadConfig(values: SettingValues, cwd = process.cwd()): Config {
  // Before anything can fail: an error about another setting must not be able to carry a secret.
  for (const setting of SETTINGS) if ('secret' in setting) registerSecret(values[setting.env]);
  const get = (name: SettingName): string | undefined => {
    const value = values[name];
    return value === undefined || value === '' ? defaultValue(name, cwd) : value;
  };
  const required = (name: SettingName): string => {
    const value = get(name);
    if (value === undefined) throw new ConfigError(name, 'is not set');
    return value;
  };

  const cluster = required('CLUSTER_NAME');
  if (!CLUSTER_NAME.test(cluster)) {
    throw new ConfigError(
      'CLUSTER_NAME',
      // Quoted as JSON and cut: the text is not a name yet, and may hold line breaks or a whole document.
      `${JSON.stringify(cluster.length > 100 ? `${cluster.slice(0, 100)}...` : cluster)} is not a valid cluster name`,
      'use 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit',
    );
  }
  const backupUrl = required('BACKUP_URL');
  const logLevel = required('LOG_LEVEL');
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
    throw new ConfigError('LOG_LEVEL', `"${logLevel}" is not one of debug, info, warn, error`);
  const logFormat = required('LOG_FORMAT');
  if (logFormat !== 'auto' && logFormat !== 'text' && logFormat !== 'json')
    throw new ConfigError('LOG_FORMAT', `"${logFormat}" is not auto, text or json`);
  const checksum = required('AWS_REQUEST_CHECKSUM_CALCULATION').toUpperCase();
  if (checksum !== 'WHEN_SUPPORTED' && checksum !== 'WHEN_REQUIRED') {
    throw new ConfigError('AWS_REQUEST_CHECKSUM_CALCULATION', `"${checksum}" is not when_supported or when_required`);
  }
  const username = get('ETCD_USERNAME');
  const password = readPassword(get);
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError(
      username === undefined ? 'ETCD_USERNAME' : 'ETCD_PASSWORD',
      'etcd user and password go together',
      'set both ETCD_USERNAME and ETCD_PASSWORD (or ETCD_PASSWORD_FILE), or neither',
    );
  }
  const cert = readPem('ETCD_CERT_FILE', get('ETCD_CERT_FILE'));
  const key = readPem('ETCD_KEY_FILE', get('ETCD_KEY_FILE'));
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(
      cert === undefined ? 'ETCD_CERT_FILE' : 'ETCD_KEY_FILE',
      'client certificate and key go together',
      'set both ETCD_CERT_FILE and ETCD_KEY_FILE, or neither',
    );
  }
  // The key as read from a file or decoded from base64 is a secret too, in that form.
  if (key) registerSecret(key.toString());
  const partSize = parseSize('S3_PART_SIZE', required('S3_PART_SIZE'));
  if (partSize < 5 * 1024 ** 2 || partSize > 5 * 1024 ** 3)
    throw new ConfigError('S3_PART_SIZE', 'must be between 5MiB and 5GiB (S3 multipart limits)');

  const endpoints = parseEndpoints(required('ETCD_ENDPOINTS'));
  const ca = readPem('ETCD_CA_FILE', get('ETCD_CA_FILE'));
  // etcd3 would speak TLS to http:// endpoints once credentials are set; say so instead of guessing.
  if ((ca || cert) && endpoints.some((e) => e.startsWith('http:'))) {
    throw new ConfigError(
      'ETCD_ENDPOINTS',
      'TLS files are set but some endpoints use http://',
      'use https:// endpoints with ETCD_CA_FILE / ETCD_CERT_FILE',
    );
  }
  const etcd: EtcdConfig = {
    endpoints,
    dialTimeoutMs: parseDuration('ETCD_DIAL_TIMEOUT', required('ETCD_DIAL_TIMEOUT')),
    streamIdleTimeoutMs: parseDuration('ETCD_STREAM_IDLE_TIMEOUT', required('ETCD_STREAM_IDLE_TIMEOUT')),
  };
  if (username !== undefined && password !== undefined) Object.assign(etcd, { username, password });
  if (ca) etcd.ca = ca;
  if (cert && key) Object.assign(etcd, { cert, key });
  const clusterId = get('ETCD_CLUSTER_ID');
  if (clusterId !== undefined) etcd.clusterId = parseClusterId(clusterId);

  const { s3, gcs } = clientConfigs(get, required, checksum, partSize);

  const location = parseBackupUrl(backupUrl);
  const sse = s3Encryption(get, location);
  if (sse) s3.sse = sse;
  const kmsKeyName = gcsKmsKeyName(get, location);
  if (kmsKeyName) gcs.kmsKeyName = kmsKeyName;
  return {
    retention: retentionPolicy(values, required),
    immutability: immutabilityConfig(values, required, location),
    backupUrl,
    location,
    cluster,
    etcd,
    snapshotAttempts: parseInteger('SNAPSHOT_ATTEMPTS', required('SNAPSHOT_ATTEMPTS'), 1, 10),
    compression: parseCompression(required('SNAPSHOT_COMPRESSION')),
    clockSkewToleranceMs: parseDuration('CLOCK_SKEW_TOLERANCE', required('CLOCK_SKEW_TOLERANCE')),
    statusMaxAgeMs: parseDuration('STATUS_MAX_AGE', required('STATUS_MAX_AGE')),
    s3,
    gcs,
    logLevel: logLevel as LogLevel,
    logFormat,
  };
}

function clientConfigs(
  get: (name: SettingName) => string | undefined,
  required: (name: SettingName) => string,
  checksum: S3Config['checksum'],
  partSize: number,
): { s3: S3Config; gcs: GcsConfig } {
  const s3: S3Config = {
    region: required('AWS_REGION'),
    forcePathStyle: parseBoolean('S3_FORCE_PATH_STYLE', required('S3_FORCE_PATH_STYLE')),
    checksum,
    partSize,
    queueSize: parseInteger('S3_UPLOAD_CONCURRENCY', required('S3_UPLOAD_CONCURRENCY'), 1, 16),
  };
  const s3Endpoint = get('AWS_ENDPOINT_URL_S3');
  if (s3Endpoint) s3.endpoint = s3Endpoint;
  const gcs: GcsConfig = {};
  const emulatorHost = get('STORAGE_EMULATOR_HOST');
  if (emulatorHost) gcs.emulatorHost = emulatorHost;
  const projectId = get('GOOGLE_CLOUD_PROJECT');
  if (projectId) gcs.projectId = projectId;
  return { s3, gcs };
}

/**
 * How to reach S3 and GCS from these settings alone (endpoint, region, emulator), without a cluster or a
 * BACKUP_URL: what reading a fleet file from a bucket needs, before the clusters' settings are known.
 */
export function storeClientConfigs(values: SettingValues): { s3: S3Config; gcs: GcsConfig } {
  const get = (name: SettingName): string | undefined =>
    values[name] === undefined || values[name] === '' ? defaultValue(name, '/') : values[name];
  const required = (name: SettingName): string => get(name) ?? '';
  const checksum = required('AWS_REQUEST_CHECKSUM_CALCULATION').toUpperCase();
  return clientConfigs(get, required, checksum === 'WHEN_REQUIRED' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED', 0);
}

/**
 * ETCD_PASSWORD, or the content of ETCD_PASSWORD_FILE: a secret mounted as a file (a Kubernetes Secret, a
 * Secret Manager volume on Cloud Functions) keeps the password out of the environment and of fleet files.
 */
function readPassword(get: (name: SettingName) => string | undefined): string | undefined {
  const file = get('ETCD_PASSWORD_FILE');
  if (file === undefined) return get('ETCD_PASSWORD');
  if (get('ETCD_PASSWORD') !== undefined)
    throw new ConfigError('ETCD_PASSWORD_FILE', 'is set together with ETCD_PASSWORD', 'keep one of them');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(
      'ETCD_PASSWORD_FILE',
      `${file} is not a readable file (${reason})`,
      'give the path of the file that holds the password',
    );
  }
  // Files written by editors and `echo` end with a newline that is not part of the password.
  const password = text.replace(/\r?\n$/, '');
  registerSecret(password);
  if (password === '') throw new ConfigError('ETCD_PASSWORD_FILE', `${file} is empty`, 'write the password into the file');
  return password;
}

const SCHEME: Record<StoreLocation['kind'], string> = { s3: 's3://', gcs: 'gs://', file: 'file://' };

/**
 * Encryption settings of a store other than BACKUP_URL's are refused rather than ignored: the operator
 * would believe the snapshots encrypted with a key that nothing uses.
 */
function otherStore(name: SettingName, kind: StoreLocation['kind'], location: StoreLocation): void {
  if (location.kind !== kind)
    throw new ConfigError(
      name,
      `applies to ${SCHEME[kind]} locations, but BACKUP_URL is a ${SCHEME[location.kind]} location`,
      `unset ${name}`,
    );
}

/**
 * S3 reports the key it used as the key's ARN; an alias cannot be matched against that without asking KMS
 * (and IAM grants on keys, not aliases), so the key is given by id or ARN.
 */
function s3Encryption(get: (name: SettingName) => string | undefined, location: StoreLocation): S3Encryption | undefined {
  const algorithm = get('S3_SSE');
  const keyId = get('S3_SSE_KMS_KEY_ID');
  if (algorithm === undefined && keyId === undefined) return undefined;
  otherStore(algorithm === undefined ? 'S3_SSE_KMS_KEY_ID' : 'S3_SSE', 's3', location);
  if (algorithm !== 'AES256' && algorithm !== 'aws:kms' && algorithm !== undefined)
    throw new ConfigError('S3_SSE', `"${algorithm}" is not AES256 or aws:kms`);
  if (keyId === undefined) return { algorithm: algorithm as S3Encryption['algorithm'] };
  if (algorithm !== 'aws:kms')
    throw new ConfigError('S3_SSE_KMS_KEY_ID', 'is only used with S3_SSE=aws:kms', 'set S3_SSE=aws:kms, or unset S3_SSE_KMS_KEY_ID');
  if (/^alias\/|:alias\//.test(keyId))
    throw new ConfigError(
      'S3_SSE_KMS_KEY_ID',
      `"${keyId}" is an alias: S3 reports the key ARN it used, which an alias cannot be checked against`,
      'give the key id or the key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)',
    );
  return { algorithm, keyId };
}

const GCS_KEY_NAME = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;

function gcsKmsKeyName(get: (name: SettingName) => string | undefined, location: StoreLocation): string | undefined {
  const name = get('GCS_KMS_KEY_NAME');
  if (name === undefined) return undefined;
  otherStore('GCS_KMS_KEY_NAME', 'gcs', location);
  if (!GCS_KEY_NAME.test(name))
    throw new ConfigError(
      'GCS_KMS_KEY_NAME',
      `"${name}" is not a Cloud KMS key name`,
      'give projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY (no key version)',
    );
  return name;
}

/**
 * Checked here, before any I/O, as far as settings alone allow; what depends on the bucket (Object Lock,
 * versioning, the default retention period in bucket mode) is checked at start-up by checkBucketProtection.
 */
function immutabilityConfig(values: SettingValues, required: (name: SettingName) => string, location: StoreLocation): ImmutabilityConfig {
  const mode = required('IMMUTABILITY');
  if (mode !== 'off' && mode !== 'bucket' && mode !== 'object')
    throw new ConfigError('IMMUTABILITY', `"${mode}" is not off, bucket or object`);
  const lock = required('IMMUTABILITY_LOCK');
  if (lock !== 'governance' && lock !== 'compliance')
    throw new ConfigError('IMMUTABILITY_LOCK', `"${lock}" is not governance or compliance`);
  const config: ImmutabilityConfig = {
    mode,
    lock,
    reuploadIntervalMs: parseDuration('REUPLOAD_INTERVAL', required('REUPLOAD_INTERVAL')),
    reuploadMarginMs: parseDuration('REUPLOAD_MARGIN', required('REUPLOAD_MARGIN')),
  };
  if (mode === 'off') return config;
  if (location.kind === 'file') {
    throw new ConfigError(
      'IMMUTABILITY',
      `${mode} needs a store with retention; a local directory has none`,
      'use an S3 bucket with Object Lock or a GCS bucket with retention, or IMMUTABILITY=off',
    );
  }
  const period = values.IMMUTABILITY_PERIOD;
  if (mode === 'object' && !period)
    throw new ConfigError('IMMUTABILITY_PERIOD', 'is required with IMMUTABILITY=object', 'e.g. IMMUTABILITY_PERIOD=30d');
  if (period) config.periodMs = parseDuration('IMMUTABILITY_PERIOD', period);
  const problem = config.periodMs === undefined ? undefined : scheduleProblem(config, config.periodMs);
  if (problem) throw new ConfigError(problem.setting, problem.message, problem.hint);
  return config;
}

export interface SettingProblem {
  setting: string;
  message: string;
  hint: string;
}

/**
 * A protected copy must be renewed before its protection ends. Renewing when it ends within the margin,
 * on a schedule of one run per interval, leaves no gap only if margin >= interval, and the schedule can
 * only keep up if both are shorter than the period (otherwise every run would copy or extend). Returns the
 * problem rather than throwing: against IMMUTABILITY_PERIOD it is bad configuration, against a bucket's
 * default retention (read from the store) a failed precondition.
 */
export function scheduleProblem(
  config: Pick<ImmutabilityConfig, 'reuploadIntervalMs' | 'reuploadMarginMs'>,
  periodMs: number,
  periodSetting = 'IMMUTABILITY_PERIOD',
): SettingProblem | undefined {
  if (config.reuploadIntervalMs >= periodMs) {
    return {
      setting: 'REUPLOAD_INTERVAL',
      message: `the reupload schedule (${config.reuploadIntervalMs} ms) is not shorter than the retention period (${periodMs} ms, ${periodSetting})`,
      hint: 'run reupload more often than the retention period, or protect for longer: otherwise the latest snapshot becomes deletable between two runs',
    };
  }
  if (config.reuploadMarginMs < config.reuploadIntervalMs) {
    return {
      setting: 'REUPLOAD_MARGIN',
      message: 'is shorter than REUPLOAD_INTERVAL: protection could end between two runs',
      hint: 'set REUPLOAD_MARGIN to at least REUPLOAD_INTERVAL',
    };
  }
  if (config.reuploadMarginMs >= periodMs) {
    return {
      setting: 'REUPLOAD_MARGIN',
      message: `is not shorter than the retention period (${periodSetting}): every run would renew`,
      hint: 'set REUPLOAD_MARGIN well below the retention period',
    };
  }
  return undefined;
}

const BUCKET_SETTINGS = ['PRUNE_KEEP_WITHIN', 'PRUNE_KEEP_HOURLY_FOR', 'PRUNE_KEEP_DAILY_FOR', 'PRUNE_KEEP_WEEKLY_FOR'] as const;

/**
 * PRUNE_KEEP_LAST set on its own is the whole policy ("keep the last N"): the time buckets then apply only
 * where their settings are given explicitly. Otherwise the buckets apply with their defaults.
 */
function retentionPolicy(values: SettingValues, required: (name: SettingName) => string): RetentionPolicy {
  const given = (name: SettingName) => values[name] !== undefined && values[name] !== '';
  const keepLastOnly = given('PRUNE_KEEP_LAST') && !BUCKET_SETTINGS.some(given);
  const bucket = (name: (typeof BUCKET_SETTINGS)[number]) => (keepLastOnly ? 0 : parseDuration(name, required(name)));
  const maxAge = values.PRUNE_MAX_AGE ? parseDuration('PRUNE_MAX_AGE', values.PRUNE_MAX_AGE) : 0;
  const policy: RetentionPolicy = {
    keepWithinMs: bucket('PRUNE_KEEP_WITHIN'),
    keepHourlyForMs: bucket('PRUNE_KEEP_HOURLY_FOR'),
    keepDailyForMs: bucket('PRUNE_KEEP_DAILY_FOR'),
    keepWeeklyForMs: bucket('PRUNE_KEEP_WEEKLY_FOR'),
    keepLast: given('PRUNE_KEEP_LAST') ? parseInteger('PRUNE_KEEP_LAST', values.PRUNE_KEEP_LAST as string, 1, 100_000) : 0,
    maxAgeMs: maxAge > 0 ? maxAge : undefined,
    keepMin: parseInteger('PRUNE_KEEP_MIN', required('PRUNE_KEEP_MIN'), 0, 100_000),
    incompleteGraceMs: parseDuration('PRUNE_INCOMPLETE_GRACE', required('PRUNE_INCOMPLETE_GRACE')),
  };
  // A floor above keep-last would keep more than keep-last says, silently. An explicit keep-last lowers the
  // default floor to itself; a floor set explicitly above it contradicts it and is refused.
  if (policy.keepLast > 0 && policy.keepMin > policy.keepLast) {
    if (given('PRUNE_KEEP_MIN')) {
      throw new ConfigError(
        'PRUNE_KEEP_MIN',
        `the floor (${policy.keepMin}) is above PRUNE_KEEP_LAST (${policy.keepLast}), so keep-last could never apply`,
        'lower PRUNE_KEEP_MIN (--keep-min) to at most PRUNE_KEEP_LAST (--keep-last), or unset it',
      );
    }
    policy.keepMin = policy.keepLast;
  }
  // An outer bound inside the windows that protect recent snapshots would contradict them (and could
  // delete a snapshot whose manifest is being written).
  if (policy.maxAgeMs !== undefined && (policy.maxAgeMs <= policy.keepWithinMs || policy.maxAgeMs <= policy.incompleteGraceMs)) {
    throw new ConfigError(
      'PRUNE_MAX_AGE',
      'must be longer than PRUNE_KEEP_WITHIN and PRUNE_INCOMPLETE_GRACE',
      'raise PRUNE_MAX_AGE, or shorten the windows it contradicts',
    );
  }
  return policy;
}

/** etcdctl's variables, read when ours are unset: a runbook that sets them for etcdctl needs no second set of names. */
const ETCDCTL_FALLBACKS = [
  ['ETCD_ENDPOINTS', 'ETCDCTL_ENDPOINTS'],
  ['ETCD_CA_FILE', 'ETCDCTL_CACERT'],
  ['ETCD_CERT_FILE', 'ETCDCTL_CERT'],
  ['ETCD_KEY_FILE', 'ETCDCTL_KEY'],
] as const satisfies readonly (readonly [SettingName, string])[];

/** The settings of a process environment (only the names this tool knows, and etcdctl's in their place). */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): SettingValues {
  const values: SettingValues = {};
  for (const setting of SETTINGS) values[setting.env] = env[setting.env];
  for (const [ours, etcdctl] of ETCDCTL_FALLBACKS) if (!values[ours] && env[etcdctl]) values[ours] = env[etcdctl];
  // ETCDCTL_USER is user:password, split at the first colon as etcdctl does.
  const user = env.ETCDCTL_USER;
  if (user && !values.ETCD_USERNAME && !values.ETCD_PASSWORD) {
    const colon = user.indexOf(':');
    values.ETCD_USERNAME = colon < 0 ? user : user.slice(0, colon);
    if (colon >= 0) values.ETCD_PASSWORD = user.slice(colon + 1);
    registerSecret(values.ETCD_PASSWORD);
  }
  registerSecret(env.AWS_SECRET_ACCESS_KEY);
  registerSecret(env.AWS_SESSION_TOKEN);
  return values;
}
