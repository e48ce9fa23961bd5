import {
  AGENT_FAILURE_BOUNDS,
  AgentFailureDetail,
  ContractError,
  boundAgentError,
  parseAgentFailureDetail,
} from '../../../core/event-contract';
import {
  EVENT_TIME_TOLERANCE_MS,
  classifyAgentFailure,
  isAgentFailureEvent,
} from '../../../core/ingest-decision';
import { AGENT_FAILURE_DETAIL_TYPE, EVENT_DETAIL_TYPE, EVENT_SOURCE } from '../../../core/names';
import { AgentFailureRecordSchema, RejectionRecordSchema } from '../../../core/rejection';

const NOW = new Date('2026-11-21T06:00:00Z');
const ACCOUNT = '222222222222';
const OTHER = '333333333333';

const failure = (overrides: Record<string, unknown> = {}): AgentFailureDetail =>
  ({
    schemaVersion: 1,
    accountId: ACCOUNT,
    runId: '6f1c2d3e-0a1b-4c5d-8e9f-a0b1c2d3e4f5',
    failedTime: '2026-11-21T05:59:00.000Z',
    stage: 'collect',
    errorName: 'CollectError',
    message: 'GetCredentialReport: AccessDenied',
    agentVersion: '0123456789ab',
    ...overrides,
  }) as AgentFailureDetail;

const event = (detail: unknown, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  version: '0',
  id: 'evt-1',
  source: EVENT_SOURCE,
  'detail-type': AGENT_FAILURE_DETAIL_TYPE,
  account: ACCOUNT,
  time: '2026-11-21T05:59:01Z',
  region: 'eu-west-1',
  resources: [],
  detail,
  ...overrides,
});

describe('AgentFailureDetailSchema', () => {
  it('accepts a bounded failure of each stage', () => {
    for (const stage of ['start', 'collect', 'publish', 'timeout'])
      expect(parseAgentFailureDetail(failure({ stage }))).toEqual(failure({ stage }));
  });

  it.each([
    ['an unknown field', { reportContents: 'alice,arn:aws:iam::222222222222:user/alice' }],
    ['a message over 1024 characters', { message: 'x'.repeat(AGENT_FAILURE_BOUNDS.message + 1) }],
    ['a message with a newline', { message: 'first line\nsecond line' }],
    ['an error name that is not a class name', { errorName: '<script>alert(1)</script>' }],
    ['an error name over 128 characters', { errorName: 'E'.repeat(129) }],
    ['a run id with a slash', { runId: '../../latest' }],
    ['an unknown stage', { stage: 'digest' }],
    ['an account id that is not 12 digits', { accountId: '2222' }],
    ['a time that is not ISO', { failedTime: 'yesterday' }],
    ['a version label over 64 characters', { agentVersion: 'v'.repeat(65) }],
  ])('refuses %s, naming the field', (_, overrides) => {
    expect(() => parseAgentFailureDetail(failure(overrides))).toThrow(ContractError);
    const field = Object.keys(overrides)[0] as string;
    expect(() => parseAgentFailureDetail(failure(overrides))).toThrow(
      field === 'reportContents' ? /Unrecognized key/i : new RegExp(field),
    );
  });
});

describe('boundAgentError', () => {
  it('cuts a long message to the bound and removes control characters, so the agent never sends what the hub refuses', () => {
    const bounded = boundAgentError(new RangeError(`line one\r\nline two ${'y'.repeat(5_000)}`));
    expect(bounded.errorName).toBe('RangeError');
    expect(bounded.message.length).toBe(AGENT_FAILURE_BOUNDS.message);
    expect(bounded.message.startsWith('line one line two')).toBe(true);
    expect(() => parseAgentFailureDetail(failure(bounded))).not.toThrow();
  });

  it('names a non-Error or an odd class name as a plain error', () => {
    expect(boundAgentError('boom')).toEqual({ errorName: 'NonError', message: 'boom' });
    const odd = new Error('x');
    odd.name = 'Bad Name!';
    expect(boundAgentError(odd).errorName).toBe('Error');
  });
});

describe('classifyAgentFailure', () => {
  it('tells agent failures from report parts by detail-type', () => {
    expect(isAgentFailureEvent(event(failure()))).toBe(true);
    expect(isAgentFailureEvent(event(failure(), { 'detail-type': EVENT_DETAIL_TYPE }))).toBe(false);
    expect(isAgentFailureEvent(event(failure(), { source: 'someone.else' }))).toBe(false);
    expect(isAgentFailureEvent(null)).toBe(false);
  });

  it('accepts a failure sent by the account it names, as a record of the sender', () => {
    const decision = classifyAgentFailure(event(failure()), NOW);
    expect(decision).toEqual({
      kind: 'accept',
      sender: ACCOUNT,
      record: {
        schemaVersion: 1,
        accountId: ACCOUNT,
        runId: failure().runId,
        failedTime: failure().failedTime,
        stage: 'collect',
        errorName: 'CollectError',
        message: failure().message,
        agentVersion: '0123456789ab',
        receivedAt: NOW.toISOString(),
        eventId: 'evt-1',
      },
    });
    if (decision.kind === 'accept')
      expect(() => AgentFailureRecordSchema.parse(decision.record)).not.toThrow();
  });

  it('refuses a failure claiming another account as forged, recorded against the sender only', () => {
    const decision = classifyAgentFailure(event(failure({ accountId: OTHER })), NOW);
    expect(decision).toMatchObject({
      kind: 'reject',
      reason: 'forged-account',
      sender: ACCOUNT,
      claimedAccountId: OTHER,
      counter: 'rejectedParts',
    });
    if (decision.kind === 'reject') {
      expect(decision.record?.accountId).toBe(ACCOUNT);
      expect(() => RejectionRecordSchema.parse(decision.record)).not.toThrow();
    }
  });

  it('refuses an oversized or malformed failure with its reason, recorded for the sender', () => {
    const decision = classifyAgentFailure(event(failure({ message: 'm'.repeat(10_000) })), NOW);
    expect(decision).toMatchObject({ kind: 'reject', reason: 'invalid-agent-failure', sender: ACCOUNT });
    if (decision.kind === 'reject') {
      expect(decision.detail).toMatch(/message/);
      // The refusal's detail quotes nothing of the 10,000 characters.
      expect(decision.detail.length).toBeLessThan(300);
    }
  });

  it('refuses a failure dated after the event that carried it', () => {
    const late = new Date(Date.parse('2026-11-21T05:59:01Z') + EVENT_TIME_TOLERANCE_MS + 1000);
    expect(classifyAgentFailure(event(failure({ failedTime: late.toISOString() })), NOW)).toMatchObject({
      kind: 'reject',
      reason: 'invalid-agent-failure',
    });
  });

  it('refuses an event without a usable account, which cannot be recorded', () => {
    const decision = classifyAgentFailure(event(failure(), { account: 'nobody' }), NOW);
    expect(decision).toMatchObject({ kind: 'reject', reason: 'invalid-envelope' });
    if (decision.kind === 'reject') expect(decision.record).toBeUndefined();
  });
});
