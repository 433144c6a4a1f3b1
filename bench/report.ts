// The report: docs/benchmarks.md from one run's measurements. The snapshot benchmark writes the whole file
// (its tables, the method, then bench/analysis.md, which no run regenerates); the verify benchmark replaces
// only its section between the verify markers.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BEFORE_REF, CHANGED_FILES } from './before.js';
import type { Facts } from './facts.js';
import { median } from './measure.js';
import type { ProfileSummary } from './profile.js';
import { type ColdStart, type Run, S3_VARIANTS } from './runs.js';
import { log, MiB, ROOT, SETTINGS, type Store } from './settings.js';

/** One measured run, as the snapshot benchmark records it. */
export interface Result extends Run {
  store: Store;
  sizeMiB: number;
  /** 'ours', 'baseline', 'before' or an S3 variant's kind. */
  kind: string;
  rep: number;
}

export interface SnapshotReport {
  facts: Facts;
  results: Result[];
  cold: ColdStart[];
  loads: { sizeMiB: number; dbBytes: number; seconds: number }[];
  profile: (ProfileSummary & { sizeMiB: number; wallS: number }) | undefined;
  /** The emulator's peak RSS after each size's uploads. */
  emulatorPeaks: { sizeMiB: number; objectMiB: number; peakMiB: number }[];
  notes: string[];
  durationS: number;
  dbSize: number;
  /** Whether the pre-optimisation CLI ran. */
  before: boolean;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const yes = (ok: boolean) => (ok ? 'met' : '**missed**');
/** CPU-seconds per GiB of (uncompressed) snapshot. */
export const perGiB = (cpuS: number, bytes: number) => f2(cpuS / (bytes / (1024 * MiB)));

export function summarize(results: Result[], store: Store, sizeMiB: number, kind: string) {
  const rows = results.filter((r) => r.store === store && r.sizeMiB === sizeMiB && r.kind === kind);
  if (rows.length === 0) return undefined;
  return {
    n: rows.length,
    wallS: median(rows.map((r) => r.wallS)),
    walls: rows.map((r) => r.wallS),
    rssMiB: median(rows.map((r) => r.rssMiB)),
    rssMax: Math.max(...rows.map((r) => r.rssMiB)),
    cpuS: median(rows.map((r) => r.cpuS)),
    etcdCpuS: median(rows.map((r) => r.etcdCpuS)),
    storeCpuS: median(rows.map((r) => r.storeCpuS)),
    foreignCpuS: median(rows.map((r) => r.foreignCpuS)),
    load1: median(rows.map((r) => r.load1)),
    bytes: median(rows.map((r) => r.bytes)),
    storedBytes: median(rows.map((r) => r.storedBytes)),
    steps: rows[0]!.steps.map((s, i) => ({
      what: s.what,
      wallS: median(rows.map((r) => r.steps[i]?.wallS ?? Number.NaN)),
      rssMiB: median(rows.map((r) => r.steps[i]?.rssMiB ?? Number.NaN)),
    })),
  };
}

function storeTable(results: Result[], store: Store, title: string, baselineName: string, targetWall: number) {
  const lines: string[] = [];
  lines.push(
    `| etcd database | snapshot (stored) | ours: wall (median of n) | ${baselineName}: wall | ratio ours/baseline | ours: peak RSS (median, max) | baseline peak RSS per step | CPU-s ours (per GiB) / etcd / store server | other load on the machine (CPU-s) |`,
  );
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const ratios: number[] = [];
  const rss: number[] = [];
  const medians: number[] = [];
  for (const sizeMiB of SETTINGS.sizesMiB) {
    const ours = summarize(results, store, sizeMiB, 'ours');
    const base = summarize(results, store, sizeMiB, 'baseline');
    if (!ours || !base) continue;
    const ratio = ours.wallS / base.wallS;
    ratios.push(ratio);
    rss.push(ours.rssMax);
    medians.push(ours.rssMiB);
    lines.push(
      `| ${sizeMiB} MiB | ${f0(ours.bytes / MiB)} MiB (${f0(ours.storedBytes / MiB)}) | ${f2(ours.wallS)} s (n=${ours.n}: ${ours.walls.map(f2).join(', ')}) | ${f2(base.wallS)} s (${base.steps.map((s) => `${s.what} ${f2(s.wallS)}`).join(' + ')}) | **${f2(ratio)}** | ${f0(ours.rssMiB)} MiB, ${f0(ours.rssMax)} | ${base.steps.map((s) => `${s.what.split(' ')[0]} ${f0(s.rssMiB)}`).join(', ')} MiB | ${f1(ours.cpuS)} (${perGiB(ours.cpuS, ours.bytes)}) / ${f1(ours.etcdCpuS)} / ${f1(ours.storeCpuS)} | ${f1(ours.foreignCpuS)} (ours runs), ${f1(base.foreignCpuS)} (baseline runs) |`,
    );
  }
  const verdict: string[] = [];
  if (ratios.length) {
    const worst = Math.max(...ratios);
    if (targetWall)
      verdict.push(`wall time ≤ ${targetWall}× the baseline: ${yes(worst <= targetWall)} (ratios ${ratios.map(f2).join(', ')})`);
    const max = Math.max(...rss);
    verdict.push(`peak RSS ≤ 128 MiB: ${yes(max <= 128)} (largest of all runs ${f0(max)} MiB)`);
    const spread = Math.max(...medians) - Math.min(...medians);
    verdict.push(`peak RSS flat across sizes: ${spread <= 16 ? 'yes' : '**no**'} (medians ${medians.map(f0).join(', ')} MiB)`);
  }
  return { title, table: lines.join('\n'), verdict };
}

type Summary = NonNullable<ReturnType<typeof summarize>>;

export const VARIANT_HEADER = [
  '| store | size | variant | variant wall | ours wall | variant/ours | stored MiB variant vs ours | peak RSS (max) | CPU-s ours process (per GiB) | CPU-s etcd |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];

export function variantRow(store: string, sizeMiB: number, what: string, v: Summary, ours: Summary): string {
  return `| ${store} | ${sizeMiB} MiB | ${what} | ${f2(v.wallS)} s (n=${v.n}) | ${f2(ours.wallS)} s | ${f2(v.wallS / ours.wallS)} | ${f0(v.storedBytes / MiB)} vs ${f0(ours.storedBytes / MiB)} | ${f0(v.rssMax)} MiB vs ${f0(ours.rssMax)} MiB | ${f1(v.cpuS)} (${perGiB(v.cpuS, v.bytes)}) vs ${f1(ours.cpuS)} (${perGiB(ours.cpuS, ours.bytes)}) | ${f1(v.etcdCpuS)} vs ${f1(ours.etcdCpuS)} |`;
}

function variantRows(results: Result[]): string[] {
  const rows: string[] = [];
  for (const store of ['s3', 'local', 'gcs'] as const) {
    for (const sizeMiB of SETTINGS.sizesMiB) {
      const ours = summarize(results, store, sizeMiB, 'ours');
      for (const { kind, what } of [
        { kind: 'before', what: `before the optimisations (${BEFORE_REF}'s ${CHANGED_FILES.length} streaming-path files)` },
        ...S3_VARIANTS,
      ]) {
        const v = summarize(results, store, sizeMiB, kind);
        if (!v || !ours) continue;
        rows.push(variantRow(store, sizeMiB, what, v, ours));
      }
    }
  }
  return rows;
}

export function renderReport({
  facts,
  results,
  cold,
  loads,
  profile,
  emulatorPeaks,
  notes,
  durationS,
  dbSize,
  before,
}: SnapshotReport): string {
  const out: string[] = [];
  const p = (s = '') => out.push(s);
  const s3 = storeTable(results, 's3', 'S3 (Ceph radosgw on loopback)', '`etcdctl snapshot save` + `aws s3 cp`', 0.6);
  const local = storeTable(results, 'local', 'Local directory', '`etcdctl snapshot save`', 0.6);
  const gcs = storeTable(results, 'gcs', 'GCS (Cloud Storage emulator on loopback)', '`etcdctl snapshot save`', 0.6);
  const maxBundle = Math.max(...cold.map((c) => c.bytes));
  const maxImport = Math.max(...cold.map((c) => c.importMs));

  p('# Benchmarks');
  p();
  p(
    `Written by \`npm run bench\` (bench/run.sh → bench/snapshot.ts) on ${facts.date.slice(0, 16).replace('T', ' ')} UTC, commit ${facts.commit}${facts.dirty ? ' with uncommitted changes' : ''}, in ${(durationS / 60).toFixed(1)} minutes. Every number below comes from that one run; rerun it to refresh this file (do not edit it by hand: the next run overwrites it).`,
  );
  p();
  p('## Summary');
  p();
  p('| target | result |');
  p('| --- | --- |');
  for (const [name, t] of [
    ['S3', s3],
    ['local', local],
    ['GCS', gcs],
  ] as const)
    for (const v of t.verdict) p(`| ${name}: ${v.split(':')[0]} | ${v.slice(v.indexOf(':') + 2)} |`);
  p(
    `| function bundles ≤ 2 MB | ${yes(maxBundle <= 2_000_000)} with 2 MB = 2,000,000 bytes, ${yes(maxBundle <= 2 * MiB)} with 2 MiB (largest ${maxBundle.toLocaleString('en-US')} bytes = ${(maxBundle / MiB).toFixed(2)} MiB) |`,
  );
  p(
    `| cold start (import + handler) ≤ 300 ms | ${yes(maxImport <= 300)} (slowest ${f0(maxImport)} ms, median of ${SETTINGS.coldRuns} fresh processes per bundle) |`,
  );
  p();
  const wallSum = results.reduce((a, r) => a + r.wallS, 0);
  const foreignSum = results.reduce((a, r) => a + r.foreignCpuS, 0);
  p(
    `Other work on this (shared) machine during the measured runs: ${f1(foreignSum)} CPU-s over ${f0(wallSum)} s of runs, i.e. ${f0((100 * foreignSum) / (2 * wallSum))}% of the 2 cores on average; per row in the "other load" columns.`,
  );
  p();
  p(
    'The wall-time target (≤ 0.6× the baseline) was set for the S3 comparison, where the baseline writes the snapshot to disk and then uploads it; it is shown for the local and GCS stores too, where the baseline (`etcdctl snapshot save` alone) never leaves the machine and is the floor rather than a competitor.',
  );
  p();
  p('## Method');
  p();
  p(
    `Machine: \`nproc\` = ${facts.nproc} (${facts.cpu}), ${facts.memGiB} GiB RAM, ${facts.os}, Linux ${facts.kernel}. Node ${facts.node}; etcd ${facts.etcd} and etcdctl ${facts.etcdctl} (Debian); Ceph radosgw ${facts.radosgw} (Debian, one mon + one OSD on memstore, i.e. RAM); ${facts.aws} (Debian's \`awscli\`, /usr/bin/aws); Cloud Storage emulator from firebase-tools ${facts.firebase}; @aws-sdk/client-s3 ${facts.deps['@aws-sdk/client-s3']}, @google-cloud/storage ${facts.deps['@google-cloud/storage']}, etcd3 ${facts.deps.etcd3}.`,
  );
  p();
  p(
    '- **Data.** One etcd member on loopback (`--quota-backend-bytes` 8 GiB), filled with 256 KiB values of fresh random bytes (incompressible: the worst case for compression) by 8 concurrent puts until its database reaches each size in turn: ' +
      loads
        .map(
          (l) =>
            `${l.sizeMiB} MiB (reached ${f0(l.dbBytes / MiB)} MiB, ${f0((l.dbBytes - (loads[loads.indexOf(l) - 1]?.dbBytes ?? 0)) / MiB / l.seconds)} MiB/s)`,
        )
        .join(', ') +
      `. Final database: ${f0(dbSize / MiB)} MiB.`,
  );
  p(
    "- **Ours**: `bin/etcd-backup.js snapshot --json` run as a command, as npm links it (so with the `--max-semi-space-size=1` and `MALLOC_ARENA_MAX=2` its first lines give node), settings in the environment only (a clean environment: `BACKUP_URL`, `CLUSTER_NAME`, `ETCD_ENDPOINTS`, `LOG_LEVEL=warn` and the store's variables; for radosgw `S3_FORCE_PATH_STYLE=true`, `AWS_REQUEST_CHECKSUM_CALCULATION=when_required`, `AWS_ENDPOINT_URL_S3` and the keys; defaults otherwise, e.g. 5 MiB parts, one uploading while the next fills, and `SNAPSHOT_COMPRESSION` zstd: on these random values it stores the snapshot plain, see the next point). The CLI and the bundles are built by the project's `scripts/build.mjs` (what `npm run build` runs) from a private copy of the sources taken at the start, so that other work in the checkout (a test run rebuilds `dist/`) cannot change what is measured. Every run is checked: exit status 0 and `ok: true`.",
  );
  p(
    "- **Baseline**: what a user would script instead, with the same etcd and store: `etcdctl snapshot save FILE`, then for S3 `aws s3 cp FILE s3://…` (the AWS CLI's defaults: 8 MiB parts, 10 requests in parallel; no config file). For the local and GCS stores the baseline is `etcdctl snapshot save` alone. Wall time of the baseline = the sum of its steps; its peak RSS is shown per step.",
  );
  p(
    `- **Order.** For each size: S3, then local, then GCS; within a store ours and the baseline alternate (ours, baseline, ours, baseline, …), ${SETTINGS.reps.s3} repetitions each for S3, ${SETTINGS.reps.local} for local, ${SETTINGS.reps.gcs} for GCS (the emulator makes those runs long, and they measure it more than this project; fewer for local and GCS keeps the whole \`npm run bench\`, the Kubernetes-like part included, within ~20 minutes on 2 cores); the tables give the median. Before the runs of each store and size, one snapshot of ours is taken (not measured) and kept: every measured run follows it as a scheduled run follows the previous one, and decides from it what it would on a schedule (the default zstd stores data that did not compress last time plain, shared/compressibility.ts). Everything else stored, and the baseline's file, is deleted after every run (radosgw's garbage collection is run at once, \`radosgw-admin gc process --include-all\`, so its RAM store does not fill up). radosgw and the emulator are started fresh for each size.`,
  );
  p(
    "- **Wall time**: from spawning the process to its exit (Node start-up, module loading, member selection and the manifest included). **Peak RSS**: GNU time's `%M` (the process's maximum resident set). **CPU-s**: user + system CPU of our process (GNU time), and of etcd and of the store server (radosgw + OSD + mon, or the emulator) over the same interval, from /proc/PID/stat. **Other load**: CPU-seconds the machine spent on anything else during the run (/proc/stat minus the processes above); this machine is shared with other work, and when that number is high the wall times are inflated, mostly in whichever runs it overlapped.",
  );
  p(
    `- **Profile**: one more S3 run at ${SETTINGS.profileMiB} MiB under \`node --cpu-prof\` (not used for the timings), every sample put in one category by its stack (bench/profile.ts).`,
  );
  p(
    `- **Bundles**: size of each dist/functions/*/*/index.mjs; cold start = in a fresh \`node\` process (bench/coldstart.ts), the time to \`import()\` the bundle and get its handler (Lambda: the \`handler\` export; Cloud Functions: the function the bundle registers, read through the Functions Framework, which the runtime loads before the bundle and is timed apart), median of ${SETTINGS.coldRuns} processes.`,
  );
  p();
  for (const t of [s3, local, gcs]) {
    p(`## ${t.title}`);
    p();
    p(t.table);
    p();
  }
  p(
    'Baseline steps and ratios: for S3 the ratio compares the whole pipeline (save, then upload) with one streaming run; our run needs no disk space for the snapshot.',
  );
  p();
  p('### GCS emulator');
  p();
  const peaks = emulatorPeaks.map((e) => `${f0(e.peakMiB)} MiB after uploads of ${f0(e.objectMiB)} MiB`).join(', ');
  p(
    `The emulator (firebase-tools) holds a whole upload in memory (its peak RSS in this run: ${peaks || 'not measured'}) and is single-threaded JavaScript, so it, not the client, sets the pace of the GCS runs (compare its CPU-seconds with ours in the table): they measure the emulator more than this project. It cannot store an object of 2 GiB or more at all: it appends the upload to its file with one \`fs.writeSync\` call, which refuses more than 2,147,483,647 bytes (\`ERR_OUT_OF_RANGE\`, and the emulator process dies; seen while preparing this benchmark with a 2.17 GB snapshot). Hence GCS runs only up to ${SETTINGS.gcsMaxMiB} MiB.`,
  );
  p();
  const variants = variantRows(results);
  if (variants.length) {
    p('## Variants (same run)');
    p();
    for (const l of VARIANT_HEADER) p(l);
    for (const r of variants) p(r);
    p();
    if (before)
      p(
        `"Before" is the CLI built from this tree with ${CHANGED_FILES.map((f) => `\`${f}\``).join(', ')} as they were at commit ${BEFORE_REF}, i.e. without the changes listed under "Optimisations"; it runs in the same rotation as ours and the baseline.`,
      );
    p(
      `Variant rows: ${SETTINGS.variantReps} runs per size (median wall, largest peak RSS), alternating with each other after the rotation above. \`S3_UPLOAD_CONCURRENCY=2\` was the default before 1: one more 5 MiB part buffer and a second request in flight. \`S3_PART_SIZE=8MiB\` was the default before 5 MiB: 2 × 3 MiB more part buffers; now that parts reuse connections, the part size makes little difference to the time (see "Optimisations").`,
    );
    p();
  }
  if (profile) {
    p(`## Where the time goes (profile of one S3 run at ${profile.sizeMiB} MiB)`);
    p();
    for (const l of profileLines(profile)) p(l);
  }
  p('## Function bundles');
  p();
  p(
    '| bundle | size (bytes) | import + handler (ms) | Functions Framework import before it (ms) | whole process, spawn to exit (ms) | RSS after import (MiB) |',
  );
  p('| --- | --- | --- | --- | --- | --- |');
  for (const c of cold)
    p(
      `| ${c.bundle} | ${c.bytes.toLocaleString('en-US')} | ${f0(c.importMs)} | ${c.frameworkMs ? f0(c.frameworkMs) : '–'} | ${f0(c.processMs)} | ${f0(c.rssMiB)} |`,
    );
  p();
  if (notes.length) {
    p('## Notes from this run');
    p();
    for (const n of notes) p(`- ${n}`);
    p();
  }
  // Filled in by the verify and Kubernetes-like benchmarks that run after this one.
  for (const name of SECTIONS) {
    p(markers(name).join('\n'));
    p();
  }
  const staticPart = join(ROOT, 'bench/analysis.md');
  if (existsSync(staticPart)) {
    p(readFileSync(staticPart, 'utf8').trim());
    p();
  }
  return out.join('\n');
}

/** A profile's summary as the report shows it: busy and idle time, categories, top functions. */
export function profileLines(profile: ProfileSummary & { wallS: number; cpuS?: number }): string[] {
  const out: string[] = [];
  out.push(
    `Main thread: ${f1(profile.totalS)} s profiled, ${f1(profile.busyS)} s busy (${f0((100 * profile.busyS) / profile.totalS)}%); the rest is waiting for etcd or radosgw${profile.cpuS === undefined ? '' : ", or for the compression, which runs on libuv's thread pool"}. Wall time of this run: ${f2(profile.wallS)} s (with the profiler on)${profile.cpuS === undefined ? '' : `; CPU of the whole process ${f1(profile.cpuS)} s, i.e. ${f1(profile.cpuS - profile.busyS)} s on other threads (compression, V8's GC and compiler threads)`}.`,
  );
  out.push('', '| category | seconds | % of run | % of busy time |', '| --- | --- | --- | --- |');
  for (const c of profile.categories)
    out.push(`| ${c.name} | ${f2(c.s)} | ${f1(c.pct)} | ${c.busyPct === undefined ? '' : f1(c.busyPct)} |`);
  out.push('', 'Top functions by self time:', '', '| function | seconds | % |', '| --- | --- | --- |');
  for (const c of profile.top) out.push(`| \`${c.name.replace(/\|/g, '\\|')}\` | ${f2(c.s)} | ${f1(c.pct)} |`);
  out.push('');
  return out;
}

/** The sections later benchmarks write into the report, in this order, each between its two markers. */
const SECTIONS = ['verify', 'k8s'] as const;
const markers = (name: (typeof SECTIONS)[number]) => [`<!-- ${name}-benchmark:start -->`, `<!-- ${name}-benchmark:end -->`] as const;

/**
 * Writes `lines` as the report's section `name`, replacing what is between its markers (the snapshot
 * benchmark leaves them empty, before the static part), or appending it to the report (or a new one).
 */
export function writeSection(name: (typeof SECTIONS)[number], lines: string[]): void {
  const [start, end] = markers(name);
  const doc = existsSync(SETTINGS.out) ? readFileSync(SETTINGS.out, 'utf8') : '';
  const section = [start, ...lines, end].join('\n');
  const at = doc.indexOf(start);
  writeFileSync(
    SETTINGS.out,
    at >= 0 ? doc.slice(0, at) + section + doc.slice(doc.indexOf(end) + end.length) : `${doc.trimEnd()}\n\n${section}\n`,
  );
  log(`wrote the ${name} section into ${SETTINGS.out}`);
}

/** One size of the verify benchmark: our runs, and the baseline's three steps per run. */
export interface VerifyRow {
  sizeMiB: number;
  snapMiB: number;
  /** Bytes in the store (compressed or not). */
  storedMiB: number;
  ours: { wallS: number; rssMiB: number; cpuS: number }[];
  baseline: { wallS: number; steps: { wallS: number; rssMiB: number }[] }[];
}

/** The verify table: one line per row, with its header. */
export function verifyTable(rows: VerifyRow[]): string[] {
  const lines = [
    '| etcd database | snapshot (stored) | ours: wall | baseline: wall (cp + sha256sum + status) | ratio | ours: peak RSS (max) | ours: CPU-s (per GiB) | baseline peak RSS per step |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const ours = median(r.ours.map((x) => x.wallS));
    const cpu = median(r.ours.map((x) => x.cpuS));
    const base = median(r.baseline.map((x) => x.wallS));
    const step = (i: number) => median(r.baseline.map((x) => x.steps[i]?.wallS ?? Number.NaN));
    const stepRss = (i: number) => Math.max(...r.baseline.map((x) => x.steps[i]?.rssMiB ?? Number.NaN)).toFixed(0);
    lines.push(
      `| ${r.sizeMiB} MiB | ${r.snapMiB.toFixed(0)} MiB (${r.storedMiB.toFixed(0)}) | ${f2(ours)} s | ${f2(base)} s (${f2(step(0))} + ${f2(step(1))} + ${f2(step(2))}) | **${f2(ours / base)}** | ${Math.max(...r.ours.map((x) => x.rssMiB)).toFixed(0)} MiB | ${f1(cpu)} (${perGiB(cpu, r.snapMiB * MiB)}) | aws ${stepRss(0)}, sha256sum ${stepRss(1)}, etcdctl ${stepRss(2)} MiB |`,
    );
  }
  return lines;
}

/** Writes the verify section into the report. */
export function writeVerifySection(rows: VerifyRow[]): void {
  writeSection('verify', [
    '## Verify (S3, Ceph radosgw on loopback)',
    '',
    `Written by \`npm run bench\` (bench/verify.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Ours: \`bin/etcd-backup.js verify --key K --json\` (streams the object from S3, decompressing it if stored compressed, through the inspector: sha256 trailer, bbolt structure, revision and key count, manifest comparison; writes its record), on a snapshot taken with the default compression after a previous one (on these random values: stored plain). Baseline: \`aws s3 cp\` of the plain snapshot (\`etcdctl snapshot save\`, uploaded as it is) to disk, then \`sha256sum\` of the file, then \`etcdctl snapshot status -w json\` (the sum of the three). Alternating, ${SETTINGS.verifyReps} repetitions each; medians; peak RSS from GNU time.`,
    '',
    ...verifyTable(rows),
    '',
    "Targets (the verify issue): ≤ 0.6× the baseline's wall time; peak RSS ≤ 128 MiB and flat as the snapshot grows.",
  ]);
}
