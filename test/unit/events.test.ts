// Trigger payloads: the sample events parse, and bad payloads are refused with the field named.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.js';
import { argsFromPayload, payloadFromPubSub } from '../../shared/platform/event.js';

const sample = async (name: string) => JSON.parse(await readFile(new URL(`../../events/${name}`, import.meta.url), 'utf8')) as unknown;

describe('trigger payloads', () => {
  it('the sample events carry no arguments', async () => {
    expect(argsFromPayload(await sample('aws-schedule.json'))).toEqual({});
    expect(argsFromPayload(await sample('manual.json'))).toEqual({});
    const cloudEvent = (await sample('gcp-pubsub.json')) as { data: unknown };
    expect(argsFromPayload(payloadFromPubSub(cloudEvent.data))).toEqual({});
  });

  it('takes arguments from a plain object or a scheduled event detail', () => {
    expect(argsFromPayload({ key: 'c/x.db', dryRun: true, n: 3 })).toEqual({ key: 'c/x.db', dryRun: true, n: '3' });
    expect(argsFromPayload({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: { key: 'k' } })).toEqual({ key: 'k' });
    expect(argsFromPayload(payloadFromPubSub({ message: { data: Buffer.from('{"key":"k"}').toString('base64') } }))).toEqual({ key: 'k' });
  });

  it.each([
    [[1, 2], 'event'],
    ['text', 'event'],
    [{ key: { nested: true } }, 'event.key'],
    [{ key: null }, 'event.key'],
    [{ key: 'x'.repeat(2000) }, 'event.key'],
    [{ blob: 'x'.repeat(70_000) }, 'event'],
  ])('refuses %#', (payload, field) => {
    expect(() => argsFromPayload(payload)).toThrow(ConfigError);
    try {
      argsFromPayload(payload);
    } catch (error) {
      expect((error as ConfigError).setting).toBe(field);
    }
  });

  it('refuses Pub/Sub data that is not JSON', () => {
    expect(() => payloadFromPubSub({ message: { data: Buffer.from('not json').toString('base64') } })).toThrow(/event.message.data/);
  });
});
