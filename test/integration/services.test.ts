// Smoke tests of the shared test bed: the services answer and behave as the notes say they do.
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
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

  it('serves HTTPS, and accepts a part whose x-amz-checksum-crc32 is wrong, returning no checksum (AWS refuses such a part: only there are CRC32 part checksums checked)', async () => {
    const Bucket = await createS3Bucket(uniqueBucketName('smoke-crc'));
    const client = s3Client('https');
    // After the SDK computed the checksum (build step), before signing: the header the server gets is wrong.
    let replaced = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        if (headers['x-amz-checksum-crc32']) {
          headers['x-amz-checksum-crc32'] = 'AAAAAA==';
          replaced++;
        }
        return next(args);
      },
      { step: 'build', name: 'wrongChecksum', priority: 'low' },
    );
    try {
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key: 'part.bin', ChecksumAlgorithm: 'CRC32' }));
      try {
        const part = await client.send(
          new UploadPartCommand({
            Bucket,
            Key: 'part.bin',
            UploadId,
            PartNumber: 1,
            Body: Buffer.alloc(1024, 1),
            ChecksumAlgorithm: 'CRC32',
          }),
        );
        expect(replaced).toBe(1);
        expect(part.ETag).toBeTruthy();
        expect(part.ChecksumCRC32).toBeUndefined();
      } finally {
        await client.send(new AbortMultipartUploadCommand({ Bucket, Key: 'part.bin', UploadId }));
      }
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
