import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../errors.js';
import {
  assertDir,
  type BucketProtection,
  type GetOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type Retention,
} from './types.js';

interface Sidecar {
  metadata: Record<string, string>;
  tags: Record<string, string>;
}

function fsError(error: unknown, action: string, key: string): BackupError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new BackupError('store-not-found', `${action} ${key}: no such object`, { cause: error });
  if (code === 'EEXIST')
    return new BackupError('store-exists', `${action} ${key}: the object already exists`, {
      cause: error,
      hint: 'objects are never overwritten',
    });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new BackupError('store-access-denied', `${action} ${key}: permission denied`, {
      cause: error,
      hint: 'check that the directory of BACKUP_URL is writable by this user',
    });
  }
  if (code === 'ENOTDIR')
    return new BackupError('store', `${action} ${key}: part of the path is a file, not a directory`, {
      cause: error,
      hint: 'BACKUP_URL must name a directory',
    });
  return new BackupError('store', `${action} ${key} failed: ${(error as Error).message}`, { cause: error });
}

/**
 * Snapshots hold every secret of the cluster: what this store creates is for its owner only, as etcdctl
 * writes its snapshots. Given at creation, so there is no moment when a file is more open; the umask can
 * only take bits away from these.
 */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/**
 * A directory as an object store (the embedded default). An object becomes visible only when complete:
 * data goes to a hidden temporary file, is fsynced, then hard-linked to its key (link fails if the key
 * exists: create-only). Metadata and tags live in a hidden sidecar file next to the object. No retention.
 * Directories it creates are 0700 and files 0600 (DIR_MODE, FILE_MODE).
 */
export class LocalStore implements ObjectStore {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `file://${root}`;
  }

  private path(key: string): string {
    if (key.split('/').some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.'))) {
      throw new BackupError('store', `invalid object key "${key}"`);
    }
    return join(this.root, ...key.split('/'));
  }

  private sidecarPath(key: string): string {
    const file = this.path(key);
    return join(dirname(file), `.${posix.basename(key)}.meta.json`);
  }

  private async readSidecar(key: string): Promise<Sidecar> {
    try {
      return JSON.parse(await readFile(this.sidecarPath(key), 'utf8')) as Sidecar;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { metadata: {}, tags: {} };
      throw fsError(error, 'read metadata of', key);
    }
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<ObjectInfo> {
    const file = this.path(key);
    const unique = randomBytes(6).toString('hex');
    const temp = join(dirname(file), `.${posix.basename(key)}.partial-${unique}`);
    const tempSidecar = `${this.sidecarPath(key)}.partial-${unique}`;
    try {
      await mkdir(dirname(file), { recursive: true, mode: DIR_MODE });
      const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
      const out = createWriteStream(temp, { flags: 'wx', mode: FILE_MODE });
      await pipeline(source, out, options.signal ? { signal: options.signal } : {});
      const handle = await open(temp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await writeFile(tempSidecar, JSON.stringify({ metadata: options.metadata ?? {}, tags: {} } satisfies Sidecar), {
        flag: 'wx',
        mode: FILE_MODE,
      });
      await link(temp, file);
      await rename(tempSidecar, this.sidecarPath(key));
    } catch (error) {
      if (error instanceof BackupError) throw error;
      if (options.signal?.aborted) throw new BackupError('aborted', `upload of ${key} aborted`, { cause: options.signal.reason ?? error });
      throw (error as NodeJS.ErrnoException).code ? fsError(error, 'write', key) : error;
    } finally {
      // Cleanup must not mask the error that got us here.
      await rm(temp, { force: true }).catch(() => undefined);
      await rm(tempSidecar, { force: true }).catch(() => undefined);
    }
    const info = await this.head(key);
    if (!info) throw new BackupError('store', `${key} vanished right after it was written`);
    return info;
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    // Opened here, not lazily by the stream: a missing object fails now, and one deleted while it is read
    // (a concurrent prune) is read to its end.
    let handle;
    try {
      handle = await open(this.path(key), 'r');
    } catch (error) {
      throw fsError(error, 'read', key);
    }
    // Reads of 256 KiB: large enough for a fast plain read; 1 MiB chunks fed to a decompressor (a compressed
    // snapshot) keep tens of MiB more alive at the peak, for no speed gain.
    return handle.createReadStream({ start: options.start, end: options.end, highWaterMark: 256 * 1024 });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.path(key));
      return { key, size: s.size, lastModified: s.mtime, metadata: (await this.readSidecar(key)).metadata };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fsError(error, 'stat', key);
    }
  }

  async *list(dir: string): AsyncIterable<ObjectInfo> {
    assertDir(dir);
    const path = dir === '/' ? this.root : this.path(dir.slice(0, -1));
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError(error, 'list', dir);
    }
    const files = entries
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
    for (const name of files) {
      const key = dir === '/' ? name : dir + name;
      const s = await stat(join(path, name)).catch(() => undefined);
      if (s) yield { key, size: s.size, lastModified: s.mtime };
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(error, 'delete', key);
    }
    await rm(this.sidecarPath(key), { force: true });
  }

  async copy(source: string, destination: string, options: { metadata?: Record<string, string> } = {}): Promise<ObjectInfo> {
    const metadata = options.metadata ?? (await this.readSidecar(source)).metadata;
    return this.put(destination, await this.get(source), { metadata });
  }

  async getTags(key: string): Promise<Record<string, string>> {
    if (!(await this.head(key))) throw new BackupError('store-not-found', `tags of ${key}: no such object`);
    return (await this.readSidecar(key)).tags;
  }

  async setTags(key: string, tags: Record<string, string>): Promise<void> {
    if (!(await this.head(key))) throw new BackupError('store-not-found', `tags of ${key}: no such object`);
    const sidecar = await this.readSidecar(key);
    const temp = `${this.sidecarPath(key)}.partial-${randomBytes(6).toString('hex')}`;
    await writeFile(temp, JSON.stringify({ ...sidecar, tags }), { flag: 'wx', mode: FILE_MODE });
    await rename(temp, this.sidecarPath(key));
  }

  async getRetention(): Promise<Retention | undefined> {
    return undefined;
  }

  async cleanupIncomplete(dir: string, idleSince: Date): Promise<string[]> {
    assertDir(dir);
    const path = this.path(dir.slice(0, -1));
    const entries = await readdir(path).catch(() => [] as string[]);
    const removed: string[] = [];
    for (const name of entries.filter((n) => n.startsWith('.') && n.includes('.partial-'))) {
      const s = await stat(join(path, name)).catch(() => undefined);
      if (s && s.mtime < idleSince) {
        await rm(join(path, name), { force: true });
        removed.push(dir + name);
      }
    }
    return removed;
  }

  async bucketProtection(): Promise<BucketProtection> {
    return { objectRetention: false, versioning: false };
  }

  async setRetention(key: string): Promise<void> {
    throw new BackupError('store-unsupported', `cannot protect ${key}: a local directory has no retention (WORM)`, {
      hint: 'use an S3 bucket with Object Lock or a GCS bucket with object retention for immutable backups',
    });
  }
}
