// The three stores the product supports, each on its real local service, described the way a user
// configures them (settings), so tests can run tasks in-process or the CLI as a child process.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type SettingValues } from '../../shared/config/config.js';
import { openStore, type ObjectStore } from '../../shared/store/index.js';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { createS3Bucket, gcsService, s3Client, s3Service, setDefaultRetention, uniqueBucketName } from './stores.js';

export type BackendKind = 'local' | 's3' | 'gcs';
export const BACKEND_KINDS: BackendKind[] = ['local', 's3', 'gcs'];

export interface Backend {
  kind: BackendKind;
  /** BACKUP_URL and the endpoint settings for this store. */
  settings: SettingValues;
  /** Extra process environment (cloud credentials) for child processes. */
  env: Record<string, string>;
  store: ObjectStore;
}

/** How the S3 store is reached: plain HTTP, or HTTPS as on AWS (see s3Settings). */
export type S3Transport = 'http' | 'https';

/**
 * The settings for a bucket on the test radosgw. Over plain HTTP with when_required checksums, which the
 * suites have always used; over HTTPS with the settings' defaults, as a user of AWS S3 runs it:
 * when_supported (CRC32 part checksums, UNSIGNED-PAYLOAD parts), the CA trusted through AWS_CA_BUNDLE.
 */
function s3Settings(bucket: string, prefix: string, transport: S3Transport): { settings: SettingValues; env: Record<string, string> } {
  const s3 = s3Service();
  const env: Record<string, string> = { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
  const settings: SettingValues = { BACKUP_URL: `s3://${bucket}/${prefix}`, AWS_REGION: s3.region, S3_FORCE_PATH_STYLE: 'true' };
  if (transport === 'https') {
    settings.AWS_ENDPOINT_URL_S3 = s3.httpsEndpoint;
    env.AWS_CA_BUNDLE = s3.caFile;
  } else {
    settings.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    settings.AWS_REQUEST_CHECKSUM_CALCULATION = 'when_required';
  }
  return { settings, env };
}

/** A fresh, empty location (a new bucket or directory) on the given store. */
export async function makeBackend(
  kind: BackendKind,
  options: { objectLock?: boolean; defaultRetentionDays?: number; prefix?: string; transport?: S3Transport } = {},
): Promise<Backend> {
  const prefix = options.prefix ?? 'backups/etcd';
  let settings: SettingValues;
  let env: Record<string, string> = {};
  if (kind === 'local') {
    settings = { BACKUP_URL: `file://${await mkdtemp(join(tmpdir(), 'store-'))}` };
  } else if (kind === 's3') {
    const bucket = await createS3Bucket(uniqueBucketName('s3'), {
      objectLock: options.objectLock ?? options.defaultRetentionDays !== undefined,
    });
    if (options.defaultRetentionDays !== undefined) await setDefaultRetention(bucket, options.defaultRetentionDays);
    ({ settings, env } = s3Settings(bucket, prefix, options.transport ?? 'http'));
  } else {
    const gcs = gcsService();
    settings = {
      BACKUP_URL: `gs://${uniqueBucketName('gcs')}/${prefix}`,
      STORAGE_EMULATOR_HOST: gcs.emulatorHost,
      GOOGLE_CLOUD_PROJECT: gcs.projectId,
    };
  }
  // In-process SDK clients read credentials (and our S3 client AWS_CA_BUNDLE) from the environment, as
  // they do in a function.
  Object.assign(process.env, env);
  const { location, s3, gcs } = loadConfig(settings);
  return { kind, settings, env, store: await openStore(location, { s3, gcs }) };
}

/**
 * Multipart uploads in progress in the bucket of these settings (or under their prefix only): what a failed
 * upload must not leave behind. Stores other than S3 have none.
 */
export async function multipartUploads(settings: SettingValues, scope: 'bucket' | 'prefix' = 'bucket'): Promise<unknown[]> {
  const location = loadConfig(settings).location;
  if (location.kind !== 's3') return [];
  const client = s3Client();
  try {
    const uploads = await client.send(
      new ListMultipartUploadsCommand({ Bucket: location.bucket, ...(scope === 'prefix' ? { Prefix: location.prefix } : {}) }),
    );
    return uploads.Uploads ?? [];
  } finally {
    client.destroy();
  }
}
