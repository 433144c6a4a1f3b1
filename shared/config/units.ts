import { ConfigError } from '../errors.js';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "90s", "5m", "36h", "30d" -> milliseconds; "0" is 0. Other bare numbers are refused: units avoid 1000x mistakes. */
export function parseDuration(setting: string, text: string): number {
  if (text.trim() === '0') return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) throw new ConfigError(setting, `"${text}" is not a duration`, 'write a number with a unit: 500ms, 90s, 5m, 36h or 30d');
  return Math.round(Number(match[1]) * (DURATION_UNITS[match[2] as string] as number));
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** "8MiB", "5MB", "1048576" -> bytes. */
export function parseSize(setting: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = SIZE_UNITS[match?.[2]?.toLowerCase() ?? 'x'];
  if (!match || unit === undefined)
    throw new ConfigError(setting, `"${text}" is not a size`, 'write bytes or a number with a unit: 8MiB, 64MB');
  return Math.round(Number(match[1]) * unit);
}

export function parseBoolean(setting: string, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off', ''].includes(t)) return false;
  throw new ConfigError(setting, `"${text}" is not a boolean`, 'use true or false');
}

export function parseInteger(setting: string, text: string, min: number, max: number): number {
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || n < min || n > max)
    throw new ConfigError(setting, `"${text}" is not a whole number from ${min} to ${max}`);
  return n;
}
