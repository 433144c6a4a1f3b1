// Checks before a snapshot, on real etcd: the members serve the cluster CLUSTER_NAME has been backing up,
// and their data agrees (Maintenance.HashKV at a common revision).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterIdHex } from '../../shared/cluster-identity.js';
import { MemberDivergenceError } from '../../shared/etcd/consistency.js';
import { PreconditionError } from '../../shared/errors.js';
import { clusterDir } from '../../shared/layout.js';
import { emfDocument } from '../../shared/platform/metrics.js';
import { type Backend, makeBackend } from '../support/backends.js';
import { writeSampleData } from '../support/data.js';
import { CLUSTER_CASES, ETCD_VERSIONS, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { download, run, storedKeys } from '../support/run.js';

/** The cluster id as etcd prints it (hex). */
const clusterIdOf = async (etcd: EtcdCluster): Promise<string> => clusterIdHex(await etcd.clusterId());

describe.each(ETCD_VERSIONS)('the cluster identity on etcd %s', (version) => {
  let a: EtcdCluster;
  let b: EtcdCluster;
  beforeAll(async () => {
    [a, b] = await Promise.all([startEtcd({ version }), startEtcd({ version })]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('refuses a member of another cluster under the same CLUSTER_NAME, writing nothing, until ETCD_CLUSTER_ID names it', async () => {
    const backend = await makeBackend('local');
    const settings = { ...backend.settings, CLUSTER_NAME: 'c' };
    const [idA, idB] = await Promise.all([clusterIdOf(a), clusterIdOf(b)]);
    expect(idA).not.toBe(idB);

    const first = await run('snapshot', { ...settings, ETCD_ENDPOINTS: a.endpoints[0] });
    expect(first.error).toBeUndefined();
    expect(clusterIdHex(first.result!.clusterId)).toBe(idA);
    const written = await storedKeys(backend.store, clusterDir('c'));

    // The address now serves cluster B: refused, naming both ids, and the hint names the setting and B's id.
    const refused = await run('snapshot', { ...settings, ETCD_ENDPOINTS: b.endpoints[0] });
    expect(refused.error).toBeInstanceOf(PreconditionError);
    const error = refused.error as PreconditionError;
    expect(error.message).toContain(idA);
    expect(error.message).toContain(idB);
    expect(error.hint).toContain(`ETCD_CLUSTER_ID=${idB}`);
    expect(await storedKeys(backend.store, clusterDir('c'))).toEqual(written);

    // Pinned to A, B's member is refused whatever the store says.
    const pinnedA = await run('snapshot', { ...settings, ETCD_ENDPOINTS: b.endpoints[0], ETCD_CLUSTER_ID: idA });
    expect((pinnedA.error as PreconditionError).setting).toBe('ETCD_CLUSTER_ID');
    expect(await storedKeys(backend.store, clusterDir('c'))).toEqual(written);

    // Pinned to B (after a deliberate restore): accepted.
    const pinnedB = await run('snapshot', { ...settings, ETCD_ENDPOINTS: b.endpoints[0], ETCD_CLUSTER_ID: idB.toUpperCase() });
    expect(pinnedB.error).toBeUndefined();
    expect(clusterIdHex(pinnedB.result!.clusterId)).toBe(idB);

    // B's snapshot is now the newest good one: B goes on without the pin, and A is the stranger.
    expect((await run('snapshot', { ...settings, ETCD_ENDPOINTS: b.endpoints[0] })).ok).toBe(true);
    expect((await run('snapshot', { ...settings, ETCD_ENDPOINTS: a.endpoints[0] })).error).toBeInstanceOf(PreconditionError);
  });
});

const SOUND = 'sound-value-0123456789';
const ROTTEN = 'rotten-value-987654321';

/** Replaces every copy of `from` in a stopped member's bbolt file with `to` (same length: the page layout stays valid). */
async function alterDatabase(dataDir: string, from: string, to: string): Promise<number> {
  const file = join(dataDir, 'member', 'snap', 'db');
  const db = await readFile(file);
  let count = 0;
  for (let at = db.indexOf(from); at !== -1; at = db.indexOf(from, at + from.length)) {
    db.write(to, at);
    count++;
  }
  await writeFile(file, db);
  return count;
}

interface EndpointStatus {
  Endpoint: string;
  Status: { leader: string; header: { member_id: string } };
}

describe.each(CLUSTER_CASES)('the members of a three-member etcd %s cluster %o, compared by HashKV', (version, { auth }) => {
  let etcd: EtcdCluster;
  const password = 'consistency-pw';
  /** The member whose database the third test alters. */
  let diverged: string;
  beforeAll(async () => {
    etcd = await startEtcd({ version, members: 3 });
    await writeSampleData(etcd.endpoints, { smallKeys: 100 });
    await etcd.etcdctl(['put', '/divergence/marker', SOUND]);
    if (auth) await etcd.enableAuth(password);
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  const snapshot = (backend: Backend, endpoints: string[]) =>
    run('snapshot', {
      ...backend.settings,
      ...(auth ? { ETCD_USERNAME: 'root', ETCD_PASSWORD: password } : {}),
      CLUSTER_NAME: 'c',
      ETCD_DIAL_TIMEOUT: '1s',
      ETCD_ENDPOINTS: endpoints.join(','),
    });
  const followers = async () =>
    (JSON.parse(await etcd.etcdctl(['endpoint', 'status', '-w', 'json'])) as EndpointStatus[])
      .filter((s) => s.Status.leader !== s.Status.header.member_id)
      .map((s) => s.Endpoint);

  it('agree when their data is the same: every member hashed at the lowest current revision', async () => {
    const outcome = await snapshot(await makeBackend('local'), etcd.endpoints);
    expect(outcome.error).toBeUndefined();
    expect(outcome.ok).toBe(true);
    const consistency = outcome.result!.consistency!;
    expect(consistency).toMatchObject({ compared: true, diverged: [], unchecked: [] });
    expect(consistency.revision).toBeGreaterThan(0);
    expect(consistency.hashes.map((h) => h.endpoint).sort()).toEqual([...etcd.endpoints].sort());
    expect(new Set(consistency.hashes.map((h) => h.hash)).size).toBe(1);
    expect(emfDocument('c', outcome)).toMatchObject({ MemberDivergence: 0 });
  });

  // etcd 3.4 refuses HashKV at the compaction revision itself (ErrCompacted): each member hashes its latest.
  // etcd 3.5 answers with the hash it kept when it compacted (covering the revisions since the compaction
  // before), the same on every member that compacted.
  it('agree when compaction has reached the common revision', async () => {
    const put = JSON.parse(await etcd.etcdctl(['put', '/compact/to-here', 'x', '-w', 'json'])) as { header: { revision: number } };
    await etcd.etcdctl(['compaction', String(put.header.revision)]);
    const outcome = await snapshot(await makeBackend('local'), etcd.endpoints);
    expect(outcome.error).toBeUndefined();
    expect(outcome.result!.consistency).toMatchObject({ compared: true, diverged: [] });
    expect(outcome.result!.consistency!.revision).toBe(version === '3.4' ? 0 : put.header.revision);
  });

  it('leave out a member whose database was altered while it was stopped (etcd does not notice), and the run reports it', async () => {
    // A follower, listed first: without the check it is the member the snapshot would come from.
    diverged = (await followers())[0] as string;
    const index = etcd.endpoints.indexOf(diverged);
    await etcd.kill(index, 'SIGTERM');
    expect(await alterDatabase(etcd.members[index]!.dataDir, SOUND, ROTTEN)).toBeGreaterThan(0);
    await etcd.restart(index);
    // etcd itself: the member is healthy and serves the altered value from its own store.
    await etcd.etcdctl(['endpoint', 'health'], { endpoints: [diverged] });
    const served = await etcd.etcdctl(['get', '/divergence/marker', '--consistency=s', '--print-value-only'], { endpoints: [diverged] });
    expect(served.trim()).toBe(ROTTEN);

    const backend = await makeBackend('local');
    const outcome = await snapshot(backend, [diverged, ...etcd.endpoints.filter((e) => e !== diverged)]);
    expect(outcome.error).toBeUndefined();
    const result = outcome.result!;
    // The stored snapshot comes from the majority and holds its data.
    expect(result.endpoint).not.toBe(diverged);
    const stored = await readFile(await download(backend.store, result.key));
    expect(stored.includes(ROTTEN)).toBe(false);
    expect(stored.includes(SOUND)).toBe(true);
    // And the run fails, saying which member diverged.
    expect(outcome.ok).toBe(false);
    expect(result.consistency).toMatchObject({ compared: true, diverged: [diverged] });
    expect(emfDocument('c', outcome)).toMatchObject({ MemberDivergence: 1, Failures: 1 });
  });

  it('refuse when the two members left disagree (no majority), writing nothing', async () => {
    expect(diverged).toBeDefined();
    // Stop the other follower: the leader and the diverged member keep quorum, and disagree.
    const sound = (await followers()).find((e) => e !== diverged) as string;
    await etcd.kill(etcd.endpoints.indexOf(sound));
    const backend = await makeBackend('local');
    const outcome = await snapshot(backend, etcd.endpoints);
    expect(outcome.error).toBeInstanceOf(MemberDivergenceError);
    const error = outcome.error as MemberDivergenceError;
    expect(error.code).toBe('member-divergence');
    expect(error.hashes.map((h) => h.endpoint).sort()).toEqual(etcd.endpoints.filter((e) => e !== sound).sort());
    expect(emfDocument('c', outcome)).toMatchObject({ MemberDivergence: 2, Failures: 1 });
    expect(await storedKeys(backend.store, clusterDir('c'))).toEqual([]);
  });
});
