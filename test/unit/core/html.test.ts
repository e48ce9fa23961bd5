import { Writable } from 'node:stream';
import fc from 'fast-check';
import { DIGEST_LIMITS, renderDigestHtml, renderDigestText } from '../../../core/digest-html';
import { RISK_PATH_CHARS } from '../../../core/digest-model';
import { MergeInput, MergeResult, runMerge } from '../../../core/merge';
import { buildAccountReport, sampleOrganization } from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import { OrgMetadata } from '../../../core/types';

const NOW = new Date('2024-06-01T06:00:00Z');
const ACCOUNT = '123456789012';
const ADMIN = {
  admin: true,
  s3Read: false,
  rdsRead: false,
  dynamodbRead: false,
  grantingPolicies: { admin: ['arn:aws:iam::aws:policy/AdministratorAccess'] },
};

const discard = (): Writable =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

function merge(input: Partial<MergeInput> & Pick<MergeInput, 'reports'>): Promise<MergeResult> {
  return runMerge(
    { now: NOW, thresholds: DEFAULT_THRESHOLDS, ...input },
    { credentialReport: discard(), accessKeys: discard() },
  );
}

const OUR_TAGS =
  /^<\/?(?:!DOCTYPE|html|head|meta|title|body|div|h1|h2|h3|p|span|table|thead|tbody|tr|th|td|ul|li)\b/i;

/** Every `<` in the document opens one of the digest's own tags. */
function onlyOurTags(html: string): boolean {
  for (let i = html.indexOf('<'); i !== -1; i = html.indexOf('<', i + 1)) {
    if (!OUR_TAGS.test(html.slice(i, i + 12))) return false;
  }
  return true;
}

const hostile = fc
  .tuple(
    fc.constantFrom(
      '<script>alert(1)</script>',
      '"><img src=x onerror=alert(1)>',
      "'<script",
      '<SCRIPT ',
      '&lt;',
    ),
    fc.string(),
  )
  .map(([a, b]) => a + b);
/** IAM user names have no whitespace (the report's ARN would not parse). */
const hostileUser = hostile.map((s) => s.replace(/\s/g, '_'));

describe('renderDigestHtml', () => {
  it('never lets a raw tag through from tag values, account names, OU paths, user names or problem details', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostile,
        hostile,
        hostile,
        hostileUser,
        hostile,
        async (tagValue, name, ouPath, userName, detail) => {
          const metadata: OrgMetadata = {
            organizationId: 'o-x',
            fetchedAt: NOW.toISOString(),
            accounts: [
              {
                id: ACCOUNT,
                name,
                email: 'e@example.com',
                state: 'ACTIVE',
                ouPath,
                ouIdPath: ['r-1'],
                tags: { Environment: tagValue },
              },
              {
                id: '210987654321',
                name,
                email: 'f@example.com',
                state: 'ACTIVE',
                ouPath,
                ouIdPath: ['r-1'],
                tags: {},
              },
            ],
          };
          const report = buildAccountReport({
            accountId: ACCOUNT,
            generatedMs: NOW.getTime() - 3_600_000,
            root: { createdDaysAgo: 10, mfa: true },
            users: [
              {
                name: userName,
                createdDaysAgo: 200,
                mfa: false,
                keys: [{ active: true, createdDaysAgo: 150 }],
                privileges: ADMIN,
              },
            ],
            laterKeys: [
              {
                userName: `${userName}x`,
                accessKeyId: 'AKIALATER0000000001',
                status: 'Active',
                createDate: NOW.toISOString(),
              },
            ],
          });
          const result = await merge({
            metadata,
            reports: [report],
            problems: [{ accountId: '210987654321', reason: 'collection-failed', detail }],
            organizationLabel: name,
          });
          // The user did make it into the digest (riskiest keys), escaped.
          expect(result.summary.riskiestKeys.length).toBeGreaterThan(0);
          expect(result.html).not.toMatch(/<script/i);
          expect(result.html).not.toMatch(/<img/i);
          expect(onlyOurTags(result.html)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is self-contained: no scripts, no external resources, inline styles only', async () => {
    const sample = sampleOrganization(NOW);
    const { html } = await merge({ metadata: sample.metadata, reports: sample.reports });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<style|<img|src=|url\(/i);
    expect(onlyOurTags(html)).toBe(true);
    expect(html).toContain('IAM credential digest: o-example123, 2024-06-01');
    for (const heading of [
      'What changed since the previous run',
      'Top risks',
      'Coverage problems',
      'CIS compliance',
      'By organizational unit',
      'By tag Environment',
    ]) {
      expect(html).toContain(`>${heading}</h2>`);
    }
    // The coverage table names each non-reporting account with its reason.
    expect(html).toMatch(/staging-web.*666666666666.*missing \(rejected\).*line 3/s);
    expect(html).toMatch(/new-account.*777777777777.*missing \(never reported\).*no report received/s);
    expect(html).toMatch(/log-archive.*555555555555.*>stale<.*last report generated/s);
    expect(html).toContain('&lt;root_account&gt;');
  });

  it('stays small for 10,000 accounts by capping every table', async () => {
    const accounts = Array.from({ length: 10_000 }, (_, i) => {
      const id = String(300000000000 + i);
      return {
        id,
        name: `a-${i}`,
        email: `${i}@e.com`,
        state: 'ACTIVE',
        ouPath: `Root/OU-${i % 500}`,
        ouIdPath: ['r-1'],
        tags: { Environment: `env-${i % 300}` },
      };
    });
    const result = await merge({ metadata: { fetchedAt: NOW.toISOString(), accounts }, reports: [] });
    expect(result.summary.coverage.entries).toHaveLength(10_000);
    expect(result.html.length).toBeLessThan(150_000);
    expect(result.html).toContain(
      `… and ${(10_000 - DIGEST_LIMITS.coverageEntries).toLocaleString('en-US')} more`,
    );
    // The text shows the same capped lists: coverage plus the two breakdowns (500 OUs, 300 tag values).
    expect(result.text.split('\n').length).toBeLessThan(
      DIGEST_LIMITS.coverageEntries + 2 * DIGEST_LIMITS.groups + 50,
    );
    expect(result.text).toContain(`… and ${(500 - DIGEST_LIMITS.groups).toLocaleString('en-US')} more`);
  });

  it('says it is a first run when the summary has no delta, and lists the changes when it has one', async () => {
    const sample = sampleOrganization(NOW);
    const { summary } = await merge({ metadata: sample.metadata, reports: sample.reports });
    expect(renderDigestHtml(summary)).toContain('First run: there is no previous run to compare with');
    expect(renderDigestText(summary)).toContain('First run: there is no previous run to compare with');
    const delta = {
      previousGeneratedAt: '2024-05-31T06:00:00.000Z',
      newUsers: { count: 1, items: [{ accountId: ACCOUNT, userName: '<b>new</b>' }] },
      removedUsers: { count: 0, items: [] },
      newKeys: { count: 0, items: [] },
      removedKeys: { count: 0, items: [] },
      newFindings: { count: 0, items: [], byFinding: {} },
      resolvedFindings: { count: 0, items: [], byFinding: {} },
      accountsStoppedReporting: {
        count: 1,
        items: [{ accountId: '555555555555', status: 'stale' as const, reason: 'stale' as const }],
      },
    };
    const html = renderDigestHtml({ ...summary, delta });
    expect(html).not.toContain('First run');
    expect(html).toContain('&lt;b&gt;new&lt;/b&gt;');
    expect(html).toMatch(/Accounts that stopped reporting \(1\).*log-archive.*555555555555/s);
    expect(renderDigestText({ ...summary, delta })).toContain('Users: 1 new, 0 removed.');
  });
});

describe('renderDigestText', () => {
  it('summarises coverage, findings and the riskiest keys without control characters from the data', async () => {
    const sample = sampleOrganization(NOW);
    const { summary } = await merge({
      metadata: sample.metadata,
      reports: sample.reports,
      organizationLabel: 'org\u001b[31m',
    });
    const text = renderDigestText(summary);
    expect(text).toContain(
      'Coverage (INCOMPLETE): 6 of 9 expected accounts reporting, 3 missing (1 of them stale).',
    );
    // The compliance table: CIS id, finding, severity, Security Hub id, accounts failing / passing / not evaluated.
    expect(text).toMatch(/1\.3\s+root-access-key\s+critical\s+IAM\.4\s+1\s+6\s+2\n/);
    // The sample's root users: two member accounts with their root credentials removed; the management
    // root's active key and dev-sandbox's certificate present (their root rows, no facts); one weak policy.
    const facts =
      'Root credentials (a password, an access key or a signing certificate) present in 2 accounts, none in 2, unknown in 3; password policy: below CIS in 1, missing in 0, unknown in 5.';
    expect(text).toContain(facts);
    expect(renderDigestHtml(summary)).toContain(facts);
    expect(text).toContain('\nTop risks\n---------\n');
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('shows the proving paths of a top-risk key in both bodies, escaped and cut to RISK_PATH_CHARS', async () => {
    const sample = sampleOrganization(NOW);
    const { summary } = await merge({ metadata: sample.metadata, reports: sample.reports });
    const [first] = summary.riskiestKeys;
    const long = `sts:AssumeRole role/<script>x</script> → ${'a'.repeat(1000)}`;
    const withPaths = {
      ...summary,
      riskiestKeys: [{ ...first!, adminPath: long, dataReadPath: 's3: AmazonS3ReadOnlyAccess' }],
    };
    const html = renderDigestHtml(withPaths);
    const text = renderDigestText(withPaths);
    const shown = `admin: ${long.slice(0, RISK_PATH_CHARS - 1)}…`;
    expect(html).toContain(
      shown.replace('<script>', '&lt;script&gt;').replace('</script>', '&lt;/script&gt;'),
    );
    expect(html).not.toContain('<script>');
    expect(html).toContain('data: s3: AmazonS3ReadOnlyAccess');
    expect(text).toContain(shown);
    expect(text).toContain('data: s3: AmazonS3ReadOnlyAccess');
    expect(text).not.toContain('a'.repeat(RISK_PATH_CHARS));
  });

  it('shows control characters as spaces whatever field of the data carries them', async () => {
    const sample = sampleOrganization(NOW);
    const { summary } = await merge({ metadata: sample.metadata, reports: sample.reports });
    const [first] = summary.riskiestKeys;
    const hostile = {
      ...summary,
      coverage: {
        ...summary.coverage,
        entries: summary.coverage.entries.map((e) => ({ ...e, accountId: `${e.accountId}\u001b[2J` })),
      },
      riskiestKeys: [
        {
          ...first!,
          accountId: '1\r2',
          accessKeyId: 'AKIA\u001b[31m',
          findings: ['root-access-key' as const],
        },
      ],
      delta: {
        previousGeneratedAt: 'x\u0007y',
        newUsers: { count: 0, items: [] },
        removedUsers: { count: 0, items: [] },
        newKeys: { count: 0, items: [] },
        removedKeys: { count: 0, items: [] },
        newFindings: { count: 0, items: [], byFinding: {} },
        resolvedFindings: { count: 0, items: [], byFinding: {} },
        accountsStoppedReporting: { count: 0, items: [] },
      },
    };
    const text = renderDigestText(hostile);
    expect(text).toContain('AKIA [31m');
    expect(text).toContain('Compared with the run of x y.');
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  });

  it('lists each coverage gap on one line with its status, reason and detail', async () => {
    const sample = sampleOrganization(NOW);
    const { text } = await merge({ metadata: sample.metadata, reports: sample.reports });
    expect(text).toContain(
      '  555555555555 (log-archive): stale: last report generated 2024-05-29T06:00:00.000Z (3 days ago); stale after 26 hours\n',
    );
    expect(text).toContain('  777777777777 (new-account): missing (never reported): no report received\n');
    expect(text).not.toMatch(/stale, stale|never-reported/);
  });
});
