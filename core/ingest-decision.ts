/**
 * What ingest decides about one `Credential Report Part` event (docs/ARCHITECTURE.md §4, §11), apart
 * from what it writes: whether the envelope and the part can be trusted, whether a stored report makes
 * the part moot, and whether the assembled parts make a valid report. Pure: no SDK, and `now` is an
 * argument, so every rule is tested without mocks; aggregator/ingest.ts performs the writes a decision
 * names (part, latest.json, rejected.json) and nothing else.
 *
 * A refusal is final (retrying cannot make an event valid), so it is a value, never an exception; only
 * a programming error (an unexpected exception from the contract or the parser) is thrown.
 */
import * as z from 'zod';
import { ReportParseError, parseCredentialReport } from './credential-report';
import {
  AgentFailureDetail,
  ContractError,
  MAX_JOINED_BASE64_CHARS,
  MAX_PART_ENVELOPE_BYTES,
  PartDetail,
  assembleParts,
  declaredJoinedChars,
  parseAgentFailureDetail,
  parsePartDetail,
  reportIdFor,
} from './event-contract';
import { StoredPartRef, incomingPartsPrefix } from './incoming-parts';
import { AGENT_FAILURE_DETAIL_TYPE, EVENT_DETAIL_TYPE, EVENT_SOURCE } from './names';
import { AgentFailureRecord, RejectionReason, RejectionRecord } from './rejection';
import { ReportTimes, isNewerReport } from './report-order';
import { AccountReport } from './types';

/** Tolerated clock difference between a member account and the hub. */
export const MAX_CLOCK_SKEW_MS = 15 * 60_000;
/**
 * Tolerance when comparing a report's times with the event's `time`: EventBridge writes it in whole
 * seconds, and the Lambda and EventBridge clocks are NTP-synchronised, not identical.
 */
export const EVENT_TIME_TOLERANCE_MS = 5_000;

/** The EventBridge envelope fields ingest relies on (EventBridge adds others; they are ignored). */
const EnvelopeSchema = z.object({
  id: z.string().optional(),
  source: z.string(),
  'detail-type': z.string(),
  account: z.string(),
  /** When EventBridge received the event (the PutEvents time unless the sender set an entry `Time`). */
  time: z.string().optional(),
  detail: z.unknown(),
});

const ACCOUNT_ID = /^\d{12}$/;

/** Which counter a refusal raises: a refused event (a part or an agent failure), or a refused (assembled) report. */
export type RejectionCounter = 'rejectedParts' | 'rejectedReports';

/** A refusal, with everything the handler logs, counts and records about it. */
export interface Rejection {
  readonly kind: 'reject';
  readonly reason: RejectionReason;
  /** Safe to log and record: names the check that failed, quotes sender values escaped and short. */
  readonly detail: string;
  readonly counter: RejectionCounter;
  /** The sending account (EventBridge's `event.account`), when the event names a usable one. */
  readonly sender?: string;
  readonly eventId?: string;
  readonly claimedAccountId?: string;
  readonly reportId?: string;
  /**
   * What to write to accounts/<sender>/rejected.json; absent when the event names no usable sender
   * (it cannot be attributed, so it is only logged and counted).
   */
  readonly record?: RejectionRecord;
  /** A report that failed validation, to keep aside whole (never as latest.json). */
  readonly keptAside?: { readonly report: AccountReport; readonly sha256: string };
}

/** A part that passed every check on the event: it may be stored. */
export interface AcceptedPart {
  readonly kind: 'accept';
  /** `event.account`, which equals `part.accountId`. */
  readonly sender: string;
  readonly eventId?: string;
  readonly part: PartDetail;
}

/** The assembled parts are a valid report of the sender: it may be stored as latest.json. */
export interface AcceptedReport {
  readonly kind: 'accept';
  readonly report: AccountReport;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
/** A value the sender chose, made safe to log and record: quoted, escaped and short. */
const quoted = (value: unknown, max = 80): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
};
/** `detail.accountId` as the sender wrote it, whatever the rest of the detail looks like. */
const claimedAccount = (detail: unknown): unknown =>
  typeof detail === 'object' && detail !== null ? (detail as { accountId?: unknown }).accountId : undefined;

function rejection(
  who: { readonly sender?: string; readonly eventId?: string },
  reason: RejectionReason,
  detail: string,
  now: Date,
  extra: Partial<RejectionRecord> = {},
  counter: RejectionCounter = 'rejectedParts',
  keptAside?: Rejection['keptAside'],
): Rejection {
  const { sender, eventId } = who;
  return {
    kind: 'reject',
    reason,
    detail,
    counter,
    ...(sender ? { sender } : {}),
    ...(eventId ? { eventId } : {}),
    ...(extra.claimedAccountId ? { claimedAccountId: extra.claimedAccountId } : {}),
    ...(extra.reportId ? { reportId: extra.reportId } : {}),
    ...(sender
      ? {
          record: {
            schemaVersion: 1,
            accountId: sender,
            reason,
            detail,
            at: now.toISOString(),
            ...(eventId ? { eventId } : {}),
            ...extra,
          },
        }
      : {}),
    ...(keptAside ? { keptAside } : {}),
  };
}

/**
 * Decides whether one event's part may be stored: the envelope (source, detail-type, a 12-digit
 * `event.account`), then forgery — checked before the detail's schema, so a part claiming another
 * account is `forged-account` even when the rest of it is malformed (§11) — then the part's schema, its
 * reportId, and its times (a report "from the future" would stay latest.json forever and freeze the
 * account's coverage).
 */
export function classifyPart(event: unknown, now: Date): AcceptedPart | Rejection {
  const envelope = EnvelopeSchema.safeParse(event);
  const sender =
    envelope.success && ACCOUNT_ID.test(envelope.data.account) ? envelope.data.account : undefined;
  const eventId = envelope.success ? envelope.data.id : undefined;
  const who = { ...(sender ? { sender } : {}), ...(eventId ? { eventId } : {}) };

  if (!envelope.success || !sender) {
    return rejection(
      who,
      'invalid-envelope',
      'event is not an EventBridge event with a 12-digit account',
      now,
    );
  }
  const { source } = envelope.data;
  const detailType = envelope.data['detail-type'];
  if (source !== EVENT_SOURCE || detailType !== EVENT_DETAIL_TYPE) {
    return rejection(
      who,
      'invalid-envelope',
      `unexpected source ${quoted(source)} / detail-type ${quoted(detailType)}`,
      now,
    );
  }

  // The one check that matters most, made before anything else in the detail is trusted or parsed:
  // EventBridge sets event.account; detail.accountId is only the sender's word.
  const claimed = claimedAccount(envelope.data.detail);
  if (claimed !== undefined && claimed !== sender) {
    const reportId = (envelope.data.detail as { reportId?: unknown }).reportId;
    return rejection(
      who,
      'forged-account',
      `detail.accountId ${quoted(claimed, 40)} differs from the sending account ${sender}`,
      now,
      {
        ...(typeof claimed === 'string' && ACCOUNT_ID.test(claimed) ? { claimedAccountId: claimed } : {}),
        ...(typeof reportId === 'string' && reportId.length <= 128 ? { reportId } : {}),
      },
    );
  }

  let part: PartDetail;
  try {
    part = parsePartDetail(envelope.data.detail);
  } catch (error) {
    if (error instanceof ContractError) return rejection(who, 'invalid-part', error.message, now);
    throw error;
  }
  const expectedId = reportIdFor(part.accountId, part.generatedTime);
  if (part.reportId !== expectedId) {
    return rejection(
      who,
      'invalid-part',
      `reportId ${part.reportId} does not match account and generatedTime (${expectedId})`,
      now,
      { reportId: part.reportId },
    );
  }
  // Times (§11): a report dated after the event that carried it, or after the hub's clock, would rank
  // as newer than every genuine report that follows and keep latest.json for good. The event's `time`
  // is the sender's choice when it sets one, so the hub's own clock bounds it too.
  const eventMs = envelope.data.time === undefined ? Number.NaN : Date.parse(envelope.data.time);
  const latestMs = Math.min(
    now.getTime() + MAX_CLOCK_SKEW_MS,
    Number.isNaN(eventMs) ? Number.POSITIVE_INFINITY : eventMs + EVENT_TIME_TOLERANCE_MS,
  );
  const generatedMs = Date.parse(part.generatedTime);
  const collectedMs = Date.parse(part.collectedTime);
  const problem =
    generatedMs > collectedMs
      ? `generatedTime ${part.generatedTime} is after collectedTime ${part.collectedTime}`
      : collectedMs > latestMs
        ? `collectedTime ${part.collectedTime} is later than the event time ${quoted(envelope.data.time ?? null, 40)} or the hub's clock ${now.toISOString()}`
        : undefined;
  if (problem !== undefined) {
    return rejection(who, 'invalid-part', problem, now, { reportId: part.reportId });
  }
  // Size (§11): a part that declares a set larger than any report may be is refused before it is
  // stored, so a hostile set of 512 parts of 1 MB never reaches incoming/ (or the ingest's memory).
  const declared = declaredJoinedChars(part);
  if (declared > MAX_JOINED_BASE64_CHARS) {
    return rejection(
      who,
      'too-large',
      `part ${part.part}/${part.parts} of ${part.payload.length} base64 characters declares a set of at least ${declared}, over the ${MAX_JOINED_BASE64_CHARS} a report may have`,
      now,
      { reportId: part.reportId },
    );
  }
  return { kind: 'accept', sender, ...(eventId ? { eventId } : {}), part };
}

/** Most bytes the stored parts of one set may total: the joined payload bound plus each part's envelope. */
export function maxStoredPartSetBytes(parts: number): number {
  return MAX_JOINED_BASE64_CHARS + parts * MAX_PART_ENVELOPE_BYTES;
}

/**
 * The stored parts of a complete set, by their listed sizes, are more than a report may be: refused
 * before any part body is read (§11), so assembling never holds more than the bound in memory whatever
 * incoming/ holds (parts stored before the declared-size check, or sets crafted part by part).
 */
export function checkStoredPartSetSize(
  accepted: AcceptedPart,
  refs: readonly Pick<StoredPartRef, 'size'>[],
  now: Date,
): Rejection | undefined {
  const { sender, part } = accepted;
  const total = refs.reduce((sum, ref) => sum + ref.size, 0);
  const max = maxStoredPartSetBytes(refs.length);
  if (total <= max) return undefined;
  return rejection(
    accepted,
    'too-large',
    `the ${refs.length} stored parts of ${part.reportId} total ${total} bytes, over the ${max} a report's parts may have; no part was read`,
    now,
    { reportId: part.reportId, partsPrefix: incomingPartsPrefix(sender, part.reportId, part.sha256) },
  );
}

/** The stored report is as new as the part's report or newer (see isNewerReport): the part is moot. */
export function isSupersededPart(part: ReportTimes, stored: ReportTimes | undefined): boolean {
  return stored !== undefined && !isNewerReport(part, stored);
}

/** Default cap on an account's open (incomplete) part sets under incoming/. */
export const DEFAULT_MAX_OPEN_PART_SETS = 8;

/**
 * The per-account cap on open part sets (§11): a part that would open a new set while the account
 * already has `max` open ones is refused, so one account cannot fill incoming/ (and the digest's listing
 * of it) with sets that never complete. A genuine agent opens one set a day; sets expire after 7 days.
 * `open` are the account's open set ids (`<reportId>/<sha256>`, see openPartSetIds).
 */
export function checkPartSetCap(
  accepted: AcceptedPart,
  open: ReadonlySet<string>,
  max: number,
  now: Date,
): Rejection | undefined {
  const { part } = accepted;
  if (open.has(`${part.reportId}/${part.sha256}`) || open.size < max) return undefined;
  return rejection(
    accepted,
    'too-many-part-sets',
    `the account already has ${open.size} incomplete part sets (at most ${max}); part ${part.part}/${part.parts} of ${part.reportId} would open another`,
    now,
    { reportId: part.reportId },
  );
}

/**
 * The part's slot (same collection, same part number) already holds a different payload: two senders
 * disagree about the same collection, so one of them is not the agent's genuine run. Refused and
 * recorded, never answered as a harmless duplicate (§11).
 */
export function rejectConflictingPart(accepted: AcceptedPart, now: Date): Rejection {
  const { part } = accepted;
  return rejection(
    accepted,
    'conflicting-part',
    `part ${part.part}/${part.parts} of ${part.reportId} differs from the copy already stored for the same payload sha256`,
    now,
    {
      reportId: part.reportId,
      partsPrefix: incomingPartsPrefix(accepted.sender, part.reportId, part.sha256),
    },
  );
}

/**
 * A stored part of the accepted part's collection could not be read back as a part (corrupted JSON or
 * contract): the report cannot be assembled. `error` is what reading it threw.
 */
export function rejectUnreadableParts(accepted: AcceptedPart, error: unknown, now: Date): Rejection {
  const { part } = accepted;
  return rejection(
    accepted,
    'assembly-failed',
    `a stored part is unreadable: ${message(error)}`,
    now,
    {
      reportId: part.reportId,
      partsPrefix: incomingPartsPrefix(accepted.sender, part.reportId, part.sha256),
    },
    'rejectedReports',
  );
}

/**
 * Decides whether every part of one collection makes a report that may become the sender's latest.json:
 * the parts must assemble (same report, all present, payload intact) and the credential report must
 * parse as the sender's. A report that fails validation is kept aside whole for inspection.
 */
export function classifyAssembly(
  accepted: AcceptedPart,
  parts: readonly PartDetail[],
  now: Date,
): AcceptedReport | Rejection {
  const { sender, part } = accepted;
  const extra = {
    reportId: part.reportId,
    generatedTime: part.generatedTime,
    partsPrefix: incomingPartsPrefix(sender, part.reportId, part.sha256),
  };
  let report: AccountReport;
  try {
    report = assembleParts(parts);
  } catch (error) {
    if (error instanceof ContractError) {
      return rejection(accepted, 'assembly-failed', error.message, now, extra, 'rejectedReports');
    }
    throw error;
  }
  try {
    parseCredentialReport(report.credentialReportCsv, sender);
  } catch (error) {
    if (error instanceof ReportParseError) {
      // Kept aside whole; latest.json (the previous good report) is left untouched.
      return rejection(accepted, 'invalid-report', error.message, now, extra, 'rejectedReports', {
        report,
        sha256: part.sha256,
      });
    }
    throw error;
  }
  return { kind: 'accept', report };
}

/** An agent failure that passed every check: ingest records it as accounts/<sender>/agent-failure.json. */
export interface AcceptedAgentFailure {
  readonly kind: 'accept';
  readonly sender: string;
  readonly record: AgentFailureRecord;
}

/** Whether an event is an agent failure (routed to {@link classifyAgentFailure}) rather than a part. */
export function isAgentFailureEvent(event: unknown): boolean {
  return (
    typeof event === 'object' &&
    event !== null &&
    (event as { source?: unknown }).source === EVENT_SOURCE &&
    (event as { 'detail-type'?: unknown })['detail-type'] === AGENT_FAILURE_DETAIL_TYPE
  );
}

/**
 * Decides whether a `Credential Report Agent Failure` event may be recorded (§4, §11): the same
 * envelope and forgery checks as a part (the account is EventBridge's `event.account`, and a failure
 * claiming another account is `forged-account`), then the strict, bounded schema, then the time: a
 * failure dated after the event that carried it (or the hub's clock) is refused, so it cannot outrank
 * the reports that follow it. A failure only ever makes its own account's coverage worse.
 */
export function classifyAgentFailure(event: unknown, now: Date): AcceptedAgentFailure | Rejection {
  const envelope = EnvelopeSchema.safeParse(event);
  const sender =
    envelope.success && ACCOUNT_ID.test(envelope.data.account) ? envelope.data.account : undefined;
  const eventId = envelope.success && (envelope.data.id?.length ?? 0) <= 128 ? envelope.data.id : undefined;
  const who = { ...(sender ? { sender } : {}), ...(eventId ? { eventId } : {}) };
  const refuse = (reason: RejectionReason, detail: string, extra: Partial<RejectionRecord> = {}) =>
    rejection(who, reason, detail, now, extra);

  if (!envelope.success || !sender) {
    return refuse('invalid-envelope', 'event is not an EventBridge event with a 12-digit account');
  }
  if (envelope.data.source !== EVENT_SOURCE || envelope.data['detail-type'] !== AGENT_FAILURE_DETAIL_TYPE) {
    return refuse(
      'invalid-envelope',
      `unexpected source ${quoted(envelope.data.source)} / detail-type ${quoted(envelope.data['detail-type'])}`,
    );
  }
  const claimed = claimedAccount(envelope.data.detail);
  if (claimed !== undefined && claimed !== sender) {
    return refuse(
      'forged-account',
      `agent failure: detail.accountId ${quoted(claimed, 40)} differs from the sending account ${sender}`,
      typeof claimed === 'string' && ACCOUNT_ID.test(claimed) ? { claimedAccountId: claimed } : {},
    );
  }
  let detail: AgentFailureDetail;
  try {
    detail = parseAgentFailureDetail(envelope.data.detail);
  } catch (error) {
    if (error instanceof ContractError) return refuse('invalid-agent-failure', error.message);
    throw error;
  }
  const eventMs = envelope.data.time === undefined ? Number.NaN : Date.parse(envelope.data.time);
  const latestMs = Math.min(
    now.getTime() + MAX_CLOCK_SKEW_MS,
    Number.isNaN(eventMs) ? Number.POSITIVE_INFINITY : eventMs + EVENT_TIME_TOLERANCE_MS,
  );
  if (Date.parse(detail.failedTime) > latestMs) {
    return refuse(
      'invalid-agent-failure',
      `failedTime ${detail.failedTime} is later than the event time ${quoted(envelope.data.time ?? null, 40)} or the hub's clock ${now.toISOString()}`,
    );
  }
  return {
    kind: 'accept',
    sender,
    record: {
      schemaVersion: 1,
      accountId: sender,
      runId: detail.runId,
      failedTime: detail.failedTime,
      stage: detail.stage,
      errorName: detail.errorName,
      message: detail.message,
      agentVersion: detail.agentVersion,
      receivedAt: now.toISOString(),
      ...(eventId ? { eventId } : {}),
    },
  };
}
