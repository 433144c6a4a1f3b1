// restore's argument parsing: pure (no I/O), so every case is a row here. What needs the file system
// (output exists, data dir not empty, restore tool) is in test/integration/restore.test.ts.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.js';
import { snapshotKey } from '../../shared/layout.js';
import { parseRestoreArgs, type RestoreArgs, type RestoreOptions } from '../../shared/tasks/restore/args.js';
import { canBumpRevision } from '../../shared/tasks/restore/preflight.js';

const CLUSTER = 'c1';
const KEY = snapshotKey(CLUSTER, new Date('2026-01-31T12:00:00Z'), 42);
const base = { allowUnverified: false, allowExcluded: false, member: {} };
/** What a data dir restore does unless told otherwise: the Kubernetes documentation's bump, and the skipped revisions compacted. */
const bumped = { bump: { bumpRevision: 1_000_000_000, markCompacted: true } };

describe('parseRestoreArgs', () => {
  it.each<[string, RestoreArgs, RestoreOptions]>([
    ['only --output (made absolute)', { output: 'restore/etcd.db' }, { ...base, output: resolve('restore/etcd.db') }],
    ['values trimmed', { output: ' /tmp/a.db ', key: ` ${KEY} ` }, { ...base, output: '/tmp/a.db', key: KEY }],
    [
      '--key with --allow-excluded',
      { output: '/tmp/a.db', key: KEY, allowExcluded: true },
      { ...base, output: '/tmp/a.db', key: KEY, allowExcluded: true },
    ],
    [
      '--key with --allow-unverified (implied, harmless)',
      { output: '/tmp/a.db', key: KEY, allowUnverified: true },
      { ...base, output: '/tmp/a.db', key: KEY, allowUnverified: true },
    ],
    [
      '--before in UTC',
      { output: '/tmp/a.db', before: '2026-01-31T12:00:00Z' },
      { ...base, output: '/tmp/a.db', before: new Date('2026-01-31T12:00:00Z') },
    ],
    [
      '--before with an offset and fractions',
      { output: '/tmp/a.db', before: '2026-01-31T13:00:00.5+01:00' },
      { ...base, output: '/tmp/a.db', before: new Date('2026-01-31T12:00:00.5Z') },
    ],
    [
      '--revision with --allow-unverified',
      { output: '/tmp/a.db', revision: '123456', allowUnverified: true },
      { ...base, output: '/tmp/a.db', revision: 123456, allowUnverified: true },
    ],
    [
      '--data-dir alone (absolute), bumping the revision by default',
      { output: '/tmp/a.db', dataDir: 'data' },
      { ...base, ...bumped, output: '/tmp/a.db', dataDir: resolve('data') },
    ],
    [
      '--bump-revision 0: no bump, nothing marked compacted',
      { output: '/tmp/a.db', dataDir: '/d', bumpRevision: '0' },
      { ...base, output: '/tmp/a.db', dataDir: '/d', bump: { bumpRevision: 0, markCompacted: false } },
    ],
    [
      '--bump-revision N with --mark-compacted, as the Kubernetes documentation writes it',
      { output: '/tmp/a.db', dataDir: '/d', bumpRevision: ' 5000 ', markCompacted: true },
      { ...base, output: '/tmp/a.db', dataDir: '/d', bump: { bumpRevision: 5000, markCompacted: true } },
    ],
    [
      '--data-dir with every member flag',
      {
        output: '/tmp/a.db',
        dataDir: '/var/lib/etcd',
        name: 'm1',
        initialCluster: 'm1=https://10.0.0.1:2380,m2=http://10.0.0.2:2380',
        initialClusterToken: 'restored-1',
        initialAdvertisePeerUrls: 'https://10.0.0.1:2380',
      },
      {
        ...base,
        ...bumped,
        output: '/tmp/a.db',
        dataDir: '/var/lib/etcd',
        member: {
          name: 'm1',
          initialCluster: 'm1=https://10.0.0.1:2380,m2=http://10.0.0.2:2380',
          initialClusterToken: 'restored-1',
          initialAdvertisePeerUrls: 'https://10.0.0.1:2380',
        },
      },
    ],
    [
      'no --name: etcd calls the member "default"',
      { output: '/tmp/a.db', dataDir: '/d', initialCluster: 'default=http://127.0.0.1:2380' },
      { ...base, ...bumped, output: '/tmp/a.db', dataDir: '/d', member: { initialCluster: 'default=http://127.0.0.1:2380' } },
    ],
    [
      '--name default needs no --initial-cluster',
      { output: '/tmp/a.db', dataDir: '/d', name: 'default' },
      { ...base, ...bumped, output: '/tmp/a.db', dataDir: '/d', member: { name: 'default' } },
    ],
  ])('accepts %s', (_name, args, expected) => {
    expect(parseRestoreArgs(args, CLUSTER)).toEqual(expected);
  });

  it.each<[string, RestoreArgs, string, RegExp]>([
    ['no --output', {}, 'output', /is required/],
    ['an empty --output', { output: '  ' }, 'output', /is empty/],
    [
      'a key of another cluster',
      { output: '/tmp/a.db', key: snapshotKey('other', new Date(), 1) },
      'key',
      /not a snapshot key of cluster "c1"/,
    ],
    ['a key that is no snapshot key', { output: '/tmp/a.db', key: 'c1/notes.txt' }, 'key', /not a snapshot key/],
    ['--before without a zone', { output: '/tmp/a.db', before: '2026-01-31T12:00:00' }, 'before', /ISO-8601 time with a zone/],
    ['--before as a date only', { output: '/tmp/a.db', before: '2026-01-31' }, 'before', /ISO-8601/],
    ['--before in words', { output: '/tmp/a.db', before: 'yesterday' }, 'before', /ISO-8601/],
    ['--before on day 32', { output: '/tmp/a.db', before: '2026-01-32T00:00:00Z' }, 'before', /ISO-8601/],
    ['--revision 0', { output: '/tmp/a.db', revision: '0' }, 'revision', /positive whole number/],
    ['--revision negative', { output: '/tmp/a.db', revision: '-5' }, 'revision', /positive whole number/],
    ['--revision not a number', { output: '/tmp/a.db', revision: '12abc' }, 'revision', /positive whole number/],
    ['--revision beyond a safe integer', { output: '/tmp/a.db', revision: '9007199254740993' }, 'revision', /positive whole number/],
    ['--key with --before', { output: '/tmp/a.db', key: KEY, before: '2026-01-31T12:00:00Z' }, 'before', /cannot be combined with key/],
    ['--key with --revision', { output: '/tmp/a.db', key: KEY, revision: '5' }, 'revision', /cannot be combined with key/],
    ['--allow-excluded without --key', { output: '/tmp/a.db', allowExcluded: true }, 'allowExcluded', /only applies with key/],
    ['--name without --data-dir', { output: '/tmp/a.db', name: 'm0' }, 'name', /only applies with dataDir/],
    [
      '--initial-cluster-token without --data-dir',
      { output: '/tmp/a.db', initialClusterToken: 't' },
      'initialClusterToken',
      /only applies with dataDir/,
    ],
    [
      '--name without --initial-cluster',
      { output: '/tmp/a.db', dataDir: '/d', name: 'm0' },
      'initialCluster',
      /is required with name "m0"/,
    ],
    [
      '--initial-cluster without this member',
      { output: '/tmp/a.db', dataDir: '/d', name: 'm0', initialCluster: 'm1=http://h:2380' },
      'initialCluster',
      /no member named "m0"/,
    ],
    [
      '--initial-cluster not name=url',
      { output: '/tmp/a.db', dataDir: '/d', initialCluster: 'http://h:2380' },
      'initialCluster',
      /is not name=peer-url/,
    ],
    [
      '--initial-cluster with a bad URL',
      { output: '/tmp/a.db', dataDir: '/d', initialCluster: 'default=h:2380:x' },
      'initialCluster',
      /must start with http:\/\/ or https:\/\//,
    ],
    ['--initial-cluster with no URL', { output: '/tmp/a.db', dataDir: '/d', initialCluster: 'default=' }, 'initialCluster', /is not a URL/],
    [
      '--initial-advertise-peer-urls not http(s)',
      { output: '/tmp/a.db', dataDir: '/d', initialAdvertisePeerUrls: 'unix://sock' },
      'initialAdvertisePeerUrls',
      /must start with http/,
    ],
    ['--bump-revision without --data-dir', { output: '/tmp/a.db', bumpRevision: '0' }, 'bumpRevision', /only applies with dataDir/],
    ['--mark-compacted without --data-dir', { output: '/tmp/a.db', markCompacted: true }, 'markCompacted', /only applies with dataDir/],
    ['--bump-revision negative', { output: '/tmp/a.db', dataDir: '/d', bumpRevision: '-1' }, 'bumpRevision', /not a whole number/],
    ['--bump-revision in words', { output: '/tmp/a.db', dataDir: '/d', bumpRevision: '1e9' }, 'bumpRevision', /not a whole number/],
    [
      '--mark-compacted with --bump-revision 0 (etcdutl refuses it)',
      { output: '/tmp/a.db', dataDir: '/d', bumpRevision: '0', markCompacted: true },
      'markCompacted',
      /needs a revision bump/,
    ],
    [
      'markCompacted false with a bump (etcdutl requires it)',
      { output: '/tmp/a.db', dataDir: '/d', markCompacted: false },
      'markCompacted',
      /cannot be turned off while the revision is bumped/,
    ],
    ['--output inside --data-dir', { output: '/var/lib/etcd/a.db', dataDir: '/var/lib/etcd' }, 'output', /must not be inside dataDir/],
    ['--output equal to --data-dir', { output: '/var/lib/etcd', dataDir: '/var/lib/etcd/' }, 'output', /must not be inside dataDir/],
  ])('refuses %s, naming the argument', (_name, args, setting, message) => {
    let error: unknown;
    try {
      parseRestoreArgs(args, CLUSTER);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe(setting);
    expect((error as ConfigError).message).toMatch(message);
  });
});

describe('canBumpRevision', () => {
  it.each<[string | undefined, boolean]>([
    ['3.5.10', true],
    ['3.5.30', true],
    ['3.6.0', true],
    ['3.10.1', true],
    ['4.0.0', true],
    ['3.5.9', false],
    ['3.4.23', false],
    ['2.3.8', false],
    ['3.5', false],
    [undefined, false],
  ])('etcdutl %s: %s', (version, expected) => {
    expect(canBumpRevision(version)).toBe(expected);
  });
});
