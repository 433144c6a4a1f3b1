// The CLI over a fleet (runFleetCommand, as `etcd-backup <task> --fleet FILE` calls it): what it refuses
// before anything runs, and the one JSON document it prints (list on local directories: no service needed).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFleetCommand } from '../../cli/fleet.js';
import { print } from '../../cli/output.js';
import type { SettingValues } from '../../shared/config/config.js';

let dir: string;
let stdout: string[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-cli-'));
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function fleetFile(): Promise<string> {
  const path = join(dir, 'fleet.json');
  await writeFile(
    path,
    JSON.stringify({ defaults: { BACKUP_URL: `file://${dir}/store` }, clusters: [{ CLUSTER_NAME: 'a' }, { CLUSTER_NAME: 'b' }] }),
  );
  return path;
}

/** `list --json` over the fleet: its exit status and its document. */
async function listJson(settings: SettingValues, cluster?: string) {
  const status = await runFleetCommand(
    'list',
    await fleetFile(),
    { LOG_LEVEL: 'error', ...settings },
    {
      args: {},
      json: true,
      human: () => '',
      ...(cluster !== undefined ? { cluster } : {}),
    },
  );
  return { status, document: JSON.parse(stdout.join('')) as { ok: boolean; clusters: { cluster: string }[]; error?: { message: string } } };
}

describe('which clusters a fleet run takes', () => {
  it('runs every cluster without --cluster, and one with it', async () => {
    expect((await listJson({})).document.clusters.map((c) => c.cluster)).toEqual(['a', 'b']);
    stdout = [];
    expect((await listJson({}, 'b')).document.clusters.map((c) => c.cluster)).toEqual(['b']);
  });

  it('refuses an empty --cluster rather than running the whole fleet', async () => {
    const { status, document } = await listJson({}, '');
    expect(status).toBe(2);
    expect(document.error?.message).toMatch(/--cluster: is empty/);
    // A refused fleet still has the fleet's shape: no cluster ran.
    expect(document).toMatchObject({ ok: false, clusters: [] });
  });

  it('refuses CLUSTER_NAME from the environment without --cluster, saying what to do', async () => {
    const { status, document } = await listJson({ CLUSTER_NAME: 'a' });
    expect(status).toBe(2);
    expect(document.error?.message).toMatch(/CLUSTER_NAME: is set in the environment/);
    expect(JSON.stringify(document.error)).toMatch(/--cluster NAME.*unset CLUSTER_NAME/);
    stdout = [];
    // With --cluster, the flag names the cluster (it is CLUSTER_NAME's flag, and overrides the variable).
    expect((await listJson({ CLUSTER_NAME: 'b' }, 'b')).status).toBe(0);
  });
});

describe("one cluster's short password and the other clusters' output", () => {
  it("a 4-character password inside another cluster's name leaves that name intact, and never appears as a value", async () => {
    const passwordFile = join(dir, 'password');
    await writeFile(passwordFile, 'prod\n');
    const source = join(dir, 'fleet-short-password.json');
    await writeFile(
      source,
      JSON.stringify({
        defaults: { BACKUP_URL: `file://${dir}/store` },
        clusters: [{ CLUSTER_NAME: 'prod-a' }, { CLUSTER_NAME: 'b', ETCD_USERNAME: 'root', ETCD_PASSWORD_FILE: passwordFile }],
      }),
    );
    const status = await runFleetCommand('list', source, { LOG_LEVEL: 'error' }, { args: {}, json: true, human: () => '' });
    expect(status).toBe(0);
    const printed = stdout.join('');
    const document = JSON.parse(printed) as { clusters: { cluster: string; result: { cluster: string } }[] };
    expect(document.clusters.map((c) => [c.cluster, c.result.cluster])).toEqual([
      ['prod-a', 'prod-a'],
      ['b', 'b'],
    ]);
    // The password, registered when cluster b's settings were read, is still redacted where it is a value.
    stdout = [];
    print(JSON.stringify({ cluster: 'prod-a', password: 'prod' }));
    expect(JSON.parse(stdout.join(''))).toEqual({ cluster: 'prod-a', password: '[REDACTED]' });
  });
});
