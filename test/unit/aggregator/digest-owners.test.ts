import 'aws-sdk-client-mock-jest';
import { AccountClient, GetAlternateContactCommand } from '@aws-sdk/client-account';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { GetAccountCommand, SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { DigestConfig, DigestDeps, runDigest } from '../../../aggregator/digest';
import { OWNER_DIGEST_PREFIX } from '../../../aggregator/owner-digests';
import { S3_LAYOUT } from '../../../core/names';
import { ownerFileName } from '../../../core/owners';
import { SAMPLE_ACCOUNTS, sampleOrganization } from '../../../core/sample-org';
import type { Summary } from '../../../core/summary';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import type { AccountReport } from '../../../core/types';
import { FakeOrganization, fakeOrganizationFrom, wireFakeOrganization } from './support/fake-organizations';
import { digestDeps } from './support/digest-deps';
import { MemoryS3, wireMemoryS3 } from './support/memory-s3';
import { metricSum, recordingMetrics } from './support/reports';

const s3Mock = mockClient(S3Client);
const orgMock = mockClient(OrganizationsClient);
const sesMock = mockClient(SESv2Client);
const iamMock = mockClient(IAMClient);
const accountMock = mockClient(AccountClient);

const NOW = new Date('2026-11-21T06:00:00Z');
const BUCKET = 'hub-bucket';
const A = SAMPLE_ACCOUNTS;
const OWN = A.management;
const CENTRAL = 'security@example.com';

// Where each owner comes from (the sample's own `Owner` tags are team names, so a tag key of our own).
const TAG_KEY = 'OwnerEmail';
const TAG_OWNER = 'pay@example.com';
const CONTACT_OWNER = 'dev-sec@example.com';
const DEFAULT_OWNER = 'secops@example.com';
const OUTSIDE = 'web@outside.example';

/** Account → the owner it must end up with; every other account falls to the default owner. */
const OWNED: Record<string, string> = { [A.payments]: TAG_OWNER, [A.devSandbox]: CONTACT_OWNER };
const ALL_ACCOUNTS: readonly string[] = Object.values(A);
const accountsOf = (owner: string): string[] =>
  ALL_ACCOUNTS.filter((id) => (OWNED[id] ?? DEFAULT_OWNER) === owner);

const CONFIG: DigestConfig = {
  bucket: BUCKET,
  organizationId: 'o-example123',
  targetOuIds: ['r-ex12'],
  recipients: [CENTRAL],
  sender: 'credreport@example.com',
  tagKeys: [],
  breakdownTag: 'Environment',
  thresholds: DEFAULT_THRESHOLDS,
  maxEmailBytes: 10_000_000,
  tagCacheHours: 24,
  readConcurrency: 4,
  owners: {
    mode: 'send',
    minSeverity: 'low',
    tagKeys: [TAG_KEY],
    defaultOwner: DEFAULT_OWNER,
    allowedDomains: ['example.com'],
  },
};

let memory: MemoryS3;
let org: FakeOrganization;
let reports: AccountReport[];
let recorded: ReturnType<typeof recordingMetrics>['recorded'];

function deps(overrides: Partial<DigestDeps> = {}): DigestDeps {
  const m = recordingMetrics();
  recorded = m.recorded;
  const own = reports.find((r) => r.accountId === OWN) as AccountReport;
  return digestDeps(
    { bucket: BUCKET, own, metrics: m.metrics, sesRegion: 'us-east-1' },
    { account: new AccountClient({ region: 'us-east-1' }), ...overrides },
  );
}

const summary = (): Summary =>
  JSON.parse(memory.text(`latest/${S3_LAYOUT.outputFiles.summary}`) as string) as Summary;
const centralHtml = (): string => memory.text(`latest/${S3_LAYOUT.outputFiles.digest}`) ?? '';

/** SendEmail calls: recipients and HTML body of each. */
const sends = (): { to: string[]; html: string }[] =>
  sesMock.commandCalls(SendEmailCommand).map((c) => ({
    to: c.args[0].input.Destination?.ToAddresses ?? [],
    html: c.args[0].input.Content?.Simple?.Body?.Html?.Data ?? '',
  }));
const ownerSends = () => sends().filter((s) => !s.to.includes(CENTRAL));

/** The body names the owner's accounts that have findings, and no account of any other owner. */
function expectOnlyAccountsOf(owner: string, html: string): void {
  expect(html).toContain(`accounts of ${owner}`);
  for (const id of ALL_ACCOUNTS) {
    if (!accountsOf(owner).includes(id)) expect(html).not.toContain(id);
  }
  expect(accountsOf(owner).filter((id) => html.includes(id)).length).toBeGreaterThan(0);
}

beforeEach(() => {
  s3Mock.reset();
  orgMock.reset();
  sesMock.reset();
  iamMock.reset();
  accountMock.reset();
  memory = new MemoryS3();
  wireMemoryS3(s3Mock, memory);
  const sample = sampleOrganization(NOW);
  reports = sample.reports;
  org = fakeOrganizationFrom(sample.metadata);
  const tag = (id: string, value: string): void => {
    const account = org.accounts.find((a) => a.id === id);
    if (!account) throw new Error(`no sample account ${id}`);
    account.tags[TAG_KEY] = value;
  };
  // Mixed case: the owner is the address in canonical form.
  tag(A.payments, 'Pay@Example.com');
  // Outside the allowed domains: refused, so staging falls to its contact (none), then the default.
  tag(A.staging, OUTSIDE);
  wireFakeOrganization(orgMock, org);
  sesMock.on(SendEmailCommand).resolves({ MessageId: 'm' });
  // A high send rate, so the pacing between owner mails stays in milliseconds.
  sesMock.on(GetAccountCommand).resolves({ SendQuota: { MaxSendRate: 200 } });
  accountMock
    .on(GetAlternateContactCommand)
    .rejects(Object.assign(new Error('no contact'), { name: 'ResourceNotFoundException' }));
  accountMock
    .on(GetAlternateContactCommand, { AccountId: A.devSandbox })
    .resolves({ AlternateContact: { EmailAddress: CONTACT_OWNER, AlternateContactType: 'SECURITY' } });
  for (const report of reports) {
    if (report.accountId !== OWN)
      memory.putRaw(S3_LAYOUT.accountLatest(report.accountId), JSON.stringify(report));
  }
});

describe('runDigest: per-owner digests', () => {
  it('mails each due owner alone (by tag, alternate contact and default) with only their accounts, and shows a refused tag', async () => {
    const result = await runDigest(CONFIG, deps(), NOW);

    const mails = ownerSends();
    expect(mails.map((m) => m.to).sort()).toEqual([[CONTACT_OWNER], [TAG_OWNER], [DEFAULT_OWNER]].sort());
    for (const { to, html } of mails) expectOnlyAccountsOf(to[0] as string, html);
    // The refused address never receives anything, and the central digest still went out.
    expect(sends().flatMap((s) => s.to)).not.toContain(OUTSIDE);
    expect(sends().filter((s) => s.to.includes(CENTRAL))).toHaveLength(1);
    expect(result).toMatchObject({ email: 'sent', owners: { due: 3, delivered: 3, failed: 0 } });
    expect(metricSum(recorded, 'OwnerDigestsDelivered')).toBe(3);

    // Contacts are asked only where no tag names an acceptable owner (the refused tag's account is asked).
    const asked = accountMock.commandCalls(GetAlternateContactCommand).map((c) => c.args[0].input.AccountId);
    expect(asked).not.toContain(A.payments);
    expect(asked).toEqual(expect.arrayContaining([A.devSandbox, A.staging]));

    const owners = summary().owners;
    expect(owners).toMatchObject({
      mode: 'send',
      owners: 3,
      bySource: { tag: 1, 'alternate-contact': 1 },
      due: 3,
      delivered: 3,
      failed: { count: 0, items: [] },
      refused: {
        count: 1,
        items: [
          {
            accountId: A.staging,
            source: 'tag',
            tagKey: TAG_KEY,
            value: OUTSIDE,
            reason: 'domain-not-allowed',
          },
        ],
      },
    });
    expect(owners?.bySource.default).toBe(accountsOf(DEFAULT_OWNER).length);
    const html = centralHtml();
    expect(html).toContain('data-section="owners"');
    expect(html).toContain(`${A.staging} (staging-web): owner address refused: tag ${TAG_KEY}`);
    expect(html).toContain(OUTSIDE);
    // The central email carries the same section.
    const central = sends().find((s) => s.to.includes(CENTRAL))?.html ?? '';
    expect(central).toContain('owner address refused');
  });

  it('counts a failed owner mail and shows it in the central digest, while the other owners still get theirs', async () => {
    sesMock.on(SendEmailCommand, { Destination: { ToAddresses: [CONTACT_OWNER] } }).rejects(
      Object.assign(new Error('address rejected'), {
        name: 'MessageRejected',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const result = await runDigest(CONFIG, deps(), NOW);

    // Attempted once (a permanent error is not retried), and the other two owners went out.
    expect(
      ownerSends()
        .map((m) => m.to[0])
        .sort(),
    ).toEqual([CONTACT_OWNER, DEFAULT_OWNER, TAG_OWNER].sort());
    expect(result).toMatchObject({ email: 'sent', owners: { due: 3, delivered: 2, failed: 1 } });
    expect(metricSum(recorded, 'OwnerDigestsFailed')).toBe(1);
    expect(summary().owners).toMatchObject({
      delivered: 2,
      failed: { count: 1, items: [{ owner: CONTACT_OWNER, error: 'MessageRejected' }] },
    });
    expect(centralHtml()).toContain(`owner digest to ${CONTACT_OWNER} failed: MessageRejected`);
    expect(centralHtml()).toContain('3 owner digests due');
  });

  it('writes each due owner digest under latest/owners/ in a dry run and sends no owner mail', async () => {
    const config: DigestConfig = {
      ...CONFIG,
      recipients: [],
      owners: { ...(CONFIG.owners as NonNullable<DigestConfig['owners']>), mode: 'dry-run' },
    };
    const result = await runDigest(config, deps(), NOW);

    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(sesMock).not.toHaveReceivedCommand(GetAccountCommand);
    const expected = [TAG_OWNER, CONTACT_OWNER, DEFAULT_OWNER];
    expect(memory.keys(OWNER_DIGEST_PREFIX).sort()).toEqual(
      expected.map((o) => `${OWNER_DIGEST_PREFIX}${ownerFileName(o)}`).sort(),
    );
    for (const owner of expected) {
      expectOnlyAccountsOf(owner, memory.text(`${OWNER_DIGEST_PREFIX}${ownerFileName(owner)}`) ?? '');
    }
    expect(result.owners).toEqual({ due: 3, delivered: 3, failed: 0 });
    expect(summary().owners).toMatchObject({ mode: 'dry-run', delivered: 3 });
    expect(centralHtml()).toContain('3 written to latest/owners/ (dry run)');
  });

  it("shows each owner the staged deactivation of their own accounts' keys only", async () => {
    const config: DigestConfig = {
      ...CONFIG,
      recipients: [],
      owners: { ...(CONFIG.owners as NonNullable<DigestConfig['owners']>), mode: 'dry-run' },
      deactivation: {
        mode: 'dry-run',
        human: { unusedDays: 20, noticeDays: 10, deactivateAfterDays: 60 },
        machine: { unusedDays: 20, noticeDays: 10, deactivateAfterDays: 60 },
        planMaxAgeHours: 26,
      },
    };
    await runDigest(config, deps(), NOW);
    const planned = summary().remediation?.keys ?? [];
    const owners = [TAG_OWNER, CONTACT_OWNER, DEFAULT_OWNER];
    // More than one owner has planned keys, so "only their own" is a real check.
    const withKeys = owners.filter((o) => planned.some((k) => accountsOf(o).includes(k.accountId)));
    expect(withKeys.length).toBeGreaterThan(1);
    for (const owner of owners) {
      const html = memory.text(`${OWNER_DIGEST_PREFIX}${ownerFileName(owner)}`) ?? '';
      const mine = planned.filter((k) => accountsOf(owner).includes(k.accountId));
      for (const k of planned) {
        if (mine.includes(k)) {
          expect(html).toContain(k.accessKeyId);
          expect(html).toContain(`would deactivate on ${k.deactivateOn}`);
        } else expect(html).not.toContain(k.accessKeyId);
      }
    }
  });
});
