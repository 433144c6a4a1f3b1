import type { Config } from '../config/config.js';
import { LocalStore } from './local.js';
import type { ObjectStore } from './types.js';

export type { ObjectStore, ObjectInfo, PutOptions, Retention, RetentionMode } from './types.js';

/**
 * Opens the store named by BACKUP_URL with the SDK clients built from configuration. Only the SDK of that
 * store is loaded: each costs tens of MB and a few hundred ms of start-up that the others need not pay.
 */
export async function openStore(config: Pick<Config, 'location' | 's3' | 'gcs'>): Promise<ObjectStore> {
  const location = config.location;
  switch (location.kind) {
    case 'file':
      return new LocalStore(location.root);
    case 's3': {
      const { S3Store, createS3Client } = await import('./s3.js');
      return new S3Store(createS3Client(config.s3), location.bucket, location.prefix, {
        partSize: config.s3.partSize,
        queueSize: config.s3.queueSize,
      });
    }
    case 'gcs': {
      const { GcsStore, createGcsClient } = await import('./gcs.js');
      return new GcsStore(createGcsClient(config.gcs), location.bucket, location.prefix);
    }
  }
}
