import { ConfigError } from '../errors.js';
import { registerSecret } from '../redact.js';

/** Userinfo (`user:password@`) after the scheme, even in text that does not parse as a URL. */
const USERINFO = /^((?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?)([^/?#]*)@/;

/** The URL as it may be printed: any user name and password replaced. */
export function printableUrl(text: string): string {
  return text.replace(USERINFO, '$1<credentials>@');
}

/**
 * One http:// or https:// URL (an etcd client or peer URL); the error names the setting it came from.
 * Credentials in the URL are refused, and never repeated: etcd takes them from their own settings, and a
 * URL is printed in errors, logs and manifests.
 */
export function parseHttpUrl(setting: string, text: string): URL {
  const shown = printableUrl(text);
  const userinfo = USERINFO.exec(text)?.[2];
  if (userinfo !== undefined) {
    // Registered, so that nothing printed later can carry it either.
    registerSecret(userinfo.split(':').slice(1).join(':'));
    throw new ConfigError(
      setting,
      `"${shown}" carries a user name or password`,
      'remove them from the URL: give the etcd user in ETCD_USERNAME and the password in ETCD_PASSWORD, ETCD_PASSWORD_FILE or (in a fleet file, which holds no secret) SSM_SECRETS_PATH',
    );
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(setting, `"${shown}" is not a URL`, 'write http://host:port or https://host:port');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(setting, `"${shown}" must start with http:// or https://`);
  return url;
}
