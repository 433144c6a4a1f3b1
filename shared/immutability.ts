import { type ImmutabilityConfig, scheduleProblem } from './config/config.js';
import { describeError, type ErrorReport, PreconditionError } from './errors.js';
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
    throw new PreconditionError(
      'IMMUTABILITY',
      `${config.mode} mode needs versioning, which is off on ${where}`,
      'create the bucket with Object Lock enabled (that turns versioning on)',
    );
  }
  if (config.mode === 'object') {
    if (!p.objectRetention) {
      throw new PreconditionError(
        'IMMUTABILITY',
        `object mode needs per-object retention, which ${where} does not allow`,
        'S3: create the bucket with Object Lock enabled; GCS: enable object retention on the bucket (--enable-per-object-retention)',
      );
    }
    return { ...config, mode: 'object', periodMs: config.periodMs as number };
  }
  if (!p.defaultRetention) {
    throw new PreconditionError(
      'IMMUTABILITY',
      `bucket mode needs a default retention on ${where}, and it has none`,
      'S3: put an Object Lock configuration with a default retention rule; GCS: set a bucket retention policy; or use IMMUTABILITY=object',
    );
  }
  const problem = scheduleProblem(config, p.defaultRetention.periodMs, 'the bucket default retention');
  if (problem) throw new PreconditionError(problem.setting, problem.message, problem.hint);
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

/** At least as strong a lock: compliance satisfies a governance requirement, not the other way round. */
const strongEnough = (got: Retention['mode'], wanted: Retention['mode']) => got === 'compliance' || wanted === 'governance';

/**
 * Protects one object until now + period and reads the protection back. A retention already on the object
 * that ends at least as late, in at least as strong a mode, is kept as it is (S3 refuses to shorten one, and
 * a bucket default retention longer than IMMUTABILITY_PERIOD protects more than asked); the date recorded is
 * the real one. Otherwise the retention is set, never earlier than the one already there. In bucket mode
 * the bucket's default retention should already apply; where it does not (S3-compatible servers ignore it
 * on multipart uploads and copies), the same protection is applied explicitly, by version id.
 */
export async function protectObject(
  store: ObjectStore,
  key: string,
  versionId: string | undefined,
  config: ActiveImmutability,
  now: Date,
): Promise<Protection> {
  const wanted = new Date(now.getTime() + config.periodMs);
  const version = versionId ? { versionId } : {};
  const read = () => store.getRetention(key, version);
  const enough = (r: Retention | undefined): boolean =>
    r !== undefined && strongEnough(r.mode, config.lock) && r.retainUntil.getTime() >= wanted.getTime() - SLACK_MS;
  try {
    const current = await read();
    const kept = enough(current);
    if (!kept) {
      const later = current && current.retainUntil > wanted ? current.retainUntil : wanted;
      await store.setRetention(key, { mode: config.lock, retainUntil: later }, version);
    }
    const got = kept ? current : await read();
    const protection: Protection = { mode: config.mode, confirmed: enough(got) };
    if (got) protection.retainUntil = got.retainUntil.toISOString();
    return protection;
  } catch (error) {
    return { mode: config.mode, confirmed: false, error: describeError(error) };
  }
}
