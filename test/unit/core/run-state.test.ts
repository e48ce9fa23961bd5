import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { PreviousRun } from '../../../core/delta';
import { MergeInput, MergeResult, runMerge } from '../../../core/merge';
import { PreviousRunError, readPreviousRun } from '../../../core/previous-run';
import { readPreviousState, RUN_STATE_BOUNDS } from '../../../core/run-state';
import { buildAccountReport, reportTime, sampleOrganization } from '../../../core/sample-org';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';

const NOW = new Date('2024-06-01T06:00:00Z');
const DAY = 86_400_000;

interface Out {
  readonly result: MergeResult;
  readonly cr: string;
  readonly ak: string;
  readonly findings: Record<string, string>[];
  readonly state: Buffer;
}

async function merge(input: Partial<MergeInput> & Pick<MergeInput, 'reports'>): Promise<Out> {
  const text = (): { stream: PassThrough; get: () => string } => {
    const stream = new PassThrough();
    let s = '';
    stream.on('data', (d: Buffer) => (s += d.toString('utf8')));
    return { stream, get: () => s };
  };
  const cr = text();
  const ak = text();
  const fi = text();
  const st = new PassThrough();
  const chunks: Buffer[] = [];
  st.on('data', (d: Buffer) => chunks.push(d));
  const result = await runMerge(
    { now: NOW, thresholds: DEFAULT_THRESHOLDS, ...input },
    { credentialReport: cr.stream, accessKeys: ak.stream, findings: fi.stream, state: st },
  );
  return {
    result,
    cr: cr.get(),
    ak: ak.get(),
    findings: parse(fi.get(), { columns: true }) as Record<string, string>[],
    state: Buffer.concat(chunks),
  };
}

const fromState = (state: Buffer, summary?: MergeResult['summary']): Promise<PreviousRun> =>
  readPreviousState({ state: Readable.from([state]), ...(summary ? { summary } : {}) });

const gz = (lines: readonly string[]): Buffer => gzipSync(`${lines.join('\n')}\n`);
const HEADER = JSON.stringify({ schemaVersion: 1, kind: 'credreport-state', generatedAt: NOW.toISOString() });

function report(at: Date, keyUnusedDays: number) {
  return buildAccountReport({
    accountId: '123456789012',
    generatedMs: at.getTime() - 3_600_000,
    root: { createdDaysAgo: 900, mfa: true },
    users: [
      {
        name: 'alice',
        createdDaysAgo: 400,
        password: { changedDaysAgo: 300, lastUsedDaysAgo: 1 },
        mfa: false,
        keys: [{ active: true, createdDaysAgo: 60, lastUsedDaysAgo: keyUnusedDays }],
      },
    ],
  });
}

describe('run state (state.json.gz)', () => {
  it('reads back the same users, keys and accounts as the CSVs of the same run', async () => {
    const sample = sampleOrganization(NOW);
    const out = await merge({ metadata: sample.metadata, reports: sample.reports });
    const viaState = await fromState(out.state, out.result.summary);
    const viaCsv = await readPreviousRun({
      credentialReport: Readable.from([out.cr]),
      accessKeys: Readable.from([out.ak]),
      summary: out.result.summary,
    });
    expect([...viaState.users.entries()].sort()).toEqual([...viaCsv.users.entries()].sort());
    expect([...(viaState.keys?.entries() ?? [])].sort()).toEqual([...(viaCsv.keys?.entries() ?? [])].sort());
    expect([...viaState.accounts].sort()).toEqual([...viaCsv.accounts].sort());
    expect([...viaState.reportingAccounts].sort()).toEqual([...viaCsv.reportingAccounts].sort());
    expect(viaState.generatedAt).toBe(NOW.toISOString());
  });

  it('gives the same delta as the CSVs', async () => {
    const sample = sampleOrganization(NOW);
    const first = await merge({ metadata: sample.metadata, reports: sample.reports });
    const next = sampleOrganization(new Date(NOW.getTime() + DAY));
    const later = { now: new Date(NOW.getTime() + DAY), metadata: next.metadata, reports: next.reports };
    const a = await merge({ ...later, previous: await fromState(first.state, first.result.summary) });
    const b = await merge({
      ...later,
      previous: await readPreviousRun({
        credentialReport: Readable.from([first.cr]),
        accessKeys: Readable.from([first.ak]),
        summary: first.result.summary,
      }),
    });
    expect(a.result.summary.delta).toEqual(b.result.summary.delta);
  });

  it('carries a finding first seen two runs ago through the state, where the CSVs know only the last run', async () => {
    const t0 = new Date(NOW.getTime() - 20 * DAY);
    const t1 = new Date(NOW.getTime() - 10 * DAY);
    const run0 = await merge({ now: t0, reports: [report(t0, 1)] });
    const run1 = await merge({ now: t1, reports: [report(t1, 1)], previous: await fromState(run0.state) });
    const run2 = await merge({ reports: [report(NOW, 1)], previous: await fromState(run1.state) });
    const mfa = run2.findings.find((r) => r.finding_id === 'console-without-mfa');
    expect(mfa).toMatchObject({ first_seen: reportTime(t0.getTime()), age_days: '20' });
    const fromCsv = await merge({
      reports: [report(NOW, 1)],
      previous: await readPreviousRun({
        credentialReport: Readable.from([run1.cr]),
        accessKeys: Readable.from([run1.ak]),
      }),
    });
    // Without a summary the CSVs give no time at all; with the state the first sighting survives.
    expect(fromCsv.findings.find((r) => r.finding_id === 'console-without-mfa')?.first_seen).toBe(
      reportTime(NOW.getTime()),
    );
  });

  it('ignores finding names it does not know (a newer writer) and keeps the known ones', async () => {
    const state = gz([
      HEADER,
      JSON.stringify([
        'u',
        '123456789012\talice',
        { 'console-without-mfa': '2024-01-01T00:00:00.000Z', 'from-the-future': '2024-01-01T00:00:00.000Z' },
      ]),
    ]);
    const previous = await fromState(state);
    expect(previous.users.get('123456789012\talice')).toBe(1 << 3);
    expect(previous.firstSeen?.get('123456789012\talice')).toEqual({
      'console-without-mfa': '2024-01-01T00:00:00.000Z',
    });
  });

  it.each([
    ['a file that is not gzip', Buffer.from('{"schemaVersion":1}\n'), /could not be read/],
    ['an empty file', gzipSync(''), /is empty/],
    [
      'another header',
      gz([JSON.stringify({ schemaVersion: 2, kind: 'credreport-state', generatedAt: 'x' })]),
      /no credreport state header/,
    ],
    ['a line that is not JSON', gz([HEADER, '["u", "1\\ta"']), /line 2 is not JSON/],
    [
      'an entry of another shape',
      gz([HEADER, JSON.stringify(['x', '1\ta', {}])]),
      /line 2 is not a state entry/,
    ],
    [
      'a first-seen value that is not a time',
      gz([HEADER, JSON.stringify(['u', '1\ta', { 'console-without-mfa': 'soon' }])]),
      /line 2 is not a state entry/,
    ],
    [
      'a line longer than the bound',
      gz([HEADER, JSON.stringify(['u', 'x'.repeat(RUN_STATE_BOUNDS.maxLineChars), {}])]),
      /line 2 is longer than/,
    ],
  ])('refuses %s with a PreviousRunError naming what is wrong', async (_what, bytes, message) => {
    const reading = fromState(bytes);
    await expect(reading).rejects.toBeInstanceOf(PreviousRunError);
    await expect(fromState(bytes)).rejects.toThrow(message);
  });
});
