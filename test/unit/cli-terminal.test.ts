// What the CLI shows a person: per-command help, text log lines, and etcdctl's variables read in place of
// unset settings.
import { describe, expect, it } from 'vitest';
import { commandHelp } from '../../cli/help.js';
import { loadConfig, settingsFromEnv } from '../../shared/config/config.js';
import { SETTINGS } from '../../shared/config/settings.js';
import { createLogger } from '../../shared/log.js';
import { redactSecrets } from '../../shared/redact.js';
import { argFlag, TASKS, type TaskName } from '../../shared/tasks/index.js';

const NAMES = Object.keys(TASKS) as TaskName[];

describe('<command> --help', () => {
  it.each(NAMES)('%s lists its own flags and the settings it reads, and no others', (name) => {
    const text = commandHelp(name);
    const spec = TASKS[name];
    for (const arg of Object.keys(spec.args)) expect(text).toContain(argFlag(arg));
    for (const other of NAMES.filter((n) => n !== name)) {
      for (const arg of Object.keys(TASKS[other].args).filter((a) => !(a in spec.args)))
        expect(text).not.toMatch(new RegExp(`${argFlag(arg)}\\b`));
    }
    for (const s of SETTINGS) {
      if (spec.settings.includes(s.env)) expect(text).toContain(`${s.env}:`);
      else expect(text).not.toContain(`${s.env}:`);
    }
  });

  it('every setting is read by some task (none is left out of every command help)', () => {
    const read = new Set(NAMES.flatMap((n) => TASKS[n].settings));
    expect(SETTINGS.map((s) => s.env).filter((env) => !read.has(env))).toEqual([]);
  });

  it('snapshot reads the etcd settings; restore reads none of them', () => {
    expect(commandHelp('snapshot')).toContain('ETCD_ENDPOINTS:');
    expect(commandHelp('snapshot')).not.toContain('--data-dir');
    expect(commandHelp('restore')).toContain('--data-dir');
    expect(commandHelp('restore')).not.toContain('ETCD_ENDPOINTS');
  });
});

describe('log lines', () => {
  const lines = (format: 'text' | 'json' | 'auto') => {
    const out: string[] = [];
    const log = createLogger({ format, write: (l) => out.push(l) }).child({ task: 'snapshot' });
    log.info('streaming snapshot', { endpoint: 'http://127.0.0.1:2379', note: 'two words', size: 3 });
    log.error('snapshot failed', { error: new Error('upload aborted', { cause: new Error('interrupted by SIGINT') }) });
    return out;
  };

  it('text: time, level, message, then the fields as key=value; an error as its message and causes', () => {
    const [info, error] = lines('text');
    expect(info).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3}Z INFO {2}streaming snapshot task=snapshot endpoint=http:\/\/127\.0\.0\.1:2379 note="two words" size=3$/,
    );
    expect(error).toMatch(/^\d\d:\d\d:\d\d\.\d{3}Z ERROR snapshot failed task=snapshot error="upload aborted: interrupted by SIGINT"$/);
  });

  it('json by default, and for auto when the lines do not go to a terminal', () => {
    for (const format of ['json', 'auto'] as const) {
      const [info] = lines(format);
      expect(JSON.parse(info as string)).toMatchObject({ level: 'info', severity: 'INFO', message: 'streaming snapshot', size: 3 });
    }
  });

  it('LOG_FORMAT is auto, text or json', () => {
    expect(loadConfig({}).logFormat).toBe('auto');
    expect(loadConfig({ LOG_FORMAT: 'text' }).logFormat).toBe('text');
    expect(() => loadConfig({ LOG_FORMAT: 'yaml' })).toThrow(/LOG_FORMAT/);
  });
});

describe("etcdctl's variables", () => {
  it('stand in for ETCD_ENDPOINTS, ETCD_CA_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE and the user when those are unset', () => {
    const values = settingsFromEnv({
      ETCDCTL_ENDPOINTS: 'https://10.0.0.1:2379,https://10.0.0.2:2379',
      ETCDCTL_CACERT: '/etc/kubernetes/pki/etcd/ca.crt',
      ETCDCTL_CERT: '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
      ETCDCTL_KEY: '/etc/kubernetes/pki/etcd/healthcheck-client.key',
      ETCDCTL_USER: 'backup:pa:ss-word-1',
    });
    expect(values).toMatchObject({
      ETCD_ENDPOINTS: 'https://10.0.0.1:2379,https://10.0.0.2:2379',
      ETCD_CA_FILE: '/etc/kubernetes/pki/etcd/ca.crt',
      ETCD_CERT_FILE: '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
      ETCD_KEY_FILE: '/etc/kubernetes/pki/etcd/healthcheck-client.key',
      ETCD_USERNAME: 'backup',
      ETCD_PASSWORD: 'pa:ss-word-1',
    });
    // The password is registered as a secret as soon as it is read.
    expect(redactSecrets('login pa:ss-word-1 failed')).toBe('login [REDACTED] failed');
  });

  it('never override ours', () => {
    const values = settingsFromEnv({
      ETCD_ENDPOINTS: 'http://ours:2379',
      ETCDCTL_ENDPOINTS: 'http://theirs:2379',
      ETCD_USERNAME: 'ours',
      ETCD_PASSWORD: 'ours-password',
      ETCDCTL_USER: 'theirs:their-password',
    });
    expect(values).toMatchObject({ ETCD_ENDPOINTS: 'http://ours:2379', ETCD_USERNAME: 'ours', ETCD_PASSWORD: 'ours-password' });
  });
});
