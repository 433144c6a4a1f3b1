import { describeError, type ErrorReport } from './errors.js';
import { redactSecrets } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** `auto`: text when the lines go to a terminal (the default writer on a TTY stderr), JSON otherwise. */
export type LogFormat = 'auto' | 'text' | 'json';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Default json: what log collectors parse; the CLI passes its LOG_FORMAT setting. */
  format?: LogFormat;
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
}

/** A field value as a person reads it: bare when it is one word, quoted otherwise. */
function textValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** `12:34:56.789Z INFO  message key=value ...`, an error as its message and causes. */
function textLine(entry: Record<string, unknown>, error: unknown): string {
  const { time, level, severity: _severity, message, ...fields } = entry;
  const parts = [`${String(time).slice(11)} ${String(level).toUpperCase().padEnd(5)} ${String(message)}`];
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'error' && error !== undefined) continue;
    if (value !== undefined) parts.push(`${key}=${textValue(value)}`);
  }
  if (error !== undefined) {
    const causes: string[] = [];
    for (let r: ErrorReport | undefined = describeError(error); r; r = r.cause) causes.push(r.message || r.name);
    parts.push(`error=${textValue(causes.join(': '))}`);
  }
  return parts.join(' ');
}

/**
 * JSON lines: `level` for CloudWatch/Powertools readers and `severity` (upper case) for Cloud Logging,
 * which maps that field to the entry's severity. Errors under `error` are expanded with their cause chain.
 * Text lines (a person at a terminal) carry the same fields. Every line passes through the secret
 * redactor, so a password that slipped into a message never lands.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const format = options.format ?? 'json';
  const text = format === 'text' || (format === 'auto' && !options.write && process.stderr.isTTY === true);
  const base = options.fields ?? {};
  const emit = (level: LogLevel, message: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[level] < threshold) return;
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      severity: level === 'warn' ? 'WARNING' : level.toUpperCase(),
      message,
      ...base,
      ...fields,
    };
    if (!text && fields.error !== undefined) entry.error = describeError(fields.error);
    write(redactSecrets(text ? textLine(entry, fields.error) : JSON.stringify(entry)));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}
