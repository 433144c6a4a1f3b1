// The CLI as a person runs it at a terminal (a pseudo-terminal): text log lines and a progress bar on
// stderr; and interrupted by Ctrl-C or SIGTERM in the middle of a snapshot into S3 (radosgw).
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBackend, multipartUploads, type Backend } from '../support/backends.js';
import { cliOnTerminal, screenLines, startCli } from '../support/cli.js';
import { writeBulk, writeSampleData } from '../support/data.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { run, storedKeys } from '../support/run.js';

/** A text log line: `12:34:56.789Z INFO  message key=value ...`. */
const TEXT_LINE = /^\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) \S/;

describe('etcd-backup at a terminal', () => {
  let etcd: EtcdCluster;
  let backend: Backend;
  let dir: string;
  beforeAll(async () => {
    etcd = await startEtcd();
    await writeSampleData(etcd.endpoints, { smallKeys: 50 });
    await writeBulk(etcd.endpoints, 8);
    backend = await makeBackend('local');
    dir = await mkdtemp(join(tmpdir(), 'cli-terminal-'));
  });
  afterAll(async () => {
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('snapshot, verify and restore print text log lines and a progress bar that ends at 100%', async () => {
    const env = { ETCD_ENDPOINTS: etcd.endpoints[0], BACKUP_URL: backend.settings.BACKUP_URL, CLUSTER_NAME: 'tty' };
    for (const [args, label, message] of [
      [['snapshot'], 'snapshot', 'snapshot succeeded'],
      [['verify'], 'verify', 'verify succeeded'],
      [['restore', '--output', join(dir, 'restored.db')], 'restore', 'restore succeeded'],
    ] as const) {
      const run = await cliOnTerminal([...args], env);
      expect(run.code, run.stdout).toBe(0);
      const lines = screenLines(run.stdout);
      expect(
        lines.some((l) => l.startsWith('{')),
        run.stdout,
      ).toBe(false);
      expect(lines.filter((l) => TEXT_LINE.test(l)).length).toBeGreaterThan(1);
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z INFO  ${message} task=${label} `)));
      // The bar: label, percent, bytes of the total, throughput; its last drawing is 100% of every byte.
      const bars = lines.filter((l) => l.startsWith(`${label} `) && /\d+% /.test(l));
      expect(bars.length, run.stdout).toBeGreaterThan(0);
      expect(bars.at(-1)).toMatch(new RegExp(`^${label} \\S+ 100% (\\S+ \\S+) of \\1, \\S+ \\S+/s$`));
    }
  });

  it('--json at a terminal: one JSON document on stdout, and no progress drawn', async () => {
    const env = { ETCD_ENDPOINTS: etcd.endpoints[0], BACKUP_URL: backend.settings.BACKUP_URL, CLUSTER_NAME: 'tty' };
    const out = join(dir, 'snapshot.json');
    const run = await cliOnTerminal(['snapshot', '--json'], env, out);
    expect(run.code).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toMatchObject({ ok: true });
    expect(
      screenLines(run.stdout).some((l) => /\d+% /.test(l)),
      run.stdout,
    ).toBe(false);
    // LOG_FORMAT=json keeps JSON lines at a terminal.
    const json = await cliOnTerminal(['list', '--log-format', 'json'], env, join(dir, 'list.txt'));
    expect(json.code).toBe(0);
    for (const line of screenLines(json.stdout)) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe('a task interrupted before its stream starts', () => {
  it('verify aborted while it chose the snapshot stops before reading it, and records nothing', async () => {
    const etcd = await startEtcd();
    try {
      const backend = await makeBackend('local');
      const settings = { ...backend.settings, ETCD_ENDPOINTS: etcd.endpoints[0], CLUSTER_NAME: 'early' };
      expect((await run('snapshot', settings)).ok).toBe(true);
      const before = await storedKeys(backend.store, 'early/');
      const outcome = await run('verify', settings, { signal: AbortSignal.abort(new Error('interrupted by SIGINT')) });
      expect(outcome.ok).toBe(false);
      expect(outcome.error).toMatchObject({ code: 'aborted' });
      expect(await storedKeys(backend.store, 'early/')).toEqual(before);
    } finally {
      await etcd.stop();
    }
  });
});

describe('etcd-backup interrupted in the middle of a snapshot into S3', () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd();
    // Many parts' worth, and more than the socket buffers between etcd and the CLI hold.
    await writeBulk(etcd.endpoints, 96);
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s aborts the multipart upload, writes a result line and exits %i', async (signal, status) => {
    const backend = await makeBackend('s3');
    const cluster = `interrupted-${signal.toLowerCase()}`;
    const run = startCli(['snapshot', '--json'], {
      ...backend.settings,
      ...backend.env,
      ETCD_ENDPOINTS: etcd.endpoints[0],
      CLUSTER_NAME: cluster,
    });
    const member = etcd.members[0]?.process as ChildProcess;
    try {
      // Mid-stream: a multipart upload is open (its first part sent), then etcd stops sending.
      await until(() => run.lines.some((l) => l.includes('"streaming snapshot"')), run.exited);
      await until(async () => (await multipartUploads(backend.settings)).length > 0, run.exited);
      member.kill('SIGSTOP');
      run.child.kill(signal);
      expect(await run.exited).toBe(status);
    } finally {
      member.kill('SIGCONT');
    }
    const doc = JSON.parse(run.stdout()) as { ok: boolean; error: { code: string; cause?: { message: string } } };
    expect(doc).toMatchObject({ ok: false, error: { code: 'aborted' } });
    expect(JSON.stringify(doc.error)).toContain(`interrupted by ${signal}`);
    const result = run.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.outcome !== undefined);
    expect(result).toEqual([expect.objectContaining({ message: 'snapshot failed', outcome: 'failure', task: 'snapshot', cluster })]);
    expect(await multipartUploads(backend.settings)).toEqual([]);
    expect(await storedKeys(backend.store, `${cluster}/`)).toEqual([]);
  });
});

/** Waits for `condition`, checking every 20 ms; fails if the CLI exits first. */
async function until(condition: () => boolean | Promise<boolean>, exited: Promise<number | null>): Promise<void> {
  let done = false;
  const early = exited.then((code) => {
    if (!done) throw new Error(`the CLI exited (${code}) before the condition held`);
  });
  early.catch(() => undefined);
  try {
    while (!(await condition())) await Promise.race([new Promise((r) => setTimeout(r, 20)), early]);
  } finally {
    done = true;
  }
}
