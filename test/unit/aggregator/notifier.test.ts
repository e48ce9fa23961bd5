import 'aws-sdk-client-mock-jest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { notify, publishChatSummary, putEntries } from '../../../aggregator/notifier';
import { BusEntry, CustomNotification, MAX_EVENT_ENTRY_BYTES } from '../../../core/notifications';
import { silentLogger } from './support/reports';

const eventsMock = mockClient(EventBridgeClient);
const snsMock = mockClient(SNSClient);
const BUS = 'arn:aws:events:eu-west-1:111111111111:event-bus/credreport-central';
const TOPIC = 'arn:aws:sns:eu-west-1:111111111111:chat';
const eventBridge = new EventBridgeClient({ region: 'eu-west-1' });
const sns = new SNSClient({ region: 'eu-west-1' });
const noWait = { sleep: async () => undefined, random: () => 0 };

const entry = (i: number, bytes = 100): BusEntry => ({
  source: 'credreport.findings',
  detailType: 'Credential Report Finding',
  detail: JSON.stringify({ i, pad: 'x'.repeat(Math.max(0, bytes - 60)) }),
});
const ok = (input: { Entries: unknown[] }) => ({
  FailedEntryCount: 0,
  Entries: input.Entries.map((_, i) => ({ EventId: `e-${i}` })),
});
const NOTIFICATION: CustomNotification = {
  version: '1.0',
  source: 'custom',
  content: { textType: 'client-markdown', title: 't', description: 'd' },
};

beforeEach(() => {
  eventsMock.reset();
  snsMock.reset();
});

describe('putEntries', () => {
  it('sends 25 entries in requests of at most 10, to the bus', async () => {
    eventsMock.on(PutEventsCommand).callsFake(ok);
    const result = await putEntries(
      { eventBridge, ...noWait },
      Array.from({ length: 25 }, (_, i) => entry(i)),
      {
        eventBusName: BUS,
      },
    );
    expect(result).toEqual({ put: 25, failed: 0, requests: 3 });
    const sizes = eventsMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length);
    expect(sizes).toEqual([10, 10, 5]);
    expect(eventsMock).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: expect.arrayContaining([
        expect.objectContaining({ EventBusName: BUS, Source: 'credreport.findings' }),
      ]),
    });
  });

  it('sends again only the entries that came back with an ErrorCode (FailedEntryCount)', async () => {
    eventsMock
      .on(PutEventsCommand)
      .callsFakeOnce((input: { Entries: unknown[] }) => ({
        FailedEntryCount: 2,
        Entries: input.Entries.map((_, i) =>
          i === 1 || i === 3
            ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }
            : { EventId: `e-${i}` },
        ),
      }))
      .callsFake(ok);
    const entries = Array.from({ length: 5 }, (_, i) => entry(i));
    const result = await putEntries({ eventBridge, ...noWait }, entries, { eventBusName: BUS });
    expect(result.put).toBe(5);
    expect(result.failed).toBe(0);
    const second = eventsMock.commandCalls(PutEventsCommand)[1]?.args[0].input.Entries ?? [];
    expect(second.map((e) => e.Detail)).toEqual([entries[1]?.detail, entries[3]?.detail]);
  });

  it('retries a request that failed with a retryable error, and counts what still fails after the attempts', async () => {
    eventsMock
      .on(PutEventsCommand)
      .rejects(Object.assign(new Error('busy'), { name: 'InternalException', $retryable: {} }));
    const result = await putEntries({ eventBridge, ...noWait }, [entry(1), entry(2)], {
      eventBusName: BUS,
      maxAttempts: 3,
    });
    expect(result).toEqual({ put: 0, failed: 2, requests: 3, error: 'InternalException' });
  });

  it('stops at once on an error that retrying cannot fix, counting every entry not put', async () => {
    eventsMock
      .on(PutEventsCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const result = await putEntries({ eventBridge, ...noWait }, [entry(1), entry(2)], { eventBusName: BUS });
    expect(result).toEqual({ put: 0, failed: 2, requests: 1, error: 'AccessDeniedException' });
  });

  it('never sends an entry over the 256 KB entry limit', async () => {
    eventsMock.on(PutEventsCommand).callsFake(ok);
    const result = await putEntries(
      { eventBridge, ...noWait },
      [entry(1), entry(2, MAX_EVENT_ENTRY_BYTES + 10)],
      {
        eventBusName: BUS,
      },
    );
    expect(result).toEqual({ put: 1, failed: 1, requests: 1, error: 'EntryTooLarge' });
  });
});

describe('publishChatSummary', () => {
  it('publishes the notification JSON as the message', async () => {
    snsMock.on(PublishCommand).resolves({ MessageId: 'm' });
    await publishChatSummary(sns, TOPIC, NOTIFICATION);
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Message: JSON.stringify(NOTIFICATION),
    });
  });
});

describe('notify', () => {
  it('reports a failed publish and partial events without throwing', async () => {
    snsMock.on(PublishCommand).rejects(Object.assign(new Error('gone'), { name: 'NotFoundException' }));
    eventsMock
      .on(PutEventsCommand)
      .callsFakeOnce((input: { Entries: unknown[] }) => ({
        FailedEntryCount: 1,
        Entries: input.Entries.map((_, i) => (i === 0 ? { ErrorCode: 'InternalFailure' } : { EventId: 'e' })),
      }))
      .callsFake((input: { Entries: unknown[] }) => ({
        FailedEntryCount: input.Entries.length,
        Entries: input.Entries.map(() => ({ ErrorCode: 'InternalFailure' })),
      }));
    const outcome = await notify(
      { sns, eventBridge, logger: silentLogger(), ...noWait },
      {
        chat: { topicArn: TOPIC, notification: NOTIFICATION },
        events: {
          eventBusName: BUS,
          entries: [entry(1), entry(2), entry(3)],
          newFindings: 700,
          truncated: 200,
        },
      },
    );
    expect(outcome).toEqual({
      chat: 'failed',
      chatError: 'NotFoundException: gone',
      events: {
        state: 'partial',
        newFindings: 700,
        put: 2,
        failed: 1,
        truncated: 200,
        error: 'InternalFailure',
      },
    });
  });

  it('says first-run and sends nothing when events are on but nothing could be new', async () => {
    const outcome = await notify(
      { eventBridge, logger: silentLogger() },
      { events: { eventBusName: BUS, newFindings: 0, truncated: 0 } },
    );
    expect(outcome).toEqual({
      chat: 'off',
      events: { state: 'first-run', newFindings: 0, put: 0, failed: 0, truncated: 0 },
    });
    expect(eventsMock).not.toHaveReceivedCommand(PutEventsCommand);
  });
});
