// Clients and buckets on the services that test/support/global-setup.ts starts once per run.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CreateBucketCommand, PutObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { inject, type ProvidedContext } from 'vitest';
import type { GcsService, S3Service } from './global-setup.js';

function provided<K extends 's3' | 'gcs'>(key: K): NonNullable<ProvidedContext[K]> {
  const value = inject(key);
  if (!value) throw new Error(`no ${key} test service: the run was started with TEST_SERVICES=none`);
  return value;
}

export const s3Service = (): S3Service => provided('s3');
export const gcsService = (): GcsService => provided('gcs');

/**
 * An S3 client for the test radosgw, over plain HTTP with when_required checksums (the SDK's default
 * sends streamed bodies as aws-chunked with a checksum trailer, which this radosgw refuses: 411); or over
 * HTTPS, trusting the test CA, with the SDK's default checksums.
 */
export function s3Client(transport: 'http' | 'https' = 'http'): S3Client {
  const s3 = s3Service();
  const common = {
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    forcePathStyle: true,
  };
  if (transport === 'https')
    return new S3Client({ ...common, endpoint: s3.httpsEndpoint, requestHandler: { httpsAgent: { ca: readFileSync(s3.caFile) } } });
  return new S3Client({
    ...common,
    endpoint: s3.endpoint,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A @google-cloud/storage client for the emulator. Buckets need no creating: the first write makes them. */
export function gcsStorage(): Storage {
  const gcs = gcsService();
  return new Storage({ apiEndpoint: gcs.emulatorHost, projectId: gcs.projectId });
}

let counter = 0;

/** A bucket name valid on S3 and GCS and unique across test files and runs, e.g. `backups-m3k1-7-1f2e3d`. */
export function uniqueBucketName(prefix: string): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'test';
  return `${clean}-${Date.now().toString(36)}-${++counter}-${randomBytes(3).toString('hex')}`;
}

/** Creates a bucket on the test radosgw; objectLock also turns on versioning, as on AWS. Returns the name. */
export async function createS3Bucket(name: string, options: { objectLock?: boolean } = {}): Promise<string> {
  const client = s3Client();
  try {
    await client.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: options.objectLock }));
  } finally {
    client.destroy();
  }
  return name;
}

/** Gives an Object Lock bucket a default retention rule (whole days: S3's smallest unit). */
export async function setDefaultRetention(bucket: string, days: number): Promise<void> {
  const client = s3Client();
  try {
    await client.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: days } } },
      }),
    );
  } finally {
    client.destroy();
  }
}
