import {
  MAX_JOINED_BASE64_CHARS,
  MAX_PART_ENVELOPE_BYTES,
  PartDetail,
  declaredJoinedChars,
  reportIdFor,
} from '../../../core/event-contract';
import {
  AcceptedPart,
  EVENT_TIME_TOLERANCE_MS,
  MAX_CLOCK_SKEW_MS,
  checkStoredPartSetSize,
  classifyAssembly,
  classifyPart,
  isSupersededPart,
  maxStoredPartSetBytes,
  rejectUnreadableParts,
} from '../../../core/ingest-decision';
import { incomingPartsPrefix } from '../../../core/incoming-parts';
import { RejectionRecordSchema } from '../../../core/rejection';
import { AccountReport } from '../../../core/types';
import { accountReport, partEvent, partsOf } from '../aggregator/support/reports';

const NOW = new Date('2026-11-21T06:00:00Z');
const ACCOUNT = '222222222222';
const OTHER = '333333333333';

const accept = (event: unknown, now = NOW): AcceptedPart => {
  const decision = classifyPart(event, now);
  if (decision.kind !== 'accept')
    throw new Error(`expected accept, got ${decision.reason}: ${decision.detail}`);
  return decision;
};

describe('classifyPart', () => {
  it('accepts a part sent by the account it names', () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    const event = partEvent(part, ACCOUNT);
    expect(classifyPart(event, NOW)).toEqual({ kind: 'accept', sender: ACCOUNT, eventId: event.id, part });
  });

  it('refuses an event without a 12-digit account, and has nobody to record it for', () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    for (const event of [undefined, 'x', { ...partEvent(part, ACCOUNT), account: 'me' }]) {
      const decision = classifyPart(event, NOW);
      expect(decision).toMatchObject({
        kind: 'reject',
        reason: 'invalid-envelope',
        counter: 'rejectedParts',
      });
      expect(decision).not.toHaveProperty('record');
      expect(decision).not.toHaveProperty('sender');
    }
  });

  it('records an unexpected source for the sender, at `now`, with the event id', () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    const event = partEvent(part, ACCOUNT, { source: 'evil"\nsource' });
    const decision = classifyPart(event, NOW);
    expect(decision).toMatchObject({ kind: 'reject', reason: 'invalid-envelope', sender: ACCOUNT });
    if (decision.kind !== 'reject') return;
    expect(decision.detail).toBe(
      `unexpected source "evil\\"\\nsource" / detail-type "Credential Report Part"`,
    );
    expect(decision.record).toEqual({
      schemaVersion: 1,
      accountId: ACCOUNT,
      reason: 'invalid-envelope',
      detail: decision.detail,
      at: NOW.toISOString(),
      eventId: event.id,
    });
    expect(RejectionRecordSchema.parse(decision.record)).toEqual(decision.record);
  });

  it('calls a part claiming another account forged before looking at the rest of it', () => {
    const decision = classifyPart(
      partEvent({ accountId: OTHER, reportId: 'r-1', payload: 42 }, ACCOUNT),
      NOW,
    );
    expect(decision).toMatchObject({
      kind: 'reject',
      reason: 'forged-account',
      sender: ACCOUNT,
      claimedAccountId: OTHER,
      reportId: 'r-1',
      record: { accountId: ACCOUNT, claimedAccountId: OTHER, reportId: 'r-1' },
    });
  });

  it('quotes a forged claim that is not an account id, and does not record it as one', () => {
    const decision = classifyPart(partEvent({ accountId: 'x'.repeat(100) }, ACCOUNT), NOW);
    expect(decision).toMatchObject({ kind: 'reject', reason: 'forged-account' });
    if (decision.kind !== 'reject') return;
    expect(decision.detail).toBe(
      `detail.accountId "${'x'.repeat(39)}… differs from the sending account ${ACCOUNT}`,
    );
    expect(decision.record).not.toHaveProperty('claimedAccountId');
  });

  it('refuses a detail that is not a part', () => {
    expect(classifyPart(partEvent({ accountId: ACCOUNT }, ACCOUNT), NOW)).toMatchObject({
      kind: 'reject',
      reason: 'invalid-part',
    });
  });

  it('refuses a part whose reportId is not that of its account and generatedTime', () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    if (!part) throw new Error('expected a part');
    const reportId = reportIdFor(ACCOUNT, '2020-01-01T00:00:00Z');
    expect(classifyPart(partEvent({ ...part, reportId }, ACCOUNT), NOW)).toMatchObject({
      kind: 'reject',
      reason: 'invalid-part',
      reportId,
      record: { reportId },
    });
  });

  it('refuses a report from the future by the clock it is given, within the tolerated skew', () => {
    // Generated an hour after NOW (accountReport dates it 2 hours before its `now`).
    const [part] = partsOf(accountReport(ACCOUNT, new Date(NOW.getTime() + 3 * 3_600_000)));
    const event = partEvent(part, ACCOUNT);
    expect(classifyPart(event, NOW)).toMatchObject({ kind: 'reject', reason: 'invalid-part' });
    // The bound is on collectedTime (≥ generatedTime): it is what ranks a report as newer.
    const collected = Date.parse(part?.collectedTime ?? '');
    expect(accept(event, new Date(collected - MAX_CLOCK_SKEW_MS)).part).toEqual(part);
    expect(classifyPart(event, new Date(collected - MAX_CLOCK_SKEW_MS - 1))).toMatchObject({
      kind: 'reject',
    });
  });

  it('refuses a genuine-looking report whose collectedTime is far ahead, which would rank above every later report', () => {
    // The forgery of issue #11: generated "now", collected in ten years.
    const report = accountReport(ACCOUNT, NOW, 0);
    const [part] = partsOf({
      ...report,
      collectedTime: new Date(NOW.getTime() + 10 * 365 * 86_400_000).toISOString(),
    });
    const rejected = classifyPart(partEvent(part, ACCOUNT, { time: NOW.toISOString() }), NOW);
    expect(rejected).toMatchObject({
      kind: 'reject',
      reason: 'invalid-part',
      record: { reason: 'invalid-part' },
    });
  });

  it("refuses a report collected after the event that carried it was received (EventBridge's time)", () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    if (!part) throw new Error('expected a part');
    const collected = Date.parse(part.collectedTime);
    const at = (ms: number) => partEvent(part, ACCOUNT, { time: new Date(ms).toISOString() });
    expect(accept(at(collected), NOW).part).toEqual(part);
    expect(accept(at(collected - EVENT_TIME_TOLERANCE_MS), NOW).part).toEqual(part);
    expect(classifyPart(at(collected - EVENT_TIME_TOLERANCE_MS - 1_000), NOW)).toMatchObject({
      kind: 'reject',
      detail: expect.stringMatching(/later than the event time/),
    });
    // Without a usable time, the hub's clock alone bounds it.
    expect(accept(partEvent(part, ACCOUNT, { time: 'not a time' }), NOW).part).toEqual(part);
  });

  it('refuses a part generated after it was collected', () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    if (!part) throw new Error('expected a part');
    const collectedTime = new Date(Date.parse(part.generatedTime) - 1_000).toISOString();
    expect(classifyPart(partEvent({ ...part, collectedTime }, ACCOUNT), NOW)).toMatchObject({
      kind: 'reject',
      reason: 'invalid-part',
    });
  });
});

describe('classifyPart on declared size', () => {
  const genuine = (): PartDetail => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    if (!part) throw new Error('expected a part');
    return part;
  };
  /** A part of `genuine()`'s report with `length` base64 characters, as part `n` of `of`. */
  const sized = (length: number, n: number, of: number): PartDetail => ({
    ...genuine(),
    part: n,
    parts: of,
    payload: 'A'.repeat(length),
  });
  // The longest slice a non-final part of 512 may have: (512 − 1) · L + 1 ≤ the joined bound.
  const longest512 = Math.floor((MAX_JOINED_BASE64_CHARS - 1) / 511);

  it('refuses at once a part of 1 MB in a set of 512, before anything is stored', () => {
    const part = sized(1_048_576, 1, 512);
    const decision = classifyPart(partEvent(part, ACCOUNT), NOW);
    expect(decision).toMatchObject({
      kind: 'reject',
      reason: 'too-large',
      counter: 'rejectedParts',
      sender: ACCOUNT,
      record: { accountId: ACCOUNT, reason: 'too-large', reportId: part.reportId, at: NOW.toISOString() },
    });
    if (decision.kind !== 'reject') return;
    expect(decision.detail).toBe(
      `part 1/512 of 1048576 base64 characters declares a set of at least ${511 * 1_048_576 + 1}, over the ${MAX_JOINED_BASE64_CHARS} a report may have`,
    );
    expect(RejectionRecordSchema.parse(decision.record)).toEqual(decision.record);
  });

  it('accepts the longest slice a set of that many parts can carry, and refuses one character more', () => {
    expect(classifyPart(partEvent(sized(longest512, 7, 512), ACCOUNT), NOW)).toMatchObject({
      kind: 'accept',
    });
    expect(classifyPart(partEvent(sized(longest512 + 1, 7, 512), ACCOUNT), NOW)).toMatchObject({
      kind: 'reject',
      reason: 'too-large',
    });
  });

  it('weighs the final part by itself, since the others may be longer', () => {
    expect(declaredJoinedChars(sized(1_048_576, 512, 512))).toBe(1_048_576);
    expect(classifyPart(partEvent(sized(1_048_576, 512, 512), ACCOUNT), NOW)).toMatchObject({
      kind: 'accept',
    });
  });

  it('calls a forged oversized part forged, not too large', () => {
    const part = { ...sized(1_048_576, 1, 512), accountId: OTHER };
    expect(classifyPart(partEvent(part, ACCOUNT), NOW)).toMatchObject({ reason: 'forged-account' });
  });

  it('never refuses a genuine split, whatever its entry size', () => {
    const report = accountReport(ACCOUNT, NOW, 2, 200);
    for (const maxEntryBytes of [800, 4_000, 250_000]) {
      for (const part of partsOf(report, maxEntryBytes)) {
        expect(classifyPart(partEvent(part, ACCOUNT), NOW)).toMatchObject({ kind: 'accept' });
      }
    }
  });
});

describe('checkStoredPartSetSize', () => {
  const accepted = (): AcceptedPart => accept(partEvent(partsOf(accountReport(ACCOUNT, NOW))[0], ACCOUNT));

  it('lets a set through that fits the joined bound plus one envelope per part', () => {
    const max = maxStoredPartSetBytes(4);
    expect(max).toBe(MAX_JOINED_BASE64_CHARS + 4 * MAX_PART_ENVELOPE_BYTES);
    const refs = [max - 3, 1, 1, 1].map((size) => ({ size }));
    expect(checkStoredPartSetSize(accepted(), refs, NOW)).toBeUndefined();
  });

  it('refuses a set one byte over, naming where its parts stay and that none was read', () => {
    const a = accepted();
    const refs = [maxStoredPartSetBytes(4) - 2, 1, 1, 1].map((size) => ({ size }));
    const decision = checkStoredPartSetSize(a, refs, NOW);
    expect(decision).toMatchObject({
      kind: 'reject',
      reason: 'too-large',
      counter: 'rejectedParts',
      record: {
        reason: 'too-large',
        reportId: a.part.reportId,
        partsPrefix: incomingPartsPrefix(ACCOUNT, a.part.reportId, a.part.sha256),
      },
    });
    expect(decision?.detail).toMatch(
      /total \d+ bytes, over the \d+ a report's parts may have; no part was read/,
    );
  });

  it('refuses 512 stored parts of 1 MB', () => {
    const refs = Array.from({ length: 512 }, () => ({ size: 1_048_576 + 300 }));
    expect(checkStoredPartSetSize(accepted(), refs, NOW)).toMatchObject({ reason: 'too-large' });
  });
});

describe('isSupersededPart', () => {
  const times = { generatedTime: '2026-11-21T04:00:00Z', collectedTime: '2026-11-21T04:00:05Z' };

  it('is superseded only by a stored report at least as new', () => {
    expect(isSupersededPart(times, undefined)).toBe(false);
    expect(isSupersededPart(times, times)).toBe(true);
    expect(isSupersededPart(times, { generatedTime: '2026-11-21T05:00:00Z' })).toBe(true);
    expect(isSupersededPart(times, { generatedTime: '2026-11-21T03:00:00Z' })).toBe(false);
  });
});

describe('classifyAssembly', () => {
  it('accepts every part of a valid report', () => {
    const report = accountReport(ACCOUNT, NOW);
    const parts = partsOf(report);
    expect(classifyAssembly(accept(partEvent(parts[0], ACCOUNT)), parts, NOW)).toEqual({
      kind: 'accept',
      report,
    });
  });

  it('refuses parts that do not assemble, naming where they stay', () => {
    const parts = partsOf(accountReport(ACCOUNT, NOW));
    expect(parts.length).toBeGreaterThan(2);
    const accepted = accept(partEvent(parts[0], ACCOUNT));
    const decision = classifyAssembly(accepted, parts.slice(1), NOW);
    expect(decision).toMatchObject({
      kind: 'reject',
      reason: 'assembly-failed',
      counter: 'rejectedReports',
      record: {
        reportId: accepted.part.reportId,
        generatedTime: accepted.part.generatedTime,
        partsPrefix: incomingPartsPrefix(ACCOUNT, accepted.part.reportId, accepted.part.sha256),
        at: NOW.toISOString(),
      },
    });
    expect(decision).not.toHaveProperty('keptAside');
  });

  it('refuses a report whose credential report does not parse, and keeps it aside', () => {
    const good = accountReport(ACCOUNT, NOW);
    const bad: AccountReport = {
      ...good,
      credentialReportCsv: `${good.credentialReportCsv.split('\n')[0]}\nsecret-user,not-an-arn\n`,
    };
    const parts = partsOf(bad);
    const accepted = accept(partEvent(parts[0], ACCOUNT));
    const decision = classifyAssembly(accepted, parts, NOW);
    expect(decision).toMatchObject({
      kind: 'reject',
      reason: 'invalid-report',
      counter: 'rejectedReports',
      keptAside: { report: bad, sha256: accepted.part.sha256 },
    });
    if (decision.kind !== 'reject') return;
    expect(decision.detail).not.toContain('secret-user');
  });
});

describe('rejectUnreadableParts', () => {
  it('refuses the report with what the unreadable part threw', () => {
    const [part] = partsOf(accountReport(ACCOUNT, NOW));
    const accepted = accept(partEvent(part, ACCOUNT));
    const decision = rejectUnreadableParts(accepted, new SyntaxError('Unexpected end of JSON input'), NOW);
    expect(decision).toMatchObject({
      kind: 'reject',
      reason: 'assembly-failed',
      detail: 'a stored part is unreadable: Unexpected end of JSON input',
      counter: 'rejectedReports',
      record: {
        accountId: ACCOUNT,
        partsPrefix: incomingPartsPrefix(ACCOUNT, accepted.part.reportId, accepted.part.sha256),
      },
    });
    expect(decision.record).not.toHaveProperty('generatedTime');
  });
});
