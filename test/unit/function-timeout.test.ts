// Cloud Functions does not tell a function its timeout: the handler's deadline comes from FUNCTION_TIMEOUT,
// or else the --timeout docs/deploy.md deploys that function with.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.js';
import { DEPLOYED_TIMEOUTS, functionTimeoutMs } from '../../shared/platform/function-timeout.js';
import { TASKS } from '../../shared/tasks/index.js';

/** Each function's `--timeout` as the Google Cloud Functions section of docs/deploy.md deploys it. */
async function documentedTimeouts(): Promise<Record<string, string>> {
  const doc = await readFile(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Google Cloud Functions')).replace(/\\\n\s*/g, ' ');
  const found: Record<string, string> = {};
  // Commands: gcloud functions deploy ... --source=dist/functions/<task>/gcp ... --timeout=<t>
  for (const line of section.split('\n')) {
    const source = /--source=dist\/functions\/(\w+)\/gcp/.exec(line);
    const timeout = /--timeout=(\d+s)/.exec(line);
    if (line.includes('gcloud functions deploy') && source?.[1] && timeout?.[1]) found[source[1]] = timeout[1];
  }
  // The table of the other scheduled tasks: | task | schedule | `<memory>` / `<timeout>` | ... |
  for (const [, task, timeout] of section.matchAll(/^\| (\w+) \|[^|\n]*\| `[^`]+`[^/|\n]* \/ `(\d+s)` \|/gm))
    found[task as string] = timeout as string;
  // Variants given inline: (restore: `... --timeout=<t>`)
  for (const [, task, timeout] of section.matchAll(/\((\w+): `[^`]*--timeout=(\d+s)`/g)) found[task as string] = timeout as string;
  return found;
}

describe('FUNCTION_TIMEOUT', () => {
  it('defaults, for every task, to the --timeout docs/deploy.md deploys its function with', async () => {
    expect(Object.keys(DEPLOYED_TIMEOUTS).sort()).toEqual(Object.keys(TASKS).sort());
    expect(await documentedTimeouts()).toEqual(DEPLOYED_TIMEOUTS);
    expect(functionTimeoutMs('snapshot', {})).toBe(540_000);
    expect(functionTimeoutMs('restore', { FUNCTION_TIMEOUT: '' })).toBe(3_600_000);
  });

  it('takes a duration like --timeout, and refuses anything else naming the setting', () => {
    expect(functionTimeoutMs('snapshot', { FUNCTION_TIMEOUT: '300s' })).toBe(300_000);
    expect(functionTimeoutMs('list', { FUNCTION_TIMEOUT: '2m' })).toBe(120_000);
    for (const bad of ['540', '0', 'soon']) {
      expect(() => functionTimeoutMs('snapshot', { FUNCTION_TIMEOUT: bad })).toThrow(ConfigError);
      expect(() => functionTimeoutMs('snapshot', { FUNCTION_TIMEOUT: bad })).toThrow(/^FUNCTION_TIMEOUT: /);
    }
  });
});
