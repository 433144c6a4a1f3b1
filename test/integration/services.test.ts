// Smoke tests of the shared test bed: the services answer and behave as the notes say they do.
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, inject, it } from 'vitest';
import { createS3Bucket, gcsStorage, s3Client, uniqueBucketName } from '../support/stores.js';

describe.skipIf(!inject('s3'))('radosgw (S3)', () => {
  it('refuses to delete a version under GOVERNANCE retention', async () => {
    const bucket = await createS3Bucket(uniqueBucketName('smoke-lock'), { objectLock: true });
    const client = s3Client();
    try {
      const put = await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'locked.txt',
          Body: 'kept',
          ObjectLockMode: 'GOVERNANCE',
          ObjectLockRetainUntilDate: new Date(Date.now() + 24 * 3600_000),
        }),
      );
      expect(put.VersionId).toBeTruthy();
      // radosgw sends an empty <Message>: the error name is what identifies it.
      await expect(
        client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'locked.txt', VersionId: put.VersionId })),
      ).rejects.toMatchObject({ name: 'AccessDenied' });
    } finally {
      client.destroy();
    }
  });
});

describe.skipIf(!inject('gcs'))('Cloud Storage emulator', () => {
  it('writes an object and reads it back', async () => {
    const file = gcsStorage().bucket(uniqueBucketName('smoke-gcs')).file('dir/hello.txt');
    await file.save('hello from the emulator', { contentType: 'text/plain', resumable: false });
    const [content] = await file.download();
    expect(content.toString()).toBe('hello from the emulator');
  });
});
