// The verify benchmark (run by `npm run bench` after bench/bench.mjs): `etcd-backup verify` on snapshots
// of about 0.5 and 1 GB stored in the S3 server (Ceph radosgw on loopback), against what a user would script
// instead: `aws s3 cp` to disk, `sha256sum`, `etcdctl snapshot status`. Ours and the baseline alternate;
// wall time and peak RSS (GNU time) of each; the medians go into docs/benchmarks.md between the markers
// below (the rest of the file is bench/bench.mjs's).
//
// Settings (environment): BENCH_VERIFY_SIZES_MIB (default 512,1024), BENCH_VERIFY_REPS (default 3).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(ROOT, 'package.json'));
const { Etcd3 } = require('etcd3');
const { S3Client, CreateBucketCommand } = require('@aws-sdk/client-s3');

const MiB = 1024 * 1024;
const SIZES = (process.env.BENCH_VERIFY_SIZES_MIB ?? '512,1024')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const REPS = Number(process.env.BENCH_VERIFY_REPS ?? 3);
const OUT = join(ROOT, 'docs/benchmarks.md');
const WORK = `/tmp/etcd-backup-bench-verify/run-${process.pid}`;
const START = '<!-- verify-benchmark:start -->';
const END = '<!-- verify-benchmark:end -->';
const log = (...args) => console.error(`[bench-verify ${new Date().toISOString().slice(11, 19)}]`, ...args);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Wall seconds and peak RSS (MiB) of one command, from GNU time. */
async function timed(cmd, args, env) {
  const file = join(WORK, 'time.txt');
  const { stdout } = await execFileP('/usr/bin/time', ['-o', file, '-f', '%e %M', cmd, ...args], { env, maxBuffer: 64 * MiB });
  const [wall, rss] = readFileSync(file, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wall, rssMiB: rss / 1024, stdout };
}

let etcd;
let rgwDir;
async function cleanup() {
  etcd?.kill('SIGKILL');
  if (rgwDir) await execFileP('bash', [join(ROOT, 'scripts/services/rgw.sh'), 'stop', rgwDir]).catch(() => undefined);
  rmSync(WORK, { recursive: true, force: true });
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

async function main() {
  mkdirSync(WORK, { recursive: true });
  const [client, peer] = [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${client}`;
  etcd = spawn(
    'etcd',
    [
      '--name',
      'v',
      '--data-dir',
      join(WORK, 'etcd'),
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `v=http://127.0.0.1:${peer}`,
      '--quota-backend-bytes',
      String(8 * 1024 * MiB),
    ],
    { stdio: 'ignore' },
  );
  rgwDir = join(WORK, 'rgw');
  await execFileP('bash', [join(ROOT, 'scripts/services/rgw.sh'), 'start', rgwDir], {
    env: { ...process.env, RGW_MEMSTORE_BYTES: String(6 * 1024 * MiB) },
  });
  const rgw = Object.fromEntries(
    readFileSync(join(rgwDir, 'env'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const s3 = new S3Client({
    endpoint: rgw.AWS_ENDPOINT_URL_S3,
    region: rgw.AWS_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: rgw.AWS_ACCESS_KEY_ID, secretAccessKey: rgw.AWS_SECRET_ACCESS_KEY },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'verify' }));
  const env = {
    PATH: process.env.PATH,
    HOME: WORK,
    LANG: 'C.UTF-8',
    LOG_LEVEL: 'warn',
    BACKUP_URL: 's3://verify/etcd',
    CLUSTER_NAME: 'bench',
    ETCD_ENDPOINTS: endpoint,
    AWS_ENDPOINT_URL_S3: rgw.AWS_ENDPOINT_URL_S3,
    AWS_REGION: rgw.AWS_REGION,
    AWS_ACCESS_KEY_ID: rgw.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: rgw.AWS_SECRET_ACCESS_KEY,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required',
    ETCDCTL_API: '3',
  };
  const etcd3 = new Etcd3({ hosts: endpoint });
  const value = randomBytes(256 * 1024);
  let loaded = 0;
  const rows = [];
  for (const size of SIZES) {
    log(`loading etcd to ${size} MiB`);
    while (loaded < size * MiB) {
      await Promise.all(Array.from({ length: 8 }, (_, i) => etcd3.put(`/bulk/${loaded}-${i}`).value(value)));
      loaded += 8 * value.length;
    }
    const snap = JSON.parse((await timed(join(ROOT, 'bin/etcd-backup.js'), ['snapshot', '--json'], env)).stdout);
    log(`stored ${snap.key} (${(snap.size / MiB).toFixed(0)} MiB)`);
    const ours = [];
    const baseline = [];
    for (let rep = 0; rep < REPS; rep++) {
      const run = await timed(join(ROOT, 'bin/etcd-backup.js'), ['verify', '--key', snap.key, '--json'], env);
      if (!JSON.parse(run.stdout).ok) throw new Error('verify reported the snapshot not ok');
      ours.push(run);
      const file = join(WORK, 'downloaded.db');
      const steps = [
        await timed(
          '/usr/bin/aws',
          ['s3', 'cp', '--only-show-errors', `s3://verify/etcd/${snap.key}`, file, '--endpoint-url', rgw.AWS_ENDPOINT_URL_S3],
          env,
        ),
        await timed('sha256sum', [file], env),
        await timed('etcdctl', ['snapshot', 'status', file, '-w', 'json'], env),
      ];
      rmSync(file, { force: true });
      baseline.push({ wall: steps.reduce((s, x) => s + x.wall, 0), steps });
      log(`rep ${rep + 1}: ours ${run.wall.toFixed(2)} s ${run.rssMiB.toFixed(0)} MiB; baseline ${baseline.at(-1).wall.toFixed(2)} s`);
    }
    rows.push({ size, snapMiB: snap.size / MiB, ours, baseline });
  }
  etcd3.close();
  s3.destroy();
  writeReport(rows);
}

function writeReport(rows) {
  const f2 = (x) => x.toFixed(2);
  const lines = [
    START,
    '## Verify (S3, Ceph radosgw on loopback)',
    '',
    `Written by \`npm run bench\` (bench/verify.mjs) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Ours: \`bin/etcd-backup.js verify --key K --json\` (streams the object from S3 through the inspector: sha256 trailer, bbolt structure, revision and key count, manifest comparison; writes its record). Baseline: \`aws s3 cp\` to disk, then \`sha256sum\` of the file, then \`etcdctl snapshot status -w json\` (the sum of the three). Alternating, ${REPS} repetitions each; medians; peak RSS from GNU time.`,
    '',
    '| etcd database | snapshot | ours: wall | baseline: wall (cp + sha256sum + status) | ratio | ours: peak RSS (max) | baseline peak RSS per step |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const ours = median(r.ours.map((x) => x.wall));
    const base = median(r.baseline.map((x) => x.wall));
    const step = (i) => median(r.baseline.map((x) => x.steps[i].wall));
    const stepRss = (i) => Math.max(...r.baseline.map((x) => x.steps[i].rssMiB)).toFixed(0);
    lines.push(
      `| ${r.size} MiB | ${r.snapMiB.toFixed(0)} MiB | ${f2(ours)} s | ${f2(base)} s (${f2(step(0))} + ${f2(step(1))} + ${f2(step(2))}) | **${f2(ours / base)}** | ${Math.max(...r.ours.map((x) => x.rssMiB)).toFixed(0)} MiB | aws ${stepRss(0)}, sha256sum ${stepRss(1)}, etcdctl ${stepRss(2)} MiB |`,
    );
  }
  lines.push('', "Targets (the verify issue): ≤ 0.6× the baseline's wall time; peak RSS ≤ 128 MiB and flat as the snapshot grows.", END);
  const doc = readFileSync(OUT, 'utf8');
  const section = lines.join('\n');
  const at = doc.indexOf(START);
  writeFileSync(OUT, at >= 0 ? doc.slice(0, at) + section + doc.slice(doc.indexOf(END) + END.length) : `${doc.trimEnd()}\n\n${section}\n`);
  log(`wrote ${OUT}`);
}

try {
  await main();
} finally {
  await cleanup();
}
