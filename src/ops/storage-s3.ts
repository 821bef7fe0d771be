// S3 adapter of the backup storage port (AWS S3 or any S3-compatible server: MinIO, Ceph, moto).
// Uploads stream through a multipart upload, and S3 only makes an object visible when the upload
// completes, so a reader never sees a partial object. Credentials come from the configuration or
// the AWS default chain (environment, web identity, instance role) and are never logged.
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable, Transform } from 'node:stream';
import type { Secret } from '../config/index.js';
import { PlinthError } from '../errors.js';
import { checkObjectName, type BackupStorage } from './storage.js';

export interface S3StorageOptions {
  bucket: string;
  prefix: string;
  endpoint?: string | undefined;
  region: string;
  accessKeyId?: Secret | undefined;
  secretAccessKey?: Secret | undefined;
  forcePathStyle: boolean;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Target(target: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(target);
  const bucket = m?.[1] ?? '';
  const prefix = (m?.[2] ?? '').replace(/\/+$/, '');
  if (!BUCKET.test(bucket) || (prefix !== '' && prefix.split('/').some((s) => s === '' || s === '.' || s === '..'))) {
    throw new PlinthError('BACKUP_TARGET_INVALID', `Invalid S3 target "${target}": use s3://bucket or s3://bucket/prefix.`);
  }
  return { bucket, prefix };
}

export function createS3Storage(options: S3StorageOptions): BackupStorage {
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle,
    ...(options.accessKeyId && options.secretAccessKey
      ? { credentials: { accessKeyId: options.accessKeyId.reveal(), secretAccessKey: options.secretAccessKey.reveal() } }
      : {}),
    // Checksums only where S3 requires them: several S3-compatible servers reject the newer defaults.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 5,
  });
  const base = options.prefix ? `${options.prefix}/` : '';
  const key = (name: string) => base + checkObjectName(name);
  const location = `s3://${options.bucket}/${options.prefix}`;

  function fail(err: unknown, what: string): never {
    if (err instanceof PlinthError) throw err;
    const name = err instanceof S3ServiceException ? err.name : ((err as { code?: string; name?: string }).code ?? (err as Error).name ?? 'error');
    throw new PlinthError('BACKUP_STORAGE_UNAVAILABLE', `S3 ${what} at ${location} failed (${name}).`, {}, { cause: err });
  }

  return {
    location,

    async write(name, body) {
      let bytes = 0;
      const counted = body.pipe(
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            bytes += chunk.length;
            cb(null, chunk);
          },
        }),
      );
      // pipe() does not forward errors: a failing producer (pg_dump, encryption) must abort the upload.
      body.once('error', (err) => counted.destroy(err));
      const upload = new Upload({
        client,
        params: { Bucket: options.bucket, Key: key(name), Body: counted, ContentType: 'application/octet-stream' },
        queueSize: 2,
        partSize: 8 * 1024 * 1024,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (err) {
        // The producer's own error says more than the aborted upload.
        const produced = (body as Readable & { errored?: Error | null }).errored;
        if (produced) throw produced;
        fail(err, `upload of ${name}`);
      }
      return { bytes };
    },

    async read(name) {
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: key(name) }));
        if (!(res.Body instanceof Readable)) throw new PlinthError('BACKUP_STORAGE_UNAVAILABLE', `S3 returned no body for ${name}.`);
        return res.Body;
      } catch (err) {
        if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') {
          throw new PlinthError('BACKUP_NOT_FOUND', `No backup object ${name} at ${location}.`);
        }
        fail(err, `download of ${name}`);
      }
    },

    async list() {
      const names: string[] = [];
      let token: string | undefined;
      try {
        do {
          const res = await client.send(new ListObjectsV2Command({ Bucket: options.bucket, Prefix: base, ContinuationToken: token }));
          for (const o of res.Contents ?? []) if (o.Key) names.push(o.Key.slice(base.length));
          token = res.IsTruncated ? res.NextContinuationToken : undefined;
        } while (token);
      } catch (err) {
        fail(err, 'listing');
      }
      return names.sort();
    },

    async remove(name) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: options.bucket, Key: key(name) }));
      } catch (err) {
        fail(err, `delete of ${name}`);
      }
    },

    close() {
      client.destroy();
      return Promise.resolve();
    },
  };
}
