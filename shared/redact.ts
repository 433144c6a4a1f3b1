/**
 * Secrets known to this process (etcd password, TLS private key, cloud secret keys) are registered here
 * once, when configuration is read; every log line and every printed error passes through
 * `redactSecrets`, so a secret echoed back by a library inside an error message is still never written.
 */
const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 4) return;
  secrets.add(value);
  // PEM keys appear in JSON with escaped newlines; register that spelling as well.
  if (value.includes('\n')) secrets.add(JSON.stringify(value).slice(1, -1));
}

export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  // Private key blocks are never legitimate log content, registered or not.
  return out.replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]');
}
