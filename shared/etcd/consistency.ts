import type { Etcd3 } from 'etcd3';
import { BackupError, describeError, type ErrorReport } from '../errors.js';
import { etcdError } from './errors.js';
import type { MemberStatus } from './select-member.js';

/** One member's Maintenance.HashKV answer. */
export interface MemberHash {
  endpoint: string;
  memberId: string;
  hash: string;
}

/**
 * What the members' hashes said. `compared` is false when a single member was asked (one endpoint in
 * ETCD_ENDPOINTS, or one healthy member): there was nothing to compare it with.
 */
export interface ConsistencyReport {
  compared: boolean;
  /** The revision the hashes cover; 0 means each member's latest (compaction had reached the common one). */
  revision: number;
  compactRevision: number;
  hashes: MemberHash[];
  /** Endpoints whose hash differs from the majority's: never the snapshot's source. */
  diverged: string[];
  /** Members whose HashKV call failed: left out of the vote and of the sources. */
  unchecked: { endpoint: string; error: ErrorReport }[];
}

/** The members disagree and no majority says which data is right: nothing is backed up. */
export class MemberDivergenceError extends BackupError {
  readonly hashes: MemberHash[];

  constructor(hashes: MemberHash[]) {
    const groups = [...groupByHash(hashes)].map(([hash, members]) => `${members.map((m) => m.endpoint).join(', ')}: ${hash}`);
    super('member-divergence', `the etcd members hold different data and no majority agrees (HashKV: ${groups.join('; ')})`, {
      hint:
        'a member whose data diverges must not be backed up: find the corrupt member (etcd logs, `etcdctl endpoint hashkv`), ' +
        'replace it from the healthy ones, and snapshot again',
    });
    this.name = 'MemberDivergenceError';
    this.hashes = hashes;
  }
}

function groupByHash(hashes: MemberHash[]): Map<string, MemberHash[]> {
  const groups = new Map<string, MemberHash[]>();
  for (const h of hashes) groups.set(h.hash, [...(groups.get(h.hash) ?? []), h]);
  return groups;
}

/**
 * The members that hold the majority's data. A strict majority of the members hashed must agree; without
 * one (2 of 2 disagree, 3 different hashes) there is no telling the corrupt member from the sound one, and
 * the run is refused rather than guess.
 */
export function majorityHash(hashes: MemberHash[]): { agreed: MemberHash[]; diverged: MemberHash[] } {
  const groups = [...groupByHash(hashes).values()].sort((a, b) => b.length - a.length);
  const agreed = groups[0] ?? [];
  if (agreed.length * 2 <= hashes.length) throw new MemberDivergenceError(hashes);
  return { agreed, diverged: groups.slice(1).flat() };
}

interface Answer {
  member: MemberStatus;
  hash?: string;
  compactRevision?: number;
  /** The member's current revision when it answered (the revision hashed when asked for 0). */
  currentRevision?: number;
  /** The revision asked for is at or below the member's compaction (etcd answers ErrCompacted). */
  compacted?: boolean;
  error?: BackupError;
}

interface HashKVResponse {
  header: { revision: string };
  hash: number | string;
  compact_revision: string;
}
type Callback = (error: Error | null, response: HashKVResponse) => void;
interface ConnectionPool {
  withConnection<T>(
    service: 'Maintenance',
    fn: (args: {
      client: { HashKV(request: { revision: string }, metadata: unknown, options: { deadline: number }, callback: Callback): void };
      metadata: unknown;
    }) => Promise<T>,
  ): Promise<T>;
}

/**
 * Maintenance.HashKV on etcd3's own connection (channel, TLS, auth token), by the method's proto name:
 * etcd3 1.1.2's `maintenance.hashKV()` looks the method up as `hashKV`, a name its grpc client does not
 * have (grpc-js names it `HashKV` and `hashKv`), so it fails with "client[method] is not a function".
 */
function callHashKV(client: Etcd3, revision: number, timeoutMs: number): Promise<HashKVResponse> {
  const pool = (client.maintenance as unknown as { client: ConnectionPool }).client;
  return pool.withConnection(
    'Maintenance',
    ({ client: grpc, metadata }) =>
      new Promise<HashKVResponse>((resolve, reject) =>
        grpc.HashKV({ revision: String(revision) }, metadata, { deadline: Date.now() + timeoutMs }, (error, response) =>
          error ? reject(error) : resolve(response),
        ),
      ),
  );
}

async function hashKV(client: Etcd3, member: MemberStatus, revision: number, timeoutMs: number): Promise<Answer> {
  try {
    const r = await callHashKV(client, revision, timeoutMs);
    return { member, hash: String(r.hash), compactRevision: Number(r.compact_revision), currentRevision: Number(r.header.revision) };
  } catch (error) {
    if (/required revision has been compacted/i.test((error as Error)?.message ?? '')) return { member, compacted: true };
    return { member, error: etcdError(error, member.endpoint, 'HashKV of') };
  }
}

/** Hashes are comparable when they cover the same keys: same compaction, and the same revision when each hashed its latest. */
function comparable(answers: Answer[], revision: number): boolean {
  const same = (values: (number | undefined)[]) => new Set(values).size <= 1;
  return same(answers.map((a) => a.compactRevision)) && (revision !== 0 || same(answers.map((a) => a.currentRevision)));
}

/** A compaction or a write between two calls makes the hashes incomparable; a few fresh rounds settle it. */
const ROUNDS = 4;

/**
 * Compares Maintenance.HashKV of the members at a revision they all have (the lowest of their current
 * revisions) and returns the members fit to be the snapshot's source, in the order given, with the report.
 * HashKV covers the "key" bucket (every revision of every key) up to that revision, so members that
 * applied the same raft log agree whatever happened since. Hashes compare only between members at the same
 * compaction revision: when compaction has reached that revision, or the members answer with different
 * compaction revisions, each member hashes its latest revision instead, and the answers count only if the
 * members were at the same one. HashKV reads the whole key bucket before it answers, so each call
 * gets the stream idle timeout rather than the dial timeout.
 */
export async function checkMemberConsistency(
  members: MemberStatus[],
  clients: Map<string, Etcd3>,
  options: { timeoutMs: number },
): Promise<{ sources: MemberStatus[]; report: ConsistencyReport }> {
  const client = (m: MemberStatus) => clients.get(m.endpoint) as Etcd3;
  if (members.length < 2) {
    return { sources: members, report: { compared: false, revision: 0, compactRevision: 0, hashes: [], diverged: [], unchecked: [] } };
  }
  let revision = Math.min(...members.map((m) => m.revision));
  for (let round = 1; ; round++) {
    const answers = await Promise.all(members.map((m) => hashKV(client(m), m, revision, options.timeoutMs)));
    const hashed = answers.filter((a) => a.hash !== undefined);
    const settled = !answers.some((a) => a.compacted) && comparable(hashed, revision);
    if (settled) return judge(members, answers, revision);
    if (round === ROUNDS) {
      const last = answers.map(
        (a) =>
          `${a.member.endpoint}: ${a.compacted ? 'compacted' : a.error ? a.error.message : `compaction ${a.compactRevision}, at ${a.currentRevision}`}`,
      );
      throw new BackupError(
        'etcd-stream',
        `the members could not be hashed at a common revision in ${ROUNDS} rounds (last, at revision ${revision}: ${last.join('; ')})`,
        {
          hint: 'compactions or writes kept moving the revision between the HashKV calls; run the snapshot again',
        },
      );
    }
    // At or below a compaction the revision cannot be hashed (etcd 3.4 answers ErrCompacted), and etcd 3.5
    // answers for a compaction's own revision with the hash it kept from that compaction, which a member
    // restarted since does not have: its fresh hash starts at another compaction revision. Revision 0
    // (each member's latest) is always hashed afresh.
    const compactions = new Set(hashed.map((a) => a.compactRevision));
    if (revision !== 0 && (answers.some((a) => a.compacted) || compactions.size > 1)) {
      revision = 0;
    } else {
      const current = await Promise.all(
        members.map((m) =>
          client(m)
            .maintenance.status()
            .then(
              (s) => Number(s.header.revision),
              () => m.revision,
            ),
        ),
      );
      revision = Math.min(...current);
    }
  }
}

function judge(members: MemberStatus[], answers: Answer[], revision: number): { sources: MemberStatus[]; report: ConsistencyReport } {
  const hashes: MemberHash[] = answers.flatMap((a) =>
    a.hash === undefined ? [] : [{ endpoint: a.member.endpoint, memberId: a.member.memberId, hash: a.hash }],
  );
  const unchecked = answers.flatMap((a) => (a.error ? [{ endpoint: a.member.endpoint, error: describeError(a.error) }] : []));
  if (hashes.length < 2) {
    const first = answers.find((a) => a.error)?.error;
    throw new BackupError(
      first?.code ?? 'etcd-unreachable',
      'fewer than two members answered HashKV, so their data could not be compared',
      {
        cause: first,
        hint: first?.hint ?? 'check the health of the members in ETCD_ENDPOINTS',
      },
    );
  }
  const { agreed, diverged } = majorityHash(hashes);
  const sound = new Set(agreed.map((h) => h.endpoint));
  return {
    sources: members.filter((m) => sound.has(m.endpoint)),
    report: {
      compared: true,
      revision,
      compactRevision: answers.find((a) => a.compactRevision !== undefined)?.compactRevision ?? 0,
      hashes,
      diverged: diverged.map((h) => h.endpoint),
      unchecked,
    },
  };
}
