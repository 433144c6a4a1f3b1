// Starts radosgw (S3 with Object Lock) and the Cloud Storage emulator once per vitest run and hands
// their addresses to the tests through `inject('s3')` / `inject('gcs')`. TEST_SERVICES=none skips
// them (quick unit runs): both keys are then absent.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const execFileP = promisify(execFile);

export interface S3Service {
  /** Plain HTTP. */
  endpoint: string;
  /** The same radosgw over TLS, with a certificate from the throwaway CA in caFile. */
  httpsEndpoint: string;
  /** PEM file of that CA: the value for AWS_CA_BUNDLE (our S3 client, the AWS CLI) or NODE_EXTRA_CA_CERTS. */
  caFile: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The key radosgw's "testing" KMS backend serves, for SSE-KMS (S3_SSE_KMS_KEY_ID). */
  kmsKeyId: string;
}

export interface GcsService {
  /** e.g. http://127.0.0.1:PORT: the value for STORAGE_EMULATOR_HOST or @google-cloud/storage's apiEndpoint. */
  emulatorHost: string;
  projectId: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3?: S3Service;
    gcs?: GcsService;
  }
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const scripts = join(root, 'scripts/services');
const servicesRoot = join(root, '.test-services');
const SERVICES = ['rgw', 'gcs'] as const;

/** Stops one service synchronously; used where nothing async can run any more. */
function stopSync(service: string, dir: string): void {
  try {
    execFileSync('bash', [join(scripts, `${service}.sh`), 'stop', dir], { stdio: 'ignore' });
  } catch {
    // Best effort: the next run's sweep retries.
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Each run keeps its services under .test-services/run-PID, so runs in the same checkout don't collide.
 * A run that was SIGKILLed leaves daemons behind: stop and remove those of runs whose node is gone.
 */
async function sweepStaleRuns(): Promise<void> {
  if (!existsSync(servicesRoot)) return;
  for (const entry of await readdir(servicesRoot)) {
    const pid = Number(/^run-(\d+)$/.exec(entry)?.[1]);
    if (!pid || pidAlive(pid)) continue;
    const dir = join(servicesRoot, entry);
    for (const service of SERVICES) stopSync(service, join(dir, service));
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `SERVICE.sh start DIR` and returns the KEY=VALUE pairs it wrote to DIR/env. */
async function start(service: (typeof SERVICES)[number], dir: string): Promise<{ env: Map<string, string>; log: string }> {
  try {
    const { stderr } = await execFileP('bash', [join(scripts, `${service}.sh`), 'start', dir], { maxBuffer: 16 << 20 });
    const text = await readFile(join(dir, 'env'), 'utf8');
    const env = new Map(
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const eq = line.indexOf('=');
          return [line.slice(0, eq), line.slice(eq + 1)] as [string, string];
        }),
    );
    return { env, log: stderr.trim() };
  } catch (error) {
    // execFile's error repeats the whole stderr in its message: show the stderr alone when there is one.
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`starting ${service} failed:\n${stderr || String(error)}`);
  }
}

function required(env: Map<string, string>, key: string): string {
  const value = env.get(key);
  if (!value) throw new Error(`service env has no ${key}`);
  return value;
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.TEST_SERVICES === 'none') return undefined;

  await sweepStaleRuns();
  const runDir = join(servicesRoot, `run-${process.pid}`);
  await mkdir(runDir, { recursive: true });
  const dirOf = (service: string) => join(runDir, service);

  // On ctrl-c vitest calls process.exit() without running global teardown, and its own 'exit' listener
  // calls process.exit() again, which ends the process before any listener added after it: so prepend.
  // Only synchronous work runs in an 'exit' listener.
  const stopAllSync = () => {
    for (const service of SERVICES) stopSync(service, dirOf(service));
    rmSync(runDir, { recursive: true, force: true });
  };
  process.prependOnceListener('exit', stopAllSync);

  const stopAll = async () => {
    await Promise.all(
      SERVICES.map((service) =>
        execFileP('bash', [join(scripts, `${service}.sh`), 'stop', dirOf(service)]).catch((error: unknown) => {
          process.stderr.write(`stopping ${service} failed: ${String(error)}\n`);
        }),
      ),
    );
    process.off('exit', stopAllSync);
  };

  const [rgwStart, gcsStart] = await Promise.allSettled([start('rgw', dirOf('rgw')), start('gcs', dirOf('gcs'))]);
  if (rgwStart.status === 'rejected' || gcsStart.status === 'rejected') {
    await stopAll();
    const reasons = [rgwStart, gcsStart].flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    // The run dir stays for its logs; the next run sweeps it.
    throw new Error(`${reasons.join('\n')}\nlogs under ${runDir}`);
  }
  const rgw = rgwStart.value;
  const gcs = gcsStart.value;

  project.provide('s3', {
    endpoint: required(rgw.env, 'AWS_ENDPOINT_URL_S3'),
    httpsEndpoint: required(rgw.env, 'RGW_HTTPS_ENDPOINT'),
    caFile: required(rgw.env, 'AWS_CA_BUNDLE'),
    accessKeyId: required(rgw.env, 'AWS_ACCESS_KEY_ID'),
    secretAccessKey: required(rgw.env, 'AWS_SECRET_ACCESS_KEY'),
    region: required(rgw.env, 'AWS_REGION'),
    kmsKeyId: required(rgw.env, 'RGW_TEST_KMS_KEY_ID'),
  });
  project.provide('gcs', {
    emulatorHost: required(gcs.env, 'STORAGE_EMULATOR_HOST'),
    projectId: required(gcs.env, 'GOOGLE_CLOUD_PROJECT'),
  });
  process.stderr.write(`${rgw.log}\n${gcs.log}\n`);

  return async () => {
    await stopAll();
    await rm(runDir, { recursive: true, force: true });
  };
}
