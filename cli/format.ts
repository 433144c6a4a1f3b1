import { type AgedSnapshot, duration } from '../shared/health.js';
import type { ListResult } from '../shared/tasks/list.js';
import type { ExcludeResult } from '../shared/tasks/exclude.js';
import type { PruneResult } from '../shared/tasks/prune.js';
import type { RestoreResult } from '../shared/tasks/restore/index.js';
import type { ReuploadResult } from '../shared/tasks/reupload.js';
import type { SnapshotResult } from '../shared/tasks/snapshot.js';
import type { StatusResult } from '../shared/tasks/status.js';
import type { VerifyResult } from '../shared/tasks/verify.js';

export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatList(result: ListResult): string {
  if (result.snapshots.length === 0) return `no snapshots of cluster "${result.cluster}" in ${result.store}`;
  const rows = [['TIME', 'KEY', 'SIZE', 'STORED', 'REVISION', 'KEYS', 'STATE', 'VERIFIED', 'EXCLUDED', 'RETAINED-UNTIL']];
  for (const s of result.snapshots) {
    const verified = s.verified ? `${s.verified.ok ? 'ok' : 'FAILED'} ${s.verified.at}` : '-';
    const why = [s.excluded?.reason, s.excluded?.source && `copy of ${s.excluded.source}`].filter(Boolean).join('; ');
    const excluded = s.excluded ? `yes${why ? ` (${why})` : ''}` : '-';
    rows.push([
      s.time,
      s.key,
      s.size === undefined ? '-' : humanSize(s.size),
      humanSize(s.storedSize),
      String(s.revision ?? '-'),
      String(s.totalKey ?? '-'),
      s.state,
      verified,
      excluded,
      s.retainedUntil ?? '-',
    ]);
  }
  return table(rows);
}

function storedAs(result: SnapshotResult): string {
  return result.compression === 'none' ? 'stored as is' : `${humanSize(result.storedSize)} stored with ${result.compression}`;
}

export function formatSnapshot(result: SnapshotResult): string {
  const lines = [
    `stored ${result.key} (${humanSize(result.size)}, ${storedAs(result)}, revision ${result.revision}, ${result.totalKey} keys) from ${result.endpoint} in ${(result.durationMs / 1000).toFixed(1)} s`,
    `sha256 ${result.sha256}`,
  ];
  if (result.compressionReason) lines.push(`stored plain: ${result.compressionReason}`);
  for (const p of result.problems) lines.push(`problem: ${p.kind}: ${p.message}`);
  for (const endpoint of result.consistency?.diverged ?? [])
    lines.push(`problem: member-divergence: ${endpoint} holds data that differs from the majority's (not used)`);
  return lines.join('\n');
}

export function formatVerify(result: VerifyResult): string {
  const lines = [
    `${result.ok ? 'OK' : 'FAILED'} ${result.key} (${humanSize(result.size)}, revision ${result.revision ?? '?'}, ${result.totalKey ?? '?'} keys) verified in ${(result.durationMs / 1000).toFixed(1)} s`,
    `sha256 ${result.sha256}`,
    `recorded as ${result.recordKey}`,
  ];
  for (const p of result.problems) lines.push(`problem: ${p.kind}: ${p.message}`);
  return lines.join('\n');
}

export function formatPrune(result: PruneResult): string {
  const lines: string[] = [];
  const verb = result.dryRun ? 'would delete' : 'deleted';
  for (const d of result.deleted) lines.push(`${verb.padEnd(12)} ${d.key}  (${d.reasons.join('; ')})`);
  for (const r of result.retained) lines.push(`${'retained'.padEnd(12)} ${r.key}  (locked until ${r.retainUntil})`);
  for (const f of result.failed) lines.push(`${'FAILED'.padEnd(12)} ${f.key}  (${f.error.message})`);
  for (const k of result.kept) lines.push(`${'kept'.padEnd(12)} ${k.key}  (${k.reasons.join('; ')})`);
  lines.push(
    `${result.kept.length} kept, ${result.deleted.length} ${verb}, ${result.retained.length} retained, ${result.failed.length} failed${result.dryRun ? ' (dry run)' : ''}`,
  );
  return lines.join('\n');
}

export function formatReupload(result: ReuploadResult): string {
  const until = result.retainUntil ? ` until ${result.retainUntil}` : '';
  if (result.action === 'none') return `nothing to do: ${result.key} is protected${until}`;
  if (result.action === 'extended') return `${result.ok ? 'extended' : 'FAILED to confirm'} the retention of ${result.key}${until}`;
  return `${result.ok ? 'copied' : 'copied, but FAILED to confirm the retention of'} ${result.source} to ${result.key}${until}`;
}

export function formatExclude(result: ExcludeResult): string {
  const copies =
    result.copies.length > 0 ? `, and its ${result.copies.length} protected cop${result.copies.length === 1 ? 'y' : 'ies'}` : '';
  return result.excluded
    ? `excluded ${result.key}${copies}${result.reason ? ` (${result.reason})` : ''}`
    : `lifted the exclusion of ${result.key}${copies}`;
}

export function formatRestore(result: RestoreResult): string {
  const verified = result.verified
    ? `${result.verified.ok ? 'verified ok' : 'verification FAILED'} ${result.verified.at}`
    : 'never verified';
  const lines = [
    `wrote ${result.path}`,
    `  snapshot ${result.key} taken ${result.time} (${verified}${result.excluded ? `, EXCLUDED${result.excluded.reason ? `: ${result.excluded.reason}` : ''}` : ''})`,
    `  ${humanSize(result.size)}, revision ${result.revision}, ${result.totalKey ?? '?'} keys, checked in ${(result.durationMs / 1000).toFixed(1)} s`,
    `  sha256 ${result.sha256}`,
  ];
  for (const w of result.warnings) lines.push(`warning: ${w.kind}: ${w.message}`);
  const d = result.dataDir;
  if (d) {
    lines.push(
      d.ok
        ? `restored data dir ${d.path} with ${d.tool}${d.toolVersion ? ` ${d.toolVersion}` : ''} in ${(d.durationMs / 1000).toFixed(1)} s`
        : `FAILED to restore data dir ${d.path} with ${d.tool} (the snapshot file above is good): ${d.error ?? 'unknown error'}`,
    );
    lines.push(`  ${d.command.join(' ')}`);
  }
  return lines.join('\n');
}

/** The verdict first, then each problem, then the facts behind it: what a person paged at night reads. */
export function formatStatus(result: StatusResult): string {
  const age = (s: AgedSnapshot | null) => (s ? `${s.key}  taken ${s.time} (${duration(s.ageSeconds)} ago)` : 'NONE');
  const v = result.lastVerification;
  const rows = [
    ['newest good', age(result.newestGood)],
    ['newest verified', age(result.newestVerified)],
    ['last verification', v ? `${v.ok ? 'ok' : 'FAILED'} ${v.at} of ${v.key}` : 'none yet'],
  ];
  if (result.lockedCopy !== undefined)
    rows.push(['locked copy', result.lockedCopy ? `${result.lockedCopy.key}  until ${result.lockedCopy.retainUntil}` : 'NONE']);
  const limit = result.maxAgeSeconds > 0 ? `max age ${duration(result.maxAgeSeconds)}` : 'age not judged';
  return [
    `${result.ok ? 'OK' : 'NOT OK'}  cluster "${result.cluster}" in ${result.store} at ${result.checkedAt} (${limit})`,
    ...result.problems.map((p) => `problem: ${p.kind}: ${p.message}`),
    table(rows.map(([name, value]) => [`  ${name}`, value ?? ''])),
  ].join('\n');
}
