// The Cloud Monitoring files in deploy/gcp/ (log-based metrics, alert policies) against the metrics line
// the Cloud Functions handler writes (cloudLoggingMetrics): every field they read is one the handler
// writes, each metric's filter matches the lines it should and not the others, and every alert watches a
// metric defined here. Their filters are read in the subset the files use: terms joined by AND, each
// `field:*` (present), `field=number` or `field="text"`.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cloudLoggingMetrics, type RunOutcome } from '../../shared/platform/metrics.js';
import { TASKS, type TaskName } from '../../shared/tasks/index.js';

const dir = resolve(import.meta.dirname, '../../deploy/gcp');
const now = new Date('2026-11-22T12:00:00.000Z');

interface LogMetric {
  description: string;
  filter: string;
  metricDescriptor: { metricKind: string; valueType: string; labels: { key: string }[] };
  labelExtractors?: Record<string, string>;
  valueExtractor?: string;
  bucketOptions?: { explicitBuckets: { bounds: number[] } };
}
interface Condition {
  displayName: string;
  conditionThreshold?: { filter: string; thresholdValue: number; comparison: string };
  conditionAbsent?: { filter: string; duration: string };
}
interface Policy {
  displayName: string;
  combiner: string;
  conditions: Condition[];
}

async function readAll<T>(sub: string): Promise<Map<string, T>> {
  const files = (await readdir(join(dir, sub))).filter((f) => f.endsWith('.json')).sort();
  const out = new Map<string, T>();
  for (const file of files) out.set(file.replace(/\.json$/, ''), JSON.parse(await readFile(join(dir, sub, file), 'utf8')) as T);
  return out;
}

/** Runs of every task, good and bad, and the metrics line the handler writes for each. */
function handlerLines(): { name: string; line: Record<string, unknown> }[] {
  const newestGood = { key: 'c/b.db', time: '2026-11-22T11:00:00.000Z', ageSeconds: 3600 };
  const newestVerified = { key: 'c/a.db', time: '2026-11-22T06:00:00.000Z', ageSeconds: 21600 };
  const status = { ok: true, newestGood, newestVerified, problems: [] };
  const runs: [string, RunOutcome][] = [
    ['good snapshot', { task: 'snapshot', ok: true, durationMs: 5, result: { ok: true, size: 100, bytesPerSecond: 10 } }],
    ['list', { task: 'list', ok: true, durationMs: 5, result: { ok: true, snapshots: [], newestGood, newestVerified } }],
    ['status', { task: 'status', ok: true, durationMs: 5, result: status }],
    ['status, nothing verified', { task: 'status', ok: true, durationMs: 5, result: { ...status, newestVerified: null } }],
    [
      'status, not ok',
      { task: 'status', ok: false, durationMs: 5, result: { ...status, ok: false, newestGood: null, newestVerified: null } },
    ],
    ['verify, intact', { task: 'verify', ok: true, durationMs: 5, result: { ok: true } }],
    ['verify, damaged', { task: 'verify', ok: false, durationMs: 5, result: { ok: false } }],
  ];
  for (const task of Object.keys(TASKS) as TaskName[]) runs.push([`${task} failed`, { task, ok: false, durationMs: 5 }]);
  return runs.map(([name, outcome]) => ({ name, line: cloudLoggingMetrics('prod-main', outcome, now) }));
}

/** The `jsonPayload.<field>` names a filter or extractor reads. */
const fieldsIn = (text: string): string[] => [...text.matchAll(/jsonPayload\.([A-Za-z_]\w*)/g)].map((m) => m[1] ?? '');

/** Whether a log line (its jsonPayload) matches the filter; terms on other parts of the entry (resource.type) are left to Logging. */
function matches(filter: string, payload: Record<string, unknown>): boolean {
  return filter.split(' AND ').every((term) => {
    const present = /^jsonPayload\.(\w+):\*$/.exec(term);
    if (present) return payload[present[1] ?? ''] !== undefined;
    const equals = /^jsonPayload\.(\w+)=(?:"([^"]*)"|(-?\d+(?:\.\d+)?))$/.exec(term);
    if (equals) return equals[2] !== undefined ? payload[equals[1] ?? ''] === equals[2] : payload[equals[1] ?? ''] === Number(equals[3]);
    if (term.startsWith('jsonPayload.')) throw new Error(`a filter term this test cannot read: ${term}`);
    return true;
  });
}

describe('deploy/gcp: log-based metrics and alert policies', () => {
  let metrics: Map<string, LogMetric>;
  let policies: Map<string, Policy>;
  const lines = handlerLines();
  const written = new Set(lines.flatMap(({ line }) => Object.keys(line)));
  const matching = (metric: LogMetric) => lines.filter(({ line }) => matches(metric.filter, line)).map(({ name }) => name);

  beforeAll(async () => {
    metrics = await readAll<LogMetric>('metrics');
    policies = await readAll<Policy>('alerts');
  });

  it('reads only fields the handler writes, labelled by Cluster (and Task)', () => {
    expect(metrics.size).toBeGreaterThan(0);
    for (const [name, m] of metrics) {
      const read = [m.filter, m.valueExtractor ?? '', ...Object.values(m.labelExtractors ?? {})].flatMap(fieldsIn);
      expect(read.length, name).toBeGreaterThan(0);
      for (const field of read) expect(written, `${name} reads jsonPayload.${field}`).toContain(field);
      expect(m.labelExtractors?.cluster, name).toBe('EXTRACT(jsonPayload.Cluster)');
      expect(m.metricDescriptor.labels.map((l) => l.key).sort(), name).toEqual(Object.keys(m.labelExtractors ?? {}).sort());
      expect(m.metricDescriptor.metricKind, name).toBe('DELTA');
      expect(m.filter, name).toContain('resource.type="cloud_run_revision"');
    }
  });

  it('each metric counts exactly the runs it is named for', () => {
    const failed = Object.keys(TASKS).map((t) => `${t} failed`);
    expect(matching(metrics.get('etcd_backup_failures')!).sort()).toEqual([...failed, 'verify, damaged', 'status, not ok'].sort());
    expect(matching(metrics.get('etcd_backup_good_snapshots')!)).toEqual(['good snapshot']);
    // The age alerts read status (list reports the same ages, for dashboards).
    expect(matching(metrics.get('etcd_backup_snapshot_age')!)).toEqual(['status', 'status, nothing verified']);
    expect(matching(metrics.get('etcd_backup_verified_snapshot_age')!)).toEqual(['status']);
    expect(matching(metrics.get('etcd_backup_damaged_snapshots')!)).toEqual(['verify, damaged']);
    expect(matching(metrics.get('etcd_backup_status_not_ok')!)).toEqual(['status, not ok']);
    expect([...metrics.keys()].sort()).toEqual([
      'etcd_backup_damaged_snapshots',
      'etcd_backup_failures',
      'etcd_backup_good_snapshots',
      'etcd_backup_snapshot_age',
      'etcd_backup_status_not_ok',
      'etcd_backup_verified_snapshot_age',
    ]);
  });

  it('a distribution takes a number every matching line carries', () => {
    for (const [name, m] of metrics) {
      if (m.metricDescriptor.valueType !== 'DISTRIBUTION') {
        expect(m.valueExtractor, name).toBeUndefined();
        continue;
      }
      const [field] = fieldsIn(m.valueExtractor ?? '');
      expect(m.valueExtractor).toBe(`EXTRACT(jsonPayload.${field})`);
      for (const { line } of lines.filter(({ line }) => matches(m.filter, line))) expect(typeof line[field ?? ''], name).toBe('number');
      const bounds = m.bucketOptions?.explicitBuckets.bounds ?? [];
      expect(bounds, name).toEqual([...bounds].sort((a, b) => a - b));
    }
  });

  it('every alert watches a metric defined here; an age threshold is a bucket bound, and no report at all alerts too', () => {
    expect([...policies.keys()].sort()).toEqual([
      'failures',
      'no-recent-snapshot',
      'snapshot-age',
      'snapshot-damaged',
      'verified-snapshot-age',
    ]);
    for (const [name, policy] of policies) {
      expect(policy.combiner, name).toBe('OR');
      for (const c of policy.conditions) {
        const condition = c.conditionThreshold ?? c.conditionAbsent;
        const metricName = /metric\.type="logging\.googleapis\.com\/user\/(\w+)"/.exec(condition?.filter ?? '')?.[1] ?? '';
        const metric = metrics.get(metricName);
        expect(metric, `${name}: ${c.displayName}`).toBeDefined();
        if (c.conditionThreshold && metric?.metricDescriptor.valueType === 'DISTRIBUTION')
          expect(metric.bucketOptions?.explicitBuckets.bounds, name).toContain(c.conditionThreshold.thresholdValue);
      }
    }
    // What CloudWatch's "missing data is breaching" does on AWS: an age nobody reports alerts.
    for (const name of ['snapshot-age', 'verified-snapshot-age']) {
      const kinds = policies.get(name)?.conditions.map((c) => Object.keys(c).find((k) => k.startsWith('condition')));
      expect(kinds, name).toEqual(['conditionThreshold', 'conditionAbsent']);
    }
    // Cloud Monitoring's longest absence is 23.5 hours.
    for (const policy of policies.values())
      for (const c of policy.conditions)
        if (c.conditionAbsent) expect(Number.parseInt(c.conditionAbsent.duration, 10)).toBeLessThanOrEqual(84600);
  });
});
