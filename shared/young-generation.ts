import { setFlagsFromString } from 'node:v8';

/**
 * Caps V8's young generation while this process streams snapshots. Short-lived buffers (gRPC messages,
 * file and socket chunks) wait in the pipeline long enough to survive scavenges; a large new space then
 * holds tens of MiB of them for nothing. Up to V8 12, `--max-semi-space-size=1` (bin/etcd-backup.js, the
 * functions' NODE_OPTIONS) bounds it. V8 13 (Node 24) sizes the scavenger's new space by
 * `--scavenger-max-new-space-capacity-mb` (default 32) instead, a flag NODE_OPTIONS does not accept; V8
 * honours it when set at start-up, before the streams begin. Older V8s do not know it (and would print an
 * error), hence the version check. Figures: docs/benchmarks.md, "Memory".
 */
if (Number(process.versions.v8.split('.')[0]) >= 13) setFlagsFromString('--scavenger-max-new-space-capacity-mb=1');
