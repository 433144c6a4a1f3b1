import type { GcsConfig, S3Config } from '../config/config.js';
import type { StoreLocation } from '../config/location.js';
import { LocalStore } from './local.js';
import type { ObjectStore } from './types.js';

export type { ObjectEncryption, ObjectStore, ObjectInfo, PutOptions, Retention } from './types.js';

/** The options of the SDK clients a store may need; only the one for the location's kind is used. */
export interface StoreClients {
  s3: S3Config;
  gcs: GcsConfig;
}

/**
 * Opens the store at `location` (parsed from BACKUP_URL). Only the SDK of that store is loaded: each costs
 * tens of MB and a few hundred ms of start-up that the others need not pay.
 */
export async function openStore(location: StoreLocation, clients: StoreClients): Promise<ObjectStore> {
  switch (location.kind) {
    case 'file':
      return new LocalStore(location.root);
    case 's3': {
      const { S3Store, createS3Client } = await import('./s3.js');
      return new S3Store(createS3Client(clients.s3), location.bucket, location.prefix, {
        partSize: clients.s3.partSize,
        queueSize: clients.s3.queueSize,
        ...(clients.s3.sse ? { sse: clients.s3.sse } : {}),
      });
    }
    case 'gcs': {
      const { GcsStore, createGcsClient } = await import('./gcs.js');
      return new GcsStore(createGcsClient(clients.gcs), location.bucket, location.prefix, undefined, clients.gcs.kmsKeyName);
    }
  }
}
