import { BackupError } from '../errors.js';
import type { ObjectEncryption, ObjectInfo, ObjectStore } from './types.js';

const describe = (e: ObjectEncryption | undefined): string =>
  e ? `${e.algorithm}${e.keyId ? ` with key ${e.keyId}` : ''}` : 'no server-side encryption reported';

/**
 * The store wrote the object but did not encrypt it as asked (a server that ignores the request, another
 * key): the object written is removed (that exact version, best effort) and the error to throw returned.
 */
export async function refuseMisencrypted(
  store: Pick<ObjectStore, 'delete'>,
  where: string,
  written: ObjectInfo,
  asked: ObjectEncryption,
  setting: string,
): Promise<BackupError> {
  const removed = await store.delete(written.key, written.versionId ? { versionId: written.versionId } : {}).then(
    () => true,
    () => false,
  );
  return new BackupError(
    'store-encryption',
    `${where} was stored with ${describe(written.encryption)}, not ${describe(asked)} as ${setting} asks`,
    {
      hint: `${removed ? 'the object was removed' : 'the object could not be removed (a retention may hold it): remove it by hand'}; check that the store supports this encryption and that the key exists and may be used`,
    },
  );
}
