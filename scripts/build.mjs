// Bundles the CLI (dependencies left in node_modules) and one self-contained artifact per function and
// platform (dependencies inlined, etcd3's .proto files copied next to the bundle).
import { build } from 'esbuild';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const FRAMEWORK = '@google-cloud/functions-framework';
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: 'linked',
  define: { __TOOL_VERSION__: JSON.stringify(pkg.version) },
  logLevel: 'warning',
  // The AWS SDK's ES module build, which esbuild can tree-shake down to the commands used: smaller bundles
  // and less RSS than its CommonJS build, which carries every S3 command (docs/benchmarks.md, "Memory").
  mainFields: ['module', 'main'],
};
// ESM bundles of CommonJS dependencies need require(); etcd3 resolves its protos from __dirname.
const banner = {
  js: [
    "import { createRequire as __createRequire } from 'node:module';",
    "import { fileURLToPath as __fileURLToPath } from 'node:url';",
    'const require = __createRequire(import.meta.url);',
    "const __etcd3ProtoPath = __fileURLToPath(new URL('./proto/rpc.proto', import.meta.url));",
  ].join('\n'),
};

/** etcd3 loads `${__dirname}/../proto/rpc.proto` at run time: point it at the copy beside the bundle. */
const etcd3Protos = {
  name: 'etcd3-protos',
  setup(b) {
    b.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      // A plain identifier from the banner: import.meta here would make esbuild treat this CommonJS
      // file as an ES module.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text of etcd3's source, not a template
      const patched = source.replace('`${__dirname}/../proto/rpc.proto`', '__etcd3ProtoPath');
      if (patched === source) throw new Error('etcd3 proto path not found: update scripts/build.mjs for this etcd3 version');
      return { contents: patched, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * A function bundle carries the local store and its own cloud's store, not the other cloud's: each SDK is
 * ~0.6 MB of bundle and of start-up that a function on the other cloud never uses. The other adapter
 * module is replaced by one that refuses that BACKUP_URL before any I/O, saying where it does work.
 */
const CLOUDS = {
  aws: { name: 'AWS Lambda', scheme: 's3://', leftOut: { module: 'gcs', scheme: 'gs://', factory: 'createGcsClient' } },
  gcp: { name: 'Cloud Functions', scheme: 'gs://', leftOut: { module: 's3', scheme: 's3://', factory: 'createS3Client' } },
};
const thisCloudStoreOnly = (platform) => {
  const cloud = CLOUDS[platform];
  const { module, scheme, factory } = cloud.leftOut;
  const message = `${scheme} stores are not part of the ${cloud.name} functions (they carry the ${cloud.scheme} and file:// stores only)`;
  const hint = `use a ${cloud.scheme} BACKUP_URL here, or run the etcd-backup CLI (it has every store) for ${scheme}`;
  return {
    name: 'this-cloud-store-only',
    setup(b) {
      b.onResolve({ filter: new RegExp(`^\\./${module}\\.js$`) }, (args) =>
        args.importer === join(root, 'shared/store/index.ts') ? { path: module, namespace: 'store-left-out' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'store-left-out' }, () => ({
        contents: `import { ConfigError } from './errors.js';\nexport function ${factory}() { throw new ConfigError('BACKUP_URL', ${JSON.stringify(message)}, ${JSON.stringify(hint)}); }`,
        loader: 'js',
        resolveDir: join(root, 'shared'),
      }));
    },
  };
};

await rm(join(root, 'dist'), { recursive: true, force: true });
// Split, so that each task's module and the SDKs it imports (left in node_modules) load only when it runs.
// Dependencies stay in node_modules, except the AWS SDK: bundled, for the tree-shaking above.
// Development dependencies the CLI imports (cli-progress, its progress bar at a terminal) are bundled into
// it too; no function imports them.
const cliExternal = Object.keys(pkg.dependencies).filter((name) => !name.startsWith('@aws-sdk/'));
await build({
  ...common,
  entryPoints: { cli: join(root, 'cli/main.ts') },
  outdir: join(root, 'dist'),
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  external: cliExternal,
  // cli-progress is CommonJS and requires node's own modules (readline): the ESM bundle needs require().
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
});

const functionsDir = join(root, 'functions');
for (const name of await readdir(functionsDir)) {
  for (const platform of ['aws', 'gcp']) {
    const outdir = join(root, 'dist/functions', name, platform);
    await mkdir(outdir, { recursive: true });
    await build({
      ...common,
      entryPoints: [join(functionsDir, name, `${platform}.ts`)],
      outfile: join(outdir, 'index.mjs'),
      banner,
      plugins: [etcd3Protos, thisCloudStoreOnly(platform)],
      minify: true,
      // Some dependencies check class names at run time (node-fetch: "instanceof AbortSignal").
      keepNames: true,
      legalComments: 'linked',
      // The Cloud Functions runtime loads the module through its own functions-framework; registrations
      // must reach that copy, so the framework stays a dependency instead of being bundled.
      external: platform === 'gcp' ? [FRAMEWORK] : [],
    });
    await cp(join(root, 'node_modules/etcd3/proto'), join(outdir, 'proto'), { recursive: true });
    if (platform === 'gcp') {
      const manifest = {
        name: `etcd-backup-${name}`,
        version: pkg.version,
        type: 'module',
        main: 'index.mjs',
        dependencies: { [FRAMEWORK]: pkg.dependencies[FRAMEWORK] },
      };
      await writeFile(join(outdir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    }
  }
}
