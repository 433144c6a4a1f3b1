import { redactSecrets } from '../shared/redact.js';

/** Everything printed on stdout passes the secret redactor. */
export function print(text: string): void {
  process.stdout.write(`${redactSecrets(text)}\n`);
}
