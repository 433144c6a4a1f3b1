// The Kubernetes-like benchmark's section of docs/benchmarks.md (bench/k8s.ts measures, this writes).
import type { Fill } from './k8s-data.js';
import { KINDS } from './k8s-data.js';
import { median } from './measure.js';
import type { ProfileSummary } from './profile.js';
import {
  perGiB,
  profileLines,
  type Result,
  summarize,
  VARIANT_HEADER,
  type VerifyRow,
  variantRow,
  verifyTable,
  writeSection,
} from './report.js';
import type { RestoreRun } from './restore-runs.js';
import { MiB, SETTINGS } from './settings.js';

export interface K8sReport {
  fills: Fill[];
  /** `zstd -3 -T1` of the first baseline's file at each size. */
  references: { sizeMiB: number; bytes: number; zstdBytes: number; wallS: number; cpuS: number }[];
  results: Result[];
  verify: VerifyRow[];
  restore: { sizeMiB: number; snapMiB: number; ours: RestoreRun; baseline: RestoreRun }[];
  profiles: (ProfileSummary & { what: string; sizeMiB: number; wallS: number; cpuS: number })[];
  durationS: number;
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const yes = (ok: boolean) => (ok ? 'met' : '**missed**');

export function writeK8sSection(r: K8sReport): void {
  const { k8s } = SETTINGS;
  const out: string[] = [];
  const p = (s = '') => out.push(s);
  const snapshotRows = k8s.sizesMiB.flatMap((sizeMiB) => {
    const ours = summarize(r.results, 's3', sizeMiB, 'ours');
    const base = summarize(r.results, 's3', sizeMiB, 'baseline');
    const ref = r.references.find((x) => x.sizeMiB === sizeMiB);
    return ours && base ? [{ sizeMiB, ours, base, ref }] : [];
  });

  p('## Kubernetes-like data (S3, Ceph radosgw on loopback)');
  p();
  p(
    `Written by \`npm run bench\` (bench/k8s.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, in ${f1(r.durationS / 60)} minutes, on the machine and with the versions of the method above. One etcd member (3.4, as above) filled with the data set of bench/k8s-data.ts (seed ${k8s.seed}) to each size in turn: JSON objects under \`/registry/<resource>/<namespace>/<name>\` as kube-apiserver lays them out (Deployments and their Pods sharing a pod template, ConfigMaps of configuration files, one CA bundle ConfigMap per namespace, with labels, annotations, \`managedFields\` and \`kubectl.kubernetes.io/last-applied-configuration\` as real objects carry them), Secrets of random bytes in base64 (about a tenth of the bytes written), Events written, rewritten and deleted (at most 3,000 alive), then the history compacted at the last revision. Filled by transactions of up to 100 puts and 1 MiB, 6 in flight.`,
  );
  p();
  p('### Data set');
  p();
  p(
    '| target | database after compaction | written (share per kind, rewrites included) | puts / deletes | live keys | fill | snapshot | `zstd -3` of the snapshot file | `zstd -3` time (one thread) |',
  );
  p('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const f of r.fills) {
    const total = KINDS.reduce((a, k) => a + f.written[k], 0);
    const ref = r.references.find((x) => x.sizeMiB === f.sizeMiB);
    p(
      `| ${f.sizeMiB} MiB | ${f0(f.dbBytes / MiB)} MiB | ${f0(total / MiB)} MiB (${KINDS.map((k) => `${k} ${f0((100 * f.written[k]) / total)}%`).join(', ')}) | ${f.puts.toLocaleString('en-US')} / ${f.deletes.toLocaleString('en-US')} | ${f.keys.toLocaleString('en-US')} | ${f0(f.seconds)} s | ${ref ? `${f0(ref.bytes / MiB)} MiB` : 'n/a'} | ${ref ? `${f1(ref.zstdBytes / MiB)} MiB, **${f3(ref.zstdBytes / ref.bytes)}×**` : 'n/a'} | ${ref ? `${f1(ref.wallS)} s (${f0(ref.bytes / 1e6 / ref.wallS)} MB/s)` : 'n/a'} |`,
    );
  }
  p();
  p(
    'The `zstd -3` ratio of the snapshot file is the reference for the stored size: `/usr/bin/zstd -3 -T1` on the file the first baseline run saved at each size.',
  );
  p();

  const verdicts: [string, string][] = [];
  if (snapshotRows.length) {
    const ratios = snapshotRows.map((x) => x.ours.wallS / x.base.wallS);
    verdicts.push(['snapshot → S3: wall ≤ 0.5× the baseline', `${yes(Math.max(...ratios) <= 0.5)} (${ratios.map(f2).join(', ')})`]);
    const vsZstd = snapshotRows.filter((x) => x.ref).map((x) => x.ours.storedBytes / x.ref!.zstdBytes);
    if (vsZstd.length)
      verdicts.push([
        'snapshot → S3: stored bytes within 10% of `zstd -3`',
        `${yes(Math.max(...vsZstd) <= 1.1)} (ours / zstd -3: ${vsZstd.map(f2).join(', ')})`,
      ]);
    const rss = snapshotRows.map((x) => x.ours.rssMax);
    verdicts.push(['snapshot → S3: peak RSS ≤ 128 MiB', `${yes(Math.max(...rss) <= 128)} (largest ${f0(Math.max(...rss))} MiB)`]);
    const medians = snapshotRows.map((x) => x.ours.rssMiB);
    verdicts.push([
      'snapshot → S3: peak RSS flat across sizes',
      `${Math.max(...medians) - Math.min(...medians) <= 16 ? 'yes' : '**no**'} (medians ${medians.map(f0).join(', ')} MiB)`,
    ]);
  }
  const restoreWall = (pick: (x: K8sReport['restore'][number]) => RestoreRun) => median(r.restore.map((x) => pick(x).wallS));
  if (r.restore.length) {
    const ratio = restoreWall((x) => x.ours) / restoreWall((x) => x.baseline);
    verdicts.push(['restore --data-dir: wall ≤ 0.6× the baseline', `${yes(ratio <= 0.6)} (${f2(ratio)})`]);
    const own = Math.max(...r.restore.map((x) => x.ours.rssMiB));
    verdicts.push([
      'restore --data-dir: peak RSS of our process ≤ 128 MiB',
      `${yes(own <= 128)} (largest ${f0(own)} MiB; etcdutl ${f0(Math.max(...r.restore.map((x) => x.ours.toolRssMiB)))} MiB)`,
    ]);
  }
  for (const v of r.verify) {
    const ratio = median(v.ours.map((x) => x.wallS)) / median(v.baseline.map((x) => x.wallS));
    verdicts.push([`verify from S3 (${v.sizeMiB} MiB, compressed): wall ≤ 0.6× the baseline`, `${yes(ratio <= 0.6)} (${f2(ratio)})`]);
  }
  p('### Targets');
  p();
  p('| target | result |');
  p('| --- | --- |');
  for (const [t, v] of verdicts) p(`| ${t} | ${v} |`);
  p();

  p('### Snapshot → S3');
  p();
  p(
    `Ours: \`etcd-backup snapshot --json\` with the default compression, as in the tables above, each run following a kept previous snapshot (taken first, not measured); baseline: \`etcdctl snapshot save\` + \`aws s3 cp\` of the plain file. Alternating, ${k8s.reps} repetitions each; medians. CPU-s per GiB: of the snapshot's uncompressed size.`,
  );
  p();
  p(
    '| etcd database | snapshot | stored: ours (ratio) | `zstd -3` (ratio) | ours / `zstd -3` | ours: wall (median of n) | baseline: wall | ratio ours/baseline | ours: peak RSS (median, max) | CPU-s ours (per GiB) / etcd / store server | other load (CPU-s, ours / baseline runs) |',
  );
  p('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const { sizeMiB, ours, base, ref } of snapshotRows) {
    p(
      `| ${sizeMiB} MiB | ${f0(ours.bytes / MiB)} MiB | ${f1(ours.storedBytes / MiB)} MiB (${f3(ours.storedBytes / ours.bytes)}) | ${ref ? `${f1(ref.zstdBytes / MiB)} MiB (${f3(ref.zstdBytes / ref.bytes)})` : 'n/a'} | ${ref ? `**${f2(ours.storedBytes / ref.zstdBytes)}**` : 'n/a'} | ${f2(ours.wallS)} s (n=${ours.n}: ${ours.walls.map(f2).join(', ')}) | ${f2(base.wallS)} s (${base.steps.map((s) => `${s.what} ${f2(s.wallS)}`).join(' + ')}) | **${f2(ours.wallS / base.wallS)}** | ${f0(ours.rssMiB)} MiB, ${f0(ours.rssMax)} | ${f1(ours.cpuS)} (${perGiB(ours.cpuS, ours.bytes)}) / ${f1(ours.etcdCpuS)} / ${f1(ours.storeCpuS)} | ${f1(ours.foreignCpuS)} / ${f1(base.foreignCpuS)} |`,
    );
  }
  p();
  const variants = ['none', 'gzip'].flatMap((kind) => {
    const v = summarize(r.results, 's3', k8s.atMiB, kind);
    const ours = summarize(r.results, 's3', k8s.atMiB, 'ours');
    return v && ours ? [variantRow('s3', k8s.atMiB, `ours with SNAPSHOT_COMPRESSION=${kind}`, v, ours)] : [];
  });
  if (variants.length) {
    p(`Other compressions at ${k8s.atMiB} MiB (${SETTINGS.variantReps} runs each, after the rotation; "ours" is the default):`);
    p();
    for (const l of [...VARIANT_HEADER, ...variants]) p(l);
    p();
  }

  if (r.verify.length) {
    p('### Verify from S3 (compressed snapshot)');
    p();
    p(
      `Ours: \`etcd-backup verify --key K --json\` of the snapshot stored with the default compression; baseline: \`aws s3 cp\` of the plain snapshot, \`sha256sum\`, \`etcdctl snapshot status\`, as in the verify section above. Alternating, ${k8s.verifyReps} repetitions each; medians.`,
    );
    p();
    for (const l of verifyTable(r.verify)) p(l);
    p();
  }

  if (r.restore.length) {
    const size = r.restore[0]!;
    const m = (pick: (x: K8sReport['restore'][number]) => number) => median(r.restore.map(pick));
    p('### Restore into a data dir');
    p();
    p(
      `Ours: \`etcd-backup restore --key K --output FILE --data-dir DIR --json\` (downloads the compressed snapshot, decompresses and checks it while writing FILE, then runs \`etcdutl snapshot restore\` with the revision bump Kubernetes needs); baseline: \`aws s3 cp\` of the plain snapshot, then \`etcdutl snapshot restore FILE --data-dir DIR\` with the same flags (taken from our run's JSON result). etcdutl 3.5 from /var/cache/etcd-backup/etcd-3.5 for both; in our run it is timed by a wrapper, so our process's own CPU (GNU time's, minus etcdutl's) and its own peak RSS (VmHWM, read every 50 ms) are shown apart from etcdutl's. Alternating, ${r.restore.length} repetitions each; medians.`,
    );
    p();
    p(
      '| etcd database | snapshot | ours: wall (etcdutl inside it) | baseline: wall (aws s3 cp + etcdutl) | ratio | ours: own peak RSS (max) | etcdutl peak RSS | ours: own CPU-s (per GiB) | etcdutl CPU-s | aws s3 cp CPU-s |',
    );
    p('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    const ourCpu = m((x) => x.ours.cpuS);
    p(
      `| ${size.sizeMiB} MiB | ${f0(size.snapMiB)} MiB | ${f2(m((x) => x.ours.wallS))} s (${f2(m((x) => x.ours.toolWallS))}) | ${f2(m((x) => x.baseline.wallS))} s (${f2(m((x) => x.baseline.steps[0]!.wallS))} + ${f2(m((x) => x.baseline.toolWallS))}) | **${f2(m((x) => x.ours.wallS) / m((x) => x.baseline.wallS))}** | ${f0(Math.max(...r.restore.map((x) => x.ours.rssMiB)))} MiB | ${f0(m((x) => x.ours.toolRssMiB))} MiB (baseline ${f0(m((x) => x.baseline.toolRssMiB))}) | ${f1(ourCpu)} (${perGiB(ourCpu, size.snapMiB * MiB)}) | ${f1(m((x) => x.ours.toolCpuS))} (baseline ${f1(m((x) => x.baseline.toolCpuS))}) | ${f1(m((x) => x.baseline.cpuS))} |`,
    );
    p();
  }

  for (const prof of r.profiles) {
    p(`### Where the time goes: profile of one ${prof.what} at ${prof.sizeMiB} MiB (Kubernetes-like data)`);
    p();
    for (const l of profileLines(prof)) p(l);
  }
  writeSection('k8s', out);
}
