// AWS_CA_BUNDLE, which the AWS CLI and the other SDKs honour and the JavaScript SDK ignores, is read by our
// S3 client itself (test/integration/store-contract.test.ts shows it trusted over TLS).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.js';
import { caBundle } from '../../shared/store/s3.js';

describe('AWS_CA_BUNDLE', () => {
  it('is not required', () => {
    expect(caBundle({})).toBeUndefined();
    expect(caBundle({ AWS_CA_BUNDLE: '' })).toBeUndefined();
  });

  it('gives the PEM file it names', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'ca-bundle-')), 'ca.pem');
    await writeFile(file, '-----BEGIN CERTIFICATE-----\n');
    expect(caBundle({ AWS_CA_BUNDLE: file })?.toString()).toBe('-----BEGIN CERTIFICATE-----\n');
  });

  it('naming a missing file is a configuration error that names the setting', () => {
    let error: unknown;
    try {
      caBundle({ AWS_CA_BUNDLE: '/nonexistent/ca.pem' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe('AWS_CA_BUNDLE');
    expect((error as ConfigError).message).toContain('ENOENT');
  });
});
