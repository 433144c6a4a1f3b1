import { paginateGetParametersByPath, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { settingsFromEnv, type SettingValues } from '../config/config.js';
import { SETTINGS } from '../config/settings.js';
import { BackupError, ConfigError, formatError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { redactSecrets } from '../redact.js';
import { type ResultOf, runTask, type TaskName, type TaskOutcome } from '../tasks/index.js';
import { argsFromPayload } from './event.js';
import { emfDocument } from './metrics.js';

/** Time kept back before the Lambda deadline to abort an upload cleanly and log why. */
const DEADLINE_MARGIN_MS = 15_000;

/** The settings SSM_SECRETS_PATH may supply: etcd credentials, nothing that moves the backups elsewhere. */
const SSM_SETTINGS = new Set(['ETCD_USERNAME', 'ETCD_PASSWORD', 'ETCD_CA_FILE', 'ETCD_CERT_FILE', 'ETCD_KEY_FILE']);

type LambdaContext = Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>;

/**
 * A signal that fires shortly before the Lambda deadline, with a reason that says so: the task aborts its
 * upload (leaving no object) and the result line explains why, instead of the runtime killing the
 * process mid-write. The margin is 15 s, or a quarter of the time left for very short timeouts.
 */
function deadlineSignal(remainingMs: number, log: Logger): { signal: AbortSignal; clear: () => void } {
  const margin = Math.min(DEADLINE_MARGIN_MS, Math.floor(remainingMs / 4));
  const controller = new AbortController();
  const timer = setTimeout(() => {
    log.warn('Lambda deadline near: aborting the task', { marginMs: margin });
    controller.abort(
      new BackupError(
        'aborted',
        `Lambda deadline: stopped ${margin} ms before the function timeout so the upload could be aborted cleanly`,
        {
          hint: 'raise the function timeout (at most 900 s) or its memory (more memory brings more CPU and network)',
        },
      ),
    );
  }, remainingMs - margin);
  // A frozen execution environment keeps its timers: one left over would fire in the next invocation.
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/**
 * etcd credentials from SSM Parameter Store, read at every invocation: the parameters directly under
 * SSM_SECRETS_PATH, named after the settings they supply (e.g. /etcd-backup/prod/ETCD_PASSWORD, a
 * SecureString). Unlike values resolved at deploy time they never appear in the function configuration
 * or the CloudFormation template, and a rotation needs no redeploy.
 */
async function settingsFromSsm(path: string, env: SettingValues): Promise<SettingValues> {
  const client = new SSMClient({});
  const base = path.replace(/\/+$/, '');
  const values: SettingValues = {};
  try {
    for await (const page of paginateGetParametersByPath({ client }, { Path: base, WithDecryption: true, Recursive: false })) {
      for (const parameter of page.Parameters ?? []) {
        const name = (parameter.Name ?? '').slice(base.length + 1);
        if (!SSM_SETTINGS.has(name))
          throw new ConfigError(
            'SSM_SECRETS_PATH',
            `parameter ${parameter.Name} names no setting it may supply`,
            `name parameters after ${[...SSM_SETTINGS].join(', ')}`,
          );
        if (env[name as keyof SettingValues])
          throw new ConfigError(name, `is set both in the environment and as ${parameter.Name}`, 'keep one of them');
        values[name as keyof SettingValues] = parameter.Value;
      }
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new BackupError('config', `SSM_SECRETS_PATH: cannot read the parameters under ${base}`, {
      cause: error,
      hint: 'check the path, and that the function role may ssm:GetParametersByPath on it (and kms:Decrypt with a customer managed key)',
    });
  } finally {
    client.destroy();
  }
  return values;
}

async function lambdaSettings(): Promise<SettingValues> {
  const env = settingsFromEnv();
  const path = process.env.SSM_SECRETS_PATH;
  return path ? { ...env, ...(await settingsFromSsm(path, env)) } : env;
}

/** CLUSTER_NAME as the run used it, for the metric dimension (also when the configuration was refused). */
function clusterName(): string {
  return process.env.CLUSTER_NAME || (SETTINGS.find((s) => s.env === 'CLUSTER_NAME')?.default ?? 'default');
}

/**
 * A thin Lambda handler: parse the trigger, run the task from the shared core, log one JSON result line,
 * then one EMF metrics line (stdout: Lambda sends stdout and stderr to CloudWatch Logs unchanged).
 * A failed task fails the invocation (so CloudWatch counts an error and alarms can fire).
 */
export function lambdaHandler<N extends TaskName>(task: N) {
  return async (event: unknown, context?: LambdaContext): Promise<ResultOf<N>> => {
    const started = Date.now();
    const log = createLogger({
      level: (process.env.LOG_LEVEL as never) ?? 'info',
      fields: context?.awsRequestId ? { requestId: context.awsRequestId } : {},
    });
    const deadline = context ? deadlineSignal(context.getRemainingTimeInMillis(), log) : undefined;
    let outcome: TaskOutcome<ResultOf<N>>;
    try {
      const args = argsFromPayload(event);
      const settings = await lambdaSettings();
      outcome = await runTask(task, settings, { args, log, ...(deadline ? { signal: deadline.signal } : {}) });
    } catch (error) {
      // The event or the secrets were refused before the task could start: the same result line.
      outcome = { task, ok: false, durationMs: Date.now() - started, error };
      log.error(`${task} failed`, { outcome: 'failure', task, cluster: clusterName(), durationMs: outcome.durationMs, error });
    } finally {
      deadline?.clear();
    }
    process.stdout.write(`${JSON.stringify(emfDocument(clusterName(), outcome))}\n`);
    if (!outcome.result || (!outcome.ok && outcome.error)) throw new Error(redactSecrets(formatError(outcome.error)));
    if (!outcome.ok) throw new Error(`${task} finished with problems: ${redactSecrets(JSON.stringify(outcome.result))}`);
    return outcome.result;
  };
}
