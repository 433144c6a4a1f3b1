// Child of the snapshot benchmark (coldStarts in bench/runs.ts): imports one function bundle in this fresh
// process and gets its handler, the way the platform does at a cold start, and prints how long that took as
// JSON.
//
//   node coldstart.mjs BUNDLE aws|gcp TASK   (bundled by bench/run.sh)
//
// aws: `handler` is the named export Lambda calls. gcp: the Cloud Functions runtime loads the Functions
// Framework itself before the user's module, so the framework is imported first and timed apart; the
// handler is what the bundle registered under TASK, read back through the framework's test API.
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [bundle, platform, task] = process.argv.slice(2);
if (!bundle || !task || (platform !== 'aws' && platform !== 'gcp')) {
  console.error('usage: node coldstart.mjs BUNDLE aws|gcp TASK');
  process.exit(2);
}
let frameworkMs = 0;
let getFunction: ((name: string) => unknown) | undefined;
if (platform === 'gcp') {
  const t = performance.now();
  ({ getFunction } = await import('@google-cloud/functions-framework/testing'));
  frameworkMs = performance.now() - t;
}
const t0 = performance.now();
const module = await import(pathToFileURL(bundle).href);
const handler: unknown = platform === 'aws' ? module.handler : getFunction?.(task);
const importMs = performance.now() - t0;
if (typeof handler !== 'function') {
  console.error(`no handler found for ${task} in ${bundle}`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ importMs, frameworkMs, rssMiB: process.memoryUsage().rss / 1048576 })}\n`);
