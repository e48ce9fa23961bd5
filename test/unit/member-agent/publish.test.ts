import 'aws-sdk-client-mock-jest';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import {
  assembleParts,
  entryBytes,
  parsePartDetail,
  splitReport,
  type PartDetail,
} from '../../../core/event-contract';
import { EVENT_DETAIL_TYPE, EVENT_SOURCE } from '../../../core/names';
import {
  DEFAULT_MAX_REQUEST_BYTES,
  MAX_ENTRIES_PER_REQUEST,
  PublishError,
  batchParts,
  maxRequestBytesFor,
  publishParts,
} from '../../../member-agent/publish';
import { sampleAccountReport, syntheticUsers } from '../collector/fixtures';

const ebMock = mockClient(EventBridgeClient);
const eventBridge = new EventBridgeClient({ region: 'eu-west-1' });
beforeEach(() => ebMock.reset());

const meta = { $metadata: {} };
const report = sampleAccountReport({}, syntheticUsers(600, { nameLength: 40 }));
const parts = splitReport(report, { maxEntryBytes: 20_000 });
const sleep = async (): Promise<void> => {};

function entriesSent(): PutEventsRequestEntry[][] {
  return ebMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);
}

const accepted = (entries: readonly PutEventsRequestEntry[]) => ({
  FailedEntryCount: 0,
  Entries: entries.map((_, i) => ({ EventId: `id-${i}` })),
  ...meta,
});

describe('batchParts', () => {
  it('puts at most 10 entries in a request when parts are small', () => {
    const small = splitReport(report, { maxEntryBytes: 2_000 });
    expect(small.length).toBeGreaterThan(20);
    const batches = batchParts(small, 1_000_000);
    expect(batches.every((b) => b.length <= MAX_ENTRIES_PER_REQUEST)).toBe(true);
    expect(batches.flat()).toEqual(small);
  });

  it('keeps each request within the request size limit when parts are large', () => {
    const batches = batchParts(parts, 50_000);
    for (const batch of batches)
      expect(batch.reduce((n, p) => n + entryBytes(p), 0)).toBeLessThanOrEqual(50_000);
    expect(batches.flat()).toEqual(parts);
  });

  it('keeps the total below the limit when two entries would add up to exactly the limit', () => {
    const two = parts.slice(0, 2);
    const exact = entryBytes(two[0]!) + entryBytes(two[1]!);
    expect(batchParts(two, exact)).toEqual([[two[0]], [two[1]]]);
    expect(batchParts(two, exact + 1)).toEqual([two]);
  });

  it('sends a part that alone reaches the request limit in a request of its own', () => {
    const limit = entryBytes(parts[0]!);
    expect(batchParts(parts.slice(0, 2), limit)).toEqual([[parts[0]], [parts[1]]]);
  });
});

describe('maxRequestBytesFor', () => {
  it('keeps the 256 KB request limit when entries are at most 256 KB', () => {
    expect(maxRequestBytesFor(250_000)).toBe(DEFAULT_MAX_REQUEST_BYTES);
    expect(maxRequestBytesFor(16_384)).toBe(DEFAULT_MAX_REQUEST_BYTES);
  });

  it('allows 1 MB requests when entries may be 1 MB', () => {
    expect(maxRequestBytesFor(1_048_576)).toBe(1_048_576);
  });
});

describe('publishParts', () => {
  it('puts every part on the bus with the contract source and detail type when all are accepted', async () => {
    ebMock
      .on(PutEventsCommand)
      .callsFake((input: { Entries: PutEventsRequestEntry[] }) => accepted(input.Entries));
    const result = await publishParts({ eventBridge, sleep: sleep }, parts, {
      eventBusName: 'default',
    });
    const sent = entriesSent().flat();
    expect(sent).toHaveLength(parts.length);
    for (const entry of sent) {
      expect(entry).toMatchObject({
        Source: EVENT_SOURCE,
        DetailType: EVENT_DETAIL_TYPE,
        EventBusName: 'default',
      });
    }
    expect(assembleParts(sent.map((e) => parsePartDetail(JSON.parse(e.Detail!))))).toEqual(report);
    expect(result).toEqual({ requests: entriesSent().length, retriedEntries: 0 });
  });

  it('retries only the failed entries when PutEvents reports a partial failure', async () => {
    let call = 0;
    ebMock.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      call++;
      if (call === 1) {
        return {
          FailedEntryCount: 1,
          Entries: input.Entries.map((_, i) =>
            i === 0
              ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }
              : { EventId: `id-${i}` },
          ),
          ...meta,
        };
      }
      return accepted(input.Entries);
    });
    const result = await publishParts({ eventBridge, sleep: sleep }, parts, {
      eventBusName: 'default',
      maxRequestBytes: 1_000_000,
    });
    const calls = entriesSent();
    const firstPart = (e: PutEventsRequestEntry) => (JSON.parse(e.Detail!) as PartDetail).part;
    expect(calls.at(-1)!.map(firstPart)).toEqual([1]);
    expect(result.retriedEntries).toBe(1);
  });

  it('throws PublishError naming the parts when entries keep failing', async () => {
    ebMock.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => ({
      FailedEntryCount: 1,
      Entries: input.Entries.map((e) =>
        (JSON.parse(e.Detail!) as PartDetail).part === 2
          ? { ErrorCode: 'InternalFailure' }
          : { EventId: 'x' },
      ),
      ...meta,
    }));
    const error = (await publishParts({ eventBridge, sleep: sleep }, parts, {
      eventBusName: 'default',
      maxAttempts: 3,
    }).catch((e: unknown) => e)) as PublishError;
    expect(error).toBeInstanceOf(PublishError);
    expect(error.failedParts).toEqual([2]);
    expect(error.message).toMatch(
      /1 of \d+ part\(s\) could not be put on default after 3 attempts \(InternalFailure\)/,
    );
  });

  it('treats an entry without an EventId as failed', async () => {
    ebMock
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 0, Entries: [], ...meta })
      .callsFake((input: { Entries: PutEventsRequestEntry[] }) => accepted(input.Entries));
    const single = splitReport(sampleAccountReport());
    const result = await publishParts({ eventBridge, sleep: sleep }, single, {
      eventBusName: 'default',
    });
    expect(result).toEqual({ requests: 2, retriedEntries: 1 });
  });

  it('retries the whole request when PutEvents is throttled', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    ebMock
      .on(PutEventsCommand)
      .rejectsOnce(throttled)
      .callsFake((input: { Entries: PutEventsRequestEntry[] }) => accepted(input.Entries));
    const single = splitReport(sampleAccountReport());
    await expect(
      publishParts({ eventBridge, sleep: sleep }, single, { eventBusName: 'default' }),
    ).resolves.toEqual({ requests: 2, retriedEntries: 1 });
  });

  it('names only the undelivered parts when a later request is denied', async () => {
    let call = 0;
    ebMock.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      call++;
      if (call === 1) return accepted(input.Entries);
      throw Object.assign(new Error('denied'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      });
    });
    const small = splitReport(report, { maxEntryBytes: 2_000 });
    expect(small.length).toBeGreaterThan(MAX_ENTRIES_PER_REQUEST);
    const error = (await publishParts({ eventBridge, sleep }, small, {
      eventBusName: 'bus',
    }).catch((e: unknown) => e)) as PublishError;
    expect(error).toBeInstanceOf(PublishError);
    const firstBatch = entriesSent()[0]!.map((e) => (JSON.parse(e.Detail!) as PartDetail).part);
    expect(firstBatch).toHaveLength(MAX_ENTRIES_PER_REQUEST);
    expect(error.failedParts).toEqual(small.map((p) => p.part).filter((n) => !firstBatch.includes(n)));
  });

  it('fails at once without retrying when PutEvents is denied', async () => {
    ebMock.on(PutEventsCommand).rejects(
      Object.assign(new Error('denied'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    await expect(publishParts({ eventBridge, sleep: sleep }, parts, { eventBusName: 'bus' })).rejects.toThrow(
      /PutEvents to bus failed: AccessDeniedException/,
    );
    expect(ebMock).toHaveReceivedCommandTimes(PutEventsCommand, 1);
  });
});
