// Encryption settings are checked before any I/O; what a store reports back is matched against what was
// asked in the forms each store reports it (the round trips are in test/integration/encryption.test.ts).
import { describe, expect, it } from 'vitest';
import { loadConfig, type SettingValues } from '../../shared/config/config.js';
import { ConfigError } from '../../shared/errors.js';
import { cmekApplied } from '../../shared/store/gcs.js';
import { appliedAsAsked } from '../../shared/store/s3.js';

const S3 = { BACKUP_URL: 's3://backups/etcd' };
const GCS = { BACKUP_URL: 'gs://backups/etcd' };
const KEY_NAME = 'projects/p/locations/europe-west1/keyRings/etcd/cryptoKeys/backups';
const ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function refused(values: SettingValues): ConfigError {
  try {
    loadConfig(values);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('S3_SSE and S3_SSE_KMS_KEY_ID', () => {
  it('take AES256, aws:kms alone (the aws/s3 key), or aws:kms with a key id or ARN', () => {
    expect(loadConfig(S3).s3.sse).toBeUndefined();
    expect(loadConfig({ ...S3, S3_SSE: 'AES256' }).s3.sse).toEqual({ algorithm: 'AES256' });
    expect(loadConfig({ ...S3, S3_SSE: 'aws:kms' }).s3.sse).toEqual({ algorithm: 'aws:kms' });
    expect(loadConfig({ ...S3, S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: ARN }).s3.sse).toEqual({ algorithm: 'aws:kms', keyId: ARN });
  });

  it('refuse another algorithm, a key without aws:kms, an alias, and any of them with a store other than S3', () => {
    expect(refused({ ...S3, S3_SSE: 'aes256' })).toMatchObject({
      setting: 'S3_SSE',
      message: expect.stringContaining('AES256 or aws:kms'),
    });
    expect(refused({ ...S3, S3_SSE_KMS_KEY_ID: ARN }).setting).toBe('S3_SSE_KMS_KEY_ID');
    expect(refused({ ...S3, S3_SSE: 'AES256', S3_SSE_KMS_KEY_ID: ARN }).setting).toBe('S3_SSE_KMS_KEY_ID');
    for (const alias of ['alias/backups', 'arn:aws:kms:eu-west-1:123456789012:alias/backups'])
      expect(refused({ ...S3, S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: alias })).toMatchObject({
        setting: 'S3_SSE_KMS_KEY_ID',
        message: expect.stringContaining('alias'),
      });
    expect(refused({ ...GCS, S3_SSE: 'AES256' })).toMatchObject({ setting: 'S3_SSE', message: expect.stringContaining('gs://') });
    expect(refused({ BACKUP_URL: 'file:///tmp/b', S3_SSE_KMS_KEY_ID: ARN }).setting).toBe('S3_SSE_KMS_KEY_ID');
  });

  it('match what S3 reports: the algorithm, and the key as given or as the key ARN S3 answers with', () => {
    const kms = { algorithm: 'aws:kms' as const, keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' };
    expect(appliedAsAsked(kms, { algorithm: 'aws:kms', keyId: ARN })).toBe(true);
    expect(appliedAsAsked({ algorithm: 'aws:kms', keyId: ARN }, { algorithm: 'aws:kms', keyId: ARN })).toBe(true);
    expect(appliedAsAsked({ algorithm: 'aws:kms', keyId: 'testkey-1' }, { algorithm: 'aws:kms', keyId: 'testkey-1' })).toBe(true);
    expect(appliedAsAsked({ algorithm: 'aws:kms' }, { algorithm: 'aws:kms', keyId: ARN })).toBe(true);
    expect(appliedAsAsked({ algorithm: 'AES256' }, { algorithm: 'AES256' })).toBe(true);
    // Another key, another algorithm, nothing at all.
    expect(appliedAsAsked(kms, { algorithm: 'aws:kms', keyId: ARN.replace('1234abcd', 'ffffabcd') })).toBe(false);
    expect(appliedAsAsked(kms, { algorithm: 'AES256' })).toBe(false);
    expect(appliedAsAsked({ algorithm: 'AES256' }, { algorithm: 'aws:kms', keyId: ARN })).toBe(false);
    expect(appliedAsAsked({ algorithm: 'AES256' }, undefined)).toBe(false);
  });
});

describe('GCS_KMS_KEY_NAME', () => {
  it('takes a Cloud KMS key name, on a gs:// location only', () => {
    expect(loadConfig({ ...GCS, GCS_KMS_KEY_NAME: KEY_NAME }).gcs.kmsKeyName).toBe(KEY_NAME);
    expect(loadConfig(GCS).gcs.kmsKeyName).toBeUndefined();
    for (const bad of ['backups', `${KEY_NAME}/cryptoKeyVersions/1`, 'projects/p/locations/l/keyRings/r', `/${KEY_NAME}`])
      expect(refused({ ...GCS, GCS_KMS_KEY_NAME: bad }).setting).toBe('GCS_KMS_KEY_NAME');
    expect(refused({ ...S3, GCS_KMS_KEY_NAME: KEY_NAME })).toMatchObject({
      setting: 'GCS_KMS_KEY_NAME',
      message: expect.stringContaining('s3://'),
    });
  });

  it('matches the key version GCS reports (or the key itself), never another key', () => {
    expect(cmekApplied(KEY_NAME, { algorithm: 'cmek', keyId: `${KEY_NAME}/cryptoKeyVersions/7` })).toBe(true);
    expect(cmekApplied(KEY_NAME, { algorithm: 'cmek', keyId: KEY_NAME })).toBe(true);
    expect(cmekApplied(KEY_NAME, { algorithm: 'cmek', keyId: `${KEY_NAME}-old/cryptoKeyVersions/1` })).toBe(false);
    expect(cmekApplied(KEY_NAME, undefined)).toBe(false);
  });
});
