import { BackupError } from '../errors.js';
import type { ObjectEncryption } from './types.js';

const describe = (e: ObjectEncryption | undefined): string =>
  e ? `${e.algorithm}${e.keyId ? ` with key ${e.keyId}` : ''}` : 'no server-side encryption reported';

/**
 * The store wrote the object but did not encrypt it as asked (a server that ignores the request, another
 * key): the write is refused, after the adapter tried to remove the object (`removed`).
 */
export function encryptionRefused(
  where: string,
  asked: ObjectEncryption,
  got: ObjectEncryption | undefined,
  removed: boolean,
  setting: string,
): BackupError {
  return new BackupError('store-encryption', `${where} was stored with ${describe(got)}, not ${describe(asked)} as ${setting} asks`, {
    hint: `${removed ? 'the object was removed' : 'the object could not be removed (a retention may hold it): remove it by hand'}; check that the store supports this encryption and that the key exists and may be used`,
  });
}
