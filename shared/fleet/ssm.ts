import { GetParameterCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { SettingValues } from '../config/config.js';
import { SETTINGS } from '../config/settings.js';
import { BackupError, ConfigError } from '../errors.js';
import { SSM_SETTINGS } from './ssm-settings.js';

/**
 * The region of the process (AWS_REGION, which Lambda sets to the function's region; else the S3 client's
 * default), not a cluster's AWS_REGION setting: that is where its bucket is, and a bucket in another region
 * must not move where its secrets are read. The SDK sets no timeouts: an endpoint that stops answering
 * would hold the run (and in a fleet the cluster's slot) until a Lambda deadline, or forever on the CLI.
 */
function ssmClient(): SSMClient {
  return new SSMClient({
    region: process.env.AWS_REGION || (SETTINGS.find((s) => s.env === 'AWS_REGION')?.default ?? 'us-east-1'),
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 30_000 },
  });
}

/**
 * etcd credentials from SSM Parameter Store, read at every run: the parameters directly under `path`,
 * named after the settings they supply (e.g. /etcd-backup/prod/ETCD_PASSWORD, a SecureString). Unlike
 * values resolved at deploy time they never appear in a function's configuration, a template or a fleet
 * file, and a rotation needs no redeploy. `env` holds the settings already given: one given twice is refused.
 * A parameter that is wrong is a ConfigError; SSM not answering (throttled, access denied, unreachable) is
 * `secrets-unavailable`: the settings are fine, the run could not get its secrets this time.
 */
export async function settingsFromSsm(path: string, env: SettingValues, signal?: AbortSignal): Promise<SettingValues> {
  const client = ssmClient();
  const base = path.replace(/\/+$/, '');
  const values: SettingValues = {};
  try {
    let token: string | undefined;
    do {
      const page = await client.send(
        new GetParametersByPathCommand({ Path: base, WithDecryption: true, Recursive: false, ...(token ? { NextToken: token } : {}) }),
        signal ? { abortSignal: signal } : {},
      );
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
      token = page.NextToken;
    } while (token);
    // Nothing there is a mistake (a typo, another region), not a cluster without credentials: that has no path.
    if (Object.keys(values).length === 0)
      throw new ConfigError(
        'SSM_SECRETS_PATH',
        `there are no parameters under ${base}`,
        `check the path and the region (AWS_REGION of the process: the function's); name the parameters after ${[...SSM_SETTINGS].join(', ')}`,
      );
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if (signal?.aborted)
      throw new BackupError('aborted', `SSM_SECRETS_PATH: the read of the parameters under ${base} was interrupted`, { cause: error });
    throw new BackupError('secrets-unavailable', `SSM_SECRETS_PATH: cannot read the parameters under ${base}`, {
      cause: error,
      hint: 'check the path, and that the role may ssm:GetParametersByPath on it (and kms:Decrypt with a customer managed key); a throttled read is tried again at the next run',
    });
  } finally {
    client.destroy();
  }
  return values;
}

/** One parameter's value (decrypted when it is a SecureString): a fleet file kept in Parameter Store. */
export async function readSsmParameter(name: string, signal?: AbortSignal): Promise<string> {
  const client = ssmClient();
  try {
    const { Parameter } = await client.send(
      new GetParameterCommand({ Name: name, WithDecryption: true }),
      signal ? { abortSignal: signal } : {},
    );
    return Parameter?.Value ?? '';
  } finally {
    client.destroy();
  }
}
