// bin/etcd-backup.js is a shell script and JavaScript at once: run as a command, its shell lines start the
// node found on PATH with the CLI's own flags. The other CLI tests start it with `node BIN`, which skips them.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/etcd-backup.js');

describe('bin/etcd-backup.js run as a command', () => {
  it('starts the CLI through its shell lines with nothing on stderr', async () => {
    const { stdout, stderr } = await execFileP(BIN, ['--help']);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^etcd-backup \d+\.\d+\.\d+: back up etcd/);
  });
});
