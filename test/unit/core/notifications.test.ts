import { PassThrough, Readable } from 'node:stream';
import { MergeInput, MergeResult, runMerge } from '../../../core/merge';
import {
  batchEntries,
  buildChatNotification,
  buildFindingEvents,
  busEntryBytes,
  CUSTOM_NOTIFICATION_BOUNDS,
  CustomNotificationSchema,
  FindingEventDetailSchema,
  FindingsTruncatedDetailSchema,
  NewFinding,
  NewFindings,
} from '../../../core/notifications';
import {
  FINDING_EVENT_DETAIL_TYPE,
  FINDINGS_EVENT_SOURCE,
  FINDINGS_TRUNCATED_DETAIL_TYPE,
} from '../../../core/names';
import { readPreviousState } from '../../../core/run-state';
import { buildAccountReport } from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import type { Summary } from '../../../core/summary';
import { notificationsLine } from '../../../core/digest-model';
import { renderDigestHtml } from '../../../core/digest-html';
import { renderDigestText } from '../../../core/digest-text';

const DAY = 86_400_000;
const T1 = new Date('2024-06-01T06:00:00Z');
const T2 = new Date(T1.getTime() + DAY);
const ACCOUNT = '123456789012';

function sink(): PassThrough {
  const s = new PassThrough();
  s.resume();
  return s;
}

async function run(
  input: Partial<MergeInput> & Pick<MergeInput, 'reports' | 'now'>,
): Promise<{ result: MergeResult; state: Buffer }> {
  const state = new PassThrough();
  const chunks: Buffer[] = [];
  state.on('data', (d: Buffer) => chunks.push(d));
  const result = await runMerge(
    { thresholds: DEFAULT_THRESHOLDS, ...input },
    { credentialReport: sink(), accessKeys: sink(), findings: sink(), state },
  );
  return { result, state: Buffer.concat(chunks) };
}

/** Day 1: alice has MFA, the root has MFA and no key. Day 2: alice lost MFA, the root has a key and no MFA. */
function report(at: Date, day2: boolean) {
  return buildAccountReport({
    accountId: ACCOUNT,
    generatedMs: at.getTime() - 3_600_000,
    root: {
      createdDaysAgo: 900,
      mfa: !day2,
      ...(day2 ? { keys: [{ active: true, createdDaysAgo: 1, lastUsedDaysAgo: 200 }] } : {}),
    },
    users: [
      {
        name: 'alice',
        createdDaysAgo: 400,
        password: { changedDaysAgo: 300, lastUsedDaysAgo: 1 },
        mfa: !day2,
      },
      // bob's console-without-mfa (high) is open on both days: not new.
      { name: 'bob', createdDaysAgo: 400, password: { changedDaysAgo: 300, lastUsedDaysAgo: 1 }, mfa: false },
      // carol's unused key (medium) appears on day 2: new, but not critical/high.
      {
        name: 'carol',
        createdDaysAgo: 400,
        keys: [{ active: true, createdDaysAgo: 300, lastUsedDaysAgo: day2 ? 100 : 1 }],
        mfa: false,
      },
    ],
  });
}

async function twoDays(limit?: number): Promise<MergeResult> {
  const first = await run({ now: T1, reports: [report(T1, false)] });
  expect(first.result.newFindings).toBeUndefined();
  const previous = await readPreviousState({
    state: Readable.from([first.state]),
    summary: first.result.summary,
  });
  return (
    await run({
      now: T2,
      reports: [report(T2, true)],
      previous,
      ...(limit !== undefined ? { newFindingsLimit: limit } : {}),
    })
  ).result;
}

describe('new critical and high findings (runMerge)', () => {
  it('lists the critical and high findings not open on the same user or key in the previous run', async () => {
    const result = await twoDays();
    const got = (result.newFindings?.items ?? []).map((f) => `${f.userName}:${f.findingId}`).sort();
    // The root's new key is also an admin's key: privileged-key (high).
    expect(got).toEqual([
      '<root_account>:privileged-key',
      '<root_account>:root-access-key',
      '<root_account>:root-mfa-disabled',
      'alice:console-without-mfa',
    ]);
    expect(result.newFindings?.count).toBe(4);
    for (const f of result.newFindings?.items ?? []) {
      expect(f.accountId).toBe(ACCOUNT);
      expect(f.firstSeen).toBe(T2.toISOString());
    }
    // The delta counts carol's new medium finding too; the notified list does not.
    expect(result.summary.delta?.newFindings.count).toBeGreaterThan(4);
  });

  it('counts every new finding but keeps only the first newFindingsLimit', async () => {
    const result = await twoDays(1);
    expect(result.newFindings?.count).toBe(4);
    expect(result.newFindings?.items).toHaveLength(1);
  });
});

const finding = (i: number): NewFinding => ({
  accountId: ACCOUNT,
  accountName: 'Prod "main"',
  userName: `user-${i}`,
  userArn: `arn:aws:iam::${ACCOUNT}:user/user-${i}`,
  accessKeyId: `AKIA${String(i).padStart(16, '0')}`,
  keySlot: 1,
  findingId: 'privileged-key',
  firstSeen: T2.toISOString(),
});

function summaryOf(result: MergeResult): Summary {
  return result.summary;
}

describe('buildChatNotification', () => {
  it('builds a custom notification that the schema accepts, with counts and the digest location', async () => {
    const result = await twoDays();
    const n = buildChatNotification({
      summary: summaryOf(result),
      ...(result.newFindings ? { newFindings: result.newFindings } : {}),
      digest: { s3Uri: 's3://bucket/latest/digest.html', consoleUrl: 'https://s3.console.aws.amazon.com/x' },
      organizationLabel: 'o-abcdefghij',
    });
    expect(CustomNotificationSchema.safeParse(n).success).toBe(true);
    expect(n.version).toBe('1.0');
    expect(n.source).toBe('custom');
    expect(n.content.textType).toBe('client-markdown');
    const open = result.summary.totals.openFindings;
    expect(n.content.title).toBe(
      `credreport 2024-06-02: ${open.critical + open.high} open critical/high findings, 4 new`,
    );
    expect(n.content.description).toContain(`${open.critical} critical · ${open.high} high`);
    expect(n.content.description).toContain('*New critical/high since the previous run:* 4');
    expect(n.content.description).toContain('`s3://bucket/latest/digest.html`');
    expect(n.content.nextSteps?.[0]).toBe('Open the digest: https://s3.console.aws.amazon.com/x');
    // No member-controlled name reaches the markdown.
    expect(n.content.description).not.toContain('alice');
  });

  it('says first run when there is no previous run to compare with', async () => {
    const first = await run({ now: T1, reports: [report(T1, false)] });
    const n = buildChatNotification({
      summary: first.result.summary,
      digest: { s3Uri: 's3://b/latest/digest.html' },
    });
    expect(n.content.description).toContain('first run, nothing to compare with');
    expect(n.content.title).not.toContain('new');
  });

  it('names coverage problems by reason', async () => {
    const first = await run({
      now: T1,
      reports: [report(T1, false)],
      expectedAccountIds: [ACCOUNT, '210987654321', '111122223333'],
    });
    const n = buildChatNotification({ summary: first.result.summary, digest: { s3Uri: 's3://b/k' } });
    expect(n.content.description).toContain('2 missing (incomplete)');
    expect(n.content.description).toContain('*Coverage problems:* 2 never reported');
    expect(n.content.nextSteps).toContain('Check the accounts missing from coverage');
  });

  it('keeps backticks and line breaks of the organization label out of the markdown', async () => {
    const first = await run({ now: T1, reports: [report(T1, false)] });
    const n = buildChatNotification({
      summary: first.result.summary,
      digest: { s3Uri: 's3://b/k' },
      organizationLabel: 'o-x`\n*bold*',
    });
    expect(n.content.description.split('\n')[0]).toBe('*Organization:* `o-x  *bold*`');
  });

  it('the schema refuses what the service does not accept', () => {
    const good = {
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown', title: 't', description: 'd' },
    };
    expect(CustomNotificationSchema.safeParse(good).success).toBe(true);
    const bad = [
      { ...good, version: '2.0' },
      { ...good, source: 'aws.health' },
      { ...good, content: { ...good.content, textType: 'plain' } },
      {
        ...good,
        content: {
          ...good.content,
          description: 'x'.repeat(CUSTOM_NOTIFICATION_BOUNDS.descriptionChars + 1),
        },
      },
      { ...good, content: { ...good.content, title: 'x'.repeat(CUSTOM_NOTIFICATION_BOUNDS.titleChars + 1) } },
      { ...good, content: { ...good.content, unknown: 1 } },
    ];
    for (const b of bad) expect(CustomNotificationSchema.safeParse(b).success).toBe(false);
  });
});

describe('buildFindingEvents', () => {
  const base = { generatedAt: T2.toISOString(), runDate: '2024-06-02', organizationId: 'o-abcdefghij' };

  it('builds one credreport.findings event per new finding, with the documented detail', () => {
    const newFindings: NewFindings = { count: 2, items: [finding(1), finding(2)] };
    const entries = buildFindingEvents({
      ...base,
      newFindings,
      maxEvents: 500,
      findingsUri: 's3://b/runs/date=2024-06-02/findings.csv',
    });
    expect(entries).toHaveLength(2);
    for (const e of entries) {
      expect(e.source).toBe(FINDINGS_EVENT_SOURCE);
      expect(e.detailType).toBe(FINDING_EVENT_DETAIL_TYPE);
    }
    const detail = FindingEventDetailSchema.parse(JSON.parse(entries[0]?.detail ?? '{}'));
    expect(detail).toEqual({
      schemaVersion: 1,
      uid: `${ACCOUNT}/user-1/AKIA0000000000000001/privileged-key`,
      findingId: 'privileged-key',
      severity: 'high',
      accountId: ACCOUNT,
      accountName: 'Prod "main"',
      userName: 'user-1',
      userArn: `arn:aws:iam::${ACCOUNT}:user/user-1`,
      accessKeyId: 'AKIA0000000000000001',
      keySlot: 1,
      cis: {},
      firstSeen: T2.toISOString(),
      runDate: '2024-06-02',
      generatedAt: T2.toISOString(),
      organizationId: 'o-abcdefghij',
      findingsUri: 's3://b/runs/date=2024-06-02/findings.csv',
    });
  });

  it('carries the CIS and Security Hub ids of the finding', () => {
    const rootKey: NewFinding = { ...finding(0), userName: '<root_account>', findingId: 'root-access-key' };
    const [entry] = buildFindingEvents({
      ...base,
      newFindings: { count: 1, items: [rootKey] },
      maxEvents: 10,
    });
    const detail = FindingEventDetailSchema.parse(JSON.parse(entry?.detail ?? '{}'));
    expect(detail.severity).toBe('critical');
    expect(detail.cis.v5).toBeDefined();
    expect(detail.securityHubControl).toBe('IAM.4');
  });

  it('stops at maxEvents and adds one event saying how many more there were', () => {
    const items = Array.from({ length: 20 }, (_, i) => finding(i));
    const entries = buildFindingEvents({ ...base, newFindings: { count: 1_234, items }, maxEvents: 5 });
    expect(entries).toHaveLength(6);
    const last = entries[5];
    expect(last?.detailType).toBe(FINDINGS_TRUNCATED_DETAIL_TYPE);
    const detail = FindingsTruncatedDetailSchema.parse(JSON.parse(last?.detail ?? '{}'));
    expect(detail).toMatchObject({ newFindings: 1_234, sent: 5, more: 1_229 });
  });

  it('puts nothing when nothing is new', () => {
    expect(buildFindingEvents({ ...base, newFindings: { count: 0, items: [] }, maxEvents: 5 })).toEqual([]);
  });
});

describe('batchEntries', () => {
  const entry = (bytes: number) => ({ source: 's', detailType: 'd', detail: 'x'.repeat(bytes - 2) });

  it('puts at most 10 entries in a request', () => {
    const batches = batchEntries(Array.from({ length: 25 }, () => entry(100)));
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
  });

  it('keeps each request under 256 KB and sends an entry at the limit alone', () => {
    const big = entry(100_000);
    expect(busEntryBytes(big)).toBe(100_000);
    const batches = batchEntries([big, big, big, entry(256 * 1024), entry(10)]);
    expect(batches.map((b) => b.length)).toEqual([2, 1, 1, 1]);
    for (const b of batches.slice(0, 2))
      expect(b.reduce((s, e) => s + busEntryBytes(e), 0)).toBeLessThan(256 * 1024);
  });
});

describe('notificationsLine', () => {
  it('names each outcome in summary.json and both digest bodies, failures included', async () => {
    const first = await run({ now: T1, reports: [report(T1, false)] });
    const summary: Summary = {
      ...first.result.summary,
      notifications: {
        chat: 'failed',
        chatError: 'AuthorizationError: not allowed',
        events: {
          state: 'partial',
          newFindings: 12,
          put: 10,
          failed: 3,
          truncated: 1,
          error: 'ThrottlingException',
        },
      },
    };
    const line = notificationsLine(summary);
    expect(line).toBe(
      'Chat summary: FAILED (AuthorizationError: not allowed) · finding events: 10 events put for 12 new critical/high, 1 over the cap summarised in one event; 3 events FAILED (ThrottlingException)',
    );
    expect(renderDigestText(summary)).toContain(line);
    expect(renderDigestHtml(summary)).toContain('3 events FAILED (ThrottlingException)');
    expect(notificationsLine(first.result.summary)).toBeUndefined();
  });

  it('says when a first run put no finding events', async () => {
    const first = await run({ now: T1, reports: [report(T1, false)] });
    const summary: Summary = {
      ...first.result.summary,
      notifications: {
        chat: 'published',
        events: { state: 'first-run', newFindings: 0, put: 0, failed: 0, truncated: 0 },
      },
    };
    expect(notificationsLine(summary)).toBe(
      'Chat summary: published · finding events: none (first run, nothing to compare with)',
    );
  });
});
