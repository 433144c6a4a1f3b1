import { checkSchedule, type ImmutabilityConfig } from './config/config.js';
import { ConfigError, describeError, type ErrorReport } from './errors.js';
import type { ObjectStore, Retention } from './store/index.js';

/** Immutability settings with the protection period known (from settings or from the bucket). */
export interface ActiveImmutability extends ImmutabilityConfig {
  mode: 'bucket' | 'object';
  periodMs: number;
}

/**
 * The start-up check: the bucket must be able to do what IMMUTABILITY asks, before anything is written.
 * Returns undefined when immutability is off.
 */
export async function checkBucketProtection(store: ObjectStore, config: ImmutabilityConfig): Promise<ActiveImmutability | undefined> {
  if (config.mode === 'off') return undefined;
  const p = await store.bucketProtection();
  const where = store.description;
  if (p.versioning === false) {
    throw new ConfigError(
      'IMMUTABILITY',
      `${config.mode} mode needs versioning, which is off on ${where}`,
      'create the bucket with Object Lock enabled (that turns versioning on)',
    );
  }
  if (config.mode === 'object') {
    if (!p.objectRetention) {
      throw new ConfigError(
        'IMMUTABILITY',
        `object mode needs per-object retention, which ${where} does not allow`,
        'S3: create the bucket with Object Lock enabled; GCS: enable object retention on the bucket (--enable-per-object-retention)',
      );
    }
    return { ...config, mode: 'object', periodMs: config.periodMs as number };
  }
  if (!p.defaultRetention) {
    throw new ConfigError(
      'IMMUTABILITY',
      `bucket mode needs a default retention on ${where}, and it has none`,
      'S3: put an Object Lock configuration with a default retention rule; GCS: set a bucket retention policy; or use IMMUTABILITY=object',
    );
  }
  checkSchedule(config, p.defaultRetention.periodMs, 'the bucket default retention');
  return { ...config, mode: 'bucket', periodMs: p.defaultRetention.periodMs, lock: p.defaultRetention.mode };
}

export interface Protection {
  mode: 'bucket' | 'object';
  /** Read back from the store. */
  retainUntil?: string;
  confirmed: boolean;
  error?: ErrorReport;
}

/** Retention read back within this of what was asked counts as confirmed (stores round to seconds). */
const SLACK_MS = 2000;

/**
 * Protects one object until now + period and reads the protection back. In bucket mode the bucket's
 * default retention should already apply; where it does not (S3-compatible servers ignore it on multipart
 * uploads and copies), the same protection is applied explicitly, by version id.
 */
export async function protectObject(
  store: ObjectStore,
  key: string,
  versionId: string | undefined,
  config: ActiveImmutability,
  now: Date,
): Promise<Protection> {
  const want: Retention = { mode: config.lock, retainUntil: new Date(now.getTime() + config.periodMs) };
  const version = versionId ? { versionId } : {};
  const read = () => store.getRetention(key, version);
  const enough = (r: Retention | undefined) => r !== undefined && r.retainUntil.getTime() >= want.retainUntil.getTime() - SLACK_MS;
  try {
    if (config.mode === 'object' || !enough(await read())) await store.setRetention(key, want, version);
    const got = await read();
    const protection: Protection = { mode: config.mode, confirmed: enough(got) };
    if (got) protection.retainUntil = got.retainUntil.toISOString();
    return protection;
  } catch (error) {
    return { mode: config.mode, confirmed: false, error: describeError(error) };
  }
}
