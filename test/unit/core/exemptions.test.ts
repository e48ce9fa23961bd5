import { PassThrough, Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import {
  chooseExemptions,
  ExemptionMatcher,
  ExemptionsFile,
  ExemptionsFileError,
  exemptionPredicate,
  parseExemptionsFile,
  userPathOf,
} from '../../../core/exemptions';
import { readPreviousRun } from '../../../core/previous-run';
import { MergeInput, MergeResult, runMerge } from '../../../core/merge';
import { renderDigestText } from '../../../core/digest-html';
import { buildAccountReport, sampleKeyId, SampleUser } from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import type { AccountMetadata, AccountReport, OrgMetadata } from '../../../core/types';

const NOW = new Date('2026-12-04T06:00:00Z');
const A = '123456789012';
const B = '210987654321';
const OU_PROD = 'ou-ab12-22222222';

const entry = (over: Record<string, unknown>): Record<string, unknown> => ({
  id: 'e1',
  reason: 'CI deploy user, rotated by vault',
  approvedBy: 'sec-team@example.com',
  expires: '2027-03-01',
  ...over,
});
const file = (...entries: Record<string, unknown>[]): ExemptionsFile =>
  parseExemptionsFile(JSON.stringify({ version: 1, exemptions: entries }));

function meta(id: string, ouIdPath: string[], tags: Record<string, string>): AccountMetadata {
  return { id, name: `n${id}`, email: 'x@example.com', state: 'ACTIVE', ouPath: 'Root/P', ouIdPath, tags };
}
const ORG: OrgMetadata = {
  fetchedAt: NOW.toISOString(),
  accounts: [meta(A, ['r-ab12', OU_PROD], { Team: 'platform' }), meta(B, ['r-ab12'], { Team: 'data' })],
};

const oldKeyUser = (name: string): SampleUser => ({
  name,
  createdDaysAgo: 900,
  mfa: false,
  keys: [{ active: true, createdDaysAgo: 400, lastUsedDaysAgo: 1 }],
});
const consoleUser = (name: string): SampleUser => ({
  name,
  createdDaysAgo: 900,
  mfa: false,
  password: { changedDaysAgo: 10, lastUsedDaysAgo: 1 },
});

function report(accountId: string, users: SampleUser[]): AccountReport {
  return buildAccountReport({
    accountId,
    generatedMs: NOW.getTime() - 3_600_000,
    root: { createdDaysAgo: 1000, mfa: true },
    users,
  });
}

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

interface Out {
  result: MergeResult;
  cr: string;
  ak: string;
  users: Record<string, string>[];
  keys: Record<string, string>[];
  findings: Record<string, string>[];
}

async function merge(input: Partial<MergeInput> & Pick<MergeInput, 'reports'>): Promise<Out> {
  const cr = sink();
  const ak = sink();
  const fi = sink();
  const result = await runMerge(
    { now: NOW, thresholds: DEFAULT_THRESHOLDS, metadata: ORG, ...input },
    { credentialReport: cr.stream, accessKeys: ak.stream, findings: fi.stream },
  );
  const rows = (text: string) => parse(text, { columns: true }) as Record<string, string>[];
  return {
    result,
    cr: cr.text(),
    ak: ak.text(),
    users: rows(cr.text()),
    keys: rows(ak.text()),
    findings: rows(fi.text()),
  };
}

describe('parseExemptionsFile', () => {
  it('accepts a file with every selector', () => {
    const parsed = file(
      entry({
        accounts: [A],
        ous: [OU_PROD],
        tags: { Team: 'plat*' },
        users: ['svc-*'],
        paths: ['/service/*'],
        accessKeys: ['AKIAABCDEFGHIJKLMNOP'],
        findings: ['key-not-rotated'],
      }),
    );
    expect(parsed.exemptions).toHaveLength(1);
  });

  it('names the entry index, its id and the field when an entry is invalid', () => {
    const text = JSON.stringify({
      version: 1,
      exemptions: [entry({ users: ['ok'] }), entry({ id: 'bad-date', expires: '2027-13-01', users: ['x'] })],
    });
    expect(() => parseExemptionsFile(text)).toThrow(ExemptionsFileError);
    expect(() => parseExemptionsFile(text)).toThrow(
      /exemptions\[1\] \(id "bad-date"\): expires: is not a calendar date/,
    );
  });

  it('refuses a missing reason, an unknown field, a duplicate id and an entry that selects nothing', () => {
    const bad = (e: Record<string, unknown>, re: RegExp) =>
      expect(() => file(entry({ users: ['x'] }), entry(e))).toThrow(re);
    bad({ id: 'r', reason: undefined, users: ['x'] }, /exemptions\[1\] \(id "r"\): reason:/);
    bad({ id: 'u', users: ['x'], owner: 'me' }, /exemptions\[1\] \(id "u"\): .*owner/);
    bad({ users: ['y'] }, /exemptions\[1\] \(id "e1"\): id: duplicates exemptions\[0\]/);
    bad({ id: 'none' }, /exemptions\[1\] \(id "none"\): \(entry\): must select something/);
    bad({ id: 'k', accessKeys: ['not-a-key'] }, /accessKeys\.\[0\]: must be an access key id/);
    bad({ id: 'f', findings: ['no-such-finding'] }, /exemptions\[1\] \(id "f"\): findings\.\[0\]/);
  });

  it('refuses text that is not JSON or not the file shape', () => {
    expect(() => parseExemptionsFile('{')).toThrow(/not JSON/);
    expect(() => parseExemptionsFile('{"version":2,"exemptions":[]}')).toThrow(/version/);
    expect(() => parseExemptionsFile('[]')).toThrow(/expected \{ "version": 1/);
  });
});

describe('ExemptionMatcher', () => {
  const subject = {
    userName: 'svc-ci',
    userArn: `arn:aws:iam::${A}:user/service/svc-ci`,
    accessKeyId: 'AKIAABCDEFGHIJKLMNOP',
  };
  const decide = (
    e: Record<string, unknown>,
    accountId = A,
    s: typeof subject | Omit<typeof subject, 'accessKeyId'> = subject,
  ) =>
    new ExemptionMatcher({ file: file(entry(e)), source: 'file' }, NOW)
      .forAccount(
        accountId,
        ORG.accounts.find((m) => m.id === accountId),
      )
      .apply(s, ['key-not-rotated', 'privileged-key']);

  it.each([
    ['account id', { accounts: [A] }, { accounts: [B] }],
    ['OU id on the path', { ous: [OU_PROD] }, { ous: ['ou-ab12-33333333'] }],
    ['tag key and value (glob)', { tags: { Team: 'plat*' } }, { tags: { Team: 'data' } }],
    ['user name glob', { users: ['svc-*'] }, { users: ['human-*'] }],
    ['user path glob', { paths: ['/service/*'] }, { paths: ['/people/*'] }],
    ['access key id', { accessKeys: ['AKIAABCDEFGHIJKLMNOP'] }, { accessKeys: ['AKIAZZZZZZZZZZZZZZZZ'] }],
  ])('exempts by %s and not when it differs', (_name, hit, miss) => {
    expect(decide(hit).exempted.map((x) => x.finding)).toEqual(['key-not-rotated', 'privileged-key']);
    expect(decide(hit).open).toEqual([]);
    expect(decide(miss).exempted).toEqual([]);
    expect(decide(miss).open).toEqual(['key-not-rotated', 'privileged-key']);
  });

  it('requires every selector given (AND) and limits to the finding ids listed', () => {
    const out = decide({ accounts: [A], users: ['svc-*'], findings: ['key-not-rotated'] });
    expect(out.open).toEqual(['privileged-key']);
    expect(out.exempted).toEqual([{ finding: 'key-not-rotated', by: ['e1'], expires: '2027-03-01' }]);
    expect(decide({ accounts: [A], users: ['nobody'] }).open).toHaveLength(2);
  });

  it('never matches a user’s own findings with an access key entry', () => {
    const own = { userName: subject.userName, userArn: subject.userArn };
    expect(decide({ accessKeys: ['AKIAABCDEFGHIJKLMNOP'] }, A, own).exempted).toEqual([]);
  });

  it('reopens findings of an expired entry with the date, and counts entries expiring within 14 days', () => {
    const matcher = new ExemptionMatcher(
      {
        file: file(
          entry({ id: 'old', expires: '2026-12-03', users: ['svc-*'], findings: ['key-not-rotated'] }),
          entry({ id: 'soon', expires: '2026-12-10', users: ['svc-*'], findings: ['privileged-key'] }),
          entry({ id: 'today', expires: '2026-12-04', users: ['other'] }),
        ),
        source: 'file',
      },
      NOW,
    );
    const out = matcher.forAccount(A, undefined).apply(subject, ['key-not-rotated', 'privileged-key']);
    expect(out.open).toEqual(['key-not-rotated']);
    expect(out.reopened).toEqual([{ finding: 'key-not-rotated', entry: 'old', expiredOn: '2026-12-03' }]);
    const summary = matcher.summary();
    expect(summary.counts).toMatchObject({ exempted: 1, expiringSoon: 1, reopened: 1, expiredEntries: 1 });
    expect(summary.reopened[0]?.note).toBe('exemption expired on 2026-12-03');
    // `today` is still active on its last day, and matched nothing.
    expect(summary.unmatched).toEqual([{ id: 'today', expires: '2026-12-04' }]);
  });

  it('rejects only the entry that expires more than maxDays ahead, naming it', () => {
    const matcher = new ExemptionMatcher(
      {
        file: file(
          entry({ id: 'far', expires: '2028-01-01', users: ['*'] }),
          entry({ id: 'ok', users: ['svc-*'] }),
        ),
        source: 'file',
        maxDays: 365,
      },
      NOW,
    );
    const out = matcher.forAccount(A, undefined).apply(subject, ['key-not-rotated']);
    expect(out.exempted).toEqual([{ finding: 'key-not-rotated', by: ['ok'], expires: '2027-03-01' }]);
    expect(matcher.summary().rejected).toEqual([
      expect.objectContaining({
        index: 0,
        id: 'far',
        detail: expect.stringMatching(
          /exemptions\[0\] \(id "far"\): expires: 2028-01-01 is 393 days ahead, more than exemptionMaxDays \(365\)/,
        ),
      }),
    ]);
  });

  it('exemptionPredicate answers for one finding of a key, by account, user name and key id', () => {
    const f = file(entry({ users: ['svc-*'], findings: ['key-not-rotated'] }));
    const input = { file: f, source: 'file' as const, maxDays: 365 };
    const accounts = new Map();
    const covers = exemptionPredicate(input, NOW, accounts, 'key-not-rotated');
    expect(covers?.(A, subject.userName, 'AKIAEXAMPLE000000001')).toBe(true);
    expect(covers?.(A, 'human', 'AKIAEXAMPLE000000001')).toBe(false);
    expect(exemptionPredicate(input, NOW, accounts, 'privileged-key')?.(A, subject.userName, 'AKIA1')).toBe(
      false,
    );
    const expired = exemptionPredicate(input, new Date('2027-03-02T00:00:00Z'), accounts, 'key-not-rotated');
    expect(expired?.(A, subject.userName, 'AKIA1')).toBe(false);
    expect(
      exemptionPredicate({ source: 'none', maxDays: 365 }, NOW, accounts, 'key-not-rotated'),
    ).toBeUndefined();
  });

  it('reads the IAM path from a user ARN', () => {
    expect(userPathOf(`arn:aws:iam::${A}:user/a/b/ci`)).toBe('/a/b/');
    expect(userPathOf(`arn:aws:iam::${A}:user/ci`)).toBe('/');
    expect(userPathOf(`arn:aws:iam::${A}:root`)).toBeUndefined();
  });
});

describe('runMerge with exemptions', () => {
  const reports = () => [
    report(A, [oldKeyUser('svc-ci'), consoleUser('alice')]),
    report(B, [oldKeyUser('svc-ci')]),
  ];
  const exemptions = {
    file: file(
      entry({ id: 'ci-key', accounts: [A], users: ['svc-ci'], findings: ['key-not-rotated'] }),
      entry({ id: 'stale', expires: '2026-11-30', users: ['alice'] }),
      entry({ id: 'ghost', users: ['nobody-*'] }),
    ),
    source: 'file' as const,
  };

  it('keeps exempted findings out of the open counts, riskiest keys and user rows, and lists them', async () => {
    const plain = await merge({ reports: reports() });
    const out = await merge({ reports: reports(), exemptions });
    const s = out.result.summary;
    expect(plain.result.summary.findings['key-not-rotated'].keys).toBe(2);
    expect(s.findings['key-not-rotated'].keys).toBe(1);
    expect(s.totals.openFindings.medium + s.totals.openFindings.high + s.totals.openFindings.low).toBe(
      plain.result.summary.totals.openFindings.medium +
        plain.result.summary.totals.openFindings.high +
        plain.result.summary.totals.openFindings.low -
        1,
    );
    expect(s.riskiestKeys.some((k) => k.accountId === A && k.userName === 'svc-ci')).toBe(false);
    expect(s.riskiestKeys.some((k) => k.accountId === B && k.userName === 'svc-ci')).toBe(true);
    expect(s.exemptions?.exempted).toEqual([
      {
        accountId: A,
        userName: 'svc-ci',
        accessKeyId: sampleKeyId(A, 'svc-ci', 1),
        finding: 'key-not-rotated',
        exemptedBy: ['ci-key'],
        expires: '2027-03-01',
      },
    ]);
    expect(s.exemptions?.unmatched).toEqual([{ id: 'ghost', expires: '2027-03-01' }]);
    expect(s.exemptions?.expired).toEqual([{ id: 'stale', expiredOn: '2026-11-30', reopened: 1 }]);

    const userA = out.users.find((u) => u.account_id === A && u.user === 'svc-ci');
    expect(userA?.findings).toBe('');
    expect(userA).toMatchObject({ exempted_by: 'key-not-rotated:ci-key', exemption_expires: '2027-03-01' });
    const keyA = out.keys.find((k) => k.account_id === A && k.user === 'svc-ci');
    expect(keyA).toMatchObject({
      findings: '',
      exempted_by: 'key-not-rotated:ci-key',
      exemption_expires: '2027-03-01',
    });
    const alice = out.users.find((u) => u.user === 'alice');
    expect(alice?.findings).toBe('console-without-mfa');
    expect(alice?.exemption_note).toBe('console-without-mfa: exemption expired on 2026-11-30 (stale)');

    // findings.csv: the exempted finding has a row with exempted_by; the reopened one carries the note.
    const exemptedRow = out.findings.find((f) => f.user === 'svc-ci' && f.account_id === A);
    expect(exemptedRow).toMatchObject({ finding_id: 'key-not-rotated', exempted_by: 'ci-key' });
    const reopenedRow = out.findings.find((f) => f.user === 'alice');
    expect(reopenedRow).toMatchObject({
      exempted_by: '',
      exemption_expires: '2026-11-30',
      exemption_note: 'exemption expired on 2026-11-30 (stale)',
    });
    const open = out.findings.filter((f) => f.exempted_by === '').length;
    const o = s.totals.openFindings;
    expect(open).toBe(o.critical + o.high + o.medium + o.low);

    const text = renderDigestText(s);
    expect(text).toContain(
      'Exemptions: 1 exempted finding, 0 expiring within 14 days; 1 reopened (1 entry expired: stale on 2026-11-30); 1 entry matched nothing: ghost.',
    );
  });

  it('does not report an exempted finding as new since the previous run', async () => {
    const before = await merge({ reports: [report(A, [consoleUser('alice')])] });
    const previous = await readPreviousRun({
      credentialReport: Readable.from([before.cr]),
      accessKeys: Readable.from([before.ak]),
      summary: before.result.summary,
    });
    const out = await merge({
      reports: [report(A, [consoleUser('alice'), oldKeyUser('svc-ci')])],
      previous,
      exemptions,
    });
    const newIds = out.result.summary.delta?.newFindings.items.map((i) => `${i.userName}:${i.finding}`) ?? [];
    expect(newIds).not.toContain('svc-ci:key-not-rotated');
    expect(out.result.summary.delta?.newFindings.count).toBe(0);
  });

  it('shows a file problem at the top of the digest, in coverage and in warnings', async () => {
    const out = await merge({
      reports: reports(),
      exemptions: {
        ...exemptions,
        source: 'last-valid',
        problem: 'exemptions[0]: reason: must not be empty',
        lastValidAt: '2026-12-03T06:00:00.000Z',
      },
    });
    const line =
      'Exemptions file not used: exemptions[0]: reason: must not be empty; using the last valid copy (saved 2026-12-03T06:00:00.000Z)';
    expect(out.result.summary.warnings).toContain(line);
    expect(out.result.summary.exemptions).toMatchObject({
      source: 'last-valid',
      problem: 'exemptions[0]: reason: must not be empty',
    });
    const lines = out.result.text.split('\n');
    expect(lines[1]).toBe(`EXEMPTIONS: ${line}.`);
    expect(out.result.html).toContain('data-line="exemptions-problem"');
    // Still applied from the last valid copy.
    expect(out.result.summary.exemptions?.counts.exempted).toBe(1);
  });
});

describe('chooseExemptions', () => {
  const text = JSON.stringify({ version: 1, exemptions: [entry({ users: ['svc-*'] })] });
  const stored = (t: string, savedAt = '2026-12-01T06:00:00.000Z'): { text: string } => ({
    text: JSON.stringify({ kind: 'credreport-exemptions-last-valid', savedAt, text: t }),
  });

  it('means no exemptions and no problem when there is no file', () => {
    expect(chooseExemptions(undefined, stored(text), NOW)).toEqual({
      input: { source: 'none', maxDays: 365 },
    });
  });

  it('uses a valid file and keeps it as the last valid copy only when it changed', () => {
    const first = chooseExemptions({ text }, undefined, NOW, 30);
    expect(first.input).toMatchObject({ source: 'file', maxDays: 30 });
    expect(first.input.problem).toBeUndefined();
    expect(first.save).toEqual({
      kind: 'credreport-exemptions-last-valid',
      savedAt: NOW.toISOString(),
      text,
    });
    expect(chooseExemptions({ text }, stored(text), NOW).save).toBeUndefined();
    expect(chooseExemptions({ text }, stored('{"version":1,"exemptions":[]}'), NOW).save?.text).toBe(text);
  });

  it('falls back to the last valid copy when the file is malformed or unreadable, with the problem', () => {
    const bad = chooseExemptions({ text: text.replace('2027-03-01', '2027-02-30') }, stored(text), NOW);
    expect(bad.save).toBeUndefined();
    expect(bad.input).toMatchObject({
      source: 'last-valid',
      lastValidAt: '2026-12-01T06:00:00.000Z',
      problem:
        'config/exemptions.json is malformed: exemptions[0] (id "e1"): expires: is not a calendar date',
    });
    expect(bad.input.file?.exemptions).toHaveLength(1);
    const unreadable = chooseExemptions(
      { readError: 'StoreError: Could not read s3://b/k' },
      stored(text),
      NOW,
    );
    expect(unreadable.input).toMatchObject({
      source: 'last-valid',
      problem: 'config/exemptions.json could not be read: StoreError: Could not read s3://b/k',
    });
  });

  it('applies nothing, saying why, when no usable copy exists', () => {
    expect(chooseExemptions({ text: '{' }, undefined, NOW).input).toMatchObject({
      source: 'none',
      problem: expect.stringMatching(/malformed: not JSON .*; no last valid copy \(none kept yet\)$/),
    });
    expect(chooseExemptions({ text: '{' }, { text: 'garbage' }, NOW).input.problem).toMatch(
      /; the last valid copy is unreadable too$/,
    );
    expect(chooseExemptions({ text: '{' }, { readError: 'AccessDenied' }, NOW).input.problem).toMatch(
      /; no last valid copy \(could not be read: AccessDenied\)$/,
    );
  });
});
