// Builds the CLI as it was before the streaming-path optimisations recorded in docs/benchmarks.md, so one
// bench run can measure before and after side by side: the current tree, except that the files those
// optimisations changed are taken from git at BEFORE_REF. Same esbuild settings as scripts/build.mjs for
// dist/cli.js.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** The commit the optimisations started from (the code as it stood before them). */
export const BEFORE_REF = 'd709d93';
/** What the optimisations changed: only the snapshot streaming and upload path. */
export const CHANGED_FILES: readonly string[] = [
  'shared/etcd/snapshot-stream.ts',
  'shared/etcd/client.ts',
  'shared/checked-stream.ts',
  'shared/store/s3.ts',
  'shared/store/gcs.ts',
];

/**
 * Writes APP/bin/etcd-backup.js and APP/dist/cli.js from the sources under ROOT: the "before" CLI, or with
 * `files`, one that has only those files as they were (to measure changes one at a time). The old files
 * come from git in GIT_ROOT. Throws if git does not have the ref or the old files no longer build against
 * the current tree.
 */
export async function buildBefore(root: string, app: string, ref = BEFORE_REF, files = CHANGED_FILES, gitRoot = root): Promise<void> {
  const old = new Map(
    files.map((file) => [
      join(root, file),
      execFileSync('git', ['-C', gitRoot, 'show', `${ref}:${file}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    ]),
  );
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  mkdirSync(join(app, 'bin'), { recursive: true });
  copyFileSync(join(root, 'bin/etcd-backup.js'), join(app, 'bin/etcd-backup.js'));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  await build({
    entryPoints: [join(root, 'cli/main.ts')],
    outfile: join(app, 'dist/cli.js'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    packages: 'external',
    define: { __TOOL_VERSION__: JSON.stringify(pkg.version) },
    logLevel: 'error',
    plugins: [
      {
        name: 'files-before-optimisation',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, (args) => {
            const contents = old.get(args.path);
            return contents === undefined ? undefined : { contents, loader: 'ts' };
          });
        },
      },
    ],
  });
}
