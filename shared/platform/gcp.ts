import * as functions from '@google-cloud/functions-framework';
import { settingsFromEnv } from '../config/config.js';
import { describeError, formatError } from '../errors.js';
import { createLogger } from '../log.js';
import { redactSecrets } from '../redact.js';
import type { TaskName, TaskOutcome } from '../tasks/index.js';
import { payloadFromPubSub } from './event.js';
import { isClusterListing, listFleetClusters } from './fleet-entry.js';
import { functionTimeoutMs } from './function-timeout.js';
import { invoke } from './invocation.js';
import { cloudLoggingMetrics } from './metrics.js';

const CLOUD_FUNCTIONS_DEADLINE = {
  platform: 'Cloud Functions',
  hint: 'raise the function timeout (--timeout: at most 540 s for event-driven functions, 3600 s for HTTP) and FUNCTION_TIMEOUT with it, or its memory and CPU',
};

/**
 * The shared invocation: the result line, an abort ahead of the function timeout (which the platform does
 * not tell the function: FUNCTION_TIMEOUT or the deployed default), then one metrics line for Cloud
 * Logging. Every line goes to stdout, which Cloud Logging parses as structured JSON.
 */
function run(task: TaskName, payload: () => unknown): Promise<TaskOutcome> {
  return invoke({
    task,
    log: createLogger({ level: (process.env.LOG_LEVEL as never) ?? 'info', write: (line) => process.stdout.write(`${line}\n`) }),
    payload,
    settings: () => settingsFromEnv(),
    remainingMs: () => functionTimeoutMs(task),
    deadline: CLOUD_FUNCTIONS_DEADLINE,
    metricsLine: (cluster, outcome) => cloudLoggingMetrics(cluster, outcome),
  });
}

/** Bad input is the caller's to fix (400); a refusal by what was found conflicts with the state (409). */
function httpStatus(error: unknown): number {
  const code = describeError(error).code;
  return code === 'config' ? 400 : code === 'precondition' ? 409 : 500;
}

/**
 * Registers `<task>` (a CloudEvent function for Cloud Scheduler -> Pub/Sub) and `<task>Http` (an HTTP
 * function for manual runs). Cloud Logging reads the JSON lines written to stdout.
 */
export function registerCloudFunctions(task: TaskName): void {
  functions.cloudEvent(task, async (event: functions.CloudEvent<unknown>) => {
    const outcome = await run(task, () => payloadFromPubSub(event.data));
    // Throwing marks the execution failed (and lets Pub/Sub retry if the subscription asks for it); its
    // message, with the cause chain as on Lambda, is what the caller of the execution sees.
    if (!outcome.ok)
      throw new Error(redactSecrets(`${task} failed: ${outcome.error ? formatError(outcome.error) : 'see the result log line'}`));
  });
  functions.http(`${task}Http`, async (req, res) => {
    // The fleet workflow's first call (shared/platform/fleet-entry.ts).
    if (isClusterListing(req.body)) {
      const listing = await listFleetClusters(settingsFromEnv()).then(
        (list) => ({ status: 200, body: list as object }),
        (error: unknown) => ({ status: httpStatus(error), body: { ok: false, error: describeError(error) } }),
      );
      res
        .status(listing.status)
        .type('application/json')
        .send(redactSecrets(JSON.stringify(listing.body)));
      return;
    }
    const outcome = await run(task, () =>
      req.body && typeof req.body === 'object' && Object.keys(req.body).length === 0 ? undefined : req.body,
    );
    const body = outcome.result ?? { ok: false, error: describeError(outcome.error) };
    const status = outcome.ok ? 200 : httpStatus(outcome.error);
    res
      .status(status)
      .type('application/json')
      .send(redactSecrets(JSON.stringify(body)));
  });
}
