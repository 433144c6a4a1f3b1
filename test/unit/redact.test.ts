// Redaction of configured secrets, however short: whole values only, so ordinary words stay readable.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config/config.js';
import { createLogger } from '../../shared/log.js';
import { redactSecrets, registerSecret } from '../../shared/redact.js';

describe('secrets shorter than 12 characters', () => {
  it.each(['q', 'ab', 'x9z', 'prod', 'hunter2-x1y'])('a %s password is redacted wherever it stands as a whole value', (password) => {
    loadConfig({ ETCD_USERNAME: 'root', ETCD_PASSWORD: password });
    for (const text of [
      JSON.stringify({ message: 'auth failed', password }),
      `password=${password}`,
      `password=${password}&user=root`,
      `password: ${password}`,
      `http://root:${password}@10.0.0.1:2379`,
      `'${password}'`,
      password,
    ]) {
      const redacted = redactSecrets(text);
      expect(redacted, text).toContain('[REDACTED]');
      expect(redacted, text).not.toContain(password);
    }
  });

  it('is not redacted inside other words', () => {
    registerSecret('ab');
    const text = 'about a cab: the table is abundant';
    expect(redactSecrets(text)).toBe(text);
    registerSecret('prod');
    const names = '{"cluster":"prod-a","key":"etcd/prod-a/snapshots/x.db"} cluster=prod-b';
    expect(redactSecrets(names)).toBe(names);
  });

  it('never reaches a log line as a JSON value', () => {
    loadConfig({ ETCD_USERNAME: 'root', ETCD_PASSWORD: 'pw' });
    const lines: string[] = [];
    createLogger({ write: (line) => lines.push(line) }).info('connecting with a new password', { password: 'pw', user: 'root' });
    const entry = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(entry.password).toBe('[REDACTED]');
    expect(entry.message).toBe('connecting with a new password');
  });

  it('secrets of 12 characters or more are redacted anywhere, even inside a word', () => {
    registerSecret('hunter2-hunter2');
    expect(redactSecrets('xxhunter2-hunter2yy')).toBe('xx[REDACTED]yy');
  });
});
