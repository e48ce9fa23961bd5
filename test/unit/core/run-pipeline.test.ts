import { PassThrough } from 'node:stream';
import { RunInput, RunItem, runPipeline, RunSinks, withProblems } from '../../../core/run-pipeline';
import { sampleOrganization } from '../../../core/sample-org';
import type { Summary } from '../../../core/summary';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import type { AccountReport, ReportProblem } from '../../../core/types';

const NOW = new Date('2026-11-21T06:00:00Z');

interface Captured {
  readonly sinks: RunSinks;
  readonly out: { cr: string; ak: string; fi: string; oc: string; summary?: string; html?: string };
  /** The order the sinks finished or were called in. */
  readonly order: string[];
}

function capture(): Captured {
  const out: Captured['out'] = { cr: '', ak: '', fi: '', oc: '' };
  const order: string[] = [];
  const cr = new PassThrough();
  const ak = new PassThrough();
  const fi = new PassThrough();
  fi.on('data', (d: Buffer) => (out.fi += d.toString('utf8')));
  fi.on('finish', () => order.push('findings.csv'));
  const oc = new PassThrough();
  oc.on('data', (d: Buffer) => (out.oc += d.toString('utf8')));
  oc.on('finish', () => order.push('findings.ocsf.json'));
  const st = new PassThrough();
  st.resume();
  st.on('finish', () => order.push('state.json.gz'));
  cr.on('data', (d: Buffer) => (out.cr += d.toString('utf8')));
  ak.on('data', (d: Buffer) => (out.ak += d.toString('utf8')));
  cr.on('finish', () => order.push('credential-report.csv'));
  ak.on('finish', () => order.push('access-keys.csv'));
  return {
    out,
    order,
    sinks: {
      credentialReport: cr,
      accessKeys: ak,
      findings: fi,
      ocsf: oc,
      state: st,
      summary: async (json) => {
        order.push('summary.json');
        out.summary = json;
      },
      digest: async (html) => {
        order.push('digest.html');
        out.html = html;
      },
    },
  };
}

const input = (items: RunInput['items']): RunInput => ({
  now: NOW,
  thresholds: DEFAULT_THRESHOLDS,
  metadata: sampleOrganization(NOW).metadata,
  items,
});

async function* stream(items: readonly RunItem[]): AsyncGenerator<RunItem> {
  for (const item of items) yield item;
}

const reportItems = (reports: readonly AccountReport[]): RunItem[] =>
  reports.map((report) => ({ kind: 'report', report }));

describe('runPipeline', () => {
  it('writes the seven outputs, summary.json and digest.html after the three CSVs, the OCSF file and the state, and returns the verdict', async () => {
    const { reports } = sampleOrganization(NOW);
    const c = capture();
    const result = await runPipeline(input(reportItems(reports)), c.sinks);
    expect(c.order.slice(0, 5).sort()).toEqual([
      'access-keys.csv',
      'credential-report.csv',
      'findings.csv',
      'findings.ocsf.json',
      'state.json.gz',
    ]);
    expect(c.order.slice(5).sort()).toEqual(['digest.html', 'summary.json']);
    // One OCSF record per findings.csv row (header excluded), organization findings included.
    const ocsfLines = c.out.oc.split('\n').filter((l) => l !== '');
    const csvRows = c.out.fi.split('\n').filter((l) => l !== '').length - 1;
    expect(ocsfLines.length).toBe(csvRows);
    expect(ocsfLines.length).toBe(
      Object.values(result.summary.totals.openFindings).reduce((a, b) => a + b, 0),
    );
    expect(c.out.fi).toMatch(/^account_id,/);
    expect(c.out.summary).toBe(`${JSON.stringify(result.summary, null, 2)}\n`);
    expect(c.out.html).toBe(result.html);
    expect(c.out.cr).toMatch(/^account_id,/);
    expect(result.verdict).toMatchObject({
      complete: false,
      missing: 3,
      stale: 1,
      expected: 9,
      reporting: 6,
    });
    expect((JSON.parse(c.out.summary!) as Summary).coverage).toMatchObject({ ...result.verdict });
  });

  it('gives byte-identical outputs for an array and for a stream of the same items in another order', async () => {
    const { reports } = sampleOrganization(NOW);
    const problem: RunItem = {
      kind: 'problem',
      problem: { accountId: '777777777777', reason: 'collection-failed', detail: 'AccessDenied' },
    };
    const a = capture();
    await runPipeline(input([...reportItems(reports), problem]), a.sinks);
    const b = capture();
    await runPipeline(input(stream([problem, ...reportItems([...reports].reverse())])), b.sinks);
    expect(b.out).toEqual(a.out);
    expect(JSON.parse(a.out.summary!).coverage.entries).toContainEqual(
      expect.objectContaining({ accountId: '777777777777', reason: 'collection-failed' }),
    );
  });

  it('makes coverage incomplete for a problem naming no account, and lists it in the warnings', async () => {
    const { reports } = sampleOrganization(NOW);
    const complete = reports.filter((r) => r.accountId === '111111111111');
    const items: RunItem[] = [
      ...reportItems(complete),
      { kind: 'unattributed', detail: 'x.csv: rejected: no id' },
    ];
    const result = await runPipeline({ ...input(items), metadata: undefined }, capture().sinks);
    expect(result.summary.coverage).toMatchObject({ expected: 1, reporting: 1, missing: 0, unattributed: 1 });
    expect(result.verdict.complete).toBe(false);
    expect(result.summary.warnings).toContain('x.csv: rejected: no id');
  });

  it('fails, aborting the CSVs and calling neither of the other sinks, when the stream throws', async () => {
    const c = capture();
    async function* failing(): AsyncGenerator<RunItem> {
      yield* reportItems(sampleOrganization(NOW).reports.slice(0, 1));
      throw new Error('S3 listing failed');
    }
    await expect(runPipeline(input(failing()), c.sinks)).rejects.toThrow('S3 listing failed');
    expect(c.out.summary).toBeUndefined();
    expect(c.out.html).toBeUndefined();
  });
});

describe('withProblems', () => {
  it('yields problems reported while a report was produced before it, and late ones at the end', async () => {
    const [r1, r2] = sampleOrganization(NOW).reports as [AccountReport, AccountReport];
    const p = (accountId: string): ReportProblem => ({ accountId, reason: 'unreadable', detail: 'x' });
    const items: RunItem[] = [];
    for await (const item of withProblems(async function* (onProblem) {
      onProblem(p('1'));
      yield r1;
      yield r2;
      onProblem(p('2'));
    })) {
      items.push(item);
    }
    expect(
      items.map((i) =>
        i.kind === 'report' ? i.report.accountId : i.kind === 'problem' ? i.problem.accountId : '',
      ),
    ).toEqual(['1', r1.accountId, r2.accountId, '2']);
  });

  it('stops the source when the consumer stops', async () => {
    let finished = false;
    const items = withProblems(async function* () {
      try {
        yield* sampleOrganization(NOW).reports;
      } finally {
        finished = true;
      }
    });
    await items.next();
    await items.return(undefined);
    expect(finished).toBe(true);
  });
});
