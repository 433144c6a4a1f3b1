// A Kubernetes-like data set for the benchmark (bench/k8s.ts): what kube-apiserver keeps in etcd, as JSON
// (the form custom resources and `--storage-media-type=application/json` clusters store), under the keys it
// uses, `/registry/<resource>/<namespace>/<name>`. Deployments with their Pods (replicas that share a pod
// template, each with its own names, uids, IPs, container ids and timestamps), ConfigMaps holding
// configuration files, Secrets holding random bytes (base64, as the apiserver stores them: about a tenth of
// the bytes written), and Events that are written, rewritten (count, lastTimestamp) and deleted, as their
// one-hour TTL does; after each fill the history is compacted, as the apiserver does every five minutes.
//
// Everything comes from one seed: the same sizes in the same order give the same objects. (The revision
// each object gets depends on how etcd orders the concurrent transactions; the values do not.)
import { createCipheriv, createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Etcd3, IRequestOp } from 'etcd3';
import { log, MiB } from './settings.js';

export const KINDS = ['pods', 'deployments', 'configmaps', 'secrets', 'events'] as const;
export type Kind = (typeof KINDS)[number];

/** Share of the bytes written per kind (events: every rewrite counts). */
const SHARES: Record<Kind, number> = { pods: 0.4, deployments: 0.12, configmaps: 0.23, secrets: 0.1, events: 0.15 };
/** Events alive at once; older ones are deleted (their TTL). */
const LIVE_EVENTS = 3000;
/** Per transaction: etcd's default limits are 128 operations and 1.5 MiB per request. */
const TXN_OPS = 100;
const TXN_BYTES = 1024 * 1024;
const IN_FLIGHT = 6;

/** mulberry32: small, fast, good enough to pick names and sizes. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
  hex(n: number): string {
    return this.chars('0123456789abcdef', n);
  }
  uid(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${this.pick(['8', '9', 'a', 'b'])}${this.hex(3)}-${this.hex(12)}`;
  }
  ip(prefix: string): string {
    return `${prefix}.${this.int(0, 255)}.${this.int(1, 254)}`;
  }
}

/** The alphabet of generated name suffixes (k8s.io/apimachinery's rand.String). */
const SUFFIX = 'bcdfghjklmnpqrstvwxz2456789';
const WORDS = [
  'api',
  'web',
  'worker',
  'billing',
  'auth',
  'search',
  'cart',
  'checkout',
  'ingest',
  'metrics',
  'gateway',
  'payments',
  'orders',
  'inventory',
  'notify',
  'profile',
  'media',
  'report',
  'scheduler',
  'cache',
  'ledger',
  'catalog',
  'export',
  'import',
  'mailer',
  'pricing',
  'session',
  'audit',
  'feed',
  'graph',
  'index',
  'queue',
  'render',
  'sync',
  'stream',
];
const TEAMS = ['platform', 'data', 'growth', 'core', 'infra', 'mobile', 'risk', 'ml', 'ops', 'retail', 'finance', 'support'];
const ENV_NAMES = [
  'LOG_LEVEL',
  'DATABASE_URL',
  'REDIS_HOST',
  'REDIS_PORT',
  'KAFKA_BROKERS',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'JAVA_OPTS',
  'GOMAXPROCS',
  'HTTP_PORT',
  'GRPC_PORT',
  'FEATURE_FLAGS',
  'REGION',
  'S3_BUCKET',
  'CACHE_TTL',
  'MAX_CONNECTIONS',
  'SENTRY_DSN',
  'TZ',
  'NODE_ENV',
  'WORKERS',
  'TIMEOUT_MS',
  'UPSTREAM_URL',
  'METRICS_PATH',
  'TRACING_SAMPLE_RATE',
];
const REASONS: [string, string, string][] = [
  ['Scheduled', 'Normal', 'Successfully assigned {ns}/{pod} to {node}'],
  ['Pulling', 'Normal', 'Pulling image "{image}"'],
  ['Pulled', 'Normal', 'Successfully pulled image "{image}" in {ms}ms ({ms2}ms including waiting). Image size: {size} bytes.'],
  ['Created', 'Normal', 'Created container {container}'],
  ['Started', 'Normal', 'Started container {container}'],
  ['Killing', 'Normal', 'Stopping container {container}'],
  ['BackOff', 'Warning', 'Back-off restarting failed container {container} in pod {pod}_{ns}({uid})'],
  [
    'Unhealthy',
    'Warning',
    'Readiness probe failed: Get "http://{ip}:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
  ],
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** managedFields' fieldsV1: the set of fields a manager owns, as server-side apply records it. */
function fieldsOf(value: Json): Json {
  if (Array.isArray(value)) {
    const out: Record<string, Json> = {};
    for (const item of value) {
      if (item && typeof item === 'object' && !Array.isArray(item) && typeof item.name === 'string')
        out[`k:{"name":"${item.name}"}`] = { '.': {}, ...(fieldsOf(item) as Record<string, Json>) };
      else if (typeof item === 'string') out[`v:"${item}"`] = {};
    }
    return out;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) out[`f:${k}`] = fieldsOf(v);
    return out;
  }
  return {};
}

interface Deployment {
  ns: string;
  name: string;
  uid: string;
  rsName: string;
  rsUid: string;
  hash: string;
  labels: Record<string, string>;
  podSpec: { [key: string]: Json };
  pending: number;
  images: string[];
}

interface LiveEvent {
  key: string;
  value: Record<string, Json>;
}

export interface Fill {
  sizeMiB: number;
  /** The database size reached, after the compaction. */
  dbBytes: number;
  seconds: number;
  /** Bytes written (keys + values) per kind during this fill, rewrites included. */
  written: Record<Kind, number>;
  puts: number;
  deletes: number;
  /** Live keys after the fill. */
  keys: number;
}

/** The data set: one generator, so that filling to 0.5, then 1, then 2 GiB continues where it stopped. */
export class K8sDataSet {
  private readonly rng: Rng;
  /** Random bytes for Secrets: an AES-CTR key stream, seeded, far faster than the PRNG above. */
  private readonly random;
  private clock = Date.parse('2026-01-05T08:00:00Z');
  private readonly written: Record<Kind, number> = { pods: 0, deployments: 0, configmaps: 0, secrets: 0, events: 0 };
  private namespaces: string[] = [];
  private current: Deployment | undefined;
  private readonly events: LiveEvent[] = [];
  private readonly nodes: string[];
  private readonly caBundle: string;

  constructor(seed: number) {
    this.rng = new Rng(seed);
    const key = createHash('sha256').update(`k8s-data-set ${seed}`).digest();
    this.random = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
    this.nodes = Array.from({ length: 40 }, (_, i) => `ip-10-0-${i * 3}-${this.rng.int(1, 254)}.ec2.internal`);
    this.caBundle = this.pem('CERTIFICATE', 1100);
  }

  private bytes(n: number): Buffer {
    return this.random.update(Buffer.alloc(n));
  }

  private pem(label: string, n: number): string {
    const b64 = this.bytes(n).toString('base64');
    return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n')}\n-----END ${label}-----\n`;
  }

  private now(): string {
    this.clock += this.rng.int(0, 4000);
    return new Date(this.clock).toISOString().replace(/\.\d+Z$/, 'Z');
  }

  private namespace(): { ns: string; ops: [Kind, string, Record<string, Json>][] } {
    if (this.namespaces.length === 0 || this.rng.chance(0.02)) {
      const ns = `${this.rng.pick(TEAMS)}-${this.rng.pick(WORDS)}-${this.namespaces.length}`;
      this.namespaces.push(ns);
      // Every namespace gets the cluster's CA bundle (the same bytes everywhere, as in a real cluster).
      const cm = this.object('ConfigMap', 'v1', ns, 'kube-root-ca.crt', {}, 'kube-controller-manager');
      cm.data = { 'ca.crt': this.caBundle };
      return { ns, ops: [['configmaps', `/registry/configmaps/${ns}/kube-root-ca.crt`, this.finish(cm, false)]] };
    }
    return { ns: this.rng.pick(this.namespaces.slice(-20)), ops: [] };
  }

  private object(
    kind: string,
    apiVersion: string,
    ns: string,
    name: string,
    labels: Record<string, string>,
    manager: string,
  ): Record<string, Json> {
    const metadata: Record<string, Json> = { name, namespace: ns, uid: this.rng.uid(), creationTimestamp: this.now() };
    if (Object.keys(labels).length) metadata.labels = labels;
    return { kind, apiVersion, metadata, _manager: manager };
  }

  /** Adds managedFields for what the object holds, and the last-applied annotation for kubectl-applied ones. */
  private finish(obj: Record<string, Json>, applied: boolean): Record<string, Json> {
    const manager = obj._manager as string;
    delete obj._manager;
    const metadata = obj.metadata as Record<string, Json>;
    const { status, kind: _kind, apiVersion, metadata: _metadata, ...body } = obj;
    if (applied) {
      const last = {
        apiVersion,
        kind: obj.kind,
        metadata: { annotations: {}, labels: metadata.labels ?? {}, name: metadata.name, namespace: metadata.namespace },
        ...body,
      };
      metadata.annotations = {
        ...((metadata.annotations as Record<string, Json>) ?? {}),
        'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(last)}\n`,
      };
    }
    const time = metadata.creationTimestamp as string;
    const managed: Json[] = [
      {
        manager: applied ? 'kubectl-client-side-apply' : manager,
        operation: 'Update',
        apiVersion: obj.apiVersion as string,
        time,
        fieldsType: 'FieldsV1',
        fieldsV1: fieldsOf({ metadata: { labels: metadata.labels ?? {}, annotations: metadata.annotations ?? {} }, ...body }),
      },
    ];
    if (status)
      managed.push({
        manager,
        operation: 'Update',
        apiVersion: obj.apiVersion as string,
        time: this.now(),
        fieldsType: 'FieldsV1',
        fieldsV1: fieldsOf({ status }),
        subresource: 'status',
      });
    metadata.managedFields = managed;
    return obj;
  }

  private container(app: string, team: string): { [key: string]: Json } {
    const image = this.rng.chance(0.7)
      ? `registry.example.com/${team}/${app}:v${this.rng.int(1, 4)}.${this.rng.int(0, 40)}.${this.rng.int(0, 20)}`
      : this.rng.pick(['nginx:1.27.3', 'redis:7.2.5', 'envoyproxy/envoy:v1.31.2', 'grafana/promtail:3.1.1', 'busybox:1.36']);
    const env: Json[] = [];
    for (let i = this.rng.int(3, 14); i > 0; i--) {
      const name = this.rng.pick(ENV_NAMES);
      if (env.some((e) => (e as { name: string }).name === name)) continue;
      env.push(
        this.rng.chance(0.2)
          ? { name, valueFrom: { secretKeyRef: { name: `${app}-secrets`, key: name.toLowerCase() } } }
          : {
              name,
              value: this.rng.chance(0.5)
                ? `${this.rng.pick(WORDS)}.${team}.svc.cluster.local:${this.rng.int(1000, 9999)}`
                : String(this.rng.int(1, 5000)),
            },
      );
    }
    const probe = {
      httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    };
    return {
      name: app,
      image,
      ports: [
        { name: 'http', containerPort: 8080, protocol: 'TCP' },
        ...(this.rng.chance(0.5) ? [{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }] : []),
      ],
      env,
      resources: {
        limits: { cpu: `${this.rng.int(1, 8) * 250}m`, memory: `${this.rng.int(1, 16) * 128}Mi` },
        requests: { cpu: `${this.rng.int(1, 8) * 50}m`, memory: `${this.rng.int(1, 16) * 64}Mi` },
      },
      volumeMounts: [{ name: 'config', mountPath: '/etc/app', readOnly: true }],
      livenessProbe: { ...probe, initialDelaySeconds: 15 },
      readinessProbe: probe,
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true },
    };
  }

  private deployment(ns: string): [Kind, string, Record<string, Json>] {
    const team = ns.split('-')[0]!;
    const app = `${this.rng.pick(WORDS)}-${this.rng.pick(WORDS)}`;
    const hash = this.rng.chars(SUFFIX, 10);
    const labels = {
      app,
      'app.kubernetes.io/name': app,
      'app.kubernetes.io/part-of': team,
      team,
      tier: this.rng.pick(['frontend', 'backend', 'batch']),
    };
    const containers = [this.container(app, team), ...(this.rng.chance(0.3) ? [this.container(`${app}-sidecar`, team)] : [])];
    const podSpec = {
      containers,
      volumes: [{ name: 'config', configMap: { name: `${app}-config`, defaultMode: 420 } }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: this.rng.chance(0.5) ? app : 'default',
      securityContext: { fsGroup: 2000 },
      schedulerName: 'default-scheduler',
    };
    const obj = this.object('Deployment', 'apps/v1', ns, app, labels, 'kube-controller-manager');
    const replicas = this.rng.int(1, 5);
    obj.spec = {
      replicas,
      selector: { matchLabels: { app } },
      template: { metadata: { labels }, spec: podSpec },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    };
    const t = this.now();
    obj.status = {
      observedGeneration: 1,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions: [
        {
          type: 'Available',
          status: 'True',
          lastUpdateTime: t,
          lastTransitionTime: t,
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
        },
        {
          type: 'Progressing',
          status: 'True',
          lastUpdateTime: t,
          lastTransitionTime: t,
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${app}-${hash}" has successfully progressed.`,
        },
      ],
    };
    (obj.metadata as Record<string, Json>).annotations = { 'deployment.kubernetes.io/revision': '1' };
    (obj.metadata as Record<string, Json>).generation = 1;
    this.current = {
      ns,
      name: app,
      uid: (obj.metadata as { uid: string }).uid,
      rsName: `${app}-${hash}`,
      rsUid: this.rng.uid(),
      hash,
      labels,
      podSpec,
      pending: replicas,
      images: containers.map((c) => c.image as string),
    };
    return ['deployments', `/registry/deployments/${ns}/${app}`, this.finish(obj, true)];
  }

  private pod(d: Deployment): [Kind, string, Record<string, Json>] {
    d.pending--;
    const name = `${d.rsName}-${this.rng.chars(SUFFIX, 5)}`;
    const obj = this.object('Pod', 'v1', d.ns, name, { ...d.labels, 'pod-template-hash': d.hash }, 'kubelet');
    const metadata = obj.metadata as Record<string, Json>;
    metadata.generateName = `${d.rsName}-`;
    metadata.ownerReferences = [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: d.rsName, uid: d.rsUid, controller: true, blockOwnerDeletion: true },
    ];
    const node = this.rng.pick(this.nodes);
    const token = `kube-api-access-${this.rng.chars(SUFFIX, 5)}`;
    obj.spec = {
      ...d.podSpec,
      volumes: [
        ...(d.podSpec.volumes as Json[]),
        {
          name: token,
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
            defaultMode: 420,
          },
        },
      ],
      nodeName: node,
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    };
    const start = this.now();
    const podIP = this.rng.ip('10.42');
    const hostIP = this.rng.ip('10.0');
    obj.status = {
      phase: 'Running',
      conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: start,
      })),
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: start,
      qosClass: 'Burstable',
      containerStatuses: (d.podSpec.containers as { name: string; image: string }[]).map((c) => ({
        name: c.name,
        state: { running: { startedAt: start } },
        lastState: {},
        ready: true,
        restartCount: this.rng.chance(0.8) ? 0 : this.rng.int(1, 30),
        image: c.image,
        imageID: `${c.image.split(':')[0]}@sha256:${this.rng.hex(64)}`,
        containerID: `containerd://${this.rng.hex(64)}`,
        started: true,
      })),
    };
    return ['pods', `/registry/pods/${d.ns}/${name}`, this.finish(obj, false)];
  }

  private configMap(ns: string): [Kind, string, Record<string, Json>] {
    const app = `${this.rng.pick(WORDS)}-${this.rng.pick(WORDS)}`;
    const name = this.rng.chance(0.6) ? `${app}-config` : `${app}-${this.rng.chars(SUFFIX, 10)}`;
    const obj = this.object('ConfigMap', 'v1', ns, name, { app }, 'kubectl-client-side-apply');
    const lines: string[] = [];
    for (let i = this.rng.int(10, 250); i > 0; i--) {
      const key = `${this.rng.pick(WORDS)}.${this.rng.pick(WORDS)}.${this.rng.pick(['enabled', 'timeout', 'url', 'size', 'retries', 'mode', 'path', 'limit'])}`;
      const value = this.rng.pick([
        () => String(this.rng.int(0, 100000)),
        () => (this.rng.chance(0.5) ? 'true' : 'false'),
        () => `https://${this.rng.pick(WORDS)}.${this.rng.pick(TEAMS)}.example.com/${this.rng.pick(WORDS)}/${this.rng.hex(8)}`,
        () => `${this.rng.int(1, 600)}s`,
        () => `/var/lib/${this.rng.pick(WORDS)}/${this.rng.pick(WORDS)}`,
      ])();
      lines.push(`${key} = ${value}`);
    }
    obj.data = {
      'application.properties': `${lines.join('\n')}\n`,
      ...(this.rng.chance(0.3) ? { 'log-level': this.rng.pick(['info', 'debug', 'warn']) } : {}),
    };
    return ['configmaps', `/registry/configmaps/${ns}/${name}`, this.finish(obj, true)];
  }

  private secret(ns: string): [Kind, string, Record<string, Json>] {
    const app = `${this.rng.pick(WORDS)}-${this.rng.pick(WORDS)}`;
    const tls = this.rng.chance(0.3);
    const name = tls ? `${app}-tls` : `${app}-secrets`;
    const obj = this.object('Secret', 'v1', ns, name, { app }, 'kubectl-client-side-apply');
    const data: Record<string, Json> = {};
    if (tls) {
      data['tls.crt'] = Buffer.from(this.pem('CERTIFICATE', this.rng.int(900, 1800))).toString('base64');
      data['tls.key'] = Buffer.from(this.pem('PRIVATE KEY', this.rng.int(1200, 1700))).toString('base64');
      obj.type = 'kubernetes.io/tls';
    } else {
      for (let i = this.rng.int(1, 8); i > 0; i--)
        data[this.rng.pick(ENV_NAMES).toLowerCase()] = this.bytes(this.rng.int(16, 2048)).toString('base64');
      obj.type = 'Opaque';
    }
    obj.data = data;
    return ['secrets', `/registry/secrets/${ns}/${name}`, this.finish(obj, false)];
  }

  /** A new Event about a pod of the current deployment, or a rewrite of a live one (count + 1). */
  private event(ns: string): [Kind, string, Record<string, Json>] {
    const live = this.events.length > 0 && this.rng.chance(0.35) ? this.events[this.rng.int(0, this.events.length - 1)]! : undefined;
    if (live) {
      live.value.count = (live.value.count as number) + 1;
      live.value.lastTimestamp = this.now();
      return ['events', live.key, live.value];
    }
    const d = this.current;
    const pod = `${d?.rsName ?? `${this.rng.pick(WORDS)}-${this.rng.chars(SUFFIX, 10)}`}-${this.rng.chars(SUFFIX, 5)}`;
    const [reason, type, template] = this.rng.pick(REASONS);
    const node = this.rng.pick(this.nodes);
    const message = template
      .replace(/\{ns\}/g, d?.ns ?? ns)
      .replace(/\{pod\}/g, pod)
      .replace('{node}', node)
      .replace('{image}', d?.images[0] ?? 'busybox:1.36')
      .replace('{ms}', String(this.rng.int(200, 9000)))
      .replace('{ms2}', String(this.rng.int(200, 20000)))
      .replace('{size}', String(this.rng.int(5_000_000, 900_000_000)))
      .replace('{container}', d?.name ?? 'app')
      .replace('{uid}', this.rng.uid())
      .replace('{ip}', this.rng.ip('10.42'));
    const name = `${pod}.${this.rng.hex(16)}`;
    const t = this.now();
    const value: Record<string, Json> = {
      kind: 'Event',
      apiVersion: 'v1',
      metadata: {
        name,
        namespace: d?.ns ?? ns,
        uid: this.rng.uid(),
        creationTimestamp: t,
        managedFields: [
          {
            manager: 'kubelet',
            operation: 'Update',
            apiVersion: 'v1',
            time: t,
            fieldsType: 'FieldsV1',
            fieldsV1: {
              'f:count': {},
              'f:firstTimestamp': {},
              'f:involvedObject': {},
              'f:lastTimestamp': {},
              'f:message': {},
              'f:reason': {},
              'f:reportingComponent': {},
              'f:reportingInstance': {},
              'f:source': { 'f:component': {}, 'f:host': {} },
              'f:type': {},
            },
          },
        ],
      },
      involvedObject: {
        kind: 'Pod',
        namespace: d?.ns ?? ns,
        name: pod,
        uid: this.rng.uid(),
        apiVersion: 'v1',
        resourceVersion: String(this.rng.int(1000, 99_999_999)),
        fieldPath: `spec.containers{${d?.name ?? 'app'}}`,
      },
      reason,
      message,
      source: { component: 'kubelet', host: node },
      firstTimestamp: t,
      lastTimestamp: t,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: 'kubelet',
      reportingInstance: node,
    };
    const key = `/registry/events/${d?.ns ?? ns}/${name}`;
    this.events.push({ key, value });
    return ['events', key, value];
  }

  /** The next object to write: the kind furthest behind its share of the bytes. */
  private next(): [Kind, string, Record<string, Json>][] {
    const { ns, ops } = this.namespace();
    const total = Object.values(this.written).reduce((a, b) => a + b, 0) + 1;
    let kind: Kind = 'pods';
    let deficit = Number.NEGATIVE_INFINITY;
    for (const k of KINDS) {
      const d = SHARES[k] * total - this.written[k];
      if (d > deficit) [kind, deficit] = [k, d];
    }
    const op =
      kind === 'pods'
        ? this.current && this.current.pending > 0
          ? this.pod(this.current)
          : this.deployment(ns)
        : kind === 'deployments'
          ? this.deployment(ns)
          : kind === 'configmaps'
            ? this.configMap(ns)
            : kind === 'secrets'
              ? this.secret(ns)
              : this.event(ns);
    return [...ops, op];
  }

  /**
   * Writes objects into etcd until its database is at least `bytes` big, then compacts the history at the
   * last revision written (physically, as the apiserver's compaction does). Transactions of up to 100
   * operations and 1 MiB, 6 in flight.
   */
  async fill(client: Etcd3, bytes: number): Promise<Fill> {
    const t0 = performance.now();
    const before = { ...this.written };
    let puts = 0;
    let deletes = 0;
    let lastRevision = 0;
    const inFlight = new Set<Promise<void>>();
    let size = Number((await client.maintenance.status()).dbSize);
    let sinceCheck = 0;
    while (size < bytes) {
      const ops: IRequestOp[] = [];
      const keys = new Set<string>();
      let batchBytes = 0;
      while (ops.length < TXN_OPS - 1 && batchBytes < TXN_BYTES) {
        for (const [kind, key, value] of this.next()) {
          // One transaction may not touch a key twice: a second rewrite of the same event waits for the next.
          if (keys.has(key)) continue;
          keys.add(key);
          const v = Buffer.from(JSON.stringify(value));
          ops.push({ request_put: { key: Buffer.from(key), value: v } });
          this.written[kind] += key.length + v.length;
          batchBytes += key.length + v.length;
          puts++;
        }
        if (this.events.length > LIVE_EVENTS) {
          const old = this.events.shift()!;
          if (!keys.has(old.key)) {
            keys.add(old.key);
            ops.push({ request_delete_range: { key: Buffer.from(old.key) } });
            deletes++;
          }
        }
      }
      const p: Promise<void> = client.kv.txn({ success: ops }).then((r) => {
        lastRevision = Math.max(lastRevision, Number(r.header.revision));
        inFlight.delete(p);
      });
      inFlight.add(p);
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
      sinceCheck += batchBytes;
      if (sinceCheck >= 8 * MiB) {
        sinceCheck = 0;
        size = Number((await client.maintenance.status()).dbSize);
      }
    }
    await Promise.all(inFlight);
    if (lastRevision > 0) await client.kv.compact({ revision: lastRevision, physical: true });
    const status = await client.maintenance.status();
    const keys = Number((await client.getAll().prefix('/registry/').count()) ?? 0);
    const seconds = (performance.now() - t0) / 1000;
    const written = Object.fromEntries(KINDS.map((k) => [k, this.written[k] - before[k]])) as Record<Kind, number>;
    const total = Object.values(written).reduce((a, b) => a + b, 0);
    log(
      `Kubernetes-like data: ${puts} puts, ${deletes} deletes, ${(total / MiB).toFixed(0)} MiB written (${KINDS.map((k) => `${k} ${((100 * written[k]) / total).toFixed(0)}%`).join(', ')}), ${keys} live keys; database ${(Number(status.dbSize) / MiB).toFixed(0)} MiB after compaction, ${seconds.toFixed(0)} s`,
    );
    return { sizeMiB: bytes / MiB, dbBytes: Number(status.dbSize), seconds, written, puts, deletes, keys };
  }
}
