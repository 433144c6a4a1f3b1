// The snapshot benchmark (`npm run bench`, through bench/run.sh): measures the snapshot task the way users
// run it (`bin/etcd-backup.js snapshot` as a command, settings in the environment) against what a user would
// script instead (`etcdctl snapshot save` + `aws s3 cp`), for the S3 store (Ceph radosgw), the local
// directory store and the GCS store (the Cloud Storage emulator), at etcd databases of about 0.5, 1 and 2 GB;
// profiles one run; measures the function bundles' size and cold-start import time; writes all of it, with
// the method, to docs/benchmarks.md. Settings: bench/settings.ts.
//
// The parts: bench/services.ts starts and stops etcd and the stores; bench/measure.ts and bench/runs.ts
// measure; bench/report.ts writes the report. This file is the order of the runs.
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BEFORE_REF, buildBefore, CHANGED_FILES } from './before.js';
import { machineFacts } from './facts.js';
import { load1, memAvailableGiB } from './measure.js';
import { analyzeProfile } from './profile.js';
import { type Result, renderReport, type SnapshotReport, summarize } from './report.js';
import { buildApp, coldStarts, type Run, runBaseline, runOurs, S3_VARIANTS, takePrevious } from './runs.js';
import { etcdDbSize, gcsPeakMiB, loadTo, startEtcd, startGcs, startRgw, stopGcs, stopRgw, WORK, withServices } from './services.js';
import { log, MiB, ROOT, SETTINGS, type Store } from './settings.js';

/** bench/run.sh bundles bench/coldstart.ts next to this file. */
const COLDSTART = fileURLToPath(new URL('./coldstart.mjs', import.meta.url));

const results: Result[] = [];
const notes: string[] = [];
const started = Date.now();
const pastDeadline = () => Date.now() - started > SETTINGS.deadlineMin * 60_000;

async function measure(store: Store, sizeMiB: number, kind: string, rep: number, fn: () => Promise<Run>): Promise<void> {
  if (pastDeadline()) {
    notes.push(`Deadline (${SETTINGS.deadlineMin} min) reached: ${store} ${kind} at ${sizeMiB} MiB, repetition ${rep}, was not run.`);
    return;
  }
  log(`${store} ${sizeMiB} MiB: ${kind} #${rep} ...`);
  const r = await fn();
  results.push({ store, sizeMiB, kind, rep, ...r });
  log(
    `  ${r.wallS.toFixed(2)} s, peak RSS ${r.rssMiB.toFixed(0)} MiB, ${(r.bytes / MiB).toFixed(0)} MiB (etcd ${r.etcdCpuS.toFixed(1)} CPU-s, store ${r.storeCpuS.toFixed(1)}, other load ${r.foreignCpuS.toFixed(1)})`,
  );
}

/** The pre-optimisation CLI (bench/before.ts), when BENCH_BEFORE_MIB asks for it and it still builds. */
async function buildBeforeApp(app: string): Promise<string | undefined> {
  if (SETTINGS.beforeMiB <= 0) return undefined;
  const before = join(WORK, 'app-before');
  try {
    mkdirSync(before, { recursive: true });
    await buildBefore(app, before, BEFORE_REF, CHANGED_FILES, ROOT);
    symlinkSync(join(ROOT, 'node_modules'), join(before, 'node_modules'));
    return before;
  } catch (error) {
    notes.push(
      `The pre-optimisation CLI (${BEFORE_REF}) could not be built against this tree, so it was not measured: ${String(error).split('\n')[0]}`,
    );
    return undefined;
  }
}

async function main(): Promise<void> {
  const app = join(WORK, 'app');
  log('building the CLI and the function bundles (scripts/build.mjs, private copy of the sources)');
  await buildApp(app);
  const before = await buildBeforeApp(app);
  const facts = await machineFacts();
  log(`machine: ${facts.nproc} cores, ${facts.memGiB} GiB, ${facts.cpu}; load ${load1()}`);

  const cold = await coldStarts(app, COLDSTART);

  /** Ours and the baseline in turn, with the pre-optimisation CLI in the rotation at its size when given. */
  const alternate = async (store: Store, sizeMiB: number, beforeApp?: string) => {
    await takePrevious(store, app);
    for (let rep = 1; rep <= SETTINGS.reps[store]; rep++) {
      await measure(store, sizeMiB, 'ours', rep, () => runOurs(store, app));
      await measure(store, sizeMiB, 'baseline', rep, () => runBaseline(store));
      if (beforeApp && sizeMiB === SETTINGS.beforeMiB && rep <= 2)
        await measure(store, sizeMiB, 'before', rep, () => runOurs(store, beforeApp));
    }
  };

  await startEtcd();
  const loads: SnapshotReport['loads'] = [];
  const emulatorPeaks: SnapshotReport['emulatorPeaks'] = [];
  let profile: SnapshotReport['profile'];
  for (const sizeMiB of SETTINGS.sizesMiB) {
    loads.push({ sizeMiB, ...(await loadTo(sizeMiB * MiB)) });

    // S3 (radosgw). Its RAM store has room for two snapshots at once plus slack; each is deleted (and
    // garbage-collected) right after its run, so RAM in use stays near one snapshot.
    const needS3 = (2.5 * sizeMiB) / 1024 + 1;
    if (memAvailableGiB() < needS3) {
      notes.push(
        `S3 at ${sizeMiB} MiB skipped: ${memAvailableGiB().toFixed(1)} GiB of memory available, radosgw's RAM store needs about ${needS3.toFixed(1)}.`,
      );
    } else {
      await startRgw(String(sizeMiB), Math.max(4 * 1024, 3 * sizeMiB + 2048) * MiB);
      try {
        await alternate('s3', sizeMiB, before);
        for (let rep = 1; rep <= SETTINGS.variantReps; rep++) {
          for (const v of S3_VARIANTS) await measure('s3', sizeMiB, v.kind, rep, () => runOurs('s3', app, { env: v.env }));
        }
        if (sizeMiB === SETTINGS.profileMiB && !pastDeadline()) {
          const dir = join(WORK, 'profile');
          log(`profiling one S3 run at ${sizeMiB} MiB`);
          const r = await runOurs('s3', app, { profileDir: dir });
          const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
          if (!file) throw new Error(`the profiled run wrote no .cpuprofile into ${dir}`);
          profile = { sizeMiB, wallS: r.wallS, ...analyzeProfile(join(dir, file)) };
        }
      } finally {
        await stopRgw();
      }
    }

    // Local directory
    await alternate('local', sizeMiB, before);

    // GCS (emulator)
    const needGcs = (3.5 * sizeMiB) / 1024 + 1;
    if (sizeMiB > SETTINGS.gcsMaxMiB) {
      notes.push(`GCS at ${sizeMiB} MiB not run: the emulator cannot store an object of 2 GiB or more (see "GCS emulator" above).`);
    } else if (memAvailableGiB() < needGcs) {
      notes.push(
        `GCS at ${sizeMiB} MiB skipped: ${memAvailableGiB().toFixed(1)} GiB of memory available, the emulator needs about ${needGcs.toFixed(1)}.`,
      );
    } else {
      await startGcs(String(sizeMiB));
      try {
        await alternate('gcs', sizeMiB);
        const object = summarize(results, 'gcs', sizeMiB, 'ours')?.bytes;
        if (object) emulatorPeaks.push({ sizeMiB, objectMiB: object / MiB, peakMiB: gcsPeakMiB() });
      } finally {
        await stopGcs();
      }
    }
  }
  const dbSize = await etcdDbSize();
  const durationS = (Date.now() - started) / 1000;
  const report = renderReport({ facts, results, cold, loads, profile, emulatorPeaks, notes, durationS, dbSize, before: Boolean(before) });
  writeFileSync(SETTINGS.out, report);
  log(`wrote ${relative(process.cwd(), SETTINGS.out)} after ${(durationS / 60).toFixed(1)} min`);
}

await withServices(main);
