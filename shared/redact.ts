/**
 * Secrets known to this process (etcd password, TLS private key, cloud secret keys) are registered here
 * once, when configuration is read; every log line and every printed error passes through
 * `redactSecrets`, so a secret echoed back by a library inside an error message is still never written.
 *
 * A secret of at least LONG characters is replaced wherever it appears. A shorter one (a password "prod")
 * would also match inside ordinary words and names (another cluster's "prod-a", a key), so it is replaced
 * where it stands as a whole value: quoted ("prod" as a JSON string, 'prod'), after = or : (key=prod,
 * password: prod, user:prod@host), or as the whole text. 12 characters: what a generated secret is at
 * least, and longer than the names and words a person's short password could collide with.
 */
const LONG = 12;
const secrets = new Set<string>();
let shortPatterns: RegExp[] = [];

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Where a short secret is a whole value: the characters that may stand on either side of it. */
function wholeValue(secret: string): RegExp {
  const s = escapeRegExp(secret);
  return new RegExp(String.raw`(^|["']|[=:]\s*)${s}(?=$|["'\s,;&@)\]}])`, 'g');
}

function add(value: string): void {
  secrets.add(value);
  if (value.length < LONG) shortPatterns = [...secrets].filter((v) => v.length < LONG).map(wholeValue);
}

export function registerSecret(value: string | undefined): void {
  if (!value) return;
  add(value);
  // JSON escapes some characters (newlines of a PEM key, quotes, backslashes); register that spelling too.
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) add(escaped);
}

export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= LONG && out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  for (const pattern of shortPatterns) out = out.replace(pattern, '$1[REDACTED]');
  // Private key blocks are never legitimate log content, registered or not.
  return out.replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[REDACTED PRIVATE KEY]');
}
