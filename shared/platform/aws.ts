import type { Context } from 'aws-lambda';
import { settingsFromEnv, type SettingValues } from '../config/config.js';
import { formatError } from '../errors.js';
import { settingsFromSsm } from '../fleet/ssm.js';
import { createLogger } from '../log.js';
import { redactSecrets } from '../redact.js';
import type { ResultOf, TaskName } from '../tasks/index.js';
import { type FleetClusterList, isClusterListing, listFleetClusters } from './fleet-entry.js';
import { invoke } from './invocation.js';
import { emfDocument } from './metrics.js';

type LambdaContext = Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>;

const LAMBDA_DEADLINE = {
  platform: 'Lambda',
  hint: 'raise the function timeout (at most 900 s) or its memory (more memory brings more CPU and network)',
};

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
    if (isClusterListing(event)) {
      try {
        return await listFleetClusters(await lambdaSettings());
      } catch (error) {
        log.error(`${task}: cannot list the fleet's clusters`, { error });
        throw new Error(redactSecrets(formatError(error)));
      }
    }
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
