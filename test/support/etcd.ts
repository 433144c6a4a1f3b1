import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const execFileP = promisify(execFile);

/** The etcd releases the suites run against: Debian bookworm's 3.4 and sid's 3.5 (scripts/services/install.sh). */
export const ETCD_VERSIONS = ['3.4', '3.5'] as const;
export type EtcdVersion = (typeof ETCD_VERSIONS)[number];

export interface EtcdTools {
  version: EtcdVersion;
  etcd: string;
  etcdctl: string;
  /** etcd 3.5+ only: the offline tool (`snapshot status`, `snapshot restore`). */
  etcdutl?: string;
  /** Environment for etcdctl: API v3 (3.4 defaults to v2; 3.5 accepts only 3 or unset). */
  env: NodeJS.ProcessEnv;
}

/**
 * [version, store] cases for suites that run against every store: every store on 3.4, and `store` alone on
 * each later release. What the store does is not etcd's doing; what etcd does is covered on every release.
 */
export function etcdStoreCases<K extends string>(stores: readonly K[], store: K): [EtcdVersion, K][] {
  return ETCD_VERSIONS.flatMap((version): [EtcdVersion, K][] => (version === '3.4' ? stores.map((s) => [version, s]) : [[version, store]]));
}

/** Multi-member cluster cases: 3.4 without auth, 3.5 with auth on, as production clusters run. */
export const CLUSTER_CASES: [EtcdVersion, { auth: boolean }][] = [
  ['3.4', { auth: false }],
  ['3.5', { auth: true }],
];

/** Where install.sh unpacks etcd 3.5; ETCD35_DIR moves it for both. */
const ETCD35_DIR = process.env.ETCD35_DIR ?? '/var/cache/etcd-backup/etcd-3.5';

/** The binaries of one etcd release: 3.4 is the system's (PATH), 3.5 the one install.sh unpacked. */
export function etcdTools(version: EtcdVersion = '3.4'): EtcdTools {
  const env = { ...process.env, ETCDCTL_API: '3' };
  if (version === '3.4') return { version, etcd: 'etcd', etcdctl: 'etcdctl', env };
  const bin = join(ETCD35_DIR, 'usr/bin');
  if (!existsSync(join(bin, 'etcdutl'))) throw new Error(`no etcd 3.5 under ${ETCD35_DIR}: run scripts/services/install.sh all`);
  return { version, etcd: join(bin, 'etcd'), etcdctl: join(bin, 'etcdctl'), etcdutl: join(bin, 'etcdutl'), env };
}

export interface EtcdTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Require client certificates signed by caFile; etcdctl then uses this one. */
  client?: { certFile: string; keyFile: string };
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  dataDir: string;
  process: ChildProcess;
}

export interface EtcdCluster {
  version: EtcdVersion;
  /** The binaries this cluster runs, for oracles of the same release (etcdctl, etcdutl). */
  tools: EtcdTools;
  endpoints: string[];
  members: EtcdMember[];
  /** Runs etcdctl (API v3) against the cluster and returns stdout. */
  etcdctl(args: string[], opts?: { endpoints?: string[]; extraEnv?: Record<string, string> }): Promise<string>;
  /** Adds user root with this password and enables auth; etcdctl then signs in as root. */
  enableAuth(password: string): Promise<void>;
  /** The cluster id in decimal, as etcd3 and the manifests carry it. */
  clusterId(): Promise<string>;
  kill(memberIndex: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a killed member again on its data dir, with the same flags, and waits until it answers. */
  restart(memberIndex: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  /** Default 3.4. */
  version?: EtcdVersion;
  members?: number;
  tls?: EtcdTls;
  /** Restore every member from this snapshot file before starting (`etcdutl snapshot restore`; on 3.4 etcdctl's). */
  restoreFrom?: string;
  extraArgs?: string[];
  /**
   * Names, ports, --initial-cluster and token of the members (see planCluster), when they must be known
   * before starting: data dirs restored for them carry their peer URLs.
   */
  plan?: ClusterPlan;
  /** Start member i on dataDirs[i], an existing data dir (e.g. restored with `plan`); stop() leaves them. */
  dataDirs?: string[];
}

export interface MemberPlan {
  name: string;
  clientPort: number;
  peerPort: number;
  /** http://127.0.0.1:peerPort */
  peerUrl: string;
}

export interface ClusterPlan {
  members: MemberPlan[];
  /** name=peerUrl,... as --initial-cluster takes it. */
  initialCluster: string;
  token: string;
}

/** `count` members on free loopback ports, named m0, m1, ...: restore data dirs with these, then start on them. */
export async function planCluster(count: number): Promise<ClusterPlan> {
  const members: MemberPlan[] = [];
  for (let i = 0; i < count; i++) {
    const peerPort = await freePort();
    members.push({ name: `m${i}`, clientPort: await freePort(), peerPort, peerUrl: `http://127.0.0.1:${peerPort}` });
  }
  return { members, initialCluster: members.map((m) => `${m.name}=${m.peerUrl}`).join(','), token: `tok-${members[0]?.clientPort}` };
}

async function waitHealthy(cluster: EtcdCluster, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      await cluster.etcdctl(['endpoint', 'health']);
      return;
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`etcd did not become healthy: ${String(lastError)}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts real etcd members (3.4 unless `version` says otherwise) on free loopback ports, each in its own temp data dir. */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const tools = etcdTools(options.version);
  const count = options.plan?.members.length ?? options.dataDirs?.length ?? options.members ?? 1;
  const scheme = options.tls ? 'https' : 'http';
  const root = await mkdtemp(join(tmpdir(), 'etcd-test-'));
  const specs: { name: string; clientPort: number; peerPort: number; dataDir: string }[] = [];
  for (let i = 0; i < count; i++) {
    const planned = options.plan?.members[i];
    specs.push({
      name: planned?.name ?? `m${i}`,
      clientPort: planned?.clientPort ?? (await freePort()),
      peerPort: planned?.peerPort ?? (await freePort()),
      dataDir: options.dataDirs?.[i] ?? join(root, `m${i}`),
    });
  }
  const initialCluster = options.plan?.initialCluster ?? specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const token = options.plan?.token ?? `tok-${specs[0]?.clientPort}`;
  if (options.restoreFrom) {
    for (const s of specs) {
      await execFileP(
        tools.etcdutl ?? tools.etcdctl,
        [
          'snapshot',
          'restore',
          options.restoreFrom,
          '--name',
          s.name,
          '--data-dir',
          s.dataDir,
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-token',
          token,
          '--initial-advertise-peer-urls',
          `http://127.0.0.1:${s.peerPort}`,
        ],
        { env: tools.env },
      );
    }
  }
  const memberArgs: string[][] = [];
  const spawnMember = (name: string, args: string[]): ChildProcess => {
    const child = spawn(tools.etcd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-20_000);
    });
    child.on('exit', (code) => {
      if (code && code !== 0) process.stderr.write(`etcd ${name} exited ${code}: ${log.slice(-2000)}\n`);
    });
    return child;
  };
  const members: EtcdMember[] = specs.map((s) => {
    const clientUrl = `${scheme}://127.0.0.1:${s.clientPort}`;
    const args = [
      '--name',
      s.name,
      '--data-dir',
      s.dataDir,
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      `http://127.0.0.1:${s.peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${s.peerPort}`,
      '--initial-cluster',
      initialCluster,
      '--initial-cluster-token',
      token,
      '--heartbeat-interval',
      '50',
      '--election-timeout',
      '500',
      '--quota-backend-bytes',
      String(8 * 1024 ** 3),
      ...(options.tls
        ? [
            '--cert-file',
            options.tls.certFile,
            '--key-file',
            options.tls.keyFile,
            '--trusted-ca-file',
            options.tls.caFile,
            ...(options.tls.client ? ['--client-cert-auth'] : []),
          ]
        : []),
      ...(options.extraArgs ?? []),
    ];
    memberArgs.push(args);
    return { name: s.name, clientUrl, dataDir: s.dataDir, process: spawnMember(s.name, args) };
  });

  const tlsArgs = options.tls
    ? [
        '--cacert',
        options.tls.caFile,
        ...(options.tls.client ? ['--cert', options.tls.client.certFile, '--key', options.tls.client.keyFile] : []),
      ]
    : [];
  let authArgs: string[] = [];
  const cluster: EtcdCluster = {
    version: tools.version,
    tools,
    endpoints: members.map((m) => m.clientUrl),
    members,
    async etcdctl(args, opts = {}) {
      const { stdout } = await execFileP(
        tools.etcdctl,
        ['--endpoints', (opts.endpoints ?? cluster.endpoints).join(','), ...tlsArgs, ...authArgs, ...args],
        {
          env: { ...tools.env, ...opts.extraEnv },
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      return stdout;
    },
    async enableAuth(password) {
      await cluster.etcdctl(['user', 'add', `root:${password}`]);
      await cluster.etcdctl(['auth', 'enable']);
      authArgs = ['--user', `root:${password}`];
    },
    async clusterId() {
      // `-w fields` keeps the uint64 exact; a JSON number would round it.
      const fields = await cluster.etcdctl(['endpoint', 'status', '-w', 'fields'], { endpoints: [cluster.endpoints[0] as string] });
      const id = /"ClusterID" : (\d+)/.exec(fields)?.[1];
      if (!id) throw new Error(`no ClusterID in ${fields}`);
      return id;
    },
    async kill(index, signal = 'SIGKILL') {
      const member = members[index];
      if (!member) throw new Error(`no member ${index}`);
      member.process.kill(signal);
      await exited(member.process);
    },
    async restart(index) {
      const member = members[index];
      if (!member) throw new Error(`no member ${index}`);
      member.process = spawnMember(member.name, memberArgs[index] as string[]);
      const until = Date.now() + 20_000;
      for (;;) {
        try {
          await cluster.etcdctl(['endpoint', 'health'], { endpoints: [member.clientUrl] });
          return;
        } catch (error) {
          if (Date.now() > until) throw error;
          await new Promise((r) => setTimeout(r, 150));
        }
      }
    },
    async stop() {
      await Promise.all(
        members.map(async (m) => {
          m.process.kill('SIGTERM');
          await exited(m.process);
        }),
      );
      await rm(root, { recursive: true, force: true });
    },
  };
  try {
    await waitHealthy(cluster, 20_000);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
