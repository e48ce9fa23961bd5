import { GetAccountCommand, SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { AccountClient, GetAlternateContactCommand } from '@aws-sdk/client-account';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { deliverOwnerDigests, OWNER_DIGEST_PREFIX, SendPacer } from '../../../aggregator/owner-digests';
import { fetchAlternateContacts } from '../../../collector/alternate-contacts';
import type { Summary } from '../../../core/summary';
import { ownerFileName } from '../../../core/owners';
import { runMerge } from '../../../core/merge';
import { sampleOrganization, SAMPLE_ACCOUNTS } from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import { Writable } from 'node:stream';

const NOW = new Date('2024-06-01T06:00:00Z');

/** A fake monotonic clock whose sleep advances it. */
function fakeTime(): { clock: () => number; sleep: (ms: number) => Promise<void>; sleeps: number[] } {
  let t = 0;
  const sleeps: number[] = [];
  return {
    clock: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

async function partitions(owners: Record<string, string>): Promise<ReadonlyMap<string, Summary>> {
  const { metadata, reports } = sampleOrganization(NOW);
  const discard = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });
  const result = await runMerge(
    { now: NOW, thresholds: DEFAULT_THRESHOLDS, metadata, reports, partitionOf: (id) => owners[id] },
    { credentialReport: discard(), accessKeys: discard(), findings: discard() },
  );
  return result.partitions ?? new Map();
}

describe('SendPacer', () => {
  it('spaces sends 1000/rate ms apart on the injected clock', async () => {
    const time = fakeTime();
    const pacer = new SendPacer(4, time.clock, time.sleep);
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) {
      await pacer.wait();
      starts.push(time.clock());
    }
    expect(starts).toEqual([0, 250, 500, 750, 1000]);
  });

  it('falls back to one per second for an unusable rate', async () => {
    const time = fakeTime();
    const pacer = new SendPacer(Number.NaN, time.clock, time.sleep);
    await pacer.wait();
    await pacer.wait();
    expect(time.clock()).toBe(1000);
  });
});

describe('deliverOwnerDigests', () => {
  const ses = mockClient(SESv2Client);
  const A = SAMPLE_ACCOUNTS;
  const OWNERS = {
    [A.payments]: 'pay@example.com',
    [A.devSandbox]: 'dev@example.com',
    [A.staging]: 'stage@example.com',
    [A.security]: 'sec@example.com',
  };
  beforeEach(() => ses.reset());

  it('sends one paced message per due owner, to that owner only, at the SES send rate', async () => {
    ses.on(GetAccountCommand).resolves({ SendQuota: { MaxSendRate: 2 } });
    ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
    const time = fakeTime();
    const parts = await partitions(OWNERS);
    const result = await deliverOwnerDigests(
      {
        mode: 'send',
        minSeverity: 'low',
        partitions: parts,
        organizationLabel: 'o-example123',
        sender: 'credreport@example.com',
      },
      {
        ses: ses as unknown as SESv2Client,
        putHtml: jest.fn(),
        clock: time.clock,
        sleep: time.sleep,
        random: () => 0,
      },
    );
    const sends = ses.commandCalls(SendEmailCommand);
    expect(result.failures).toEqual([]);
    expect(result.delivered).toBe(sends.length);
    expect(result.due).toBe(sends.length);
    expect(sends.length).toBeGreaterThanOrEqual(2);
    for (const call of sends) {
      const to = call.args[0].input.Destination?.ToAddresses ?? [];
      expect(to).toHaveLength(1);
      const html = call.args[0].input.Content?.Simple?.Body?.Html?.Data ?? '';
      expect(html).toContain(`accounts of ${to[0]}`);
      for (const [accountId, owner] of Object.entries(OWNERS)) {
        if (owner !== to[0]) expect(html).not.toContain(accountId);
      }
    }
    // 2 per second: 500 ms between consecutive sends, none before the first.
    expect(time.sleeps).toEqual(Array.from({ length: sends.length - 1 }, () => 500));
    expect(ses).toHaveReceivedCommandTimes(GetAccountCommand, 1);
  });

  it('retries a throttled send with backoff, counts a failed one and still sends the others', async () => {
    ses.on(GetAccountCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const throttled = Object.assign(new Error('slow down'), {
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 429 },
    });
    const rejected = Object.assign(new Error('bad address'), {
      name: 'MessageRejected',
      $metadata: { httpStatusCode: 400 },
    });
    ses
      .on(SendEmailCommand, { Destination: { ToAddresses: ['dev@example.com'] } })
      .rejectsOnce(throttled)
      .resolves({ MessageId: 'ok' });
    ses.on(SendEmailCommand, { Destination: { ToAddresses: ['pay@example.com'] } }).rejects(rejected);
    ses
      .on(SendEmailCommand, { Destination: { ToAddresses: ['stage@example.com'] } })
      .resolves({ MessageId: 'ok' });
    ses
      .on(SendEmailCommand, { Destination: { ToAddresses: ['sec@example.com'] } })
      .resolves({ MessageId: 'ok' });
    const time = fakeTime();
    const parts = await partitions(OWNERS);
    const result = await deliverOwnerDigests(
      {
        mode: 'send',
        minSeverity: 'low',
        partitions: parts,
        organizationLabel: 'o-example123',
        sender: 'credreport@example.com',
      },
      {
        ses: ses as unknown as SESv2Client,
        putHtml: jest.fn(),
        clock: time.clock,
        sleep: time.sleep,
        random: () => 1,
        retryBaseMs: 100,
      },
    );
    const to = (c: { args: [{ input: { Destination?: { ToAddresses?: string[] } } }] }) =>
      c.args[0].input.Destination?.ToAddresses?.[0];
    const calls = ses.commandCalls(SendEmailCommand).map((c) => to(c as never));
    expect(calls.filter((o) => o === 'dev@example.com')).toHaveLength(2); // retried once
    expect(calls.filter((o) => o === 'pay@example.com')).toHaveLength(1); // permanent: not retried
    expect(result.failures).toEqual([{ owner: 'pay@example.com', error: 'MessageRejected' }]);
    expect(result.delivered).toBe(result.due - 1);
    expect(time.sleeps).toContain(100); // the backoff (full jitter with random() = 1)
  });

  it('writes each due digest to latest/owners/<safe name> in a dry run and sends nothing', async () => {
    const put = jest.fn(async (_key: string, _html: string) => undefined);
    const parts = await partitions(OWNERS);
    const result = await deliverOwnerDigests(
      { mode: 'dry-run', minSeverity: 'low', partitions: parts, organizationLabel: 'o-example123' },
      { ses: ses as unknown as SESv2Client, putHtml: put },
    );
    expect(ses).not.toHaveReceivedCommand(SendEmailCommand);
    expect(put.mock.calls.length).toBe(result.due);
    const keys = put.mock.calls.map((c) => c[0]);
    expect(keys).toContain(`${OWNER_DIGEST_PREFIX}${ownerFileName('dev@example.com')}`);
    expect(result.delivered).toBe(result.due);
  });

  it('mails nobody whose open findings are all below the minimum severity and nothing is new', async () => {
    const parts = await partitions(OWNERS);
    const put = jest.fn(async () => undefined);
    const result = await deliverOwnerDigests(
      { mode: 'dry-run', minSeverity: 'critical', partitions: parts, organizationLabel: 'o' },
      { ses: ses as unknown as SESv2Client, putHtml: put },
    );
    const withCritical = [...parts.values()].filter((s) => s.totals.openFindings.critical > 0).length;
    expect(result.due).toBe(withCritical);
    expect(result.due).toBeLessThan(parts.size);
  });
});

describe('fetchAlternateContacts', () => {
  const account = mockClient(AccountClient);
  beforeEach(() => account.reset());
  const base = {
    account: account as unknown as AccountClient,
    organizations: new OrganizationsClient({}),
    ownAccountId: '111111111111',
    now: NOW,
    sleep: async () => undefined,
  };

  it('reads SECURITY contacts, the own account without AccountId, and records none and denied', async () => {
    // The hub's own account is asked without AccountId (the only call without one).
    account
      .on(GetAlternateContactCommand)
      .resolves({ AlternateContact: { EmailAddress: 'hub@example.com' } });
    account
      .on(GetAlternateContactCommand, { AccountId: '222222222222' })
      .resolves({ AlternateContact: { EmailAddress: 'sec@example.com', AlternateContactType: 'SECURITY' } });
    account
      .on(GetAlternateContactCommand, { AccountId: '333333333333' })
      .rejects(Object.assign(new Error('none'), { name: 'ResourceNotFoundException' }));
    account
      .on(GetAlternateContactCommand, { AccountId: '444444444444' })
      .rejects(Object.assign(new Error('no'), { name: 'AccessDeniedException' }));
    const result = await fetchAlternateContacts({
      ...base,
      accountIds: ['111111111111', '222222222222', '333333333333', '444444444444'],
    });
    expect(result.contacts).toEqual({
      '111111111111': { status: 'found', email: 'hub@example.com', fetchedAt: NOW.toISOString() },
      '222222222222': { status: 'found', email: 'sec@example.com', fetchedAt: NOW.toISOString() },
      '333333333333': { status: 'none', fetchedAt: NOW.toISOString() },
      '444444444444': { status: 'denied', detail: 'AccessDeniedException', fetchedAt: NOW.toISOString() },
    });
    expect(account).toHaveReceivedCommandWith(GetAlternateContactCommand, {
      AlternateContactType: 'SECURITY',
    });
    const own = account
      .commandCalls(GetAlternateContactCommand)
      .find((c) => c.args[0].input.AccountId === undefined);
    expect(own).toBeDefined();
    expect(result.warnings.join(' ')).toContain('denied for 1 account');
  });

  it('reuses fresh cached contacts and asks again for old or failed ones, within the call cap', async () => {
    account
      .on(GetAlternateContactCommand)
      .resolves({ AlternateContact: { EmailAddress: 'new@example.com' } });
    const day = 86_400_000;
    const cached = {
      '222222222222': {
        status: 'found' as const,
        email: 'fresh@example.com',
        fetchedAt: new Date(NOW.getTime() - day).toISOString(),
      },
      '333333333333': {
        status: 'found' as const,
        email: 'old@example.com',
        fetchedAt: new Date(NOW.getTime() - 30 * day).toISOString(),
      },
      '444444444444': {
        status: 'failed' as const,
        detail: 'InternalError',
        fetchedAt: new Date(NOW.getTime() - day).toISOString(),
      },
    };
    const result = await fetchAlternateContacts({
      ...base,
      accountIds: ['222222222222', '333333333333', '444444444444', '555555555555'],
      cached,
      maxCalls: 2,
    });
    expect(result.calls).toBe(2);
    expect(result.contacts['222222222222']).toEqual(cached['222222222222']);
    // Never read first (no cache), then the oldest: the failed one waits for the next run.
    expect(result.contacts['555555555555']).toMatchObject({ status: 'found', email: 'new@example.com' });
    expect(result.contacts['333333333333']).toMatchObject({ status: 'found', email: 'new@example.com' });
    expect(result.contacts['444444444444']).toEqual(cached['444444444444']);
    expect(result.warnings.join(' ')).toContain('1 account(s) not refreshed');
  });

  it('retries a throttled call with backoff', async () => {
    account
      .on(GetAlternateContactCommand)
      .rejectsOnce(Object.assign(new Error('slow'), { name: 'TooManyRequestsException' }))
      .resolves({ AlternateContact: { EmailAddress: 'a@example.com' } });
    const result = await fetchAlternateContacts({ ...base, accountIds: ['222222222222'] });
    expect(result.calls).toBe(2);
    expect(result.contacts['222222222222']).toMatchObject({ status: 'found' });
  });
});
