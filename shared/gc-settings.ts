import { setFlagsFromString } from 'node:v8';

// V8's garbage-collector settings for the streaming work of this process, made at start-up: the young
// generation's size, and no pretenuring.

/**
 * The young generation. Up to V8 12, `--max-semi-space-size=1` (bin/etcd-backup.js, the functions'
 * NODE_OPTIONS) bounds it. V8 13 (Node 24) sizes the scavenger's new space by
 * `--scavenger-max-new-space-capacity-mb` (default 32) instead, a flag NODE_OPTIONS does not accept. Set
 * while the modules load, before the new space has grown, V8 keeps to it; lowered later, V8 shrinks to it;
 * raised later, it did not grow (measured: 43-79 mark-compacts where 1 was expected, see below). Hence the
 * writing size at start-up and the reading size once a task that reads is known. Older V8s do not know
 * the flag (and would print an error), hence the version check.
 */
const SCAVENGER_FLAG = Number(process.versions.v8.split('.')[0]) >= 13;

function newSpaceMiB(mib: number): void {
  if (SCAVENGER_FLAG) setFlagsFromString(`--scavenger-max-new-space-capacity-mb=${mib}`);
}

/**
 * Reading a snapshot (verify, restore): 1 MiB. The downloaded and decoded buffers are dropped as soon as
 * they are hashed and written; a large new space only holds tens of MiB of dead ones. Figures:
 * docs/benchmarks.md, "Memory" (verify from a local store 134 -> 82 MiB).
 *
 * Writing one (snapshot): 8 MiB. Its buffers wait longer (the encoder's batches, the chunks queued behind a
 * part upload), and with a 1 MiB new space they survive two scavenges, are promoted, and only full
 * mark-compacts free them: 167 of them in one 1 GiB snapshot of random values to S3 with zstd, 4 s of
 * main-thread GC. With 8 MiB, one. Measured on 1 GiB to radosgw: random values 14.3-15.6 -> 12.6-13.6 s
 * (CPU 9.3-10.1 -> 7.5-8.1 s), Kubernetes-like data 9.6 -> 8.0 s (CPU 7.7 -> 6.3 s), peak RSS the same
 * (123-137 MiB); 4, 16 and 32 MiB measured within the noise of 8.
 */
export function sizeYoungGeneration(work: 'read' | 'write'): void {
  newSpaceMiB(work === 'write' ? 8 : 1);
}

/**
 * Allocation-site pretenuring off. V8 counts, per allocation site, how many of its objects survive a
 * scavenge, and once most do, allocates that site's objects in the old generation from then on, where only
 * full mark-compacts free them. In a stream the same few sites allocate the short-lived objects of every
 * chunk; when one stage holds its chunks a little longer (a local file store: each write waits for the
 * thread pool), V8 tenured two such sites a second into the stream (`--trace-pretenuring`), and from then
 * on that garbage went to the old generation: 44-47 mark-compacts in one 1 GiB snapshot of
 * Kubernetes-like data to a local directory, against 1 without. Measured there (etcd 3.5, 3 runs each):
 * 5.9 -> 5.2 s, 6.2 -> 5.0 CPU-s, peak RSS 134-141 -> 107-108 MiB. To S3, where no site was tenured, the
 * same figures either way; restore ran 1 mark-compact either way. V8 reads the flag at every GC, but a
 * site tenured before it is set stays so (with the code optimised for it): hence at start-up, before any
 * stream. Every V8 knows the flag; NODE_OPTIONS refuses it.
 */
setFlagsFromString('--no-allocation-site-pretenuring');

// At start-up (cli/main.ts imports this first, the functions' shared entry early, before any stream): the
// larger of the two sizes.
sizeYoungGeneration('write');
