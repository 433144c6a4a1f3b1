import type { Config } from '../config/config.js';
import { GcsStore, createGcsClient } from './gcs.js';
import { LocalStore } from './local.js';
import { S3Store, createS3Client } from './s3.js';
import type { ObjectStore } from './types.js';

export type { ObjectStore, ObjectInfo, PutOptions, Retention, RetentionMode } from './types.js';

/** Opens the store named by BACKUP_URL with the SDK clients built from configuration. */
export function openStore(config: Pick<Config, 'location' | 's3' | 'gcs'>): ObjectStore {
  const location = config.location;
  switch (location.kind) {
    case 'file':
      return new LocalStore(location.root);
    case 's3':
      return new S3Store(createS3Client(config.s3), location.bucket, location.prefix, { partSize: config.s3.partSize, queueSize: config.s3.queueSize });
    case 'gcs':
      return new GcsStore(createGcsClient(config.gcs), location.bucket, location.prefix);
  }
}
