/**
 * The one table of settings. Env var names are the same on Lambda, Cloud Functions and the CLI; each CLI
 * flag overrides its env var. `--help` and the README's configuration table are written from this table.
 */
export interface Setting {
  env: string;
  flag: string;
  /** Shown in help; `undefined` means unset by default. */
  default?: string;
  description: string;
  /** The value is a secret: never logged, never echoed in errors. */
  secret?: boolean;
  /** A boolean flag takes no value on the command line. */
  boolean?: boolean;
}

export const SETTINGS = [
  {
    env: 'BACKUP_URL',
    flag: '--backup-url',
    default: 'file://$PWD/backups',
    description: 'Where snapshots go: s3://bucket/prefix, gs://bucket/prefix or file:///absolute/dir',
  },
  {
    env: 'CLUSTER_NAME',
    flag: '--cluster',
    default: 'default',
    description: 'Name of the etcd cluster; its objects live under <prefix>/<cluster>/ (letters, digits, . _ -)',
  },
  {
    env: 'ETCD_ENDPOINTS',
    flag: '--etcd-endpoints',
    default: 'http://127.0.0.1:2379',
    description: 'Comma-separated client URLs of the etcd members (http:// or https://)',
  },
  { env: 'ETCD_USERNAME', flag: '--etcd-username', description: 'etcd user (when etcd auth is enabled)' },
  {
    env: 'ETCD_PASSWORD',
    flag: '--etcd-password',
    secret: true,
    description: 'Password of ETCD_USERNAME (prefer the env var: flags are visible in ps)',
  },
  {
    env: 'ETCD_CA_FILE',
    flag: '--etcd-ca-file',
    description: 'CA bundle that signed the etcd server certificates: a file path or the PEM text itself',
  },
  {
    env: 'ETCD_CERT_FILE',
    flag: '--etcd-cert-file',
    description: 'Client certificate for etcd (client-cert auth): a file path or PEM text',
  },
  { env: 'ETCD_KEY_FILE', flag: '--etcd-key-file', secret: true, description: 'Private key of ETCD_CERT_FILE: a file path or PEM text' },
  {
    env: 'ETCD_DIAL_TIMEOUT',
    flag: '--etcd-dial-timeout',
    default: '5s',
    description: 'How long to wait for an etcd member to answer before trying the next',
  },
  {
    env: 'ETCD_STREAM_IDLE_TIMEOUT',
    flag: '--etcd-stream-idle-timeout',
    default: '30s',
    description: 'Abort a snapshot stream that delivers no data for this long',
  },
  {
    env: 'ETCD_CLUSTER_ID',
    flag: '--etcd-cluster-id',
    description:
      'The etcd cluster id (hex, as etcd logs it) the members must serve; when set, the cluster id of earlier snapshots is not consulted (set it after a deliberate restore)',
  },
  {
    env: 'SNAPSHOT_ATTEMPTS',
    flag: '--snapshot-attempts',
    default: '3',
    description: 'Snapshot attempts in one run; a failed stream is retried on the next healthy member',
  },
  {
    env: 'SNAPSHOT_COMPRESSION',
    flag: '--compression',
    default: 'zstd',
    description:
      'How snapshots are stored: zstd (.db.zst), gzip (.db.gz) or none (.db, the etcdctl file as is); every task reads all three',
  },
  {
    env: 'CLOCK_SKEW_TOLERANCE',
    flag: '--clock-skew-tolerance',
    default: '5m',
    description:
      "snapshot: refuse to write when this host's clock and the store's (the Date of an S3 response) differ by more than this; snapshot keys carry this host's time (0 = off)",
  },
  { env: 'AWS_REGION', flag: '--s3-region', default: 'us-east-1', description: 'S3 region (the SDK standard variable)' },
  {
    env: 'AWS_ENDPOINT_URL_S3',
    flag: '--s3-endpoint',
    description: 'S3 endpoint URL for S3-compatible servers (the SDK standard variable)',
  },
  {
    env: 'S3_FORCE_PATH_STYLE',
    flag: '--s3-force-path-style',
    default: 'false',
    boolean: true,
    description: 'Use path-style bucket addressing (most S3-compatible servers need it)',
  },
  {
    env: 'AWS_REQUEST_CHECKSUM_CALCULATION',
    flag: '--s3-checksum',
    default: 'when_supported',
    description:
      'when_supported or when_required: S3-compatible servers that reject aws-chunked uploads (Ceph RGW) need when_required (the SDK standard variable)',
  },
  {
    env: 'S3_PART_SIZE',
    flag: '--s3-part-size',
    default: '5MiB',
    description: 'Multipart part size; memory use is about part size x (concurrency + 1)',
  },
  {
    env: 'S3_UPLOAD_CONCURRENCY',
    flag: '--s3-upload-concurrency',
    default: '1',
    description: 'Parts uploaded in parallel, while the next one fills; raise it when the link to the store has high latency',
  },
  {
    env: 'STORAGE_EMULATOR_HOST',
    flag: '--gcs-emulator-host',
    description: 'GCS endpoint for an emulator, e.g. http://127.0.0.1:9199 (the SDK standard variable)',
  },
  { env: 'GOOGLE_CLOUD_PROJECT', flag: '--gcs-project', description: 'Google Cloud project id (found from the environment when unset)' },
  {
    env: 'S3_SSE',
    flag: '--s3-sse',
    description:
      'S3 server-side encryption asked for every object written: AES256 (SSE-S3) or aws:kms (SSE-KMS); read back after each write and recorded in the manifest',
  },
  {
    env: 'S3_SSE_KMS_KEY_ID',
    flag: '--s3-sse-kms-key-id',
    description: 'With S3_SSE=aws:kms: the KMS key id or key ARN (not an alias) to encrypt with; unset = the AWS managed key aws/s3',
  },
  {
    env: 'GCS_KMS_KEY_NAME',
    flag: '--gcs-kms-key-name',
    description:
      'Cloud KMS key (CMEK) for every object written, projects/P/locations/L/keyRings/R/cryptoKeys/K; read back after each write and recorded in the manifest',
  },
  {
    env: 'PRUNE_KEEP_LAST',
    flag: '--keep-last',
    description:
      'prune: keep the N newest good snapshots; set alone, it is the whole policy (the time buckets then apply only if set explicitly)',
  },
  {
    env: 'PRUNE_KEEP_WITHIN',
    flag: '--keep-within',
    default: '24h',
    description: 'prune: keep every snapshot younger than this, good or not (0 = off)',
  },
  {
    env: 'PRUNE_KEEP_HOURLY_FOR',
    flag: '--keep-hourly-for',
    default: '7d',
    description: 'prune: keep the newest good snapshot of each UTC hour for this long (0 = off)',
  },
  {
    env: 'PRUNE_KEEP_DAILY_FOR',
    flag: '--keep-daily-for',
    default: '30d',
    description: 'prune: keep the newest good snapshot of each UTC day for this long (0 = off)',
  },
  {
    env: 'PRUNE_KEEP_WEEKLY_FOR',
    flag: '--keep-weekly-for',
    default: '182d',
    description: 'prune: keep the newest good snapshot of each ISO week (Monday, UTC) for this long (0 = off)',
  },
  {
    env: 'PRUNE_MAX_AGE',
    flag: '--max-age',
    description:
      'prune: delete snapshots older than this even if a rule keeps them (the floor and the invariants still apply); longer than PRUNE_KEEP_WITHIN and PRUNE_INCOMPLETE_GRACE; 0 = off',
  },
  {
    env: 'PRUNE_KEEP_MIN',
    flag: '--keep-min',
    default: '3',
    description:
      'prune: the floor: always keep this many newest good snapshots, whatever their age; with PRUNE_KEEP_LAST set, at most that many (lowered to it when unset, refused when set above it)',
  },
  {
    env: 'PRUNE_INCOMPLETE_GRACE',
    flag: '--incomplete-grace',
    default: '1h',
    description:
      'leftovers of a run younger than this are left alone, as that run may still be finishing: a snapshot without manifest (prune), an unfinished multipart upload (snapshot cleans older ones)',
  },
  {
    env: 'IMMUTABILITY',
    flag: '--immutability',
    default: 'off',
    description: 'off, bucket (the bucket default retention protects each object) or object (each object gets its own retention)',
  },
  {
    env: 'IMMUTABILITY_PERIOD',
    flag: '--immutability-period',
    description: 'object mode: how long each snapshot is protected from its upload or renewal, e.g. 30d (required in object mode)',
  },
  {
    env: 'IMMUTABILITY_LOCK',
    flag: '--immutability-lock',
    default: 'governance',
    description: 'object mode: governance (S3 GOVERNANCE, GCS Unlocked) or compliance (S3 COMPLIANCE, GCS Locked: nobody can shorten it)',
  },
  {
    env: 'REUPLOAD_INTERVAL',
    flag: '--reupload-interval',
    default: '1d',
    description: 'reupload: how often its schedule runs it; must be shorter than the retention period',
  },
  {
    env: 'REUPLOAD_MARGIN',
    flag: '--reupload-margin',
    default: '2d',
    description: 'reupload: renew protection when it ends within this; at least REUPLOAD_INTERVAL, less than the retention period',
  },
  { env: 'LOG_LEVEL', flag: '--log-level', default: 'info', description: 'debug, info, warn or error' },
  {
    env: 'LOG_FORMAT',
    flag: '--log-format',
    default: 'auto',
    description: 'CLI log lines: auto (text on a terminal, JSON otherwise), text or json; the functions always log JSON',
  },
] as const satisfies readonly Setting[];

export type SettingName = (typeof SETTINGS)[number]['env'];
