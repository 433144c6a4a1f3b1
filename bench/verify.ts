// The verify benchmark (run by `npm run bench` after bench/snapshot.ts): `etcd-backup verify` on snapshots
// of about 0.5 and 1 GB stored in the S3 server (Ceph radosgw on loopback), against what a user would script
// instead: `aws s3 cp` to disk, `sha256sum`, `etcdctl snapshot status` (of the plain snapshot: ours is
// stored with the default compression). Ours and the baseline alternate;
// wall time and peak RSS (GNU time) of each; the medians go into the verify section of docs/benchmarks.md
// (bench/report.ts). Settings: bench/settings.ts (BENCH_VERIFY_SIZES_MIB, BENCH_VERIFY_REPS, BENCH_OUT).
//
// It runs the CLI built from a private copy of the sources, as the snapshot benchmark does (bench/runs.ts).
import { join } from 'node:path';
import { timed } from './measure.js';
import type { VerifyRow } from './report.js';
import { writeVerifySection } from './report.js';
import { buildApp, CLUSTER } from './runs.js';
import { BUCKET, etcdMember, loadTo, startEtcd, startRgw, WORK, withServices } from './services.js';
import { log, MiB, SETTINGS } from './settings.js';
import { storePlainCopy, verifyBaseline, verifyOurs } from './verify-runs.js';

async function main(): Promise<void> {
  const app = join(WORK, 'app');
  await buildApp(app);
  const CLI = join(app, 'bin/etcd-backup.js');
  await startEtcd();
  const rgw = (await startRgw('verify', 6 * 1024 * MiB)).env;
  const endpoint = rgw.AWS_ENDPOINT_URL_S3 ?? '';
  const env = {
    PATH: process.env.PATH,
    HOME: WORK,
    LANG: 'C.UTF-8',
    LOG_LEVEL: 'warn',
    BACKUP_URL: `s3://${BUCKET}/etcd`,
    CLUSTER_NAME: CLUSTER,
    ETCD_ENDPOINTS: etcdMember().url,
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_REGION: rgw.AWS_REGION,
    AWS_ACCESS_KEY_ID: rgw.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: rgw.AWS_SECRET_ACCESS_KEY,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required',
    ETCDCTL_API: '3',
  };
  const rows: VerifyRow[] = [];
  for (const sizeMiB of SETTINGS.verifySizesMiB) {
    log(`loading etcd to ${sizeMiB} MiB`);
    await loadTo(sizeMiB * MiB);
    // The snapshot verified is one taken on a schedule, after a previous one (see takePrevious in runs.ts).
    if (rows.length === 0) {
      const previous = JSON.parse((await timed(CLI, ['snapshot', '--json'], { env })).stdout) as { ok: boolean };
      if (!previous.ok) throw new Error('the previous snapshot reported problems');
    }
    const snap = JSON.parse((await timed(CLI, ['snapshot', '--json'], { env })).stdout) as {
      key: string;
      size: number;
      storedSize?: number;
    };
    log(`stored ${snap.key} (${(snap.size / MiB).toFixed(0)} MiB)`);
    const plain = await storePlainCopy(etcdMember().url, BUCKET);
    const row: VerifyRow = { sizeMiB, snapMiB: snap.size / MiB, storedMiB: (snap.storedSize ?? snap.size) / MiB, ours: [], baseline: [] };
    for (let rep = 0; rep < SETTINGS.verifyReps; rep++) {
      const run = await verifyOurs(CLI, env, snap.key);
      row.ours.push(run);
      const base = await verifyBaseline(plain);
      row.baseline.push(base);
      log(`rep ${rep + 1}: ours ${run.wallS.toFixed(2)} s ${run.rssMiB.toFixed(0)} MiB; baseline ${base.wallS.toFixed(2)} s`);
    }
    rows.push(row);
  }
  writeVerifySection(rows);
}

await withServices(main);
