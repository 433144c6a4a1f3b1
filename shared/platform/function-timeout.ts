import { parseDuration } from '../config/units.js';
import { ConfigError } from '../errors.js';
import type { TaskName } from '../tasks/index.js';

/**
 * The `--timeout` each Cloud Functions function is deployed with in docs/deploy.md. The platform does not
 * tell a function its timeout (gen2 functions are Cloud Run services, whose environment carries only
 * FUNCTION_TARGET, FUNCTION_SIGNATURE_TYPE, K_SERVICE, K_REVISION, K_CONFIGURATION and PORT), so a function
 * deployed with another timeout says so in FUNCTION_TIMEOUT.
 */
export const DEPLOYED_TIMEOUTS: Readonly<Record<TaskName, string>> = {
  snapshot: '540s',
  verify: '540s',
  reupload: '540s',
  prune: '300s',
  list: '120s',
  status: '120s',
  exclude: '60s',
  restore: '3600s',
};

/** The function timeout of a Cloud Functions run, in ms: FUNCTION_TIMEOUT (a duration), else the deployed one. */
export function functionTimeoutMs(task: TaskName, env: NodeJS.ProcessEnv = process.env): number {
  const timeout = parseDuration('FUNCTION_TIMEOUT', env.FUNCTION_TIMEOUT || DEPLOYED_TIMEOUTS[task]);
  if (timeout <= 0)
    throw new ConfigError('FUNCTION_TIMEOUT', 'must be longer than 0', 'set it to the --timeout the function is deployed with');
  return timeout;
}
