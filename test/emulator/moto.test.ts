/** The emulator lifecycle itself: a missing moto fails loudly, reset empties the emulator. */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetPolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { MOTO_INSTALL_HINT, MotoNotInstalledError, pointSdkAtEmulator, startMoto } from './moto';

jest.setTimeout(60_000);

describe('startMoto', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fake-python-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails with the one-line install hint when the Python interpreter does not exist', async () => {
    const attempt = startMoto({ python: join(dir, 'no-such-python3') });
    await expect(attempt).rejects.toThrow(MotoNotInstalledError);
    await expect(attempt).rejects.toThrow(MOTO_INSTALL_HINT);
  });

  it('fails with the one-line install hint when Python has no moto module', async () => {
    // Stands in for a Python without moto: prints what `python3 -m moto.server` prints there.
    const fake = join(dir, 'python-without-moto');
    await writeFile(fake, '#!/bin/sh\necho "/usr/bin/python3: No module named moto.server" >&2\nexit 1\n');
    await chmod(fake, 0o755);
    const error = await startMoto({ python: fake }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MotoNotInstalledError);
    expect((error as Error).message).toBe(`${MOTO_INSTALL_HINT} (No module named moto.server)`);
    expect((error as Error).message).not.toContain('\n');
  });

  it('starts on a free loopback port with the AWS managed policies, forgets everything on reset, and stops', async () => {
    const moto = await startMoto();
    const restore = pointSdkAtEmulator(moto.endpoint);
    try {
      expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(process.env.AWS_ENDPOINT_URL).toBe(moto.endpoint);
      // MOTO_IAM_LOAD_MANAGED_POLICIES=true: the scenario attaches these by ARN.
      const iam = new IAMClient({});
      for (const name of ['AdministratorAccess', 'AmazonS3ReadOnlyAccess']) {
        const { Policy } = await iam.send(
          new GetPolicyCommand({ PolicyArn: `arn:aws:iam::aws:policy/${name}` }),
        );
        expect(Policy?.PolicyName).toBe(name);
      }
      const s3 = new S3Client({});
      await s3.send(new CreateBucketCommand({ Bucket: 'reset-probe' }));
      expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toEqual([
        'reset-probe',
      ]);
      await moto.reset();
      expect((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
    } finally {
      restore();
      await moto.stop();
    }
    // No moto server is left behind.
    expect(moto.pid).toEqual(expect.any(Number));
    let probe: string | undefined = 'alive';
    try {
      process.kill(moto.pid!, 0);
    } catch (error) {
      probe = (error as NodeJS.ErrnoException).code;
    }
    expect(probe).toBe('ESRCH');
  });
});
