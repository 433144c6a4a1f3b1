import type { Context } from 'aws-lambda';
import { settingsFromEnv } from '../config/config.js';
import { formatError } from '../errors.js';
import { createLogger } from '../log.js';
import { redactSecrets } from '../redact.js';
import { runTask, type TaskName } from '../tasks/index.js';
import { argsFromPayload } from './event.js';

/** Time kept back before the Lambda deadline to abort an upload cleanly and log why. */
const DEADLINE_MARGIN_MS = 15_000;

/**
 * A thin Lambda handler: parse the trigger, run the task from the shared core, log one JSON result line.
 * A failed task fails the invocation (so CloudWatch counts an error and alarms can fire).
 */
export function lambdaHandler(task: TaskName) {
  return async (event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>): Promise<Record<string, unknown>> => {
    const log = createLogger({ level: (process.env.LOG_LEVEL as never) ?? 'info', fields: context?.awsRequestId ? { requestId: context.awsRequestId } : {} });
    const remaining = context?.getRemainingTimeInMillis();
    const signal = remaining === undefined ? undefined : AbortSignal.timeout(Math.max(1000, remaining - DEADLINE_MARGIN_MS));
    let args;
    try {
      args = argsFromPayload(event);
    } catch (error) {
      log.error(`${task} failed`, { outcome: 'failure', error });
      throw new Error(redactSecrets(formatError(error)), { cause: error });
    }
    const outcome = await runTask(task, settingsFromEnv(), { args, log, ...(signal ? { signal } : {}) });
    if (!outcome.result || (!outcome.ok && outcome.error)) throw new Error(redactSecrets(formatError(outcome.error)));
    if (!outcome.ok) throw new Error(`${task} finished with problems: ${redactSecrets(JSON.stringify(outcome.result))}`);
    return outcome.result;
  };
}
