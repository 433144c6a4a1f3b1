// What the verify benchmarks run (bench/verify.ts, and bench/k8s.ts for a compressed snapshot):
// `etcd-backup verify` on a snapshot stored in S3 (Ceph radosgw on loopback), and what a user would script
// instead: `aws s3 cp` of the plain snapshot to disk, `sha256sum`, `etcdctl snapshot status`.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Timed, timed } from './measure.js';
import { awsS3Cp, baseEnv } from './runs.js';
import { WORK } from './services.js';

/** `CLI verify --key KEY --json` with `env`, checked (`ok: true`). */
export async function verifyOurs(cli: string, env: NodeJS.ProcessEnv, key: string): Promise<Timed> {
  const run = await timed(cli, ['verify', '--key', key, '--json'], { env });
  if (!(JSON.parse(run.stdout) as { ok: boolean }).ok) throw new Error(`verify reported ${key} not ok: ${run.stdout.slice(0, 2000)}`);
  return run;
}

/** The baseline's three steps on the plain snapshot at `url` (s3://…); its wall time is their sum. */
export async function verifyBaseline(url: string): Promise<{ wallS: number; cpuS: number; steps: Timed[] }> {
  const file = join(WORK, 'downloaded.db');
  try {
    const steps = [
      await awsS3Cp(url, file),
      await timed('sha256sum', [file], { env: baseEnv() }),
      await timed('etcdctl', ['snapshot', 'status', file, '-w', 'json'], { env: { ...baseEnv(), ETCDCTL_API: '3' } }),
    ];
    return { wallS: steps.reduce((s, x) => s + x.wallS, 0), cpuS: steps.reduce((s, x) => s + x.cpuS, 0), steps };
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * Saves the snapshot etcd serves now with `etcdctl snapshot save` and uploads it as it is (untimed): the
 * object the baseline downloads, whatever compression our stored copy has. Returns its s3:// URL.
 */
export async function storePlainCopy(etcdUrl: string, bucket: string): Promise<string> {
  const file = join(WORK, 'plain-snapshot.db');
  const url = `s3://${bucket}/plain/snapshot.db`;
  try {
    await timed('etcdctl', ['--endpoints', etcdUrl, 'snapshot', 'save', file], { env: { ...baseEnv(), ETCDCTL_API: '3' } });
    await awsS3Cp(file, url);
    return url;
  } finally {
    rmSync(file, { force: true });
  }
}
