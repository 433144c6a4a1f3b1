// bin/etcd-backup.js is a shell script and JavaScript at once: run as a command, its shell lines start the
// Node 24 that `npm ci` installs beside it (node_modules/.bin/node), whatever node comes first on PATH:
// `npx etcd-backup` puts only npm's cache on PATH, not the project's node_modules/.bin. The other CLI tests
// start it with `node BIN`, which skips the shell lines.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../shared/config/settings.js';
import { type Backend, makeBackend } from '../support/backends.js';

const execFileP = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/etcd-backup.js');
// The machine's own node (Node 20 here) first, as a shell outside npm has it.
const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

describe('bin/etcd-backup.js run as a command', () => {
  let versionProbe: string;
  beforeAll(async () => {
    versionProbe = join(await mkdtemp(join(tmpdir(), 'launcher-')), 'version.cjs');
    await writeFile(versionProbe, "process.stderr.write('node ' + process.version + '\\n');\n");
  });

  it('starts the CLI through its shell lines on the Node 24 installed beside it, with nothing else on stderr', async () => {
    const { stdout, stderr } = await execFileP(BIN, ['--help'], {
      env: { PATH: SYSTEM_PATH, NODE_OPTIONS: `--require ${versionProbe}` },
    });
    expect(stderr).toMatch(/^node v24\.\d+\.\d+\n$/);
    expect(stdout).toMatch(/^etcd-backup \d+\.\d+\.\d+: back up etcd/);
  });

  describe('against S3', () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await makeBackend('s3');
    });

    it('prints no NodeVersionSupportWarning of the AWS SDK (it warns on Node 20)', async () => {
      const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SETTINGS.some((s) => s.env === k)));
      const { stdout, stderr } = await execFileP(BIN, ['list', '--json'], {
        env: { ...clean, ...backend.env, ...backend.settings, PATH: SYSTEM_PATH, CLUSTER_NAME: 'launcher', LOG_LEVEL: 'info' },
      });
      expect(JSON.parse(stdout)).toMatchObject({ ok: true, snapshots: [] });
      expect(stderr).not.toMatch(/NodeVersionSupportWarning|NodeDeprecationWarning|node >=22/);
      expect(stderr).toContain('list succeeded');
    });
  });
});
