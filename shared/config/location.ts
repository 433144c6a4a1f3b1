import { isAbsolute, normalize } from 'node:path';
import { ConfigError } from '../errors.js';

export type StoreLocation =
  | { kind: 's3'; bucket: string; prefix: string }
  | { kind: 'gcs'; bucket: string; prefix: string }
  | { kind: 'file'; root: string };

const SETTING = 'BACKUP_URL';

/** Prefix segments are checked one by one: no empty, "." or ".." segment can move a cluster's objects. */
function parsePrefix(raw: string): string {
  // One slash separates the bucket from the prefix, and one may end it; any other empty segment is refused.
  const trimmed = raw.replace(/^\//, '').replace(/\/$/, '');
  if (trimmed === '') return '';
  const segments = trimmed.split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new ConfigError(
        SETTING,
        `the prefix "${raw}" has an empty, "." or ".." segment`,
        'write the prefix as plain names separated by single slashes',
      );
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
    if (/[\u0000-\u001f\u007f\\]/.test(segment)) throw new ConfigError(SETTING, `the prefix "${raw}" has a control character or backslash`);
  }
  if (trimmed.length > 512) throw new ConfigError(SETTING, 'the prefix is longer than 512 characters');
  return trimmed;
}

export function parseBackupUrl(url: string): StoreLocation {
  const match = /^([a-z0-9]+):\/\/([^/]*)(\/.*)?$/.exec(url.trim());
  if (!match) throw new ConfigError(SETTING, `"${url}" is not a URL`, 'use s3://bucket/prefix, gs://bucket/prefix or file:///absolute/dir');
  const [, scheme, host = '', path = ''] = match;
  if (scheme === 's3' || scheme === 'gs') {
    // S3 and GCS bucket names: 3-63 lower-case letters, digits, dots and dashes.
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(host) || host.includes('..')) {
      throw new ConfigError(
        SETTING,
        `"${host}" is not a valid bucket name`,
        'bucket names are 3-63 lower-case letters, digits, dots and dashes',
      );
    }
    return { kind: scheme === 's3' ? 's3' : 'gcs', bucket: host, prefix: parsePrefix(path) };
  }
  if (scheme === 'file') {
    if (host !== '' && host !== 'localhost')
      throw new ConfigError(SETTING, `file URLs name no host ("${host}")`, 'write file:///absolute/dir (three slashes)');
    const root = decodeURIComponent(path);
    if (!isAbsolute(root) || root.split('/').some((s) => s === '..' || s === '.')) {
      throw new ConfigError(SETTING, `"${root}" is not an absolute directory`, 'write file:///absolute/dir');
    }
    return { kind: 'file', root: normalize(root).replace(/\/+$/, '') || '/' };
  }
  throw new ConfigError(SETTING, `unknown scheme "${scheme}:"`, 'use s3://, gs:// or file://');
}
