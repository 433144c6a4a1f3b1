// What a benchmark run measures and where it writes, from the environment (all optional). The defaults are
// the full benchmark behind docs/benchmarks.md; a smoke run that proves the whole path in a few minutes is
//   BENCH_SIZES_MIB=64 BENCH_REPS_S3=1 BENCH_REPS_LOCAL=1 BENCH_REPS_GCS=1 BENCH_VARIANT_REPS=1 \
//   BENCH_PROFILE_MIB=64 BENCH_COLD_RUNS=1 BENCH_VERIFY_SIZES_MIB=64 BENCH_VERIFY_REPS=1 \
//   BENCH_K8S_SIZES_MIB=64,128 BENCH_K8S_AT_MIB=128 BENCH_K8S_REPS=1 BENCH_K8S_RESTORE_REPS=1 \
//   BENCH_K8S_VERIFY_REPS=1 BENCH_OUT=/tmp/benchmarks.md npm run bench
// and the Kubernetes-like part alone at 1 GiB: BENCH_PARTS=k8s BENCH_K8S_SIZES_MIB=1024 BENCH_OUT=… npm run bench
//
//   BENCH_PARTS             the benchmarks to run, in order (bench/run.sh) default "snapshot verify k8s"
//                           (snapshot: random values, S3/local/GCS, variants, profile, bundles; verify:
//                           verify from S3, random values; k8s: the Kubernetes-like data set, see below)
//   BENCH_SIZES_MIB         etcd database sizes to load, in MiB           default 512,1024,2048
//   BENCH_REPS_S3           repetitions per size (ours and baseline each) default 3
//   BENCH_REPS_LOCAL                                                      default 2
//   BENCH_REPS_GCS                                                        default 2
//   BENCH_VARIANT_REPS      runs of each S3 variant per size             default 2
//   BENCH_GCS_MAX_MIB       largest size run against the GCS emulator    default 1024 (it cannot take 2 GiB, see the report)
//   BENCH_PROFILE_MIB       size at which one S3 run is profiled         default 1024 (0: no profile)
//   BENCH_BEFORE_MIB        size at which the pre-optimisation CLI runs  default 0 = not at all (it needs
//                           @aws-sdk/lib-storage, no longer a dependency: npm i --no-save it first)
//   BENCH_COLD_RUNS         fresh processes per bundle for cold start     default 5
//   BENCH_DEADLINE_MIN      measurements stop being started after this   default 30
//   BENCH_VERIFY_SIZES_MIB  snapshot sizes of the verify benchmark       default 512,1024
//   BENCH_VERIFY_REPS       repetitions per size (ours and baseline each) default 3
//   BENCH_K8S_SIZES_MIB     Kubernetes-like database sizes, one etcd grown default 512,1024,2048
//                           to each in turn (bench/k8s-data.ts)
//   BENCH_K8S_SEED          the data set's seed                            default 15
//   BENCH_K8S_REPS          snapshot -> S3 repetitions per size (ours and  default 3
//                           the baseline each; the first baseline's file also gets the zstd -3 reference)
//   BENCH_K8S_AT_MIB        size at which the compression variants, verify, default 1024 (0: none of them)
//                           restore and the profiles run
//   BENCH_K8S_RESTORE_REPS  restore --data-dir repetitions (ours and the   default 3
//                           baseline each)
//   BENCH_K8S_VERIFY_REPS   verify repetitions (ours and the baseline each) default 3
//   BENCH_K8S_PROFILE       1: profile one snapshot and one restore there   default 1
//   BENCH_OUT               the report                                    default docs/benchmarks.md
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const MiB = 1024 * 1024;

/**
 * The repository root. bench/run.sh runs the benchmark from there, bundled into node_modules/.cache (see
 * run.sh), so the bundle's own location says nothing about where the sources are.
 */
export const ROOT = process.cwd();
if (!existsSync(join(ROOT, 'bench/run.sh')))
  throw new Error(`run the benchmark with npm run bench (from the repository root, not ${ROOT})`);

function num(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number, got "${value}"`);
  return n;
}

function sizes(name: string, fallback: string): number[] {
  return (process.env[name] ?? fallback)
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0)
    .sort((a, b) => a - b);
}

export type Store = 's3' | 'local' | 'gcs';

export const SETTINGS = {
  sizesMiB: sizes('BENCH_SIZES_MIB', '512,1024,2048'),
  reps: { s3: num('BENCH_REPS_S3', 3), local: num('BENCH_REPS_LOCAL', 2), gcs: num('BENCH_REPS_GCS', 2) } satisfies Record<Store, number>,
  variantReps: num('BENCH_VARIANT_REPS', 2),
  gcsMaxMiB: num('BENCH_GCS_MAX_MIB', 1024),
  profileMiB: num('BENCH_PROFILE_MIB', 1024),
  beforeMiB: num('BENCH_BEFORE_MIB', 0),
  coldRuns: num('BENCH_COLD_RUNS', 5),
  deadlineMin: num('BENCH_DEADLINE_MIN', 30),
  verifySizesMiB: sizes('BENCH_VERIFY_SIZES_MIB', '512,1024'),
  verifyReps: num('BENCH_VERIFY_REPS', 3),
  k8s: {
    sizesMiB: sizes('BENCH_K8S_SIZES_MIB', '512,1024,2048'),
    seed: num('BENCH_K8S_SEED', 15),
    reps: num('BENCH_K8S_REPS', 3),
    atMiB: num('BENCH_K8S_AT_MIB', 1024),
    restoreReps: num('BENCH_K8S_RESTORE_REPS', 3),
    verifyReps: num('BENCH_K8S_VERIFY_REPS', 3),
    profile: num('BENCH_K8S_PROFILE', 1) > 0,
  },
  out: resolve(ROOT, process.env.BENCH_OUT || 'docs/benchmarks.md'),
};

export function log(...args: unknown[]): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);
}
