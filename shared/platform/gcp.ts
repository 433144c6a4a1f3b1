import * as functions from '@google-cloud/functions-framework';
import { settingsFromEnv } from '../config/config.js';
import { describeError } from '../errors.js';
import { createLogger } from '../log.js';
import { redactSecrets } from '../redact.js';
import { runTask, type TaskName } from '../tasks/index.js';
import { argsFromPayload, payloadFromPubSub } from './event.js';

async function run(task: TaskName, payload: () => unknown) {
  const log = createLogger({ level: (process.env.LOG_LEVEL as never) ?? 'info', write: (line) => process.stdout.write(`${line}\n`) });
  try {
    return await runTask(task, settingsFromEnv(), { args: argsFromPayload(payload()), log });
  } catch (error) {
    log.error(`${task} failed`, { outcome: 'failure', error });
    return { task, ok: false, durationMs: 0, error };
  }
}

/**
 * Registers `<task>` (a CloudEvent function for Cloud Scheduler -> Pub/Sub) and `<task>Http` (an HTTP
 * function for manual runs). Cloud Logging reads the JSON lines written to stdout.
 */
export function registerCloudFunctions(task: TaskName): void {
  functions.cloudEvent(task, async (event: functions.CloudEvent<unknown>) => {
    const outcome = await run(task, () => payloadFromPubSub(event.data));
    // Throwing marks the execution failed (and lets Pub/Sub retry if the subscription asks for it).
    if (!outcome.ok)
      throw new Error(redactSecrets(`${task} failed: ${outcome.error ? describeError(outcome.error).message : 'see the result log line'}`));
  });
  functions.http(`${task}Http`, async (req, res) => {
    const outcome = await run(task, () =>
      req.body && typeof req.body === 'object' && Object.keys(req.body).length === 0 ? undefined : req.body,
    );
    const body = outcome.result ?? { ok: false, error: describeError(outcome.error) };
    const status = outcome.ok ? 200 : outcome.error && describeError(outcome.error).code === 'config' ? 400 : 500;
    res
      .status(status)
      .type('application/json')
      .send(redactSecrets(JSON.stringify(body)));
  });
}
