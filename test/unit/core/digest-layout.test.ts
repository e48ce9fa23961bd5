import { renderDigestHtml, renderDigestText } from '../../../core/digest-html';
import {
  daysAgo,
  DIGEST_LIMITS,
  lastUsed,
  DIGEST_SECTIONS,
  plural,
  sectionTitle,
} from '../../../core/digest-model';
import type { Delta } from '../../../core/delta-types';
import { sampleOrganization } from '../../../core/sample-org';
import type { GroupSummary, Summary } from '../../../core/summary';
import { merge, NOW } from './digest-fixtures';

let summary: Summary;
let html: string;
let text: string;
beforeAll(async () => {
  const sample = sampleOrganization(NOW);
  ({ summary } = await merge({ metadata: sample.metadata, reports: sample.reports }));
  html = renderDigestHtml(summary);
  text = renderDigestText(summary);
});

const delta = (over: Partial<Delta> = {}): Delta => ({
  previousGeneratedAt: '2024-05-31T06:00:00.000Z',
  newUsers: { count: 0, items: [] },
  removedUsers: { count: 0, items: [] },
  newKeys: { count: 0, items: [] },
  removedKeys: { count: 0, items: [] },
  newFindings: { count: 0, items: [], byFinding: {} },
  resolvedFindings: { count: 0, items: [], byFinding: {} },
  accountsStoppedReporting: { count: 0, items: [] },
  ...over,
});

/** The HTML of one `data-section`, up to the next section. */
function section(body: string, id: string): string {
  const start = body.indexOf(`data-section="${id}"`);
  expect(start).toBeGreaterThan(-1);
  const next = body.indexOf('data-section="', start + 1);
  return body.slice(start, next === -1 ? undefined : next);
}

/** Every opening `<td …>` / `<th …>` tag. */
const cellTags = (body: string): string[] => [...body.matchAll(/<t[dh]\b[^>]*>/g)].map((m) => m[0]);
const styleOf = (tag: string): string => /style="([^"]*)"/.exec(tag)?.[1] ?? '';
const alignOf = (tag: string): string => /text-align:(left|right|center)/.exec(styleOf(tag))?.[1] ?? 'left';

describe('digest HTML for email clients', () => {
  it('lays the page out in a 600 px table centred on a full-width one, with no style on <body>', () => {
    expect(html).toContain('\n<body>\n');
    expect(html).not.toMatch(/<body[^>]*style=/);
    expect(html).toMatch(
      /<td align="center"[^>]*>\n<table role="presentation" width="600"[^>]*max-width:600px/,
    );
    expect(html).not.toMatch(/<div[^>]*>\s*<table/); // no div-based layout around tables
  });

  it('puts an inline style on every cell and a bgcolor beside every cell background', () => {
    const tags = cellTags(html);
    expect(tags.length).toBeGreaterThan(100);
    for (const tag of tags) {
      expect(tag).toMatch(/ style="[^"]+"/);
      const background = /background-color:(#[0-9a-f]{6})/.exec(styleOf(tag))?.[1];
      if (background) expect(tag).toContain(`bgcolor="${background}"`);
    }
  });

  it('relies on no border-radius, image, SVG, script or style sheet', () => {
    expect(html).not.toMatch(/border-radius|<img|<svg|<script|<style|<link|url\(|src=/i);
  });

  it('aligns every header as its column: numbers and their headers right, text left', () => {
    // Data tables: a header row, then rows of cells (bar charts nest tables and are checked below).
    const tables = [...html.matchAll(/<tr>(<th\b.*?)<\/tr>\n([\s\S]*?)\n<\/table>/g)];
    expect(tables.length).toBeGreaterThanOrEqual(4);
    let numericColumns = 0;
    for (const [, head, body] of tables) {
      const heads = cellTags(head ?? '');
      const rows = (body ?? '').split('\n').filter((row) => !row.includes('colspan'));
      for (const row of rows) {
        const cells = cellTags(row.replace(/<table[\s\S]*?<\/table>/g, ''));
        if (cells.length !== heads.length) continue;
        cells.forEach((cell, i) => expect([i, alignOf(cell)]).toEqual([i, alignOf(heads[i] ?? '')]));
      }
      numericColumns += heads.filter((h) => alignOf(h) === 'right').length;
    }
    expect(numericColumns).toBeGreaterThanOrEqual(5);
  });

  it('draws each breakdown as bars as wide as its users with findings relative to the largest', () => {
    const expected = (groups: readonly GroupSummary[]): number[] => {
      const max = Math.max(...groups.map((g) => g.usersWithFindings));
      return [...groups]
        .sort((a, b) => b.usersWithFindings - a.usersWithFindings || a.value.localeCompare(b.value))
        .map((g) => Math.round((g.usersWithFindings / max) * 100))
        .filter((pct) => pct > 0);
    };
    const bars = (id: string): number[] =>
      [...section(html, id).matchAll(/<td width="(\d+)%" height="10"/g)].map((m) => Number(m[1]));
    expect(bars('by-ou')).toEqual(expected(summary.byOu));
    expect(bars('by-tag')).toEqual(expected(summary.byTag.values));
    expect(bars('by-ou')[0]).toBe(100);
  });
});

describe('digest content', () => {
  it('shows the same sections in the same order in the HTML and the text', () => {
    const htmlOrder = [...html.matchAll(/data-section="([a-z-]+)"/g)].map((m) => m[1]);
    const shown = DIGEST_SECTIONS.filter((id) => htmlOrder.includes(id));
    expect(htmlOrder).toEqual([...shown, 'footer']);
    expect(shown).toEqual(['headline', 'changes', 'risks', 'coverage', 'compliance', 'by-ou', 'by-tag']);
    const at = shown
      .filter((id) => id !== 'headline')
      .map((id) => text.indexOf(`\n${sectionTitle(id as Exclude<typeof id, 'headline'>, summary)}\n---`));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('heads with open findings, new and resolved since the previous run, and coverage in one line', () => {
    const open = summary.totals.openFindings.critical + summary.totals.openFindings.high;
    const head = section(html, 'headline');
    expect(head).toContain(`<span data-figure="open">${open}</span>`);
    expect(head).toContain('<span data-figure="reporting">6</span>');
    expect(head).toContain('<span data-figure="expected">9</span>');
    expect(head).not.toContain('data-figure="new"');
    expect(head).toContain('new (first run)');
    expect(head).toContain('Coverage incomplete:</span> 6 of 9 expected accounts reporting, 3 missing');
    expect(text.split('\n')[1]).toBe(
      `Open critical or high findings: ${open} · New since the previous run: — (first run) · Resolved: — · Accounts reporting: 6 of 9`,
    );

    const later = { ...summary, delta: delta({ newFindings: { count: 3, items: [], byFinding: {} } }) };
    expect(renderDigestHtml(later)).toContain('<span data-figure="new">3</span>');
    expect(renderDigestHtml(later)).toContain('<span data-figure="resolved">0</span>');
    expect(renderDigestText(later)).toContain('New since the previous run: 3 · Resolved: 0 ·');
  });

  it('writes counts and ages with the noun in the right number', () => {
    expect([plural(1, 'day'), plural(2, 'day'), plural(1_024, 'user')]).toEqual([
      '1 day',
      '2 days',
      '1,024 users',
    ]);
    expect([lastUsed(undefined), lastUsed(2)]).toEqual(['never used', 'last used 2 days ago']);
    expect([daysAgo(undefined), daysAgo(0), daysAgo(1), daysAgo(12)]).toEqual([
      'never',
      'today',
      '1 day ago',
      '12 days ago',
    ]);
    // analytics-reader's key was last used a day ago.
    expect(html).toContain('last used 1 day ago');
    expect(text).toMatch(/analytics-reader .*, last used 1 day ago,/);
    for (const body of [html, text]) {
      expect(body).not.toMatch(/\b1 (days|users|accounts|keys|access keys|active keys)\b/);
    }
    expect(html).toContain('1 of 1 account reporting');
  });

  it('ranks as top risks only keys with findings and counts the rest of them in "and N more"', () => {
    const withFindings = summary.riskiestKeys;
    expect(withFindings.every((k) => k.findings.length > 0)).toBe(true);
    // The sample has active keys without findings (activeAccessKeys > those ranked); none is shown.
    expect(summary.totals.activeAccessKeys).toBeGreaterThan(withFindings.length);
    const risks = section(html, 'risks');
    const shownKeys = [...risks.matchAll(/>(AKIA[A-Z0-9]{16})</g)].map((m) => m[1]);
    expect(new Set(shownKeys)).toEqual(
      new Set(withFindings.flatMap((k) => (k.accessKeyId ? [k.accessKeyId] : []))),
    );
    for (const k of withFindings) expect(risks).toContain(`>${k.accessKeyId ?? 'slot 1'}<`);

    const limits = { ...DIGEST_LIMITS, riskiestKeys: 3 };
    const hidden = summary.totals.activeKeysWithFindings - 3;
    expect(hidden).toBe(withFindings.length - 3);
    const line = `… and ${hidden} more — see credential-report.csv.`;
    expect(section(renderDigestHtml(summary, { limits }), 'risks')).toContain(line);
    expect(renderDigestText(summary, { limits })).toMatch(new RegExp(`Top risks\\n[\\s\\S]*?${line}`));
  });

  it('lists new findings with the account name, and owner and age columns only when the data has them', () => {
    const item = {
      accountId: '111111111111',
      userName: 'admin-alice',
      finding: 'key-not-rotated' as const,
      severity: 'medium' as const,
    };
    const plain = { ...summary, delta: delta({ newFindings: { count: 1, items: [item], byFinding: {} } }) };
    const changes = section(renderDigestHtml(plain), 'changes');
    expect(changes).toMatch(/Active key not rotated.*admin-alice.*management.*111111111111/s);
    expect(changes).not.toMatch(/>Owner<|>Age</);

    const detailed = { ...item, ownerTag: 'team-<payments>', ageDays: 1 };
    const rich = {
      ...summary,
      delta: delta({ newFindings: { count: 1, items: [detailed], byFinding: {} } }),
    };
    const richHtml = section(renderDigestHtml(rich), 'changes');
    expect(richHtml).toMatch(/>Owner<.*>Age<.*team-&lt;payments&gt;.*>1 day</s);
    expect(renderDigestText(rich)).toMatch(/owner\s+age\n.*team-<payments>\s+1 day\n/);
  });

  it('judges the organization controls once for the whole organization in both bodies, 2.1.1 under v7.0.0', () => {
    // v5.0.0 has no centralized root access control: the organization rows carry no CIS id.
    expect(text).toMatch(
      /Organization controls, one verdict for the whole organization:\nfinding\s+CIS\s+organization\n/,
    );
    expect(text).toMatch(/\nroot-access-not-centralized\s+-\s+pass\n/);
    expect(text).toMatch(/\nmember-root-credentials-present\s+-\s+fail: 1 member account\n/);
    const v7 = { ...summary, cisVersion: 'v7.0.0' as const };
    expect(renderDigestText(v7)).toMatch(/\nroot-access-not-centralized\s+2\.1\.1\s+pass\n/);
    expect(section(renderDigestHtml(v7), 'compliance')).toMatch(
      /2\.1\.1<\/td><td[^>]*>Centralized root access not enabled for the organization<.*?root-access-not-centralized<.*?>pass<\/td>/s,
    );
    const organization = summary.organization!;
    const off = {
      ...v7,
      organization: {
        ...organization,
        rootAccess: { state: 'not-centralized' as const, rootCredentialsManagement: false },
        findings: [
          {
            id: 'root-access-not-centralized' as const,
            severity: 'high' as const,
            resource: 'o-example123',
            detail: 'RootCredentialsManagement not enabled',
          },
        ],
      },
    };
    expect(renderDigestText(off)).toMatch(/\nroot-access-not-centralized\s+2\.1\.1\s+fail\n/);
    expect(renderDigestText(off)).toMatch(
      /\nmember-root-credentials-present\s+-\s+not evaluated \(root access not centralized\)\n/,
    );
    const unreadable = {
      ...v7,
      organization: { ...organization, rootAccess: { state: 'unreadable' as const }, findings: [] },
    };
    expect(renderDigestText(unreadable)).toMatch(
      /\nroot-access-not-centralized\s+2\.1\.1\s+not evaluated \(not readable from this account\)\n/,
    );
    const neverRead = {
      ...v7,
      organization: { ...organization, rootAccess: { state: 'not-read' as const } },
    };
    expect(renderDigestText(neverRead)).not.toContain('Organization controls');
    expect(renderDigestHtml(neverRead)).not.toContain('Organization controls');
  });

  it('shows summary.compliance per CIS control in the configured version, with Security Hub id, severity and accounts failing, passing and not evaluated', () => {
    const html = section(renderDigestHtml(summary), 'compliance');
    const text = renderDigestText(summary);
    expect(html).toContain(`CIS AWS Foundations Benchmark ${summary.cisVersion}:`);
    const shown = [...html.matchAll(/white-space:nowrap;">([\d.]+)<\/span>/g)].map((m) => m[1]);
    expect(shown).toEqual(summary.compliance.map((c) => c.cis));
    for (const c of summary.compliance) {
      const line = new RegExp(
        `\\n${c.cis.replace('.', '\\.')}\\s+${c.findings.join(', ')}\\s+${c.severity}\\s+${(c.securityHub ?? '-').replace('.', '\\.')}\\s+${c.accountsFailing}\\s+${c.accountsPassing}\\s+${c.accountsNotEvaluated}\\n`,
      );
      expect(text).toMatch(line);
    }
    expect(html).toContain('Security Hub IAM.4');
    expect(html).toMatch(/Outside CIS: Active key/);
  });

  it('caps the compliance table like every other list and names summary.json for the rest', () => {
    const limits = { ...DIGEST_LIMITS, complianceControls: 2 };
    const line = `… and ${summary.compliance.length - 2} more — see summary.json.`;
    expect(section(renderDigestHtml(summary, { limits }), 'compliance')).toContain(line);
    expect(renderDigestText(summary, { limits })).toContain(line);
  });

  it('shows each change row and top-risk row with its severity, and the risk-score ranking', () => {
    const item = {
      accountId: '111111111111',
      userName: 'root',
      finding: 'root-mfa-disabled' as const,
      severity: 'critical' as const,
      ageDays: 0,
    };
    const s = { ...summary, delta: delta({ newFindings: { count: 1, items: [item], byFinding: {} } }) };
    expect(section(renderDigestHtml(s), 'changes')).toContain('data-severity="critical"');
    expect(renderDigestText(s)).toMatch(/severity\s+finding[^\n]*\ncritical\s+root-mfa-disabled/);
    const risks = section(renderDigestHtml(summary), 'risks');
    expect(risks).toContain('ranked by risk score');
    expect(risks).not.toContain('root, then admin');
    const tags = [...risks.matchAll(/data-severity="(\w+)"/g)].map((m) => m[1]);
    expect(tags).toEqual(summary.riskiestKeys.map((k) => k.severity));
  });
});
