/**
 * Delivery of the per-owner digests (docs/ARCHITECTURE.md §6 "Owner digests"): which owners are due is the
 * core's decision (core/owners.ts `ownerGetsDigest`), each digest is the core's rendering of the owner's
 * own summary (core/owner-digest.ts); this module only delivers them.
 *
 * - `send`: one SES message per owner, paced to the account's send rate (SES v2 GetAccount →
 *   SendQuota.MaxSendRate, read once per run; 1 per second when it cannot be read), each failed message
 *   retried with full-jitter backoff when the failure is transient, then counted; one owner's failure
 *   never stops the others.
 * - `dry-run`: each digest is written to `latest/owners/<safe name>.html` instead (same retries).
 */
import { GetAccountCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { Logger } from '@aws-lambda-powertools/logger';
import { errorName, isThrottling } from '../core/aws-errors';
import { retry, sleep as defaultSleep } from '../core/concurrency';
import type { Severity } from '../core/finding-ids';
import { renderOwnerDigest } from '../core/owner-digest';
import { dueOwners, ownerFileName, type OwnerMailFailure } from '../core/owners';
import type { Summary } from '../core/summary';
import { digestSubject, sendDigestEmail } from './mailer';

/** Prefix of the dry-run owner digests in the hub bucket. */
export const OWNER_DIGEST_PREFIX = 'latest/owners/';
/** Send rate used when SES GetAccount cannot be read (messages per second). */
export const FALLBACK_SEND_RATE = 1;

/** Spaces calls at least `1000 / ratePerSecond` ms apart on an injected clock. */
export class SendPacer {
  private next = Number.NEGATIVE_INFINITY;
  private readonly intervalMs: number;

  constructor(
    ratePerSecond: number,
    private readonly clock: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    const rate = Number.isFinite(ratePerSecond) && ratePerSecond > 0 ? ratePerSecond : FALLBACK_SEND_RATE;
    this.intervalMs = 1000 / rate;
  }

  /** Resolves when the next call may start (and books the slot after it). */
  async wait(): Promise<void> {
    const now = this.clock();
    const at = Math.max(now, this.next);
    this.next = at + this.intervalMs;
    if (at > now) await this.sleep(at - now);
  }
}

/** The account's SES send rate (messages per second), or undefined when it cannot be read. */
export async function sesSendRate(ses: SESv2Client, logger?: Logger): Promise<number | undefined> {
  try {
    const account = await ses.send(new GetAccountCommand({}));
    const rate = account.SendQuota?.MaxSendRate;
    return typeof rate === 'number' && rate > 0 ? rate : undefined;
  } catch (error) {
    logger?.warn('Could not read the SES send rate; pacing at the fallback rate', {
      error: errorName(error),
      fallbackPerSecond: FALLBACK_SEND_RATE,
    });
    return undefined;
  }
}

export interface OwnerDeliveryInput {
  readonly mode: 'dry-run' | 'send';
  readonly minSeverity: Severity;
  /** Owner → the summary of their accounts alone (core/merge.ts `partitions`). */
  readonly partitions: ReadonlyMap<string, Summary>;
  readonly organizationLabel: string;
  /** The verified SES sender (send mode). */
  readonly sender?: string;
}

export interface OwnerDeliveryDeps {
  readonly ses: SESv2Client;
  /** Writes one dry-run digest to the bucket. */
  readonly putHtml: (key: string, html: string) => Promise<void>;
  readonly logger?: Logger;
  /** Monotonic ms clock for the pacing. */
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Attempts per owner, the first included. @default 3 */
  readonly attempts?: number;
  /** @default 1000 */
  readonly retryBaseMs?: number;
  /** The send rate, when the caller read it already (tests); else SES GetAccount. */
  readonly sendRate?: number;
}

export interface OwnerDeliveryResult {
  /** Owners whose accounts have something to act on. */
  readonly due: number;
  readonly delivered: number;
  readonly failures: readonly OwnerMailFailure[];
}

/** The underlying SDK error of a MailerError (which keeps it as its cause). */
const rootCause = (error: unknown): unknown =>
  error instanceof Error && error.cause !== undefined ? error.cause : error;

/** Delivers every due owner's digest; never throws for one owner's failure. */
export async function deliverOwnerDigests(
  input: OwnerDeliveryInput,
  deps: OwnerDeliveryDeps,
): Promise<OwnerDeliveryResult> {
  const clock = deps.clock ?? (() => performance.now());
  const sleep = deps.sleep ?? defaultSleep;
  const due = dueOwners(input.partitions, input.minSeverity);
  if (input.mode === 'send' && !input.sender) {
    return {
      due: due.length,
      delivered: 0,
      failures: due.map(([owner]) => ({ owner, error: 'no digestSender configured to send from' })),
    };
  }
  const rate =
    input.mode === 'send' ? (deps.sendRate ?? (await sesSendRate(deps.ses, deps.logger))) : undefined;
  const pacer = new SendPacer(rate ?? FALLBACK_SEND_RATE, clock, sleep);

  let delivered = 0;
  const failures: OwnerMailFailure[] = [];
  // One at a time: the pacer sets the rate, and SES's per-second quota is the account's, not per owner.
  for (const [owner, summary] of due) {
    const digest = renderOwnerDigest(owner, summary, input.organizationLabel);
    const deliver = async (): Promise<void> => {
      if (input.mode === 'dry-run') {
        await deps.putHtml(`${OWNER_DIGEST_PREFIX}${ownerFileName(owner)}`, digest.html);
        return;
      }
      await pacer.wait();
      await sendDigestEmail(deps.ses, {
        from: input.sender as string,
        to: [owner],
        subject: digestSubject(summary, digest.label),
        html: digest.html,
        text: digest.text,
      });
    };
    try {
      await retry(deliver, {
        attempts: deps.attempts ?? 3,
        baseMs: deps.retryBaseMs ?? 1000,
        capMs: 20_000,
        random: deps.random ?? Math.random,
        sleep,
        // The clients retry transient errors themselves; only throttling that outlasted them is retried here.
        retryIf: (error) => isThrottling(rootCause(error)),
      });
      delivered++;
    } catch (error) {
      const message = `${errorName(rootCause(error))}`;
      failures.push({ owner, error: message });
      // The address is the configured owner's; no report content is logged.
      deps.logger?.error('Owner digest failed', { owner, error: message, mode: input.mode });
    }
  }
  deps.logger?.info('Owner digests delivered', {
    mode: input.mode,
    owners: input.partitions.size,
    due: due.length,
    delivered,
    failed: failures.length,
    ...(rate !== undefined ? { sendRatePerSecond: rate } : {}),
  });
  return { due: due.length, delivered, failures };
}
