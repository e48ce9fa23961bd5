import { Writable } from 'node:stream';
import { runMerge } from '../../../core/merge';
import { renderOwnerDigest } from '../../../core/owner-digest';
import {
  AlternateContact,
  checkOwnerAddress,
  normaliseAddress,
  ownerFileName,
  ownerGetsDigest,
  ownersSummaryOf,
  resolveOwners,
  withDelivery,
} from '../../../core/owners';
import { renderDigestHtml, renderDigestText } from '../../../core/digest-html';
import { SAMPLE_ACCOUNTS, sampleOrganization } from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import type { AccountMetadata, OrgMetadata } from '../../../core/types';

const NOW = new Date('2024-06-01T06:00:00Z');
const AT = NOW.toISOString();

function account(id: string, tags: Record<string, string> = {}): AccountMetadata {
  return {
    id,
    name: `acct-${id.slice(-2)}`,
    email: '',
    state: 'ACTIVE',
    ouPath: 'Root',
    ouIdPath: ['r-1'],
    tags,
  };
}
const org = (...accounts: AccountMetadata[]): OrgMetadata => ({ fetchedAt: AT, accounts });
const POLICY = { tagKeys: ['Owner', 'owner-email'], allowedDomains: ['example.com'] };

describe('normaliseAddress / checkOwnerAddress', () => {
  it('accepts one plain address, trimmed and in lower case', () => {
    expect(normaliseAddress('  Alice.Smith+iam@Example.COM ')).toBe('alice.smith+iam@example.com');
  });

  it.each([
    'Alice <alice@example.com>',
    'alice@example.com, bob@example.com',
    'alice@@example.com',
    '"alice"@example.com',
    'alice@[10.0.0.1]',
    'alice@localhost',
    'alice..smith@example.com',
    '.alice@example.com',
    'alice@-example.com',
    `${'a'.repeat(65)}@example.com`,
    `a@${'b'.repeat(250)}.com`,
    '',
  ])('refuses %j', (raw) => {
    expect(normaliseAddress(raw)).toBeUndefined();
    expect(checkOwnerAddress(raw, ['example.com'])).toEqual({ ok: false, reason: 'invalid-address' });
  });

  it('refuses a domain outside the allowed ones, including look-alike subdomains and suffixes', () => {
    for (const raw of ['a@evil.com', 'a@example.com.evil.com', 'a@notexample.com', 'a@sub.example.com']) {
      expect(checkOwnerAddress(raw, ['example.com'])).toEqual({ ok: false, reason: 'domain-not-allowed' });
    }
    expect(checkOwnerAddress('a@EXAMPLE.com', ['Example.com'])).toEqual({
      ok: true,
      address: 'a@example.com',
    });
  });
});

describe('resolveOwners', () => {
  const contacts: Record<string, AlternateContact> = {
    '222222222222': { status: 'found', email: 'Sec@example.com', fetchedAt: AT },
    '333333333333': { status: 'found', email: 'sec@outside.net', fetchedAt: AT },
    '444444444444': { status: 'denied', detail: 'AccessDeniedException', fetchedAt: AT },
  };

  it('takes the first tag key with an acceptable address, then the alternate contact, then the default', () => {
    const r = resolveOwners(
      org(
        account('111111111111', { 'owner-email': 'second@example.com', Owner: 'first@example.com' }),
        account('222222222222'),
        account('444444444444'),
      ),
      contacts,
      { ...POLICY, defaultOwner: 'Security@Example.com' },
    );
    expect(r.byAccount.get('111111111111')).toEqual({ owner: 'first@example.com', source: 'tag' });
    expect(r.byAccount.get('222222222222')).toEqual({
      owner: 'sec@example.com',
      source: 'alternate-contact',
    });
    expect(r.byAccount.get('444444444444')).toEqual({ owner: 'security@example.com', source: 'default' });
    expect(r.refused).toEqual([]);
    expect(r.unowned).toEqual([]);
  });

  it('refuses an outside tag value, lists it, and falls back to the next source', () => {
    const r = resolveOwners(
      org(
        account('111111111111', { Owner: 'attacker@evil.com', 'owner-email': 'team@example.com' }),
        account('333333333333', { Owner: 'not an address' }),
      ),
      contacts,
      POLICY,
    );
    expect(r.byAccount.get('111111111111')).toEqual({ owner: 'team@example.com', source: 'tag' });
    // The tag is refused, the contact is outside too, and there is no default: no owner.
    expect(r.byAccount.has('333333333333')).toBe(false);
    expect(r.unowned).toEqual(['333333333333']);
    expect(r.refused).toEqual([
      {
        accountId: '111111111111',
        accountName: 'acct-11',
        source: 'tag',
        tagKey: 'Owner',
        value: 'attacker@evil.com',
        reason: 'domain-not-allowed',
      },
      {
        accountId: '333333333333',
        accountName: 'acct-33',
        source: 'tag',
        tagKey: 'Owner',
        value: 'not an address',
        reason: 'invalid-address',
      },
      {
        accountId: '333333333333',
        accountName: 'acct-33',
        source: 'alternate-contact',
        value: 'sec@outside.net',
        reason: 'domain-not-allowed',
      },
    ]);
  });

  it('never uses a default owner outside the allowed domains', () => {
    const r = resolveOwners(org(account('111111111111')), undefined, {
      ...POLICY,
      defaultOwner: 'x@evil.com',
    });
    expect(r.byAccount.size).toBe(0);
    expect(r.unowned).toEqual(['111111111111']);
  });

  it('counts sources, refusals and unreadable contacts in the owners section', () => {
    const r = resolveOwners(
      org(
        account('111111111111', { Owner: 'a@example.com' }),
        account('222222222222'),
        account('444444444444'),
      ),
      contacts,
      { ...POLICY, defaultOwner: 'a@example.com' },
    );
    const section = withDelivery(ownersSummaryOf('dry-run', 'high', r, contacts), {
      due: 1,
      delivered: 0,
      failures: [{ owner: 'a@example.com', error: 'Throttling' }],
    });
    expect(section).toMatchObject({
      owners: 2,
      accountsWithOwner: 3,
      accountsWithoutOwner: 0,
      bySource: { tag: 1, 'alternate-contact': 1, default: 1 },
      contactsUnreadable: { denied: 1, failed: 0 },
      due: 1,
      failed: { count: 1 },
    });
  });
});

describe('ownerGetsDigest', () => {
  const none = { critical: 0, high: 0, medium: 0, low: 0 };
  it('mails when an open finding is at or above the minimum severity', () => {
    expect(ownerGetsDigest({ openFindings: { ...none, high: 1 } }, 'high')).toBe(true);
    expect(ownerGetsDigest({ openFindings: { ...none, critical: 1 } }, 'high')).toBe(true);
    expect(ownerGetsDigest({ openFindings: { ...none, medium: 3 } }, 'high')).toBe(false);
    expect(ownerGetsDigest({ openFindings: { ...none, medium: 3 } }, 'medium')).toBe(true);
  });
  it('mails when findings are new since the previous run, whatever their severity', () => {
    expect(ownerGetsDigest({ openFindings: { ...none, low: 1 }, newFindings: 1 }, 'critical')).toBe(true);
    expect(ownerGetsDigest({ openFindings: none, newFindings: 0 }, 'low')).toBe(false);
  });
  it('mails from the final notice of a key on, and when a key was deactivated or failed to be, whatever the severity', () => {
    const medium = { ...none, medium: 2 };
    expect(ownerGetsDigest({ openFindings: medium, keysNearDeactivation: 0, keysActedOn: 0 }, 'high')).toBe(
      false,
    );
    expect(ownerGetsDigest({ openFindings: medium, keysNearDeactivation: 1 }, 'critical')).toBe(true);
    expect(ownerGetsDigest({ openFindings: none, keysActedOn: 1 }, 'critical')).toBe(true);
  });
});

describe('ownerFileName', () => {
  it('is a safe name that two addresses never share', () => {
    const a = ownerFileName('a+b@example.com');
    const b = ownerFileName('a_b@example.com');
    expect(a).toMatch(/^[a-z0-9._@+-]+-[0-9a-f]{8}\.html$/);
    expect(a).not.toBe(b);
    expect(ownerFileName("../x'/@example.com")).not.toContain('/');
    expect(ownerFileName('..x@example.com').startsWith('.')).toBe(false);
  });
});

describe('per-owner summaries (runMerge partitionOf)', () => {
  const discard = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

  it('gives each owner a summary of their accounts alone, in the central digest layout', async () => {
    const { metadata, reports } = sampleOrganization(NOW);
    const A = SAMPLE_ACCOUNTS;
    const ownerOf: Record<string, string> = {
      [A.payments]: 'pay@example.com',
      [A.devSandbox]: 'dev@example.com',
      [A.staging]: 'dev@example.com',
    };
    const result = await runMerge(
      {
        now: NOW,
        thresholds: DEFAULT_THRESHOLDS,
        metadata,
        reports,
        partitionOf: (id) => ownerOf[id],
      },
      { credentialReport: discard(), accessKeys: discard(), findings: discard() },
    );
    const parts = result.partitions;
    expect([...(parts?.keys() ?? [])]).toEqual(['dev@example.com', 'pay@example.com']);
    const dev = parts?.get('dev@example.com');
    expect(dev?.byAccount.map((a) => a.accountId).sort()).toEqual([A.devSandbox, A.staging].sort());
    expect(dev?.riskiestKeys.every((k) => k.accountId === A.devSandbox || k.accountId === A.staging)).toBe(
      true,
    );
    expect(
      dev?.coverage.entries.every((e) => e.accountId === A.devSandbox || e.accountId === A.staging),
    ).toBe(true);
    expect(dev?.warnings).toEqual([]);
    expect(dev?.organization).toBeUndefined();
    // The owners' open findings and users add up to their accounts' share of the whole run.
    const whole = result.summary;
    const perAccountUsers = (ids: string[]) =>
      whole.byAccount.filter((a) => ids.includes(a.accountId)).reduce((n, a) => n + a.users, 0);
    expect(dev?.totals.users).toBe(perAccountUsers([A.devSandbox, A.staging]));
    expect(dev?.totals.usersWithFindings).toBeGreaterThan(0);
    const open = (s: typeof whole | undefined) =>
      Object.values(s?.totals.openFindings ?? {}).reduce((a, b) => a + b, 0);
    expect(open(dev) + open(parts?.get('pay@example.com'))).toBeLessThan(open(whole));
    expect(open(dev)).toBeGreaterThan(0);

    const digest = renderOwnerDigest('dev@example.com', dev!, 'o-example123');
    expect(digest.html).toContain('accounts of dev@example.com');
    expect(digest.html).toContain(A.devSandbox);
    expect(digest.html).not.toContain(A.payments);
    expect(digest.text).not.toContain(A.payments);
  });

  it("keeps each owner's changes since the previous run apart", async () => {
    const { metadata, reports } = sampleOrganization(NOW);
    const A = SAMPLE_ACCOUNTS;
    const previous = {
      users: new Map<string, number>(),
      accounts: new Set<string>(),
      reportingAccounts: new Set<string>(),
      generatedAt: '2024-05-31T06:00:00.000Z',
    };
    const result = await runMerge(
      {
        now: NOW,
        thresholds: DEFAULT_THRESHOLDS,
        metadata,
        reports,
        previous,
        partitionOf: (id) => (id === A.devSandbox ? 'dev@example.com' : undefined),
      },
      { credentialReport: discard(), accessKeys: discard() },
    );
    const dev = result.partitions?.get('dev@example.com');
    expect(dev?.delta?.newUsers.count).toBeGreaterThan(0);
    expect(dev?.delta?.newUsers.items.every((u) => u.accountId === A.devSandbox)).toBe(true);
    expect(dev?.delta?.newUsers.count).toBeLessThan(result.summary.delta?.newUsers.count ?? 0);
  });
});

describe('central digest owners section', () => {
  it('shows refused addresses and failed owner mails in both bodies, escaped', async () => {
    const { metadata, reports } = sampleOrganization(NOW);
    const discard = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });
    const { summary } = await runMerge(
      { now: NOW, thresholds: DEFAULT_THRESHOLDS, metadata, reports },
      { credentialReport: discard(), accessKeys: discard() },
    );
    const r = resolveOwners(
      org(
        account('111111111111', { Owner: '<b>x</b>@evil.com' }),
        account('222222222222', { Owner: 'a@evil.com' }),
      ),
      undefined,
      POLICY,
    );
    const owners = withDelivery(ownersSummaryOf('send', 'high', r, undefined), {
      due: 2,
      delivered: 1,
      failures: [{ owner: 'b@example.com', error: 'MessageRejected' }],
    });
    const html = renderDigestHtml({ ...summary, owners });
    const text = renderDigestText({ ...summary, owners });
    for (const body of [html, text]) {
      expect(body).toContain('owner address refused');
      expect(body).toContain('owner digest to b@example.com failed: MessageRejected');
      expect(body).toContain('1 mailed, 1 failed');
    }
    expect(html).toContain('data-section="owners"');
    expect(html).not.toContain('<b>x</b>');
  });
});
