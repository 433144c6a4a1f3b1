import { MemberDivergenceError } from '../etcd/consistency.js';
import type { Freshness } from '../health.js';
import type { TaskName } from '../tasks/index.js';

/**
 * Metrics as one JSON log line per run, with the same members on both clouds. On Lambda, CloudWatch
 * embedded metric format (EMF), a line carrying an `_aws` block: CloudWatch Logs turns it into metrics as
 * the log lands, so a Lambda needs no PutMetricData call (nor the IAM permission for it) and a metric
 * never disagrees with the log line it came from. On Cloud Functions, a structured entry that log-based
 * metrics read.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
export const METRICS_NAMESPACE = 'EtcdBackup';

export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds' | 'Bytes' | 'Bytes/Second';

export interface Metric {
  name: string;
  unit: MetricUnit;
  value: number;
}

/** The fields of a run that metrics are made of (a TaskOutcome: see shared/tasks/index.ts); the result is read field by field. */
export interface RunOutcome {
  task: TaskName;
  ok: boolean;
  durationMs: number;
  result?: object;
  error?: unknown;
}

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** An age of a Freshness member (shared/health.ts), as a list or status result carries it. */
function ageOf(result: Partial<Record<string, unknown>>, member: keyof Freshness): number | undefined {
  return num((result[member] as { ageSeconds?: unknown } | null | undefined)?.ageSeconds);
}

/**
 * The ages of the newest good and newest verified snapshot, as list and status computed them (one rule:
 * shared/health.ts freshness). None for a snapshot that does not exist: "no data", which the age alarms
 * treat as breaching.
 */
function ageMetrics(result: Partial<Record<string, unknown>>): Metric[] {
  const metrics: Metric[] = [];
  const age = ageOf(result, 'newestGood');
  if (age !== undefined) metrics.push({ name: 'SnapshotAgeSeconds', unit: 'Seconds', value: age });
  const verifiedAge = ageOf(result, 'newestVerified');
  if (verifiedAge !== undefined) metrics.push({ name: 'VerifiedSnapshotAgeSeconds', unit: 'Seconds', value: verifiedAge });
  return metrics;
}

/**
 * How many etcd members held data that differs from the majority's, when the snapshot run compared them:
 * the diverged members it left out, or every member compared when no majority agreed (the run refused).
 * Undefined when no comparison was made (one member, or a failure before it).
 */
function memberDivergence(result: Partial<Record<string, unknown>>, error: unknown): number | undefined {
  if (error instanceof MemberDivergenceError) return error.hashes.length;
  const consistency = result.consistency as { compared?: boolean; diverged?: unknown[] } | undefined;
  return consistency?.compared === true ? (consistency.diverged?.length ?? 0) : undefined;
}

/**
 * What a run says about the backups. Every run: Failures (0 or 1) and DurationMs, so an alarm on
 * failures works for any task. A good snapshot run: SnapshotAgeSeconds 0, its size and throughput.
 * A snapshot run that compared the members' data: MemberDivergence (see memberDivergence).
 * A list run, and a status run that read the store: the age of the newest good snapshot and of the
 * newest verified one; status adds StatusNotOk (1 when it found a problem). A verify run that read
 * its snapshot to the end: SnapshotDamaged, 1 when it found damage (a verify that could not read reports
 * only its failure). A failed run reports no age: it does not know it, and "no data" is what the age
 * alarms treat as breaching.
 */
export function runMetrics(outcome: RunOutcome): Metric[] {
  const metrics: Metric[] = [
    { name: 'Failures', unit: 'Count', value: outcome.ok ? 0 : 1 },
    { name: 'DurationMs', unit: 'Milliseconds', value: outcome.durationMs },
  ];
  const result: Partial<Record<string, unknown>> = { ...outcome.result };
  if (outcome.ok && outcome.task === 'snapshot') {
    metrics.push({ name: 'SnapshotAgeSeconds', unit: 'Seconds', value: 0 });
    const size = num(result.size);
    if (size !== undefined) metrics.push({ name: 'SnapshotSizeBytes', unit: 'Bytes', value: size });
    const throughput = num(result.bytesPerSecond);
    if (throughput !== undefined) metrics.push({ name: 'ThroughputBytesPerSecond', unit: 'Bytes/Second', value: throughput });
  }
  if (outcome.task === 'snapshot') {
    const divergence = memberDivergence(result, outcome.error);
    if (divergence !== undefined) metrics.push({ name: 'MemberDivergence', unit: 'Count', value: divergence });
  }
  if (outcome.ok && outcome.task === 'list') metrics.push(...ageMetrics(result));
  // A status run that read the store reports the ages whether or not it found them ok, and StatusNotOk.
  if (outcome.task === 'status' && typeof result.ok === 'boolean') {
    metrics.push(...ageMetrics(result));
    metrics.push({ name: 'StatusNotOk', unit: 'Count', value: result.ok ? 0 : 1 });
  }
  if (outcome.task === 'verify' && typeof result.ok === 'boolean')
    metrics.push({ name: 'SnapshotDamaged', unit: 'Count', value: result.ok ? 0 : 1 });
  return metrics;
}

/**
 * The members every platform's metrics line carries, named alike on both clouds: the dimensions Cluster
 * and Task, and the metric values of runMetrics.
 */
function metricFields(cluster: string, outcome: RunOutcome, metrics: Metric[]): Record<string, string | number> {
  return { Cluster: cluster, Task: outcome.task, ...Object.fromEntries(metrics.map((m) => [m.name, m.value])) };
}

/**
 * The EMF dimension sets: one series per cluster and task; on a fleet also one per task across all its
 * clusters, which the fleet stack's alarms watch (CloudWatch alarms read one series, and cannot add up
 * the clusters' own, whose names the template does not know).
 */
export const emfDimensions = (fleet: boolean): string[][] => (fleet ? [['Cluster', 'Task'], ['Task']] : [['Cluster', 'Task']]);

/**
 * The EMF document for one run: the dimensions of emfDimensions, the metric values as top-level members.
 * Deliberately no `outcome` or `message` field: the result line written by runTask stays the only line
 * that describes the outcome.
 */
export function emfDocument(cluster: string, outcome: RunOutcome, now: Date = new Date(), fleet = false): Record<string, unknown> {
  const metrics = runMetrics(outcome);
  return {
    _aws: {
      Timestamp: now.getTime(),
      CloudWatchMetrics: [
        { Namespace: METRICS_NAMESPACE, Dimensions: emfDimensions(fleet), Metrics: metrics.map((m) => ({ Name: m.name, Unit: m.unit })) },
      ],
    },
    ...metricFields(cluster, outcome, metrics),
  };
}

/**
 * The same metrics for Cloud Logging: a structured entry (a JSON line on stdout becomes its jsonPayload;
 * `severity`, `message` and `time` are lifted into the entry) with the EMF members, so log-based metrics
 * extract `jsonPayload.SnapshotAgeSeconds` and friends, labelled by `jsonPayload.Cluster` and
 * `jsonPayload.Task`. Like the EMF line it has no `outcome` field: the result line stays the only one.
 */
export function cloudLoggingMetrics(cluster: string, outcome: RunOutcome, now: Date = new Date()): Record<string, unknown> {
  return {
    severity: 'INFO',
    message: `${outcome.task} metrics`,
    time: now.toISOString(),
    ...metricFields(cluster, outcome, runMetrics(outcome)),
  };
}
