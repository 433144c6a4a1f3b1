import { ConfigError } from '../errors.js';
import type { TaskArgs } from '../tasks/index.js';

const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_VALUE_LENGTH = 1024;

/**
 * Task arguments from a trigger payload: an empty payload, a scheduler event (EventBridge / CloudWatch
 * Events, whose `detail` may carry arguments), or a plain JSON object of arguments for a manual run.
 * Values must be strings, numbers or booleans; unknown names are refused later by the task runner.
 */
export function argsFromPayload(payload: unknown): TaskArgs {
  if (payload === undefined || payload === null || payload === '') return {};
  if (typeof payload !== 'object' || Array.isArray(payload)) {
    throw new ConfigError(
      'event',
      `the payload must be a JSON object, got ${Array.isArray(payload) ? 'an array' : typeof payload}`,
      'send {} or an object of task arguments',
    );
  }
  if (JSON.stringify(payload).length > MAX_PAYLOAD_BYTES)
    throw new ConfigError('event', `the payload is larger than ${MAX_PAYLOAD_BYTES} bytes`);
  const record = payload as Record<string, unknown>;
  const scheduled = (record.source === 'aws.events' || record.source === 'aws.scheduler') && typeof record['detail-type'] === 'string';
  const source = scheduled ? (record.detail ?? {}) : record;
  if (typeof source !== 'object' || source === null || Array.isArray(source))
    throw new ConfigError('event.detail', 'must be a JSON object');
  const args: TaskArgs = {};
  for (const [name, value] of Object.entries(source)) {
    if (typeof value === 'boolean') args[name] = value;
    else if (typeof value === 'string' || typeof value === 'number') {
      const text = String(value);
      if (text.length > MAX_VALUE_LENGTH) throw new ConfigError(`event.${name}`, `is longer than ${MAX_VALUE_LENGTH} characters`);
      args[name] = text;
    } else {
      throw new ConfigError(`event.${name}`, `must be a string, number or boolean, got ${value === null ? 'null' : typeof value}`);
    }
  }
  return args;
}

/** Pub/Sub push messages carry the payload base64-encoded in message.data. */
export function payloadFromPubSub(data: unknown): unknown {
  const encoded = (data as { message?: { data?: unknown } } | undefined)?.message?.data;
  if (encoded === undefined || encoded === null || encoded === '') return undefined;
  if (typeof encoded !== 'string') throw new ConfigError('event.message.data', 'must be base64 text');
  const text = Buffer.from(encoded, 'base64').toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError('event.message.data', 'is not JSON', 'publish {} or an object of task arguments');
  }
}
