/**
 * Sends the digest's chat summary (SNS, an Amazon Q Developer in chat applications custom notification) and its
 * finding events (EventBridge, source `credreport.findings`) built by core/notifications.ts. Never throws: every
 * failure is counted in the {@link NotificationOutcome} that summary.json and the digest show
 * (docs/ARCHITECTURE.md §6 "Chat and routing", §12).
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Logger } from '@aws-lambda-powertools/logger';
import { errorName, isRetryable } from '../core/aws-errors';
import { retry, sleep as realSleep } from '../core/concurrency';
import { CredreportError } from '../core/errors';
import {
  batchEntries,
  BusEntry,
  busEntryBytes,
  CustomNotification,
  CUSTOM_NOTIFICATION_BOUNDS,
  MAX_EVENT_ENTRY_BYTES,
  NotificationOutcome,
} from '../core/notifications';

/** Some entries of an attempt were not accepted; internal to {@link putEntries}, which retries them. */
class EntriesPending extends CredreportError {
  constructor() {
    super('PutEvents entries pending');
  }
}

export interface PutEntriesResult {
  readonly put: number;
  readonly failed: number;
  /** PutEvents requests sent (retries included). */
  readonly requests: number;
  /** The last error code or name of a failed entry or request. */
  readonly error?: string;
}

/**
 * Puts `entries` on `eventBusName` in requests of at most 10 entries and 256 KB. Entries that come back with
 * an ErrorCode (FailedEntryCount > 0) and requests that fail with a retryable error are sent again, alone,
 * with bounded exponential backoff and full jitter (the shared `retry`); an entry over the 256 KB entry limit
 * is never sent and counts as failed. Never throws.
 */
export async function putEntries(
  deps: {
    readonly eventBridge: EventBridgeClient;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly random?: () => number;
  },
  entries: readonly BusEntry[],
  opts: { readonly eventBusName: string; readonly maxAttempts?: number; readonly baseDelayMs?: number },
): Promise<PutEntriesResult> {
  let error: string | undefined;
  const fits = entries.filter((e) => busEntryBytes(e) <= MAX_EVENT_ENTRY_BYTES);
  let failed = entries.length - fits.length;
  if (failed > 0) error = 'EntryTooLarge';
  let pending = fits;
  let put = 0;
  let requests = 0;
  const attempt = async (): Promise<void> => {
    const next: BusEntry[] = [];
    for (const batch of batchEntries(pending)) {
      requests++;
      let results: PutEventsResultEntry[];
      try {
        const response = await deps.eventBridge.send(
          new PutEventsCommand({
            Entries: batch.map((e) => ({
              Source: e.source,
              DetailType: e.detailType,
              Detail: e.detail,
              EventBusName: opts.eventBusName,
            })),
          }),
        );
        results = response.Entries ?? [];
      } catch (caught) {
        error = errorName(caught);
        if (!isRetryable(caught)) throw caught;
        next.push(...batch);
        continue;
      }
      batch.forEach((entry, i) => {
        const result = results[i];
        // An entry without an EventId (or missing from the response) was not accepted.
        if (result?.EventId === undefined || result.ErrorCode !== undefined) {
          error = result?.ErrorCode ?? 'NoEventId';
          next.push(entry);
        } else put++;
      });
    }
    pending = next;
    if (next.length > 0) throw new EntriesPending();
  };
  try {
    await retry(attempt, {
      attempts: opts.maxAttempts ?? 5,
      baseMs: opts.baseDelayMs ?? 200,
      capMs: 5_000,
      retryIf: (e) => e instanceof EntriesPending,
      random: deps.random ?? Math.random,
      ...(deps.sleep ? { sleep: deps.sleep } : { sleep: realSleep }),
    });
  } catch (caught) {
    if (!(caught instanceof EntriesPending)) error = errorName(caught);
  }
  failed += pending.length;
  return { put, failed, requests, ...(error ? { error } : {}) };
}

/** Publishes the chat summary (the SNS client's own retries; the message is checked against the 256 KB limit). */
export async function publishChatSummary(
  sns: SNSClient,
  topicArn: string,
  notification: CustomNotification,
): Promise<void> {
  const message = JSON.stringify(notification);
  if (Buffer.byteLength(message, 'utf8') > CUSTOM_NOTIFICATION_BOUNDS.messageBytes) {
    throw new CredreportError('The chat summary is larger than an SNS message may be');
  }
  await sns.send(new PublishCommand({ TopicArn: topicArn, Message: message }));
}

export interface NotifyDeps {
  readonly sns?: SNSClient;
  readonly eventBridge?: EventBridgeClient;
  readonly logger: Logger;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface NotifyRequest {
  /** Absent: no chat summary. */
  readonly chat?: { readonly topicArn: string; readonly notification: CustomNotification };
  /** Absent: finding events off. `entries` undefined: a first run (no previous run, nothing is new). */
  readonly events?: {
    readonly eventBusName: string;
    readonly entries?: readonly BusEntry[];
    readonly newFindings: number;
    readonly truncated: number;
  };
}

const text = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** Sends what `request` holds; returns what happened, never throws. */
export async function notify(deps: NotifyDeps, request: NotifyRequest): Promise<NotificationOutcome> {
  let chat: NotificationOutcome['chat'] = 'off';
  let chatError: string | undefined;
  if (request.chat) {
    try {
      if (!deps.sns) throw new CredreportError('no SNS client');
      await publishChatSummary(deps.sns, request.chat.topicArn, request.chat.notification);
      chat = 'published';
    } catch (error) {
      chat = 'failed';
      chatError = text(error).slice(0, 300);
      deps.logger.error('Chat summary not published', { error: chatError });
    }
  }
  let events: NotificationOutcome['events'] = { state: 'off' };
  const ev = request.events;
  if (ev && !ev.entries) {
    events = { state: 'first-run', newFindings: 0, put: 0, failed: 0, truncated: 0 };
  } else if (ev?.entries) {
    const result = deps.eventBridge
      ? await putEntries(
          {
            eventBridge: deps.eventBridge,
            ...(deps.sleep ? { sleep: deps.sleep } : {}),
            ...(deps.random ? { random: deps.random } : {}),
          },
          ev.entries,
          { eventBusName: ev.eventBusName },
        )
      : { put: 0, failed: ev.entries.length, requests: 0, error: 'no EventBridge client' };
    const state = result.failed === 0 ? 'sent' : result.put === 0 ? 'failed' : 'partial';
    events = {
      state,
      newFindings: ev.newFindings,
      put: result.put,
      failed: result.failed,
      truncated: ev.truncated,
      ...(result.error ? { error: result.error.slice(0, 200) } : {}),
    };
    if (result.failed > 0) {
      deps.logger.error('Finding events not all put', {
        put: result.put,
        failed: result.failed,
        error: result.error,
      });
    } else {
      deps.logger.info('Put finding events', { put: result.put, requests: result.requests });
    }
  }
  return { chat, ...(chatError ? { chatError } : {}), events };
}
