// The Kubernetes-like benchmark (run by `npm run bench` after bench/verify.ts): one etcd grown in turn to
// each of BENCH_K8S_SIZES_MIB with the data set of bench/k8s-data.ts, and at each size `etcd-backup
// snapshot` to S3 (default compression) against `etcdctl snapshot save` + `aws s3 cp`, with `zstd -3` of the
// saved file as the reference for the stored size. At BENCH_K8S_AT_MIB also: the other compressions,
// `verify` of the compressed snapshot, `restore --data-dir` against `aws s3 cp` + `etcdutl snapshot restore`,
// and one profiled snapshot and restore. Writes its section of docs/benchmarks.md (bench/k8s-report.ts).
// Settings: bench/settings.ts.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { K8sDataSet } from './k8s-data.js';
import { type K8sReport, writeK8sSection } from './k8s-report.js';
import { load1, timed } from './measure.js';
import { analyzeProfile } from './profile.js';
import type { Result } from './report.js';
import { restoreBaseline, restoreOurs } from './restore-runs.js';
import { baseEnv, buildApp, ourEnv, runBaseline, runOurs, takePrevious } from './runs.js';
import { BUCKET, etcdMember, startEtcd, startRgw, stopRgw, WORK, withServices } from './services.js';
import { log, MiB, SETTINGS } from './settings.js';
import { storePlainCopy, verifyBaseline, verifyOurs } from './verify-runs.js';

/** The other values of SNAPSHOT_COMPRESSION, run at BENCH_K8S_AT_MIB after the rotation. */
const COMPRESSIONS = ['none', 'gzip'] as const;

/** `zstd -3` (one thread) of `file`: the stored size to compare ours with, and its time. */
async function zstdReference(file: string): Promise<Omit<K8sReport['references'][number], 'sizeMiB'>> {
  const out = join(WORK, 'reference.zst');
  try {
    const r = await timed('/usr/bin/zstd', ['-3', '-T1', '-q', '-f', '-o', out, file], { env: baseEnv() });
    return { bytes: statSync(file).size, zstdBytes: statSync(out).size, wallS: r.wallS, cpuS: r.cpuS };
  } finally {
    rmSync(out, { force: true });
  }
}

async function main(): Promise<void> {
  const { k8s } = SETTINGS;
  const started = Date.now();
  const app = join(WORK, 'app');
  log('building the CLI (scripts/build.mjs, private copy of the sources)');
  await buildApp(app);
  await startEtcd();
  const client = new Etcd3({ hosts: etcdMember().url });
  const data = new K8sDataSet(k8s.seed);
  const report: K8sReport = { fills: [], references: [], results: [], verify: [], restore: [], profiles: [], durationS: 0 };
  const record = (sizeMiB: number, kind: string, rep: number, r: Omit<Result, 'store' | 'sizeMiB' | 'kind' | 'rep'>) => {
    report.results.push({ store: 's3', sizeMiB, kind, rep, ...r });
    log(
      `  ${kind} #${rep}: ${r.wallS.toFixed(2)} s, peak RSS ${r.rssMiB.toFixed(0)} MiB, CPU ${r.cpuS.toFixed(1)} s, stored ${(r.storedBytes / MiB).toFixed(0)} of ${(r.bytes / MiB).toFixed(0)} MiB (load ${load1()})`,
    );
  };
  try {
    for (const sizeMiB of k8s.sizesMiB) {
      log(`filling etcd with the Kubernetes-like data set to ${sizeMiB} MiB`);
      report.fills.push({ ...(await data.fill(client, sizeMiB * MiB)), sizeMiB });
      // A fresh radosgw per size, as for the random values: one RAM store through all sizes filled up
      // (the OSD marked itself full and radosgw left uploads hanging) although every object was deleted.
      await startRgw(`k8s-${sizeMiB}`, Math.max(4 * 1024, 3 * sizeMiB + 2048) * MiB);
      await takePrevious('s3', app);
      for (let rep = 1; rep <= k8s.reps; rep++) {
        record(sizeMiB, 'ours', rep, await runOurs('s3', app));
        const onFile =
          rep === 1
            ? async (file: string) => {
                const ref = await zstdReference(file);
                report.references.push({ ...ref, sizeMiB });
                log(
                  `  zstd -3: ${(ref.zstdBytes / MiB).toFixed(1)} of ${(ref.bytes / MiB).toFixed(0)} MiB (${(ref.zstdBytes / ref.bytes).toFixed(3)}) in ${ref.wallS.toFixed(1)} s`,
                );
              }
            : undefined;
        record(sizeMiB, 'baseline', rep, await runBaseline('s3', { onFile }));
      }
      if (sizeMiB !== k8s.atMiB) {
        await stopRgw();
        continue;
      }

      for (let rep = 1; rep <= SETTINGS.variantReps; rep++)
        for (const c of COMPRESSIONS) record(sizeMiB, c, rep, await runOurs('s3', app, { env: { SNAPSHOT_COMPRESSION: c } }));

      // The snapshot that verify and restore read (default compression), and the plain one their baselines download.
      const kept = await runOurs('s3', app, { keep: true });
      const plain = await storePlainCopy(etcdMember().url, BUCKET);
      const cli = join(app, 'bin/etcd-backup.js');
      const verifyEnv = { ...ourEnv('s3'), AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required' };
      const verify: K8sReport['verify'][number] = {
        sizeMiB,
        snapMiB: kept.bytes / MiB,
        storedMiB: kept.storedBytes / MiB,
        ours: [],
        baseline: [],
      };
      for (let rep = 1; rep <= k8s.verifyReps; rep++) {
        const ours = await verifyOurs(cli, verifyEnv, kept.key);
        const base = await verifyBaseline(plain);
        verify.ours.push(ours);
        verify.baseline.push(base);
        log(`  verify #${rep}: ours ${ours.wallS.toFixed(2)} s ${ours.rssMiB.toFixed(0)} MiB; baseline ${base.wallS.toFixed(2)} s`);
      }
      report.verify.push(verify);

      for (let rep = 1; rep <= k8s.restoreReps; rep++) {
        const ours = await restoreOurs(app, kept.key);
        const base = await restoreBaseline(plain, ours.toolFlags);
        report.restore.push({ sizeMiB, snapMiB: kept.bytes / MiB, ours, baseline: base });
        log(
          `  restore #${rep}: ours ${ours.wallS.toFixed(2)} s (etcdutl ${ours.toolWallS.toFixed(2)}), own peak ${ours.rssMiB.toFixed(0)} MiB, own CPU ${ours.cpuS.toFixed(1)} s; baseline ${base.wallS.toFixed(2)} s (${base.steps.map((s) => s.wallS.toFixed(2)).join(' + ')})`,
        );
      }

      if (k8s.profile) {
        const dir = join(WORK, 'profile-k8s');
        log(`profiling one snapshot and one restore at ${sizeMiB} MiB`);
        const snap = await runOurs('s3', app, { profileDir: join(dir, 'snapshot'), keep: true });
        const restore = await restoreOurs(app, kept.key, { profileDir: join(dir, 'restore') });
        for (const [what, sub, run] of [
          ['snapshot', 'snapshot', snap],
          ['restore --data-dir', 'restore', restore],
        ] as const) {
          const file = readdirSync(join(dir, sub)).find((f) => f.endsWith('.cpuprofile'));
          if (!file) throw new Error(`the profiled ${what} wrote no .cpuprofile into ${join(dir, sub)}`);
          report.profiles.push({ what, sizeMiB, wallS: run.wallS, cpuS: run.cpuS, ...analyzeProfile(join(dir, sub, file)) });
        }
      }
      await stopRgw();
    }
  } finally {
    client.close();
    await stopRgw();
  }
  report.durationS = (Date.now() - started) / 1000;
  writeK8sSection(report);
}

await withServices(main);
