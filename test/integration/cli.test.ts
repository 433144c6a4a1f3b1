// The etcd-backup command as users run it (the built bin), against real etcd and the local store.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../shared/config/settings.js';
import { makeBackend, type Backend } from '../support/backends.js';
import { BIN, cli } from '../support/cli.js';
import { writeSampleData } from '../support/data.js';
import { startEtcd, type EtcdCluster } from '../support/etcd.js';
import { makePki, type TestPki } from '../support/tls.js';

const execFileP = promisify(execFile);

describe('etcd-backup CLI', () => {
  let etcd: EtcdCluster;
  let backend: Backend;
  beforeAll(async () => {
    etcd = await startEtcd();
    await writeSampleData(etcd.endpoints, { smallKeys: 50 });
    backend = await makeBackend('local');
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('--help documents every command, setting, env var and default', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    for (const command of ['snapshot', 'list']) expect(stdout).toContain(command);
    for (const s of SETTINGS) {
      expect(stdout).toContain(s.flag);
      expect(stdout).toContain(s.env);
      if ('default' in s) expect(stdout).toContain(s.default);
    }
  });

  it('--version prints the name and version', async () => {
    const { code, stdout } = await cli(['--version']);
    expect(code).toBe(0);
    const { version } = JSON.parse(await readFile(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(stdout).toBe(`etcd-backup ${version}\n`);
  });

  it('<command> --help describes that command: its own flags and the settings it reads, and no others', async () => {
    const snapshot = await cli(['snapshot', '--help']);
    expect(snapshot.code).toBe(0);
    expect(snapshot.stdout).toMatch(/^Usage: etcd-backup snapshot \[options\]/);
    expect(snapshot.stdout).toContain('ETCD_ENDPOINTS');
    expect(snapshot.stdout).toContain('--etcd-endpoints');
    expect(snapshot.stdout).toContain('ETCDCTL_ENDPOINTS');
    expect(snapshot.stdout).not.toContain('--data-dir');
    expect(snapshot.stdout).not.toContain('PRUNE_KEEP_LAST');
    expect(snapshot.stdout).not.toMatch(/^ {2}(verify|restore|prune) /m);
    const restore = await cli(['restore', '--help']);
    expect(restore.code).toBe(0);
    expect(restore.stdout).toContain('--data-dir');
    expect(restore.stdout).toContain('BACKUP_URL');
    expect(restore.stdout).not.toContain('ETCD_ENDPOINTS');
  });

  it('piped (not a terminal), log lines are JSON and there is no progress, with or without --json', async () => {
    const env = { ETCD_ENDPOINTS: etcd.endpoints[0], BACKUP_URL: backend.settings.BACKUP_URL, CLUSTER_NAME: 'cli-piped' };
    const run = await cli(['snapshot'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^stored cli-piped\//);
    const lines = run.stderr.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { message: string }).message)).toContain('snapshot succeeded');
    expect(run.stderr).not.toContain('\r');
    expect(run.stderr).not.toMatch(/\d+%/);
    // LOG_FORMAT=text asks for text lines anywhere.
    const text = await cli(['snapshot', '--log-format', 'text'], env);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/^\d\d:\d\d:\d\d\.\d{3}Z INFO {2}snapshot succeeded task=snapshot cluster=cli-piped /m);
    expect(text.stderr).not.toContain('{"');
    expect((await cli(['list', '--log-format', 'yaml'], env)).code).toBe(2);
  });

  it('run as a command (as npm links it), it starts node with the memory settings that keep a snapshot run near 128 MiB', async () => {
    const printFlags =
      "--import=data:text/javascript,process.on('exit',()=>console.error('execArgv='+JSON.stringify(process.execArgv)+';arenas='+process.env.MALLOC_ARENA_MAX))";
    const { MALLOC_ARENA_MAX: _unset, ...env } = process.env;
    const asCommand = await execFileP(BIN, ['--help'], { env: { ...env, NODE_OPTIONS: printFlags } });
    expect(asCommand.stdout).toContain('snapshot');
    expect(asCommand.stderr).toContain('execArgv=["--max-semi-space-size=1"];arenas=2');
    // A user's own malloc setting wins.
    const own = await execFileP(BIN, ['--help'], { env: { ...env, NODE_OPTIONS: printFlags, MALLOC_ARENA_MAX: '4' } });
    expect(own.stderr).toContain(';arenas=4');
    // Through node itself the file is plain JavaScript: the shell line is a string and a comment.
    const throughNode = await execFileP(process.execPath, [BIN, '--help'], { env: { ...env, NODE_OPTIONS: printFlags } });
    expect(throughNode.stdout).toContain('snapshot');
    expect(throughNode.stderr).toContain('execArgv=[];arenas=undefined');
  });

  it('snapshot --json prints exactly one JSON document on stdout and logs only to stderr', async () => {
    const run = await cli(['snapshot', '--json'], {
      ETCD_ENDPOINTS: etcd.endpoints[0],
      BACKUP_URL: backend.settings.BACKUP_URL,
      CLUSTER_NAME: 'cli',
    });
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { ok: boolean; key: string; revision: number; sha256: string };
    expect(doc.ok).toBe(true);
    // zstd by default.
    expect(doc.key).toMatch(/^cli\/\d{8}T\d{6}\.\d{3}Z-r\d{20}-[0-9a-f]{8}\.db\.zst$/);
    expect(doc.sha256).toMatch(/^[0-9a-f]{64}$/);
    for (const line of run.stderr.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('snapshot --compression overrides SNAPSHOT_COMPRESSION', async () => {
    const env = { ETCD_ENDPOINTS: etcd.endpoints[0], BACKUP_URL: backend.settings.BACKUP_URL, CLUSTER_NAME: 'cli' };
    const run = await cli(['snapshot', '--json', '--compression', 'none'], { ...env, SNAPSHOT_COMPRESSION: 'gzip' });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, key: expect.stringMatching(/[0-9a-f]{8}\.db$/), compression: 'none' });
    expect((await cli(['snapshot', '--compression', 'xz'], env)).code).toBe(2);
  });

  it('flags override env vars', async () => {
    const run = await cli(['list', '--json', '--cluster', 'cli', '--backup-url', backend.settings.BACKUP_URL as string], {
      CLUSTER_NAME: 'other',
      BACKUP_URL: 'file:///nonexistent',
    });
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { cluster: string; snapshots: { key: string; state: string }[] };
    expect(doc.cluster).toBe('cli');
    expect(doc.snapshots.length).toBeGreaterThanOrEqual(1);
    expect(doc.snapshots[0]?.state).toBe('complete');
  });

  it('list prints a table on a terminal', async () => {
    const run = await cli(['list', '--cluster', 'cli', '--backup-url', backend.settings.BACKUP_URL as string]);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(/^TIME\s+KEY\s+SIZE\s+STORED\s+REVISION\s+KEYS\s+STATE/);
    expect(run.stdout).toContain('complete');
  });

  it('a bad setting exits 2 with one JSON error naming it, before any I/O', async () => {
    const run = await cli(['snapshot', '--json', '--cluster', '../escape'], { BACKUP_URL: backend.settings.BACKUP_URL });
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as { ok: boolean; error: { code: string; message: string; hint: string } };
    expect(doc.ok).toBe(false);
    expect(doc.error.code).toBe('config');
    expect(doc.error.message).toContain('CLUSTER_NAME');
  });

  it('a failed run exits 1 with the cause and a hint', async () => {
    const run = await cli([
      'snapshot',
      '--etcd-endpoints',
      'http://127.0.0.1:9',
      '--etcd-dial-timeout',
      '500ms',
      '--backup-url',
      backend.settings.BACKUP_URL as string,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('http://127.0.0.1:9');
    expect(run.stderr).toContain('hint:');
  });

  it('restore into a data dir that is not empty exits 3 (a precondition, not bad usage), naming the data dir', async () => {
    const { mkdir, mkdtemp, readdir, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'cli-restore-'));
    try {
      const dataDir = join(dir, 'etcd-data');
      await mkdir(join(dataDir, 'member'), { recursive: true });
      const env = { BACKUP_URL: backend.settings.BACKUP_URL, CLUSTER_NAME: 'cli' };
      const human = await cli(['restore', '--output', join(dir, 'etcd.db'), '--data-dir', dataDir], env);
      expect(human.code).toBe(3);
      expect(human.stderr).toContain(`dataDir: ${dataDir} is not empty (member)`);
      const json = await cli(['restore', '--json', '--output', join(dir, 'etcd.db'), '--data-dir', dataDir], env);
      expect(json.code).toBe(3);
      const doc = JSON.parse(json.stdout) as { ok: boolean; error: { code: string; message: string } };
      expect(doc).toMatchObject({ ok: false, error: { code: 'precondition' } });
      expect(doc.error.message).toContain(dataDir);
      expect(await readdir(dir)).toEqual(['etcd-data']);
      // The same command with a bad argument is bad usage.
      expect((await cli(['restore', '--output', join(dir, 'etcd.db'), '--revision', 'x'], env)).code).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--help documents the exit statuses', async () => {
    const { stdout } = await cli(['--help']);
    for (const line of [
      /^ {2}0 {2}success$/m,
      /^ {2}1 {2}the task failed/m,
      /^ {2}2 {2}bad usage/m,
      /^ {2}3 {2}refused by what was found/m,
    ])
      expect(stdout).toMatch(line);
  });

  it('unknown commands and flags are usage errors (exit 2)', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['list', '--no-such-flag'])).code).toBe(2);
    const json = await cli(['list', '--json', '--no-such-flag']);
    expect(JSON.parse(json.stdout).ok).toBe(false);
  });

  it('never prints the etcd password or the TLS private key, even on failure paths', async () => {
    const pki = await makePki();
    const key = await readFile(pki.clientKeyFile, 'utf8');
    const keyBody = key.split('\n')[1] as string;
    const base64Key = Buffer.from(key).toString('base64');
    // A base64 PEM that is not valid for TLS, and one that names no file: both failure paths stay silent.
    for (const bad of [base64Key.slice(0, 200), 'c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LWlzLW5vdC1wZW0=']) {
      const run = await cli(
        ['snapshot', '--json', '--etcd-key-file', bad, '--etcd-cert-file', pki.clientCertFile, '--etcd-endpoints', 'https://127.0.0.1:9'],
        { BACKUP_URL: backend.settings.BACKUP_URL },
      );
      expect(run.code).not.toBe(0);
      expect(run.stdout + run.stderr).not.toContain(bad);
    }
    for (const args of [['snapshot'], ['snapshot', '--json'], ['snapshot', '--json', '--log-level', 'debug']]) {
      const run = await cli(args, {
        ETCD_ENDPOINTS: etcd.endpoints[0]?.replace('http:', 'https:'),
        ETCD_USERNAME: 'root',
        ETCD_PASSWORD: 'hunter2-very-secret',
        ETCD_CA_FILE: pki.caFile,
        ETCD_CERT_FILE: pki.clientCertFile,
        ETCD_KEY_FILE: key,
        ETCD_DIAL_TIMEOUT: '1s',
        BACKUP_URL: backend.settings.BACKUP_URL,
      });
      expect(run.code).toBe(1);
      const printed = run.stdout + run.stderr;
      expect(printed.length).toBeGreaterThan(0);
      expect(printed).not.toContain('hunter2-very-secret');
      expect(printed).not.toContain(keyBody);
    }
  });

  it('refuses an etcd endpoint URL with a user and password, never printing them, and names ETCD_USERNAME/ETCD_PASSWORD', async () => {
    const env = { BACKUP_URL: backend.settings.BACKUP_URL };
    for (const endpoint of ['http://root:pw@127.0.0.1:2379', 'http://root:pw@not a host:2379']) {
      for (const run of [
        await cli(['snapshot'], { ...env, ETCD_ENDPOINTS: endpoint }),
        await cli(['snapshot', '--json', '--log-level', 'debug'], { ...env, ETCD_ENDPOINTS: endpoint }),
        await cli(['list', '--etcd-endpoints', endpoint], env),
      ]) {
        expect(run.code).toBe(2);
        const printed = run.stdout + run.stderr;
        expect(printed).toContain('ETCD_ENDPOINTS');
        expect(printed).toContain('ETCD_USERNAME');
        expect(printed).not.toContain('pw');
      }
    }
  });

  it('prune --keep-last 1 keeps one snapshot; with an explicit --keep-min above it, it is refused naming both', async () => {
    const { plantHistory } = await import('../support/plant.js');
    const hoursAgo = (n: number) => new Date(Date.now() - n * 3_600_000);
    const planted = await plantHistory(backend.store, 'cli-last1', [hoursAgo(4), hoursAgo(3), hoursAgo(2), hoursAgo(1)]);
    const env = { BACKUP_URL: backend.settings.BACKUP_URL, CLUSTER_NAME: 'cli-last1' };
    const refused = await cli(['prune', '--keep-last', '1', '--keep-min', '3', '--json'], env);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/PRUNE_KEEP_MIN.*PRUNE_KEEP_LAST/);
    const run = await cli(['prune', '--keep-last', '1', '--json'], env);
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { kept: { key: string }[]; deleted: { key: string }[] };
    expect(doc.kept.map((k) => k.key)).toEqual([planted[3]?.key]);
    expect(doc.deleted).toHaveLength(3);
  });

  it('verify --json checks the latest snapshot; --key picks one; a damaged one exits 1', async () => {
    const env = { ETCD_ENDPOINTS: etcd.endpoints[0], BACKUP_URL: backend.settings.BACKUP_URL, CLUSTER_NAME: 'cli' };
    const latest = await cli(['verify', '--json'], env);
    expect(latest.code).toBe(0);
    const doc = JSON.parse(latest.stdout) as { ok: boolean; key: string; revision: number };
    expect(doc.ok).toBe(true);
    const { writeFile } = await import('node:fs/promises');
    const { fileURLToPath } = await import('node:url');
    const file = `${fileURLToPath(backend.settings.BACKUP_URL as string)}/${doc.key}`;
    const bytes = await readFile(file);
    const { snapshotKey } = await import('../../shared/layout.js');
    const damagedKey = snapshotKey('cli', new Date(), 1);
    await writeFile(`${fileURLToPath(backend.settings.BACKUP_URL as string)}/${damagedKey}`, bytes.subarray(0, 8192));
    const damaged = await cli(['verify', '--key', damagedKey], env);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toContain('FAILED');
    expect((await cli(['list', '--key', 'x'], env)).code).toBe(2);
  });

  it('prune --keep-last N --json prints kept/deleted/retained/failed with reasons; --dry-run deletes nothing', async () => {
    const { plantHistory } = await import('../support/plant.js');
    const planted = await plantHistory(backend.store, 'cli-prune', [
      new Date(Date.now() - 3 * 3_600_000),
      new Date(Date.now() - 2 * 3_600_000),
      new Date(Date.now() - 3_600_000),
    ]);
    const env = { BACKUP_URL: backend.settings.BACKUP_URL, CLUSTER_NAME: 'cli-prune', PRUNE_KEEP_MIN: '0' };
    const dry = await cli(['prune', '--keep-last', '2', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would delete');
    expect(dry.stdout).toContain(planted[0]?.key);
    const real = await cli(['prune', '--keep-last', '2', '--json'], env);
    expect(real.code).toBe(0);
    const doc = JSON.parse(real.stdout) as {
      kept: { key: string; reasons: string[] }[];
      deleted: { key: string }[];
      retained: unknown[];
      failed: unknown[];
    };
    expect(doc.deleted.map((d) => d.key)).toEqual([planted[0]?.key]);
    expect(doc.kept.map((k) => k.key)).toEqual([planted[2]?.key, planted[1]?.key]);
    expect(doc.retained).toEqual([]);
    expect(doc.failed).toEqual([]);
    expect((await cli(['prune', '--keep-last', 'two'], env)).code).toBe(2);
  });
});

describe("etcd-backup CLI with etcdctl's variables only", () => {
  let etcd: EtcdCluster;
  let backend: Backend;
  let pki: TestPki;
  beforeAll(async () => {
    pki = await makePki();
    // TLS with client certificates and auth on, as a kubeadm cluster's etcd runs.
    etcd = await startEtcd({
      version: '3.5',
      tls: {
        caFile: pki.caFile,
        certFile: pki.serverCertFile,
        keyFile: pki.serverKeyFile,
        client: { certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
      },
    });
    await etcd.etcdctl(['put', '/app/key', 'value']);
    await etcd.enableAuth('etcdctl-pass:word');
    backend = await makeBackend('local');
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY and ETCDCTL_USER (user:password) stand in for unset settings', async () => {
    const env = {
      BACKUP_URL: backend.settings.BACKUP_URL,
      CLUSTER_NAME: 'etcdctl',
      ETCDCTL_ENDPOINTS: etcd.endpoints[0],
      ETCDCTL_CACERT: pki.caFile,
      ETCDCTL_CERT: pki.clientCertFile,
      ETCDCTL_KEY: pki.clientKeyFile,
    };
    // Auth is on: without the user, the member takes the certificate's name (client) as the user, and refuses.
    const refused = await cli(['snapshot', '--json'], env);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false });
    expect(refused.stdout).toContain('user name not found');

    // A password with a colon: etcdctl splits user:password at the first one.
    const run = await cli(['snapshot', '--json', '--log-level', 'debug'], { ...env, ETCDCTL_USER: 'root:etcdctl-pass:word' });
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout) as { ok: boolean; endpoint: string; key: string };
    expect(doc).toMatchObject({ ok: true, endpoint: etcd.endpoints[0] });
    expect(doc.key).toMatch(/^etcdctl\//);
    // The password is a secret: never printed.
    expect(run.stdout + run.stderr).not.toContain('etcdctl-pass:word');

    // Ours win when both are set.
    const ours = await cli(['snapshot', '--json'], {
      ...env,
      ETCDCTL_USER: 'root:etcdctl-pass:word',
      ETCD_ENDPOINTS: 'https://127.0.0.1:9',
      ETCD_DIAL_TIMEOUT: '500ms',
    });
    expect(ours.code).toBe(1);
    expect(ours.stdout).toContain('https://127.0.0.1:9');
  });
});
