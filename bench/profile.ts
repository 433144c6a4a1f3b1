// Reads a V8 .cpuprofile (node --cpu-prof) and says where the main thread's time went: each sample is
// put in one category by looking at its stack (leaf first, then callers), so that e.g. a sha256 update
// called by the S3 SDK's request signer counts as "SigV4 payload sha256" and one called by the snapshot
// inspector as "snapshot sha256".
import { readFileSync } from 'node:fs';

/** Functions of shared/snapshot-format (bundled into dist/cli.js, so recognised by name). */
const INSPECTOR = new Set([
  'scan',
  'scanPages',
  'assemble',
  'reserve',
  'advance',
  'fill',
  'pageLength',
  'summarize',
  'summarizeLeaf',
  'summarizeBranch',
  'summarizeBucketElement',
  'readMeta',
  'chooseMeta',
  'decodeMeta',
  'readFreelist',
  'ensure',
  'add',
  'addBranchElement',
  'u16',
  'u32',
  'u64',
  'compareBytes',
  'copyBytes',
  'isRevisionKey',
  'isFinishedCompactRevKey',
  'checkTree',
  'run',
  'walk',
  'finish',
  'crc32c',
]);

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  s: number;
  pct: number;
  /** Share of the time the main thread was not idle; undefined for the idle row. */
  busyPct: number | undefined;
}

export interface ProfileSummary {
  totalS: number;
  busyS: number;
  categories: ProfileRow[];
  top: ProfileRow[];
}

const short = (url: string): string =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\//, '')
    .replace(/^.*\/dist\//, 'dist/');

/** The category of one sample, from its stack (frames leaf first). */
function categorize(frames: CallFrame[]): string {
  const leaf = frames[0]!;
  const name = leaf.functionName;
  const url = leaf.url;
  const anyUrl = (re: RegExp) => frames.some((f) => re.test(f.url));
  const anyName = (re: RegExp) => frames.some((f) => re.test(f.functionName));
  if (name === '(idle)') return 'idle (waiting for I/O: etcd, the store, the disk)';
  if (name === '(garbage collector)') return 'garbage collection';
  if (url === 'node:internal/crypto/hash' || (name === 'update' && /crypto/.test(url))) {
    if (frames.some((f) => f.functionName === 'consume' && /dist\/(cli\.js|chunks\/)/.test(f.url)))
      return 'sha256: snapshot trailer check (ours)';
    if (anyUrl(/signature-v4|@smithy|@aws-sdk/)) return 'sha256: S3 part payloads for SigV4, by the SDK';
    return 'sha256: S3 part payloads for SigV4, while copied into part buffers (ours)';
  }
  if (anyUrl(/node:internal\/modules|cjs-module-lexer/) || anyName(/^(compileSourceTextModule|wrapSafe|compileForInternalLoader)$/)) {
    return 'startup: loading and compiling modules';
  }
  if (name === 'crc32c' || (/crc32c/i.test(url) && !/hash-stream/.test(url))) return 'CRC-32C of the GCS upload check';
  if (
    name === 'writev' ||
    name === 'writeBuffer' ||
    name === 'writeUtf8String' ||
    name === 'writeBuffers' ||
    anyName(/^(Socket\._writeGeneric|writevGeneric)$/)
  ) {
    return 'socket/file writes (system calls)';
  }
  if (name === '_copyActual' || name === 'copy' || name === 'concat' || anyName(/^(_copyActual|concat)$/)) return 'Buffer copies';
  // The compressing itself runs on libuv's thread pool, outside this profile; this is the hand-over.
  if (/^node:zlib$/.test(url)) return 'compression: chunks to and from the thread pool (node:zlib)';
  if (/dist\/cli\.js$/.test(url) && INSPECTOR.has(name)) return 'bbolt inspection (page scan, page assembly)';
  if (/@grpc|protobufjs|@protobufjs|etcd3|long\/|node:internal\/http2/.test(url)) return 'gRPC receive and decode';
  if (/@smithy|@aws-sdk|fast-xml-parser|strnum/.test(url)) return 'S3 SDK (requests, signing, XML)';
  if (/@google-cloud|gaxios|google-auth|gcp-metadata|duplexify|teeny|retry-request/.test(url)) return 'GCS SDK';
  if (/dist\/cli\.js$/.test(url)) return 'this project (other)';
  if (
    /node:internal\/streams|node:stream|node:events|task_queues|node:internal\/timers|node:timers/.test(url) ||
    name === 'runMicrotasks'
  ) {
    return 'streams, events, timers, promises';
  }
  if (name === '(program)') return 'V8/native (unattributed)';
  return 'other';
}

export function analyzeProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const categories = new Map<string, number>();
  const self = new Map<string, number>();
  let total = 0;
  const categoryOf = new Map<number, string>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const dt = profile.timeDeltas[i] ?? 0;
    if (dt <= 0) continue;
    total += dt;
    let category = categoryOf.get(id);
    if (!category) {
      const frames: CallFrame[] = [];
      for (let n: number | undefined = id; n !== undefined && frames.length < 200; n = parent.get(n)) frames.push(byId.get(n)!.callFrame);
      category = categorize(frames);
      categoryOf.set(id, category);
    }
    categories.set(category, (categories.get(category) ?? 0) + dt);
    const cf = byId.get(id)!.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url ? `${short(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const idle = [...categories].filter(([k]) => k.startsWith('idle')).reduce((a, [, v]) => a + v, 0);
  const rows = (map: Map<string, number>): ProfileRow[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({
        name,
        s: us / 1e6,
        pct: (100 * us) / total,
        busyPct: name.startsWith('idle') ? undefined : (100 * us) / (total - idle),
      }));
  return { totalS: total / 1e6, busyS: (total - idle) / 1e6, categories: rows(categories), top: rows(self).slice(0, 15) };
}
