// Configuration is validated once, before any I/O, and every error names the setting at fault.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import { SETTINGS } from '../../shared/config/settings.js';
import { parseDuration, parseSize } from '../../shared/config/units.js';
import { ConfigError } from '../../shared/errors.js';
import { parseBackupUrl } from '../../shared/config/location.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('back up the local etcd into ./backups of the working directory', () => {
    const config = loadConfig({}, '/work/here');
    expect(config.location).toEqual({ kind: 'file', root: '/work/here/backups' });
    expect(config.etcd.endpoints).toEqual(['http://127.0.0.1:2379']);
    expect(config.cluster).toBe('default');
    expect(config.etcd.dialTimeoutMs).toBe(5000);
    expect(config.s3).toMatchObject({
      region: 'us-east-1',
      forcePathStyle: false,
      checksum: 'WHEN_SUPPORTED',
      partSize: 5 * 1024 * 1024,
      queueSize: 1,
    });
  });

  it('every setting has an env var, a flag and a description', () => {
    for (const s of SETTINGS) {
      expect(s.env).toMatch(/^[A-Z0-9_]+$/);
      expect(s.flag).toMatch(/^--[a-z0-9-]+$/);
      expect(s.description.length).toBeGreaterThan(10);
    }
    expect(new Set(SETTINGS.map((s) => s.flag)).size).toBe(SETTINGS.length);
  });
});

describe('BACKUP_URL', () => {
  it('parses the three stores', () => {
    expect(parseBackupUrl('s3://my-bucket/backups/etcd')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: 'backups/etcd' });
    expect(parseBackupUrl('gs://my-bucket')).toEqual({ kind: 'gcs', bucket: 'my-bucket', prefix: '' });
    expect(parseBackupUrl('s3://my-bucket/p/')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: 'p' });
    expect(parseBackupUrl('file:///var/backups/')).toEqual({ kind: 'file', root: '/var/backups' });
  });

  it.each([
    ['s3://bucket/../other', 'segment'],
    ['s3://bucket/a//b', 'segment'],
    ['s3://bucket/./a', 'segment'],
    ['file://relative/dir', 'host'],
    ['file:///var/../etc', 'absolute'],
    ['s3://UPPER/x', 'bucket name'],
    ['s3://a/x', 'bucket name'],
    ['ftp://host/x', 'scheme'],
    ['/just/a/path', 'not a URL'],
  ])('refuses %s (%s)', (url, words) => {
    const error = configError(() => parseBackupUrl(url));
    expect(error.setting).toBe('BACKUP_URL');
    expect(error.message).toContain(words);
  });
});

describe('validation names the setting', () => {
  it.each([
    [{ CLUSTER_NAME: '../etcd' }, 'CLUSTER_NAME'],
    [{ CLUSTER_NAME: 'a/b' }, 'CLUSTER_NAME'],
    [{ CLUSTER_NAME: '.hidden' }, 'CLUSTER_NAME'],
    [{ CLUSTER_NAME: 'x'.repeat(101) }, 'CLUSTER_NAME'],
    [{ ETCD_ENDPOINTS: 'localhost:2379' }, 'ETCD_ENDPOINTS'],
    [{ ETCD_ENDPOINTS: 'grpc://10.0.0.1:2379' }, 'ETCD_ENDPOINTS'],
    [{ ETCD_ENDPOINTS: ' , ' }, 'ETCD_ENDPOINTS'],
    [{ ETCD_ENDPOINTS: 'http://10.0.0.1:2379/v3' }, 'ETCD_ENDPOINTS'],
    [{ ETCD_USERNAME: 'root' }, 'ETCD_PASSWORD'],
    [{ ETCD_CERT_FILE: '/nonexistent/client.crt' }, 'ETCD_CERT_FILE'],
    [{ ETCD_CERT_FILE: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----' }, 'ETCD_KEY_FILE'],
    [{ ETCD_DIAL_TIMEOUT: '5' }, 'ETCD_DIAL_TIMEOUT'],
    [{ S3_PART_SIZE: '1MiB' }, 'S3_PART_SIZE'],
    [{ S3_FORCE_PATH_STYLE: 'maybe' }, 'S3_FORCE_PATH_STYLE'],
    [{ SNAPSHOT_ATTEMPTS: '0' }, 'SNAPSHOT_ATTEMPTS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ AWS_REQUEST_CHECKSUM_CALCULATION: 'never' }, 'AWS_REQUEST_CHECKSUM_CALCULATION'],
    [{ PRUNE_MAX_AGE: '12h' }, 'PRUNE_MAX_AGE'],
    [{ PRUNE_KEEP_LAST: '3', PRUNE_MAX_AGE: '30m' }, 'PRUNE_MAX_AGE'],
  ])('%o -> %s', (values, setting) => {
    const error = configError(() => loadConfig(values));
    expect(error.setting).toBe(setting);
    expect(error.message.startsWith(`${setting}: `)).toBe(true);
  });

  it('refuses TLS files with http:// endpoints rather than silently switching protocol', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----';
    expect(configError(() => loadConfig({ ETCD_CA_FILE: pem, ETCD_ENDPOINTS: 'http://127.0.0.1:2379' })).setting).toBe('ETCD_ENDPOINTS');
  });
});

describe('PRUNE_MAX_AGE', () => {
  it('0 turns it off, like every other duration of the policy', () => {
    expect(loadConfig({ PRUNE_MAX_AGE: '0' }).retention.maxAgeMs).toBeUndefined();
    expect(loadConfig({ PRUNE_MAX_AGE: '90d' }).retention.maxAgeMs).toBe(90 * 86_400_000);
  });
});

describe('credentials in an etcd endpoint URL', () => {
  it.each([
    'http://root:pw@127.0.0.1:2379',
    'https://root:pw@10.0.0.1:2379,https://10.0.0.2:2379',
    'http://root:pw@ho st:2379', // not a URL at all
    'root:pw@127.0.0.1:2379', // no scheme
    'http://root:pw@127.0.0.1:2379/v3',
  ])('%s is refused without repeating the password, pointing to ETCD_USERNAME/ETCD_PASSWORD', (endpoints) => {
    const error = configError(() => loadConfig({ ETCD_ENDPOINTS: endpoints }));
    expect(error.setting).toBe('ETCD_ENDPOINTS');
    expect(`${error.message} ${error.hint}`).not.toContain('pw');
    expect(`${error.message} ${error.hint}`).not.toContain('root');
  });

  it('the refusal names the settings to use instead', () => {
    const error = configError(() => loadConfig({ ETCD_ENDPOINTS: 'http://root:pw@127.0.0.1:2379' }));
    expect(error.message).toContain('http://<credentials>@127.0.0.1:2379');
    expect(error.hint).toContain('ETCD_USERNAME');
    expect(error.hint).toContain('ETCD_PASSWORD');
    // In a fleet file the password cannot be written: the hint names the references that can.
    expect(error.hint).toMatch(/ETCD_PASSWORD_FILE.*SSM_SECRETS_PATH/);
  });
});

describe('PRUNE_KEEP_LAST and the PRUNE_KEEP_MIN floor', () => {
  it('an explicit keep-last lowers the default floor to itself', () => {
    expect(loadConfig({ PRUNE_KEEP_LAST: '1' }).retention).toMatchObject({ keepLast: 1, keepMin: 1 });
    expect(loadConfig({ PRUNE_KEEP_LAST: '10' }).retention).toMatchObject({ keepLast: 10, keepMin: 3 });
    expect(loadConfig({}).retention).toMatchObject({ keepLast: 0, keepMin: 3 });
  });

  it('an explicit floor above an explicit keep-last is refused, naming both settings', () => {
    const error = configError(() => loadConfig({ PRUNE_KEEP_LAST: '1', PRUNE_KEEP_MIN: '3' }));
    expect(error.setting).toBe('PRUNE_KEEP_MIN');
    expect(error.message).toContain('PRUNE_KEEP_LAST');
    expect(error.hint).toContain('--keep-min');
    expect(loadConfig({ PRUNE_KEEP_LAST: '3', PRUNE_KEEP_MIN: '3' }).retention).toMatchObject({ keepLast: 3, keepMin: 3 });
    expect(loadConfig({ PRUNE_KEEP_LAST: '2', PRUNE_KEEP_MIN: '0' }).retention).toMatchObject({ keepLast: 2, keepMin: 0 });
  });
});

describe('CLOCK_SKEW_TOLERANCE', () => {
  it('defaults to 5 minutes; 0 turns the check off; a bare number is refused', () => {
    expect(loadConfig({}).clockSkewToleranceMs).toBe(300_000);
    expect(loadConfig({ CLOCK_SKEW_TOLERANCE: '0' }).clockSkewToleranceMs).toBe(0);
    expect(configError(() => loadConfig({ CLOCK_SKEW_TOLERANCE: '300' })).setting).toBe('CLOCK_SKEW_TOLERANCE');
  });
});

describe('STATUS_MAX_AGE', () => {
  it('defaults to 3 hours (the hourly snapshot missed twice); 0 = age not judged; a bare number is refused', () => {
    expect(loadConfig({}).statusMaxAgeMs).toBe(3 * 3_600_000);
    expect(loadConfig({ STATUS_MAX_AGE: '0' }).statusMaxAgeMs).toBe(0);
    expect(loadConfig({ STATUS_MAX_AGE: '90m' }).statusMaxAgeMs).toBe(90 * 60_000);
    expect(configError(() => loadConfig({ STATUS_MAX_AGE: '10800' })).setting).toBe('STATUS_MAX_AGE');
  });
});

describe('units', () => {
  it('parses durations and sizes with units', () => {
    expect(parseDuration('X', '90s')).toBe(90_000);
    expect(parseDuration('X', '36h')).toBe(36 * 3_600_000);
    expect(parseDuration('X', '30d')).toBe(30 * 86_400_000);
    expect(parseDuration('X', '250ms')).toBe(250);
    expect(parseSize('X', '8MiB')).toBe(8 * 1024 * 1024);
    expect(parseSize('X', '5MB')).toBe(5_000_000);
    expect(parseSize('X', '1024')).toBe(1024);
  });
});

describe('README', () => {
  it('documents every setting with its env var, flag and default', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    for (const s of SETTINGS) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${s.env}\` |`));
      expect(row, s.env).toBeDefined();
      expect(row).toContain(`\`${s.flag}\``);
      expect(row).toContain('default' in s ? `\`${s.default}\`` : '(unset)');
    }
  });
});
