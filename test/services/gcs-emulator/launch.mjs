// Runs the Cloud Storage emulator from firebase-tools without `firebase emulators:start`, which needs
// Java >= 21 and downloads a rules-runtime jar. The GCS JSON API path runs as admin, so Firebase
// security rules never apply to it and the Java rules runtime can be replaced by no-ops.
//
// Usage: node launch.mjs PORT [PROJECT_ID]
// Prints "ready http://127.0.0.1:PORT" once the port accepts connections; stops on SIGTERM/SIGINT.
// Set TMPDIR to a private dir: the emulator keeps its blobs under $TMPDIR/firebase/storage/blobs and
// deletes that whole dir on stop, which would hit any other emulator sharing the default /tmp.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { StorageEmulator } = require('firebase-tools/lib/emulator/storage');
const { StorageRulesRuntime } = require('firebase-tools/lib/emulator/storage/rules/runtime');
const { EmulatorRegistry } = require('firebase-tools/lib/emulator/registry');

const port = Number(process.argv[2]);
const projectId = process.argv[3] ?? 'demo-etcd-backup';
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node launch.mjs PORT [PROJECT_ID]');
  process.exit(2);
}

StorageRulesRuntime.prototype.start = async () => {};
StorageRulesRuntime.prototype.stop = async () => {};
StorageEmulator.prototype.createRulesManager = () => ({ start: async () => {}, stop: async () => {}, getRuleset: () => undefined });

const host = '127.0.0.1';
await EmulatorRegistry.start(new StorageEmulator({ host, port, projectId, auto_download: false }));
console.log(`ready http://${host}:${port}`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await EmulatorRegistry.stop('storage');
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
