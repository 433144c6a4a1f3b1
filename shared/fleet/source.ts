import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { type SettingValues, storeClientConfigs } from '../config/config.js';
import { ConfigError } from '../errors.js';
import { openStore } from '../store/index.js';

/** Far above any real fleet (thousands of clusters are a few MB), far below what could hurt the function's memory. */
const MAX_BYTES = 16 * 1024 ** 2;

const HINT = 'FLEET_FILE (--fleet) takes a path, s3://bucket/key, gs://bucket/key or ssm:/parameter/name';

function tooLarge(source: string): ConfigError {
  return new ConfigError('FLEET_FILE', `${source} is larger than ${MAX_BYTES / 1024 ** 2} MiB`, 'split the fleet into several files');
}

async function readCapped(source: string, stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BYTES) {
      stream.destroy();
      throw tooLarge(source);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The object at an s3:// or gs:// URL, through the same store adapters (and client settings) as the backups. */
async function readObject(source: string, env: SettingValues): Promise<string> {
  const match = /^(s3|gs):\/\/([^/]+)\/(.+)$/.exec(source);
  if (!match) throw new ConfigError('FLEET_FILE', `"${source}" names no object`, 'write s3://bucket/key or gs://bucket/key');
  const [, scheme, bucket = '', key = ''] = match;
  const store = await openStore({ kind: scheme === 's3' ? 's3' : 'gcs', bucket, prefix: '' }, storeClientConfigs(env));
  const info = await store.head(key);
  if (!info) throw new ConfigError('FLEET_FILE', `${source} does not exist`, 'check the bucket and key, or upload the fleet file there');
  if (info.size > MAX_BYTES) throw tooLarge(source);
  return readCapped(source, await store.get(key));
}

/** Refused by its size before it is read (and capped while read, should it grow meanwhile). */
async function readLocal(source: string, signal: AbortSignal | undefined): Promise<string> {
  const path = resolve(source.startsWith('file://') ? decodeURIComponent(new URL(source).pathname) : source);
  const file = await open(path);
  try {
    if ((await file.stat()).size > MAX_BYTES) throw tooLarge(source);
    return await readCapped(source, file.createReadStream({ autoClose: false, ...(signal ? { signal } : {}) }));
  } finally {
    await file.close();
  }
}

/**
 * The fleet file's text, wherever it lives. Every failure is a ConfigError naming the source (exit 2): the
 * run has not started, and nothing but the fleet file was read.
 */
export async function readFleetSource(source: string, env: SettingValues, signal?: AbortSignal): Promise<string> {
  try {
    if (source.startsWith('ssm:')) {
      const { readSsmParameter } = await import('./ssm.js');
      return await readSsmParameter(source.slice('ssm:'.length), signal);
    }
    if (/^(s3|gs):\/\//.test(source)) return await readObject(source, env);
    if (/^[a-z0-9]+:\/\//.test(source) && !source.startsWith('file://'))
      throw new ConfigError('FLEET_FILE', `"${source}" is not a place a fleet file can be read from`, HINT);
    return await readLocal(source, signal);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).name ?? 'unreadable';
    throw new ConfigError(
      'FLEET_FILE',
      `cannot read ${source}: ${(error as Error).message || reason}`,
      source.startsWith('ssm:')
        ? 'check the parameter name, and that this role may ssm:GetParameter on it (and kms:Decrypt for a SecureString with a customer managed key)'
        : `check that it exists and is readable; ${HINT}`,
      error,
    );
  }
}
