import { ConfigError } from '../errors.js';

/** One http:// or https:// URL (an etcd client or peer URL); the error names the setting it came from. */
export function parseHttpUrl(setting: string, text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(setting, `"${text}" is not a URL`, 'write http://host:port or https://host:port');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(setting, `"${text}" must start with http:// or https://`);
  return url;
}
