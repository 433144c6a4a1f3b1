// `npm run package:aws` as a user runs it: offline and without AWS credentials. Then what the generated
// CloudFormation says: one function per task folder (handler, bundle, schedule, timeout, environment), one
// role per function with least privilege on the cluster's prefix, the optional VPC, secrets, KMS key and
// alarms and their topic. Policies are checked as IAM would see them: conditions, Fn::If and Fn::Sub
// evaluated; alarms against the metrics lines the functions write.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { emfDocument } from '../../shared/platform/metrics.js';
import type { TaskName } from '../../shared/tasks/index.js';

const execFileP = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const PARAMS = {
  bucket: 'acme-etcd-backups',
  prefix: 'backups/etcd',
  clusterName: 'prod-main',
  etcdEndpoints: 'https://10.0.0.10:2379,https://10.0.0.11:2379',
  etcdUsername: 'backup',
  snapshotCompression: 'gzip',
  ssmSecretsPath: '/etcd-backup/prod',
  vpcSubnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
  vpcSecurityGroupIds: 'sg-0123456789abcdef0',
  bucketKmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
  s3Sse: 'aws:kms',
  s3SseKmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/5678efgh-56ef-78gh-90ab-5678901234cd`,
  snapshotSchedule: 'rate(30 minutes)',
  immutability: 'object',
  immutabilityPeriod: '30d',
  maxSnapshotAgeSeconds: '21600',
  alarmTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:etcd-oncall`,
};
const STAGE = 'test';
const OBJECTS = `arn:aws:s3:::${PARAMS.bucket}/${PARAMS.prefix}/${PARAMS.clusterName}/`;
const BUCKET = `arn:aws:s3:::${PARAMS.bucket}`;
/** A snapshot object under each of its suffixes: plain, zstd, gzip. */
const SNAPSHOT_OBJECTS = ['.db', '.db.zst', '.db.gz'].map((suffix) => `${OBJECTS}*${suffix}`);

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Condition?: string;
  Properties: Json;
}
interface Template {
  Resources: Record<string, Resource>;
  Conditions: Record<string, unknown>;
  Outputs: Record<string, { Value: unknown }>;
}
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const dimensionsOf = (alarm: Json) =>
  Object.fromEntries((alarm.Dimensions as { Name: string; Value: string }[]).map((d) => [d.Name, d.Value]));
const ROLE_TASKS_ALL = ['snapshot', 'list', 'status', 'verify', 'prune', 'reupload', 'restore', 'exclude'];
const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const capitalized = (task: string) => task[0]?.toUpperCase() + task.slice(1);

/** Names of the entries of a zip file, from its central directory. */
function zipEntries(zip: Buffer): string[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const names: string[] = [];
  let at = zip.readUInt32LE(end + 16);
  for (let i = zip.readUInt16LE(end + 10); i > 0; i--) {
    const nameLength = zip.readUInt16LE(at + 28);
    names.push(zip.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return names;
}

/** The template as CloudFormation resolves it in one account and region, with the given conditions. */
const NO_VALUE = Symbol('AWS::NoValue');
const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT };
function evaluate(node: unknown, conditions: Record<string, boolean>): unknown {
  if (Array.isArray(node)) return node.map((n) => evaluate(n, conditions)).filter((v) => v !== NO_VALUE);
  if (node === null || typeof node !== 'object') return node;
  const [key, value] = Object.entries(node)[0] ?? [];
  if (Object.keys(node).length === 1 && key !== undefined) {
    if (key === 'Ref' && value === 'AWS::NoValue') return NO_VALUE;
    if (key === 'Fn::If') {
      const [condition, then, otherwise] = value as [string, unknown, unknown];
      if (!(condition in conditions)) throw new Error(`unknown condition ${condition}`);
      return evaluate(conditions[condition] ? then : otherwise, conditions);
    }
    if (key === 'Condition') return conditions[value as string];
    if (key === 'Fn::Sub') {
      const [text, vars] = typeof value === 'string' ? [value, {}] : (value as [string, Record<string, unknown>]);
      return text.replace(/\$\{([^}]+)\}/g, (whole, name: string) =>
        name in vars ? String(evaluate(vars[name], conditions)) : (PSEUDO[name] ?? whole),
      );
    }
    if (key === 'Fn::Select') {
      const [index, source] = value as [number, unknown];
      return (evaluate(source, conditions) as unknown[])[index];
    }
    if (key === 'Fn::And') return (value as unknown[]).every((v) => evaluate(v, conditions) === true);
    if (key === 'Fn::Split') {
      const [delimiter, source] = value as [string, unknown];
      return String(evaluate(source, conditions)).split(delimiter);
    }
    if (key === 'Fn::Not') return !(evaluate((value as unknown[])[0], conditions) as boolean);
    if (key === 'Fn::Equals') {
      const [a, b] = (value as unknown[]).map((v) => evaluate(v, conditions));
      return a === b;
    }
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    const e = evaluate(v, conditions);
    if (e !== NO_VALUE) out[k] = e;
  }
  return out;
}

/** The template's conditions, each evaluated with the ones before it (Condition refers back). */
function conditionsOf(template: Template): Record<string, boolean> {
  const conditions: Record<string, boolean> = {};
  for (const [name, expression] of Object.entries(template.Conditions)) conditions[name] = evaluate(expression, conditions) as boolean;
  return conditions;
}

/**
 * `npm run package:aws` with these parameters, as a user runs it, into `dir`. No AWS credentials or config
 * of any kind, and no network at all where the machine lets us take it away (a network namespace of its
 * own needs root, as CI has): packaging must not need either.
 */
async function packageAws(params: Record<string, string>, dir: string): Promise<Template> {
  const home = await mkdtemp(join(tmpdir(), 'package-aws-home-'));
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  Object.assign(env, {
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  let isolate: string[] = [];
  try {
    execFileSync('unshare', ['--net', 'true'], { stdio: 'ignore' });
    isolate = ['unshare', '--net'];
  } catch {
    // Not allowed here: credentials are still gone.
  }
  const flags = Object.entries(params).map(([k, v]) => `--param=${k}=${v}`);
  const [command, ...args] = [
    ...isolate,
    'npm',
    'run',
    'package:aws',
    '--',
    '--stage',
    STAGE,
    '--region',
    REGION,
    '--package',
    dir,
    ...flags,
  ];
  await execFileP(command as string, args, { cwd: root, env, maxBuffer: 16 << 20 });
  return JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
}

describe('npm run package:aws', () => {
  let template: Template;
  let conditions: Record<string, boolean>;
  const tasks: string[] = [];

  beforeAll(async () => {
    tasks.push(...(await readdir(join(root, 'functions'))).sort());
    template = await packageAws(PARAMS, join(root, '.serverless'));
    conditions = conditionsOf(template);
  });

  const resource = (name: string): Resource => {
    const r = template.Resources[name];
    if (!r) throw new Error(`no resource ${name} in the template`);
    return r;
  };
  const fn = (task: string) => resource(`${capitalized(task)}LambdaFunction`);
  const resolved = (name: string, overrides: Record<string, boolean> = {}) =>
    evaluate(resource(name).Properties, { ...conditions, ...overrides }) as Json;
  const statements = (task: string, overrides: Record<string, boolean> = {}): Statement[] =>
    (resolved(`${capitalized(task)}Role`, overrides).Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
      (p) => p.PolicyDocument.Statement,
    );
  const actionsOf = (task: string, overrides: Record<string, boolean> = {}) => statements(task, overrides).flatMap((s) => list(s.Action));
  /** The resources on which the role may do `action`. */
  const resourcesFor = (task: string, action: string) =>
    statements(task)
      .filter((s) => list(s.Action).includes(action))
      .flatMap((s) => list(s.Resource));
  const ROLE_TASKS = ROLE_TASKS_ALL;
  /** The Lambda function each schedule rule starts, with its expression. */
  const scheduleRules = () =>
    Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Events::Rule')
      .map((r) => ({
        target: (r.Properties.Targets as { Arn: { 'Fn::GetAtt': [string] } }[])[0]?.Arn['Fn::GetAtt'][0] ?? '',
        expression: r.Properties.ScheduleExpression as string,
        state: r.Properties.State,
      }));
  /** The alarm watches a metric that this EMF line carries, under the same namespace and dimensions. */
  const expectWatches = (alarm: Json, doc: Record<string, unknown>) => {
    const directive = (doc._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] })
      .CloudWatchMetrics[0];
    const dimensions = dimensionsOf(alarm);
    expect(directive?.Namespace).toBe(alarm.Namespace);
    expect(directive?.Dimensions).toEqual([Object.keys(dimensions)]);
    expect(directive?.Metrics.map((m) => m.Name)).toContain(alarm.MetricName);
    expect(typeof doc[alarm.MetricName as string]).toBe('number');
    expect({ Cluster: doc.Cluster, Task: doc.Task }).toEqual(dimensions);
  };
  /** Actions on the bucket itself: listings and settings, never object data. */
  const BUCKET_ACTIONS = [
    's3:ListBucket',
    's3:ListBucketVersions',
    's3:ListBucketMultipartUploads',
    's3:GetBucketVersioning',
    's3:GetBucketObjectLockConfiguration',
  ];

  it('runs offline, without credentials, and leaves one zip per function and the templates in .serverless/', async () => {
    const files = await readdir(join(root, '.serverless'));
    expect(files).toEqual(
      expect.arrayContaining([
        'cloudformation-template-create-stack.json',
        'cloudformation-template-update-stack.json',
        ...tasks.map((t) => `${t}.zip`),
      ]),
    );
    expect(conditions).toEqual({
      HasSsmSecrets: true,
      InVpc: true,
      HasBucketKey: true,
      HasSseKmsKey: true,
      UsesImmutability: true,
      HasSnapshotAlarm: true,
      CreateAlarmTopic: false,
      HasAlarmTopic: true,
      HasVerifiedAlarm: true,
      ReuploadScheduled: false,
      IsFleet: false,
      IsSingle: true,
      FleetFileInS3: false,
      FleetFileInSsm: false,
      FleetReuploadScheduled: false,
      HasFleetSsmSecrets: false,
    });
  });

  it('deploys one function per functions/<task>/ folder, each zip holding its bundle and the etcd3 protos only', async () => {
    expect(tasks).toEqual(expect.arrayContaining(['snapshot', 'list']));
    for (const task of tasks) {
      const props = fn(task).Properties;
      expect(props).toMatchObject({
        Handler: `dist/functions/${task}/aws/index.handler`,
        Runtime: 'nodejs24.x',
        FunctionName: `etcd-backup-${STAGE}-${task}`,
      });
      const entries = zipEntries(await readFile(join(root, '.serverless', `${task}.zip`)));
      expect(entries).toEqual(
        expect.arrayContaining([`dist/functions/${task}/aws/index.mjs`, `dist/functions/${task}/aws/proto/rpc.proto`]),
      );
      for (const entry of entries) expect(entry.startsWith(`dist/functions/${task}/aws/`)).toBe(true);
    }
    const functions = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([name]) => name);
    expect(functions.sort()).toEqual(tasks.map((t) => `${capitalized(t)}LambdaFunction`).sort());
  });

  it('schedules the periodic tasks from the parameters; exclude and restore run by hand; reupload waits for immutability', () => {
    const schedules: Record<string, { expression: unknown; state: unknown }> = {};
    for (const { target, expression, state } of scheduleRules()) schedules[target] = { expression, state };
    expect(schedules).toEqual({
      SnapshotLambdaFunction: { expression: 'rate(30 minutes)', state: 'ENABLED' },
      ListLambdaFunction: { expression: 'rate(1 hour)', state: 'ENABLED' },
      StatusLambdaFunction: { expression: 'rate(1 hour)', state: 'ENABLED' },
      VerifyLambdaFunction: { expression: 'rate(1 day)', state: 'ENABLED' },
      PruneLambdaFunction: { expression: 'rate(1 day)', state: 'ENABLED' },
      ReuploadLambdaFunction: { expression: 'rate(1 day)', state: 'DISABLED' },
    });
  });

  it('gives each function a timeout and memory for its work, and no automatic retry of a failed run', () => {
    expect(fn('snapshot').Properties).toMatchObject({ Timeout: 900, MemorySize: 1769 });
    expect(fn('list').Properties.MemorySize).toBe(256);
    for (const task of tasks) expect(fn(task).Properties.Timeout).toBeLessThanOrEqual(900);
    const retries = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig');
    expect(retries).toHaveLength(tasks.length);
    for (const r of retries) expect(r.Properties.MaximumRetryAttempts).toBe(0);
  });

  it('sets the environment from the parameters: etcd settings only for snapshot, and never a secret value', () => {
    for (const task of tasks) {
      const env = (fn(task).Properties.Environment as { Variables: Record<string, string> }).Variables;
      expect(env).toMatchObject({
        BACKUP_URL: `s3://${PARAMS.bucket}/${PARAMS.prefix}`,
        CLUSTER_NAME: PARAMS.clusterName,
        IMMUTABILITY: 'object',
        IMMUTABILITY_PERIOD: '30d',
        S3_SSE: 'aws:kms',
        S3_SSE_KMS_KEY_ID: PARAMS.s3SseKmsKeyArn,
      });
      expect(env.NODE_OPTIONS?.split(' ')).toContain('--max-semi-space-size=1');
      expect(env.MALLOC_ARENA_MAX).toBe('2');
      if (task === 'snapshot')
        expect(env).toMatchObject({
          ETCD_ENDPOINTS: PARAMS.etcdEndpoints,
          ETCD_USERNAME: 'backup',
          SSM_SECRETS_PATH: PARAMS.ssmSecretsPath,
          SNAPSHOT_COMPRESSION: 'gzip',
        });
      else expect(Object.keys(env).filter((k) => k.startsWith('ETCD_') || k.startsWith('SSM_') || k.startsWith('SNAPSHOT_'))).toEqual([]);
      // status judges the age by the same threshold as the snapshot-too-old alarm.
      expect(env.STATUS_MAX_AGE).toBe(task === 'status' ? `${PARAMS.maxSnapshotAgeSeconds}s` : undefined);
    }
    // Secrets are read by the function at run time: no secret setting is in the template at all.
    for (const secret of ['ETCD_PASSWORD', 'ETCD_KEY_FILE', 'PRIVATE KEY']) expect(JSON.stringify(template)).not.toContain(secret);
  });

  it('gives every function a role of its own, assumable by Lambda only (no shared default role)', () => {
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
    const roles = tasks.map((t) => fn(t).Properties.Role);
    for (const [i, task] of tasks.entries()) expect(roles[i]).toEqual({ 'Fn::GetAtt': [`${capitalized(task)}Role`, 'Arn'] });
    for (const task of ROLE_TASKS) {
      expect(resolved(`${capitalized(task)}Role`).AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      });
    }
  });

  it('scopes every S3 permission to the cluster prefix, with no wildcard action and no governance bypass', () => {
    for (const task of ROLE_TASKS) {
      for (const s of statements(task)) {
        expect(s.Effect).toBe('Allow');
        for (const action of list(s.Action)) expect(action).toMatch(/^(s3|logs|ssm|kms):[A-Za-z]+$/);
        for (const r of list(s.Resource)) expect(r).not.toBe('*');
        const s3 = list(s.Action).filter((a) => a.startsWith('s3:'));
        if (s3.length === 0) continue;
        const objectLevel = s3.filter((a) => !BUCKET_ACTIONS.includes(a));
        // One statement is either about the bucket (listing, lock settings) or about objects, never both.
        if (objectLevel.length > 0) for (const r of list(s.Resource)) expect(r.startsWith(OBJECTS), `${task} ${r}`).toBe(true);
        else for (const r of list(s.Resource)) expect(r).toBe(BUCKET);
        // Object listings only under the cluster's prefix.
        if (s3.includes('s3:ListBucket') || s3.includes('s3:ListBucketVersions'))
          expect(s.Condition).toEqual({ StringLike: { 's3:prefix': `${PARAMS.prefix}/${PARAMS.clusterName}/*` } });
      }
      expect(actionsOf(task)).not.toContain('s3:BypassGovernanceRetention');
      // Its own log group only.
      expect(resourcesFor(task, 'logs:PutLogEvents')).toEqual([
        `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/etcd-backup-${STAGE}-${task}:*`,
      ]);
    }
  });

  it('snapshot creates snapshots and manifests, and can neither delete, list objects, nor tag', () => {
    const actions = actionsOf('snapshot');
    for (const denied of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:ListBucket', 's3:ListBucketVersions', 's3:PutObjectTagging'])
      expect(actions).not.toContain(denied);
    expect(resourcesFor('snapshot', 's3:PutObject')).toEqual([...SNAPSHOT_OBJECTS, `${OBJECTS}*.manifest.json`]);
    for (const multipart of ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts'])
      expect(resourcesFor('snapshot', multipart)).toEqual([...SNAPSHOT_OBJECTS, `${OBJECTS}*.manifest.json`]);
    // The etcd credentials: exactly the SSM path, and only this role.
    expect(resourcesFor('snapshot', 'ssm:GetParametersByPath')).toEqual([
      `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${PARAMS.ssmSecretsPath}`,
    ]);
    for (const task of ROLE_TASKS.filter((t) => t !== 'snapshot')) expect(actionsOf(task).filter((a) => a.startsWith('ssm:'))).toEqual([]);
  });

  it('prune lists and deletes every version, and cannot write', () => {
    const actions = actionsOf('prune');
    expect(actions).toEqual(
      expect.arrayContaining([
        's3:ListBucket',
        's3:ListBucketVersions',
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:GetObjectRetention',
        's3:GetObjectTagging',
      ]),
    );
    expect(actions.filter((a) => a.startsWith('s3:Put'))).toEqual([]);
  });

  it('verify writes its verification records and nothing else; list, status and restore only read; exclude only tags', () => {
    expect(resourcesFor('verify', 's3:PutObject')).toEqual([`${OBJECTS}*.verify-*.json`]);
    expect(actionsOf('verify').filter((a) => /^s3:(Put|Delete)/.test(a))).toEqual(['s3:PutObject']);
    for (const task of ['list', 'status', 'restore'])
      for (const a of actionsOf(task).filter((a) => a.startsWith('s3:'))) expect(a).toMatch(/^s3:(Get|List)/);
    for (const task of ['list', 'status'])
      expect(actionsOf(task)).toEqual(
        expect.arrayContaining(['s3:ListBucket', 's3:GetObject', 's3:GetObjectTagging', 's3:GetObjectRetention']),
      );
    expect(actionsOf('exclude').filter((a) => /^s3:(Put|Delete)/.test(a))).toEqual(['s3:PutObjectTagging']);
    expect(resourcesFor('exclude', 's3:PutObjectTagging')).toEqual(SNAPSHOT_OBJECTS);
  });

  it('reupload copies and lengthens retention, and cannot delete', () => {
    const actions = actionsOf('reupload');
    expect(actions).toEqual(
      expect.arrayContaining([
        's3:GetObject',
        's3:PutObject',
        's3:GetObjectTagging',
        's3:PutObjectTagging',
        's3:GetObjectRetention',
        's3:PutObjectRetention',
      ]),
    );
    expect(actions.filter((a) => a.startsWith('s3:Delete'))).toEqual([]);
    expect(resourcesFor('reupload', 's3:PutObject')).toEqual([...SNAPSHOT_OBJECTS, `${OBJECTS}*.manifest.json`]);
  });

  it('grants retention, the SSM path, the KMS key and the VPC only when their parameter is set', () => {
    const off = { HasSsmSecrets: false, InVpc: false, HasBucketKey: false, HasSseKmsKey: false, UsesImmutability: false };
    expect(statements('snapshot', off).map((s) => s.Sid)).toEqual(['Logs', 'CreateSnapshots', 'FindLeftoverUploads']);
    expect(resolved('SnapshotRole', off).ManagedPolicyArns).toEqual([]);
    expect(resolved('SnapshotLambdaFunction', off).VpcConfig).toBeUndefined();
    for (const task of ROLE_TASKS)
      expect(actionsOf(task, off).filter((a) => a.startsWith('kms:') || (a.startsWith('s3:Put') && a.endsWith('Retention')))).toEqual([]);

    // With them set: the KMS key, and the VPC for snapshot alone (the only task that talks to etcd).
    for (const task of ROLE_TASKS)
      expect(resourcesFor(task, 'kms:Decrypt')).toEqual(
        task === 'exclude' ? [PARAMS.bucketKmsKeyArn] : [PARAMS.bucketKmsKeyArn, PARAMS.s3SseKmsKeyArn],
      );
    expect(resolved('SnapshotLambdaFunction').VpcConfig).toEqual({
      SubnetIds: PARAMS.vpcSubnetIds.split(','),
      SecurityGroupIds: [PARAMS.vpcSecurityGroupIds],
    });
    expect(resolved('SnapshotRole').ManagedPolicyArns).toEqual(['arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole']);
    for (const task of tasks.filter((t) => t !== 'snapshot')) expect(fn(task).Properties.VpcConfig).toBeUndefined();
  });

  it('grants the S3_SSE_KMS_KEY_ID key through S3 only, as each task needs it: a data key to write, Decrypt to read', () => {
    const sse = (task: string) => statements(task).filter((s) => list(s.Resource).includes(PARAMS.s3SseKmsKeyArn));
    const writers = ['snapshot', 'verify', 'reupload'];
    const readers = ['list', 'status', 'prune', 'restore'];
    for (const task of [...writers, ...readers]) {
      const [grant, ...more] = sse(task);
      expect(more, task).toEqual([]);
      expect(list(grant?.Resource ?? [])).toEqual([PARAMS.s3SseKmsKeyArn]);
      expect(grant?.Condition).toEqual({ StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } });
      expect(list(grant?.Action ?? []).sort(), task).toEqual(
        writers.includes(task) ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
      );
    }
    // exclude only tags: it reads no object data and needs no key.
    expect(sse('exclude')).toEqual([]);
    // Without the parameter: no grant on it, whatever else is set.
    for (const task of ROLE_TASKS)
      expect(statements(task, { HasSseKmsKey: false }).filter((s) => list(s.Resource).includes(PARAMS.s3SseKmsKeyArn))).toEqual([]);
  });

  it('alarms when no good snapshot run wrote its metric within the window, watching what the function emits', () => {
    const alarm = resolved('NoRecentSnapshotAlarm');
    expect(resource('NoRecentSnapshotAlarm').Condition).toBe('HasSnapshotAlarm');
    expect(alarm).toMatchObject({
      Namespace: 'EtcdBackup',
      MetricName: 'SnapshotAgeSeconds',
      Statistic: 'SampleCount',
      EvaluationPeriods: 1,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      AlarmActions: [PARAMS.alarmTopicArn],
      OKActions: [PARAMS.alarmTopicArn],
    });
    // A parameter given on the command line is text; CloudFormation takes "21600" for an integer.
    expect(Number(alarm.Period)).toBe(21600);
    const dimensions = Object.fromEntries((alarm.Dimensions as { Name: string; Value: string }[]).map((d) => [d.Name, d.Value]));
    expect(dimensions).toEqual({ Cluster: PARAMS.clusterName, Task: 'snapshot' });
    // The function's EMF line for a good snapshot carries that metric with those dimensions; a failed run does not.
    const good = emfDocument(PARAMS.clusterName, { task: 'snapshot', ok: true, durationMs: 1, result: { size: 1 } });
    const directive = (good._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] })
      .CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe(alarm.Namespace);
    expect(directive?.Dimensions).toEqual([Object.keys(dimensions)]);
    expect(directive?.Metrics.map((m) => m.Name)).toContain(alarm.MetricName);
    expect({ Cluster: good.Cluster, Task: good.Task }).toEqual(dimensions);
    expect(emfDocument(PARAMS.clusterName, { task: 'snapshot', ok: false, durationMs: 1 })).not.toHaveProperty(alarm.MetricName as string);
  });

  const ALARM_ACTIONS = { AlarmActions: [PARAMS.alarmTopicArn], OKActions: [PARAMS.alarmTopicArn] };
  const now = new Date('2026-11-22T12:00:00.000Z');

  it("alarms on every task's failures: a failed run, or no run of a scheduled task within a window longer than its schedule", () => {
    const rules = scheduleRules();
    const seconds = { minute: 60, minutes: 60, hour: 3600, hours: 3600, day: 86400, days: 86400 } as Record<string, number>;
    for (const task of tasks) {
      const name = `${capitalized(task)}FailuresAlarm`;
      const alarm = resolved(name);
      expect(alarm, task).toMatchObject({
        Namespace: 'EtcdBackup',
        MetricName: 'Failures',
        Statistic: 'Maximum',
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        ...ALARM_ACTIONS,
      });
      expect(dimensionsOf(alarm)).toEqual({ Cluster: PARAMS.clusterName, Task: task });
      expectWatches(alarm, emfDocument(PARAMS.clusterName, { task: task as TaskName, ok: false, durationMs: 1 }, now));
      const rule = rules.find((r) => r.target === `${capitalized(task)}LambdaFunction`);
      if (!rule) {
        // Run by hand: no run is no failure.
        expect(alarm.TreatMissingData, task).toBe('notBreaching');
        continue;
      }
      // A scheduled task that did not run is as bad as one that failed.
      expect(alarm.TreatMissingData, task).toBe('breaching');
      const [, count, unit] = /^rate\((\d+) (\w+)\)$/.exec(rule.expression) ?? [];
      const interval = Number(count) * (seconds[unit ?? ''] ?? Number.NaN);
      const period = Number(alarm.Period);
      expect(period, task).toBeGreaterThan(interval);
      expect(period % 3600, task).toBe(0);
      expect(period, task).toBeLessThanOrEqual(604800);
    }
    // reupload's alarm exists only when its schedule is enabled.
    expect(resource('ReuploadFailuresAlarm').Condition).toBe('ReuploadScheduled');
    expect(rules.find((r) => r.target === 'ReuploadLambdaFunction')?.state).toBe('DISABLED');
    expect(conditions.ReuploadScheduled).toBe(false);
  });

  it('alarms when verify finds a damaged snapshot, or verifies none within its window', () => {
    const alarm = resolved('SnapshotDamagedAlarm');
    expect(alarm).toMatchObject({
      Namespace: 'EtcdBackup',
      MetricName: 'SnapshotDamaged',
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      ...ALARM_ACTIONS,
    });
    expect(Number(alarm.Period)).toBe(Number(resolved('VerifyFailuresAlarm').Period));
    const damaged = emfDocument(PARAMS.clusterName, { task: 'verify', ok: false, durationMs: 1, result: { ok: false } }, now);
    expectWatches(alarm, damaged);
    expect(damaged.SnapshotDamaged).toBe(1);
    expect(emfDocument(PARAMS.clusterName, { task: 'verify', ok: true, durationMs: 1, result: { ok: true } }, now).SnapshotDamaged).toBe(0);
    // A verify that could not read the snapshot found no damage: it counts as a failure only.
    expect(emfDocument(PARAMS.clusterName, { task: 'verify', ok: false, durationMs: 1 }, now)).not.toHaveProperty('SnapshotDamaged');
  });

  it('alarms on the age of the newest good and the newest verified snapshot, as the status runs report them', () => {
    const newestGood = { key: 'c/b.db', time: '2026-11-22T11:00:00.000Z', ageSeconds: 3600 };
    const newestVerified = { key: 'c/a.db', time: '2026-11-22T06:00:00.000Z', ageSeconds: 21600 };
    const result = { ok: true, newestGood, newestVerified, problems: [] };
    const status = emfDocument(PARAMS.clusterName, { task: 'status', ok: true, durationMs: 1, result }, now);
    expect(status).toMatchObject({ SnapshotAgeSeconds: 3600, VerifiedSnapshotAgeSeconds: 21600, StatusNotOk: 0 });
    for (const [name, metric, threshold, condition] of [
      ['SnapshotAgeAlarm', 'SnapshotAgeSeconds', PARAMS.maxSnapshotAgeSeconds, 'HasSnapshotAlarm'],
      ['VerifiedSnapshotAgeAlarm', 'VerifiedSnapshotAgeSeconds', '172800', 'HasVerifiedAlarm'],
    ] as const) {
      const alarm = resolved(name);
      expect(resource(name).Condition).toBe(condition);
      expect(alarm, name).toMatchObject({
        MetricName: metric,
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'breaching',
        ...ALARM_ACTIONS,
      });
      expect(Number(alarm.Threshold)).toBe(Number(threshold));
      // Reported at least once per window: the status schedule is hourly, the window two hours.
      expect(Number(alarm.Period)).toBe(7200);
      expectWatches(alarm, status);
    }
    // A stale backup: the ages still reported (the age alarm fires), and the status run fails (its own alarm).
    const stale = { ...result, ok: false, newestGood: { ...newestGood, ageSeconds: 30000 }, problems: [{ kind: 'stale', message: '' }] };
    const staleDoc = emfDocument(PARAMS.clusterName, { task: 'status', ok: false, durationMs: 1, result: stale }, now);
    expect(staleDoc).toMatchObject({ SnapshotAgeSeconds: 30000, Failures: 1, StatusNotOk: 1 });
    expectWatches(resolved('StatusFailuresAlarm'), staleDoc);
    // No verified snapshot at all: no data, which the alarm treats as breaching.
    const unverified = emfDocument(
      PARAMS.clusterName,
      { task: 'status', ok: true, durationMs: 1, result: { ...result, newestVerified: null } },
      now,
    );
    expect(unverified).not.toHaveProperty('VerifiedSnapshotAgeSeconds');
  });

  it('every alarm treats missing data as breaching, except the failure alarms of tasks run by hand', () => {
    // The single-cluster stack's alarms (the fleet's own are checked with the fleet stack, below).
    const alarms = Object.entries(template.Resources).filter(
      ([name, r]) => r.Type === 'AWS::CloudWatch::Alarm' && !name.endsWith('FleetExecutionsFailedAlarm'),
    );
    expect(alarms.length).toBe(tasks.length + 4);
    for (const [name, r] of alarms) {
      const manual = name === 'ExcludeFailuresAlarm' || name === 'RestoreFailuresAlarm';
      expect(r.Properties.TreatMissingData, name).toBe(manual ? 'notBreaching' : 'breaching');
      expect(resolved(name), name).toMatchObject(ALARM_ACTIONS);
    }
  });

  it('creates an SNS topic for the alarms when alarmTopicArn is empty, and none when one is given', () => {
    // Given: no topic is created, and the stack output names the given one.
    expect(resource('AlarmTopic')).toMatchObject({ Type: 'AWS::SNS::Topic', Condition: 'CreateAlarmTopic' });
    expect(conditions.CreateAlarmTopic).toBe(false);
    expect(evaluate(template.Outputs.AlarmTopicArn?.Value, conditions)).toBe(PARAMS.alarmTopicArn);
    // The two conditions are each other's negation for any value of the parameter.
    expect(template.Conditions.HasAlarmTopic).toEqual({ 'Fn::Not': [template.Conditions.CreateAlarmTopic] });
    // Empty: every alarm notifies the created topic, which the output names.
    const none = { HasAlarmTopic: false, CreateAlarmTopic: true };
    expect(resolved('AlarmTopic', none).TopicName).toBe(`etcd-backup-${STAGE}-alarms`);
    for (const [name] of Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm'))
      expect(resolved(name, none), name).toMatchObject({ AlarmActions: [{ Ref: 'AlarmTopic' }], OKActions: [{ Ref: 'AlarmTopic' }] });
    expect(evaluate(template.Outputs.AlarmTopicArn?.Value, none)).toEqual({ Ref: 'AlarmTopic' });
  });
});

describe('npm run package:aws with fleetFile: one stack for the fleet', () => {
  const SCHEDULED = ['snapshot', 'list', 'status', 'verify', 'prune', 'reupload'];
  const FLEET = {
    ...PARAMS,
    clusterName: '*',
    fleetFile: 's3://acme-etcd-fleet/prod/fleet.json',
    fleetConcurrency: '25',
    fleetSsmSecretsPath: '/etcd-backup/fleet',
  };
  const templates: Record<'s3' | 'ssm', Template> = {} as never;
  let fleetTemplate: Template;
  let fleetConditions: Record<string, boolean>;

  beforeAll(async () => {
    // One after the other: each run rebuilds dist/.
    templates.s3 = await packageAws(FLEET, await mkdtemp(join(tmpdir(), 'package-fleet-s3-')));
    templates.ssm = await packageAws(
      { ...FLEET, fleetFile: 'ssm:/etcd-backup/fleet' },
      await mkdtemp(join(tmpdir(), 'package-fleet-ssm-')),
    );
    fleetTemplate = templates.s3;
    fleetConditions = conditionsOf(fleetTemplate);
  });

  const fleetResolved = (name: string, t: Template = fleetTemplate) => {
    const r = t.Resources[name];
    if (!r) throw new Error(`no resource ${name} in the fleet template`);
    return evaluate(r.Properties, conditionsOf(t)) as Json;
  };
  const policy = (role: string, t: Template = fleetTemplate): Statement[] =>
    (fleetResolved(role, t).Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((p) => p.PolicyDocument.Statement);

  it('switches from the per-function schedules to one state machine per scheduled task, started by its own schedule', async () => {
    expect(fleetConditions).toMatchObject({ IsFleet: true, IsSingle: false, FleetFileInS3: true, FleetFileInSsm: false });
    const asl = JSON.parse(await readFile(join(root, 'deploy/aws/fleet.asl.json'), 'utf8')) as unknown;
    for (const task of SCHEDULED) {
      const C = capitalized(task);
      // The single-cluster schedule and its permission exist only without a fleet file.
      expect(fleetTemplate.Resources[`${C}EventsRuleSchedule1`]?.Condition, task).toBe('IsSingle');
      expect(fleetTemplate.Resources[`${C}LambdaPermissionEventsRuleSchedule1`]?.Condition, task).toBe('IsSingle');
      const machine = fleetTemplate.Resources[`${C}FleetStateMachine`];
      expect(machine?.Condition).toBe('IsFleet');
      expect(machine?.Properties.Definition).toEqual(asl);
      expect(machine?.Properties.DefinitionSubstitutions).toEqual({ TaskFunctionArn: { 'Fn::GetAtt': [`${C}LambdaFunction`, 'Arn'] } });
      const schedule = fleetResolved(`${C}FleetSchedule`);
      expect(fleetTemplate.Resources[`${C}FleetSchedule`]?.Condition).toBe(task === 'reupload' ? 'FleetReuploadScheduled' : 'IsFleet');
      expect(schedule.ScheduleExpression).toBe(
        task === 'snapshot'
          ? PARAMS.snapshotSchedule
          : task === 'verify' || task === 'prune' || task === 'reupload'
            ? 'rate(1 day)'
            : 'rate(1 hour)',
      );
      const target = schedule.Target as { Arn: unknown; RoleArn: unknown; Input: string };
      expect(target.Arn).toEqual({ Ref: `${C}FleetStateMachine` });
      expect(target.RoleArn).toEqual({ 'Fn::GetAtt': ['FleetScheduleRole', 'Arn'] });
      // What the definition reads: the task's arguments and the Map's MaxConcurrencyPath.
      expect(JSON.parse(target.Input)).toEqual({ args: {}, concurrency: 25 });
    }
    // Reupload's schedule waits for immutability, as on a single cluster.
    expect(fleetConditions.FleetReuploadScheduled).toBe(false);
    // Every function serves the fleet file.
    for (const task of ROLE_TASKS_ALL)
      expect((fleetResolved(`${capitalized(task)}LambdaFunction`).Environment as { Variables: Json }).Variables.FLEET_FILE).toBe(
        FLEET.fleetFile,
      );
  });

  it('lets the state machines invoke exactly the scheduled functions, and the schedules start exactly the state machines', () => {
    expect(policy('FleetStateMachineRole')).toEqual([
      {
        Sid: 'InvokeTaskFunctions',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: SCHEDULED.map((t) => ({ 'Fn::GetAtt': [`${capitalized(t)}LambdaFunction`, 'Arn'] })),
      },
    ]);
    expect(policy('FleetScheduleRole')).toEqual([
      {
        Sid: 'StartFleetExecutions',
        Effect: 'Allow',
        Action: 'states:StartExecution',
        Resource: SCHEDULED.map((t) => ({ Ref: `${capitalized(t)}FleetStateMachine` })),
      },
    ]);
    const trust = (role: string) =>
      (fleetResolved(role).AssumeRolePolicyDocument as { Statement: { Principal: { Service: string }; Condition: Json }[] }).Statement;
    expect(trust('FleetStateMachineRole').map((s) => s.Principal.Service)).toEqual(['states.amazonaws.com']);
    expect(trust('FleetScheduleRole').map((s) => s.Principal.Service)).toEqual(['scheduler.amazonaws.com']);
    for (const role of ['FleetStateMachineRole', 'FleetScheduleRole'])
      expect(trust(role)[0]?.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
  });

  it("lets each task's role read the fleet file and nothing else of its bucket or parameter tree; objects of every cluster under the prefix", () => {
    for (const task of ROLE_TASKS_ALL) {
      const role = `${capitalized(task)}Role`;
      const s3 = policy(role, templates.s3).filter((s) => s.Sid === 'ReadFleetFile');
      expect(s3, task).toEqual([
        { Sid: 'ReadFleetFile', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::acme-etcd-fleet/prod/fleet.json' },
      ]);
      const ssm = policy(role, templates.ssm).filter((s) => s.Sid === 'ReadFleetFile');
      expect(ssm, task).toEqual([
        {
          Sid: 'ReadFleetFile',
          Effect: 'Allow',
          Action: 'ssm:GetParameter',
          Resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/etcd-backup/fleet`,
        },
      ]);
      // The clusters' etcd credentials: under fleetSsmSecretsPath, for snapshot alone (the only task that talks to etcd).
      expect(
        policy(role).filter((s) => s.Sid === 'FleetEtcdCredentials'),
        task,
      ).toEqual(
        task === 'snapshot'
          ? [
              {
                Sid: 'FleetEtcdCredentials',
                Effect: 'Allow',
                Action: 'ssm:GetParametersByPath',
                Resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/etcd-backup/fleet/*`,
              },
            ]
          : [],
      );
      // The objects: every cluster's, under the prefix (one function serves them all), as on a single cluster otherwise.
      const objects = policy(role)
        .flatMap((s) => list(s.Resource))
        .filter((r) => typeof r === 'string' && r.startsWith(`${BUCKET}/`));
      for (const r of objects) expect(r, task).toMatch(new RegExp(`^${BUCKET}/${PARAMS.prefix}/\\*/`));
    }
  });

  it("alarms on each task across the fleet's clusters, on the series the functions add on a fleet, and on failed executions", () => {
    for (const task of SCHEDULED) {
      const C = capitalized(task);
      const failures = fleetResolved(`${C}FailuresAlarm`);
      expect(dimensionsOf(failures)).toEqual({ Task: task });
      // The EMF line of a fleet run carries the per-task dimension set the alarm reads; a single cluster's does not.
      const line = emfDocument('prod-a', { task: task as TaskName, ok: false, durationMs: 1 }, new Date(), true);
      const directive = (line._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0];
      expect(directive?.Dimensions).toEqual([['Cluster', 'Task'], ['Task']]);
      expect(line).toMatchObject({ Cluster: 'prod-a', Task: task, Failures: 1 });
      const single = emfDocument('prod-a', { task: task as TaskName, ok: false, durationMs: 1 }, new Date());
      expect((single._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]?.Dimensions).toEqual([
        ['Cluster', 'Task'],
      ]);

      const executions = fleetResolved(`${C}FleetExecutionsFailedAlarm`);
      expect(executions).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsFailed',
        Statistic: 'Sum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [PARAMS.alarmTopicArn],
      });
      expect(executions.Dimensions).toEqual([{ Name: 'StateMachineArn', Value: { Ref: `${C}FleetStateMachine` } }]);
      expect(Number(executions.Period)).toBe(Number(failures.Period));
    }
    // Staleness: the age alarms read the oldest cluster's newest snapshot, as the status runs report them.
    for (const name of ['SnapshotAgeAlarm', 'VerifiedSnapshotAgeAlarm', 'NoRecentSnapshotAlarm'])
      expect(Object.keys(dimensionsOf(fleetResolved(name))), name).toEqual(['Task']);
  });
});
