/**
 * Typed errors. Every error the tool reports says what is wrong (`message`), what to do about it (`hint`)
 * and keeps the lower-level error as `cause`, so that diagnostics are never thrown away.
 */
export type ErrorCode =
  | 'config'
  | 'precondition'
  | 'event'
  | 'etcd-unreachable'
  | 'etcd-auth'
  | 'etcd-tls'
  | 'etcd-stream'
  | 'snapshot-integrity'
  | 'store-unreachable'
  | 'store-bucket-missing'
  | 'store-access-denied'
  | 'store-not-found'
  | 'store-exists'
  | 'store-unsupported'
  | 'store-encryption'
  | 'store'
  | 'aborted'
  | 'not-found'
  | 'member-divergence'
  | 'secrets-unavailable';

export class BackupError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BackupError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** A setting (env var, flag, event field) has a bad value; thrown before any I/O. */
export class ConfigError extends BackupError {
  readonly setting: string;

  constructor(setting: string, message: string, hint?: string, cause?: unknown) {
    super('config', `${setting}: ${message}`, { ...(hint === undefined ? {} : { hint }), ...(cause === undefined ? {} : { cause }) });
    this.name = 'ConfigError';
    this.setting = setting;
  }
}

/**
 * The arguments were fine but the machine refuses the run: found out by looking (the output file exists,
 * the data dir is not empty, no restore tool on the PATH, the snapshot is marked excluded). Unlike a
 * ConfigError it comes after I/O, and retrying the same command can succeed once the machine changes.
 */
export class PreconditionError extends BackupError {
  /** The argument the refusal is about. */
  readonly setting: string;

  constructor(setting: string, message: string, hint?: string) {
    super('precondition', `${setting}: ${message}`, hint === undefined ? {} : { hint });
    this.name = 'PreconditionError';
    this.setting = setting;
  }
}

/** Serialisable view of an error and its cause chain, for logs and `--json` output. */
export interface ErrorReport {
  name: string;
  code?: string;
  message: string;
  hint?: string;
  cause?: ErrorReport;
}

export function describeError(error: unknown, depth = 0): ErrorReport {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const report: ErrorReport = { name: error.name, message: error.message };
  const code = error instanceof BackupError ? error.code : (error as { code?: unknown }).code;
  if (typeof code === 'string') report.code = code;
  if (error instanceof BackupError && error.hint) report.hint = error.hint;
  // AWS SDK errors keep the HTTP status in $metadata; it is often the only useful detail (empty messages).
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && !report.message.includes(String(status))) report.message += ` (HTTP ${status})`;
  if (error.cause !== undefined && depth < 8) report.cause = describeError(error.cause, depth + 1);
  return report;
}

/** One line: "message (cause: message (cause: ...))", for humans. */
export function formatError(error: unknown): string {
  return formatReport(describeError(error));
}

/** formatError for an error already described (a fleet's per-cluster outcome carries reports). */
export function formatReport(report: ErrorReport): string {
  const parts: string[] = [];
  for (let r: ErrorReport | undefined = report; r; r = r.cause) parts.push(r.message || r.name);
  const hint = report.hint ? `\n  hint: ${report.hint}` : '';
  return parts.join('\n  caused by: ') + hint;
}
