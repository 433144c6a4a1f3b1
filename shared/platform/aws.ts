import { paginateGetParametersByPath, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { settingsFromEnv, type SettingValues } from '../config/config.js';
import { BackupError, ConfigError, formatError } from '../errors.js';
import { createLogger } from '../log.js';
import { redactSecrets } from '../redact.js';
import type { ResultOf, TaskName } from '../tasks/index.js';
import { type FleetClusterList, isClusterListing, listFleetClusters } from './fleet-entry.js';
import { invoke } from './invocation.js';
import { emfDocument } from './metrics.js';

/** The settings SSM_SECRETS_PATH may supply: etcd credentials, nothing that moves the backups elsewhere. */
const SSM_SETTINGS = new Set(['ETCD_USERNAME', 'ETCD_PASSWORD', 'ETCD_CA_FILE', 'ETCD_CERT_FILE', 'ETCD_KEY_FILE']);

type LambdaContext = Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>;

const LAMBDA_DEADLINE = {
  platform: 'Lambda',
  hint: 'raise the function timeout (at most 900 s) or its memory (more memory brings more CPU and network)',
};

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

/**
 * A thin Lambda handler: the shared invocation (result line, deadline abort), then one EMF metrics line
 * (stdout: Lambda sends stdout and stderr to CloudWatch Logs unchanged). A failed task fails the
 * invocation (so CloudWatch counts an error and alarms can fire).
 */
export function lambdaHandler<N extends TaskName>(task: N) {
  return async (event: unknown, context?: LambdaContext): Promise<ResultOf<N> | FleetClusterList> => {
    const log = createLogger({
      level: (process.env.LOG_LEVEL as never) ?? 'info',
      fields: context?.awsRequestId ? { requestId: context.awsRequestId } : {},
    });
    // The fleet state machine's first state (shared/platform/fleet-entry.ts).
    if (isClusterListing(event)) return listFleetClusters(await lambdaSettings());
    const outcome = await invoke({
      task,
      log,
      payload: () => event,
      settings: lambdaSettings,
      remainingMs: () => context?.getRemainingTimeInMillis(),
      deadline: LAMBDA_DEADLINE,
      metricsLine: (cluster, outcome, fleet) => emfDocument(cluster, outcome, new Date(), fleet),
    });
    if (!outcome.result || (!outcome.ok && outcome.error)) throw new Error(redactSecrets(formatError(outcome.error)));
    if (!outcome.ok) throw new Error(`${task} finished with problems: ${redactSecrets(JSON.stringify(outcome.result))}`);
    return outcome.result;
  };
}
