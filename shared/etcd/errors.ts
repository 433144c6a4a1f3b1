import { BackupError } from '../errors.js';

/** Turns grpc/etcd3 failures into errors that say which endpoint failed, why, and what to check. */
export function etcdError(error: unknown, endpoint: string, action: string): BackupError {
  if (error instanceof BackupError) return error;
  const name = (error as Error)?.name ?? '';
  const message = (error as Error)?.message ?? String(error);
  if (
    name === 'EtcdAuthenticationFailedError' ||
    name === 'EtcdPermissionDeniedError' ||
    /authentication failed|permission denied|invalid auth token|user name is empty/i.test(message)
  ) {
    return new BackupError('etcd-auth', `${action} ${endpoint}: etcd refused the credentials (${message})`, {
      cause: error,
      hint: 'check ETCD_USERNAME / ETCD_PASSWORD; the user needs the root role (snapshots read the whole keyspace)',
    });
  }
  if (/certificate|ssl|tls|handshake|self.signed|unable to verify|wrong version number/i.test(message)) {
    return new BackupError('etcd-tls', `${action} ${endpoint}: TLS failed (${message})`, {
      cause: error,
      hint: 'check ETCD_CA_FILE (the CA that signed the server certificate), ETCD_CERT_FILE/ETCD_KEY_FILE and that the endpoint uses https://',
    });
  }
  if (
    /UNAVAILABLE|ECONNREFUSED|No connection established|DEADLINE_EXCEEDED|Deadline exceeded|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/i.test(message)
  ) {
    return new BackupError('etcd-unreachable', `${action} ${endpoint}: member unreachable (${message})`, {
      cause: error,
      hint: 'check ETCD_ENDPOINTS, that the member runs, and that this function can reach its client port',
    });
  }
  return new BackupError('etcd-stream', `${action} ${endpoint} failed: ${message}`, { cause: error });
}
