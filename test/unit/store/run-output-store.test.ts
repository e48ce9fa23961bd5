import 'aws-sdk-client-mock-jest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { LATEST_RUN, RunOutputStore, runOutputKey } from '../../../store/run-output-store';
import { CONTENT_TYPES, StoreError } from '../../../store/s3';
import { s3Error } from '../aggregator/support/memory-s3';
import { client, storeOptions, useMemoryBucket } from './support';

const { s3Mock, memory } = useMemoryBucket();
const store = (): RunOutputStore => new RunOutputStore(client(), storeOptions);

async function text(stream: Readable | undefined): Promise<string | undefined> {
  if (!stream) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

describe('RunOutputStore', () => {
  it('names the outputs of latest/ and of a run date', () => {
    expect(runOutputKey(LATEST_RUN, 'summary.json')).toBe('latest/summary.json');
    expect(runOutputKey({ date: '2026-01-02' }, 'access-keys.csv')).toBe(
      'runs/date=2026-01-02/access-keys.csv',
    );
  });

  it('opens an output of latest/ or of a run as a stream, and nothing when the run has none', async () => {
    memory().putRaw('latest/summary.json', '{"a":1}');
    memory().putRaw('runs/date=2026-01-02/digest.html', '<p>');
    expect(await text(await store().openOutput(LATEST_RUN, 'summary.json'))).toBe('{"a":1}');
    expect(await text(await store().openOutput({ date: '2026-01-02' }, 'digest.html'))).toBe('<p>');
    expect(await store().openOutput({ date: '2026-01-03' }, 'digest.html')).toBeUndefined();
  });

  it('keeps the SDK error of a failed read as the cause (a missing bucket is not a missing run)', async () => {
    const noBucket = s3Error('NoSuchBucket', 404);
    memory().hooks.push(() => {
      throw noBucket;
    });
    const error = await store()
      .openOutput(LATEST_RUN, 'summary.json')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).cause).toBe(noBucket);
  });

  it('lists the newest run dates, newest first', async () => {
    for (const date of ['2025-12-30', '2026-01-01', '2025-12-31', '2025-12-29'])
      memory().putRaw(`runs/date=${date}/summary.json`, '{}');
    memory().putRaw('runs/not-a-run/summary.json', '{}');
    expect(await store().recentRunDates(3)).toEqual(['2026-01-01', '2025-12-31', '2025-12-30']);
    expect(s3Mock).toHaveReceivedCommandWith(ListObjectsV2Command, { Prefix: 'runs/', Delimiter: '/' });
  });

  it('copies latest/ to a run date and refuses keys outside latest/ and runs/', async () => {
    await store().putText('latest/summary.json', '{}', CONTENT_TYPES.json);
    await store().copy('latest/summary.json', 'runs/date=2026-01-02/summary.json');
    expect(memory().text('runs/date=2026-01-02/summary.json')).toBe('{}');
    await expect(store().putText('accounts/1/latest.json', '{}', CONTENT_TYPES.json)).rejects.toThrow(
      /not a run output/,
    );
    expect(memory().objects.has('accounts/1/latest.json')).toBe(false);
  });
});
