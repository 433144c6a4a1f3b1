/** The settings SSM_SECRETS_PATH may supply: etcd credentials, nothing that moves the backups elsewhere. */
export const SSM_SETTINGS: ReadonlySet<string> = new Set([
  'ETCD_USERNAME',
  'ETCD_PASSWORD',
  'ETCD_CA_FILE',
  'ETCD_CERT_FILE',
  'ETCD_KEY_FILE',
]);
