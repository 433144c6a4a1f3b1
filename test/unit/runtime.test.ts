// Node 24 is what Lambda (nodejs24.x) runs and what `npm ci` installs from the npm package `node`, pinned
// in the lockfile; npm scripts put it first on PATH, so the tests, the demo, the benchmark and
// `npx etcd-backup` run on it rather than on whatever node the machine has.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

describe('runtime', () => {
  it('runs the suite on Node 24', () => {
    expect(Number(process.versions.node.split('.')[0])).toBe(24);
  });

  it('pins Node 24 in the lockfile', async () => {
    const lock = JSON.parse(await readFile(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
      packages: Record<string, { version?: string; dev?: boolean }>;
    };
    expect(lock.packages['node_modules/node']?.version).toMatch(/^24\.\d+\.\d+$/);
    expect(lock.packages['node_modules/node']?.dev).toBe(true);
  });
});
