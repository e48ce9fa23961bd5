/**
 * The digest as one self-contained HTML page for email clients: table-based layout, 600 px centred,
 * inline styles on every cell with `bgcolor` fallbacks, no styles on `<body>`, no `border-radius`, no
 * images, SVG, scripts or external resources; bar charts are table cells with widths. Sections and their
 * order are core/digest-model.ts's, shared with the plain text (core/digest-text.ts). Every value from the
 * data is cut to the display bound and then escaped (core/cap-rows.ts, core/html-escape.ts), and every
 * list is capped by {@link DIGEST_LIMITS} (docs/ARCHITECTURE.md §6 "Digest", "Email").
 */
import { ORG_FINDING_TITLES, type OrgFindingId } from './org-findings';
import type { FindingId } from './types';
import { displayCell } from './cap-rows';
import type { KeyRef, StoppedReporting, UserRef } from './delta-types';
import {
  accountFactsLine,
  accountNames,
  complianceCaption,
  complianceRows,
  organizationComplianceRows,
  controlPolicyLine,
  coverageLine,
  dateOf,
  exemptionsLine,
  exemptionsProblemLine,
  organizationLine,
  ownerLines,
  rootAccessCoverageLine,
  notificationsLine,
  lastUsed,
  DeltaViews,
  digestLists,
  DigestOptions,
  DigestSectionId,
  FINDING_TITLES,
  FindingChangeView,
  fmt,
  headlineFigures,
  keyLabel,
  labelOf,
  ListView,
  moreLine,
  plural,
  remediationLines,
  riskPaths,
  riskRankCaption,
  sectionTitle,
  type DigestLists,
} from './digest-model';
import type { Severity } from './finding-ids';
import { escapeHtml } from './html-escape';
import { coverageStatusText } from './summary';
import type { ControlCompliance, GroupSummary, RiskyKey, Summary } from './summary';
import { auditRecordLine, plannedKeyLine, type AuditRecordView, type PlannedKeyView } from './deactivation';
import type { CoverageEntry } from './types';

export {
  accountFactsLine,
  controlPolicyLine,
  coverageLine,
  DIGEST_LIMITS,
  DIGEST_SECTIONS,
  FINDING_TITLES,
  moreLine,
  OUTPUT_FILES_AT,
} from './digest-model';
export type { DigestLimits, DigestOptions, FullListsAt } from './digest-model';
export { findingsTextTable, renderDigestText, textTable } from './digest-text';

/** Options of the HTML body only. */
export interface DigestHtmlOptions extends DigestOptions {
  /**
   * HTML the caller wrote and escaped itself (the mailer's note on where the CSV is), shown as the last
   * block inside the layout. Never data.
   */
  readonly trustedFooterHtml?: string;
}

const COLOR = {
  ink: '#1b1f24',
  muted: '#59636e',
  page: '#f0f2f5',
  card: '#ffffff',
  border: '#d8dde3',
  rule: '#eceff2',
  bad: '#a40e26',
  badBg: '#ffebe9',
  good: '#116329',
  goodBg: '#dafbe1',
  bar: '#cf222e',
  track: '#eaeef2',
} as const;

/** `font` shorthand: size/line-height and the family, repeated on every cell (clients drop inheritance). */
const font = (size: number, line: number): string => `font:${size}px/${line}px Arial,Helvetica,sans-serif;`;
/**
 * Long ids, ARNs and paths wrap instead of widening the page on a phone. Set on each section's cell and
 * inherited; short tokens and numbers opt out with `nowrap`.
 */
const WRAP = 'word-break:break-word;overflow-wrap:anywhere;';
const CELL = `padding:6px;border-bottom:1px solid ${COLOR.rule};vertical-align:top;color:${COLOR.ink};${font(13, 18)}`;
// `font` resets the weight: it comes first.
const HEAD = `${font(12, 16)}font-weight:bold;padding:6px;border-bottom:2px solid ${COLOR.border};vertical-align:bottom;color:${COLOR.muted};`;
const STYLE = {
  section: `padding:16px;background-color:${COLOR.card};border:1px solid ${COLOR.border};color:${COLOR.ink};${font(14, 20)}${WRAP}`,
  spacer: 'height:12px;font-size:0;line-height:0;',
  h1: `margin:0 0 12px 0;color:${COLOR.ink};${font(20, 26)}font-weight:bold;`,
  h2: `margin:0 0 10px 0;color:${COLOR.ink};${font(17, 22)}font-weight:bold;`,
  h3: `margin:14px 0 6px 0;color:${COLOR.ink};${font(14, 20)}font-weight:bold;`,
  p: `margin:0 0 8px 0;color:${COLOR.ink};${font(14, 20)}`,
  muted: `margin:0 0 6px 0;color:${COLOR.muted};${font(12, 17)}`,
  th: `${HEAD}text-align:left;`,
  thNum: `${HEAD}text-align:right;white-space:nowrap;`,
  td: `${CELL}text-align:left;`,
  tdShort: `${CELL}text-align:left;white-space:nowrap;`,
  tdNum: `${CELL}text-align:right;white-space:nowrap;`,
  sub: `color:${COLOR.muted};font-size:12px;`,
  strong: 'font-weight:bold;',
  code: 'font-family:Consolas,Menlo,monospace;font-size:12px;',
  finding: `color:${COLOR.bad};font-size:12px;`,
  figure: `${font(12, 16)}padding:8px 4px;text-align:center;vertical-align:top;background-color:#f6f8fa;border:1px solid ${COLOR.rule};`,
  figureValue: `font-size:24px;line-height:30px;font-weight:bold;color:${COLOR.ink};`,
  figureLabel: `font-size:12px;line-height:16px;color:${COLOR.muted};`,
  barCell: 'padding:0 6px 10px 6px;border-bottom:1px solid #eceff2;',
} as const;

/** Ink of each severity's label: text colour only, which every email client keeps. */
const SEVERITY_INK: Readonly<Record<Severity, string>> = {
  critical: COLOR.bad,
  high: '#bc4c00',
  medium: '#7d4e00',
  low: COLOR.muted,
};

/** A severity as the digest shows it: `CRITICAL` in bold, in its ink; nothing when unknown. */
function severityTag(severity: Severity | undefined): string {
  if (severity === undefined) return '';
  return `<span data-severity="${severity}" style="font-weight:bold;font-size:11px;letter-spacing:0.5px;white-space:nowrap;color:${SEVERITY_INK[severity]};">${severity.toUpperCase()}</span>`;
}

/** A value of the data in HTML: cut to the display bound, then escaped (bytes are counted after escaping). */
const e = (value: string | number | undefined): string =>
  escapeHtml(displayCell(value === undefined ? '' : String(value)));

const span = (style: string, inner: string): string => `<span style="${style}">${inner}</span>`;
const div = (style: string, inner: string): string => `<div style="${style}">${inner}</div>`;
const code = (value: string | undefined): string => span(STYLE.code, e(value));

interface Column {
  readonly title: string;
  readonly numeric?: boolean;
  /** A short token (a CIS id): kept on one line rather than broken to fit a phone. */
  readonly short?: boolean;
}

function cellStyle(column: Column | undefined): string {
  if (column?.numeric) return STYLE.tdNum;
  return column?.short ? STYLE.tdShort : STYLE.td;
}

/** A data table: headers aligned as their cells (numbers right), one row per item, cells already HTML. */
function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const head = columns
    .map((c) => `<th style="${c.numeric ? STYLE.thNum : STYLE.th}">${e(c.title)}</th>`)
    .join('');
  const body = rows
    .map(
      (cells) =>
        `<tr>${cells.map((cell, i) => `<td style="${cellStyle(columns[i])}">${cell}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="width:100%;border-collapse:collapse;"><tr>${head}</tr>\n${body}\n</table>`;
}

function more(list: ListView<unknown>): string {
  // The pointer is the caller's (a file name or an s3:// URI), not data: escaped, not cut.
  return list.hidden > 0
    ? `<p style="${STYLE.muted}">${escapeHtml(moreLine(list.hidden, list.where))}</p>`
    : '';
}

/** A capped list as a table and its "and N more", or `empty` when the whole list is empty. */
function listTable<T>(
  list: ListView<T>,
  columns: readonly Column[],
  row: (item: T, index: number) => string[],
  empty: string,
): string {
  if (list.shown.length + list.hidden === 0) return `<p style="${STYLE.muted}">${e(empty)}</p>`;
  const rows = list.shown.length > 0 ? table(columns, list.shown.map(row)) : '';
  return rows + more(list);
}

function sectionRow(id: DigestSectionId | 'footer', inner: string): string {
  return (
    `<tr><td style="${STYLE.spacer}" height="12"></td></tr>\n` +
    `<tr><td data-section="${id}" bgcolor="${COLOR.card}" style="${STYLE.section}">\n${inner}\n</td></tr>`
  );
}

function titled(id: Exclude<DigestSectionId, 'headline'>, summary: Summary, inner: string): string {
  return sectionRow(id, `<h2 style="${STYLE.h2}">${e(sectionTitle(id, summary))}</h2>\n${inner}`);
}

/** `name (123456789012)`: a well-formed account id is kept on one line; anything else may wrap. */
function accountCell(accountId: string, name: string | undefined): string {
  const keep = /^\d{12}$/.test(accountId) ? 'white-space:nowrap;' : '';
  return name
    ? `${e(name)} ${span(`${STYLE.sub}${keep}`, `(${code(accountId)})`)}`
    : keep
      ? span(keep, code(accountId))
      : code(accountId);
}

/** Headline: the title, four figures in one row, the coverage verdict in one line, the totals. */
function headlineSection(summary: Summary, label: string): string {
  const figures = headlineFigures(summary);
  const value = (id: string): string => {
    const f = figures.find((x) => x.id === id);
    return f?.value === undefined ? '—' : `<span data-figure="${f.id}">${fmt(f.value)}</span>`;
  };
  const cell = (valueHtml: string, labelText: string): string =>
    `<td width="25%" bgcolor="#f6f8fa" style="${STYLE.figure}">${div(STYLE.figureValue, valueHtml)}${div(STYLE.figureLabel, e(labelText))}</td>`;
  const first = summary.delta === undefined;
  const row = [
    cell(value('open'), 'open critical or high'),
    cell(value('new'), first ? 'new (first run)' : 'new since the previous run'),
    cell(value('resolved'), first ? 'resolved (first run)' : 'resolved'),
    cell(`${value('reporting')}${span('font-size:15px;', ` of ${value('expected')}`)}`, 'accounts reporting'),
  ].join('');
  const c = summary.coverage;
  const verdictBg = c.complete ? COLOR.goodBg : COLOR.badBg;
  const verdictInk = c.complete ? COLOR.good : COLOR.bad;
  const verdict = `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="width:100%;border-collapse:collapse;margin:12px 0 8px 0;"><tr><td bgcolor="${verdictBg}" style="padding:8px 10px;background-color:${verdictBg};border-left:4px solid ${verdictInk};color:${COLOR.ink};${font(14, 20)}">${span(`font-weight:bold;color:${verdictInk};`, c.complete ? 'Coverage complete:' : 'Coverage incomplete:')} ${e(coverageLine(summary))}.</td></tr></table>`;
  const org = organizationLine(summary);
  const orgHtml = org
    ? `<p data-line="root-access" style="${STYLE.muted}">${span(STYLE.strong, 'Organization:')} ${e(displayCell(org, 700))}.</p>\n`
    : '';
  const problem = exemptionsProblemLine(summary);
  const problemHtml = problem
    ? `<p data-line="exemptions-problem" style="${STYLE.muted}">${span(`font-weight:bold;color:${COLOR.bad};`, 'Exemptions:')} ${e(displayCell(problem, 1000))}.</p>\n`
    : '';
  const exemptions = exemptionsLine(summary);
  const exemptionsHtml = exemptions
    ? `<p data-line="exemptions" style="${STYLE.muted}">${e(displayCell(exemptions, 1500))}.</p>`
    : '';
  const t = summary.totals;
  const totals = `Generated ${e(summary.generatedAt)}. ${plural(t.accounts, 'account')}, ${plural(t.users, 'user')}, ${plural(t.accessKeys, 'access key')} (${fmt(t.activeAccessKeys)} active), ${plural(t.usersWithFindings, 'user')} with findings.`;
  return sectionRow(
    'headline',
    `<h1 style="${STYLE.h1}">${e(`IAM credential digest: ${displayCell(label)}, ${dateOf(summary)}`)}</h1>\n` +
      problemHtml +
      `<table role="presentation" width="100%" cellpadding="0" cellspacing="4" border="0" style="width:100%;"><tr>${row}</tr></table>\n` +
      `${verdict}\n${orgHtml}<p style="${STYLE.muted}">${totals}</p>${exemptionsHtml}`,
  );
}

function findingChangeTable(
  list: ListView<FindingChangeView>,
  names: ReadonlyMap<string, string>,
  empty: string,
  ageTitle: string,
): string {
  const withOwner = list.shown.some((r) => r.ownerTag !== undefined);
  // A new finding is 0 days old: the column appears when some row's age says more (a resolved one's time open).
  const withAge = list.shown.some((r) => (r.ageDays ?? 0) > 0);
  const columns: Column[] = [
    { title: 'Finding' },
    { title: 'User, account and key' },
    ...(withOwner ? [{ title: 'Owner' }] : []),
    ...(withAge ? [{ title: ageTitle, numeric: true }] : []),
  ];
  return listTable(
    list,
    columns,
    (r) => [
      `${severityTag(r.severity)} ${e(FINDING_TITLES[r.finding])}${div(STYLE.sub, code(r.finding))}`,
      `${span(STYLE.strong, e(r.userName))}${div(STYLE.sub, accountCell(r.accountId, names.get(r.accountId)))}${keyLabel(r) ? div(STYLE.sub, code(keyLabel(r))) : ''}`,
      ...(withOwner ? [e(r.ownerTag)] : []),
      ...(withAge ? [r.ageDays === undefined ? '' : e(plural(r.ageDays, 'day'))] : []),
    ],
    empty,
  );
}

function changesSection(
  summary: Summary,
  views: DeltaViews | undefined,
  names: ReadonlyMap<string, string>,
): string {
  const d = summary.delta;
  if (!d || !views) {
    return titled(
      'changes',
      summary,
      `<p style="${STYLE.p}">First run: there is no previous run to compare with, so nothing is new or resolved yet.</p>`,
    );
  }
  const h3 = (title: string, count: number): string =>
    `<h3 style="${STYLE.h3}">${e(title)} (${fmt(count)})</h3>`;
  const users = <T extends UserRef>(list: ListView<T>, title: string, withKey = false): string =>
    list.shown.length + list.hidden === 0
      ? ''
      : h3(title, list.shown.length + list.hidden) +
        listTable(
          list,
          [{ title: 'User' }, { title: 'Account' }],
          (r) => [
            `${e(r.userName)}${withKey ? div(STYLE.sub, code(keyLabel(r as KeyRef))) : ''}`,
            accountCell(r.accountId, names.get(r.accountId)),
          ],
          'None.',
        );
  const stopped = (r: StoppedReporting): string[] => [
    accountCell(r.accountId, r.accountName ?? names.get(r.accountId)),
    `${span(STYLE.strong, e(coverageStatusText(r)))}${r.detail ? div(STYLE.sub, e(r.detail)) : ''}`,
  ];
  return titled(
    'changes',
    summary,
    [
      d.previousGeneratedAt
        ? `<p style="${STYLE.muted}">Compared with the run of ${e(d.previousGeneratedAt)}.</p>`
        : '',
      h3('New findings', d.newFindings.count),
      findingChangeTable(views.newFindings, names, 'No new findings.', 'Age'),
      h3('Resolved findings', d.resolvedFindings.count),
      findingChangeTable(views.resolvedFindings, names, 'No finding was resolved.', 'Open for'),
      h3('Accounts that stopped reporting', d.accountsStoppedReporting.count),
      listTable(views.stopped, [{ title: 'Account' }, { title: 'Status' }], stopped, 'None.'),
      `<p style="${STYLE.muted}">Users: ${fmt(d.newUsers.count)} new, ${fmt(d.removedUsers.count)} removed. Access keys: ${fmt(d.newKeys.count)} new, ${fmt(d.removedKeys.count)} removed.</p>`,
      users(views.newUsers, 'New users'),
      users(views.removedUsers, 'Removed users'),
      users(views.newKeys, 'New access keys', true),
      users(views.removedKeys, 'Removed access keys', true),
    ]
      .filter((part) => part !== '')
      .join('\n'),
  );
}

function risksSection(summary: Summary, list: ListView<RiskyKey>): string {
  const row = (k: RiskyKey, i: number): string[] => {
    const facts = [
      lastUsed(k.daysSinceLastUse),
      ...(k.privileges.length > 0 ? [`can ${k.privileges.join(', ')}`] : []),
      ...(k.riskScore !== undefined ? [`risk ${k.riskScore}`] : []),
    ];
    return [
      fmt(i + 1),
      `${span(STYLE.strong, e(k.userName))}${div(STYLE.sub, accountCell(k.accountId, k.accountName))}` +
        div(STYLE.sub, `${keyLabel(k) ? `${code(keyLabel(k))} · ` : ''}${e(facts.join(' · '))}`) +
        riskPaths(k)
          .map((path) => div(STYLE.sub, e(path)))
          .join('') +
        div(STYLE.finding, `${severityTag(k.severity)}${k.severity ? ' ' : ''}${e(k.findings.join(', '))}`),
      k.ageDays === undefined ? '' : e(plural(k.ageDays, 'day')),
    ];
  };
  return titled(
    'risks',
    summary,
    `<p style="${STYLE.muted}">${e(riskRankCaption())}</p>\n` +
      listTable(
        list,
        [
          { title: '#', numeric: true },
          { title: 'User, account and key' },
          { title: 'Key age', numeric: true },
        ],
        row,
        'No active key has a finding.',
      ),
  );
}

function remediationSection(summary: Summary, lists: DigestLists['remediation']): string {
  const r = summary.remediation;
  if (!r || !lists) return '';
  const lines = remediationLines(summary)
    .map((line) => `<p style="${STYLE.p}">${e(displayCell(line, 700))}</p>`)
    .join('\n');
  const keyRow = (k: PlannedKeyView): string[] => [
    `${span(STYLE.strong, e(k.userName))}${div(STYLE.sub, accountCell(k.accountId, undefined))}` +
      div(
        STYLE.sub,
        `${code(k.accessKeyId)} · ${e(k.kind)} · ${e(k.lastUsedAtPlan ? `last used ${k.lastUsedAtPlan.slice(0, 10)}` : 'never used')}`,
      ),
    e(plannedKeyLine(k, r.mode)),
  ];
  const recordRow = (x: AuditRecordView): string[] => [
    `${span(STYLE.strong, e(x.userName))}${div(STYLE.sub, accountCell(x.accountId, undefined))}` +
      div(STYLE.sub, code(x.accessKeyId)),
    e(displayCell(auditRecordLine(x), 400)),
  ];
  return titled(
    'remediation',
    summary,
    `${lines}\n` +
      listTable(
        lists.keys,
        [{ title: 'User, account and key' }, { title: 'Stage' }],
        keyRow,
        'No key is staged.',
      ) +
      `<p style="${STYLE.muted}">What the agents did or skipped since the previous run:</p>\n` +
      listTable(
        lists.records,
        [{ title: 'User, account and key' }, { title: 'Outcome' }],
        recordRow,
        'No audit records since the previous run.',
      ),
  );
}

function coverageSection(summary: Summary, list: ListView<CoverageEntry>): string {
  const c = summary.coverage;
  const scp = controlPolicyLine(summary);
  const facts = accountFactsLine(summary);
  const rootAccess = rootAccessCoverageLine(summary);
  const notifications = notificationsLine(summary);
  const exemptionsProblem = exemptionsProblemLine(summary);
  const notes = [
    ...(exemptionsProblem ? [`${displayCell(exemptionsProblem, 1000)}.`] : []),
    ...(c.unexpected > 0 ? [`${plural(c.unexpected, 'account')} reporting but not expected.`] : []),
    ...(scp ? [`${scp}.`] : []),
    ...(facts ? [`${facts}.`] : []),
    ...(rootAccess ? [`${displayCell(rootAccess, 700)}.`] : []),
    ...(notifications ? [`${displayCell(notifications, 700)}.`] : []),
  ];
  const row = (r: CoverageEntry): string[] => [
    `${accountCell(r.accountId, r.accountName)}${r.ouPath ? div(STYLE.sub, e(r.ouPath)) : ''}`,
    `${span(STYLE.strong, e(coverageStatusText(r)))}${r.detail ? div(STYLE.sub, e(r.detail)) : ''}`,
  ];
  return titled(
    'coverage',
    summary,
    listTable(
      list,
      [{ title: 'Account' }, { title: 'Status' }],
      row,
      'Every expected account sent a fresh, usable report.',
    ) + notes.map((n) => `<p style="${STYLE.muted}">${e(n)}</p>`).join(''),
  );
}

/** The controls' findings as one title: `Console password without MFA`, or two joined by ` / `. */
function controlTitle(c: ControlCompliance): string {
  const title = (id: (typeof c.findings)[number]): string =>
    id in FINDING_TITLES ? FINDING_TITLES[id as FindingId] : ORG_FINDING_TITLES[id as OrgFindingId];
  return c.findings.map(title).join(' / ');
}

function complianceSection(summary: Summary, list: ListView<ControlCompliance>): string {
  const { outsideCis } = complianceRows(summary);
  const count = (n: number, bad: boolean): string =>
    bad && n > 0 ? span(`font-weight:bold;color:${COLOR.bad};`, fmt(n)) : fmt(n);
  const row = (c: ControlCompliance): string[] => [
    `${span(`${STYLE.strong}white-space:nowrap;`, e(c.cis))} ${e(controlTitle(c))}` +
      div(
        STYLE.sub,
        [
          severityTag(c.severity),
          ...(c.securityHub ? [span('white-space:nowrap;', `Security Hub ${e(c.securityHub)}`)] : []),
          ...c.findings.map((id) => code(id)),
        ].join(' · '),
      ),
    count(c.accountsFailing, true),
    count(c.accountsPassing, false),
    count(c.accountsNotEvaluated, false),
  ];
  const outside =
    outsideCis.length > 0
      ? `<p style="${STYLE.muted}">Outside CIS: ${outsideCis.map((r) => e(`${FINDING_TITLES[r.id]} (${plural(r.users, 'user')}, ${plural(r.keys, 'key')})`)).join('; ')}.</p>`
      : '';
  const orgRows = organizationComplianceRows(summary);
  const organization =
    orgRows.length > 0
      ? `\n<p style="${STYLE.muted}">Organization controls, one verdict for the whole organization:</p>\n` +
        table(
          [{ title: 'CIS', short: true }, { title: 'Finding' }, { title: 'Organization' }],
          orgRows.map((r) => [
            r.cis ? e(r.cis) : '—',
            `${e(r.title)}${div(STYLE.sub, code(r.id))}`,
            e(r.verdict),
          ]),
        )
      : '';
  return titled(
    'compliance',
    summary,
    `<p style="${STYLE.muted}">${e(complianceCaption(summary))}</p>\n` +
      listTable(
        list,
        [
          { title: 'Control' },
          { title: 'Failing', numeric: true },
          { title: 'Passing', numeric: true },
          { title: 'Not evaluated', numeric: true },
        ],
        row,
        'No CIS control in this version maps to a finding.',
      ) +
      outside +
      organization,
  );
}

/** A horizontal bar: a filled cell `value / max` wide and the rest as track (no images). */
function bar(value: number, max: number): string {
  const pct = max > 0 ? Math.round((value / max) * 100) : 0;
  const fill =
    pct > 0
      ? `<td width="${pct}%" height="10" bgcolor="${COLOR.bar}" style="width:${pct}%;height:10px;background-color:${COLOR.bar};font-size:0;line-height:0;"></td>`
      : '';
  const track =
    pct < 100
      ? `<td height="10" bgcolor="${COLOR.track}" style="height:10px;background-color:${COLOR.track};font-size:0;line-height:0;"></td>`
      : '';
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="width:100%;border-collapse:collapse;"><tr>${fill}${track}</tr></table>`;
}

function breakdownSection(
  id: 'by-ou' | 'by-tag',
  summary: Summary,
  list: ListView<GroupSummary>,
  first: string,
): string {
  if (list.shown.length + list.hidden === 0)
    return titled(id, summary, `<p style="${STYLE.muted}">No accounts.</p>`);
  const max = Math.max(0, ...list.shown.map((g) => g.usersWithFindings));
  const rows = list.shown
    .map(
      (g) =>
        `<tr><td style="${STYLE.td}border-bottom:0;">${e(g.value)}${div(STYLE.sub, e(`${fmt(g.reporting)} of ${plural(g.accounts, 'account')} reporting · ${plural(g.users, 'user')} · ${fmt(g.activeAccessKeys)} active ${g.activeAccessKeys === 1 ? 'key' : 'keys'}`))}</td>` +
        `<td style="${STYLE.tdNum}border-bottom:0;">${fmt(g.usersWithFindings)}</td></tr>\n` +
        `<tr><td colspan="2" style="${STYLE.barCell}">${bar(g.usersWithFindings, max)}</td></tr>`,
    )
    .join('\n');
  return titled(
    id,
    summary,
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="width:100%;border-collapse:collapse;"><tr><th style="${STYLE.th}">${e(first)}</th><th style="${STYLE.thNum}">Users with findings</th></tr>\n${rows}\n</table>${more(list)}`,
  );
}

function ownersSection(summary: Summary): string {
  const { lines, items, hidden } = ownerLines(summary);
  if (lines.length === 0) return '';
  const list = items.map((line) => `<li style="${STYLE.p}">${e(line)}</li>`).join('');
  return titled(
    'owners',
    summary,
    `${lines.map((line) => `<p style="${STYLE.p}">${e(line)}</p>`).join('')}${list ? `<ul style="margin:0;padding:0 0 0 18px;">${list}</ul>` : ''}${hidden > 0 ? `<p style="${STYLE.muted}">${e(moreLine(hidden, 'summary.json'))}</p>` : ''}`,
  );
}

function warningsSection(summary: Summary, list: ListView<string>): string {
  if (list.shown.length + list.hidden === 0) return '';
  const items = list.shown.map((line) => `<li style="${STYLE.p}">${e(line)}</li>`).join('');
  return titled(
    'warnings',
    summary,
    `${items ? `<ul style="margin:0;padding:0 0 0 18px;">${items}</ul>` : ''}${more(list)}`,
  );
}

/** The digest as one self-contained HTML document. */
export function renderDigestHtml(summary: Summary, options: DigestHtmlOptions = {}): string {
  const lists = digestLists(summary, options);
  const label = labelOf(summary, options);
  const names = accountNames(summary);
  const th = summary.thresholds;
  const footer = `credreport thresholds: rotation ${e(th.rotationDays)} days, unused ${e(th.unusedDays)} days, grace ${e(th.graceDays)} days, root use ${e(th.rootUseDays)} days, stale after ${e(th.staleHours)} hours.`;
  const sections = [
    headlineSection(summary, label),
    changesSection(summary, lists.delta, names),
    risksSection(summary, lists.risks),
    remediationSection(summary, lists.remediation),
    coverageSection(summary, lists.coverage),
    complianceSection(summary, lists.compliance),
    breakdownSection('by-ou', summary, lists.byOu, 'OU'),
    breakdownSection('by-tag', summary, lists.byTag, summary.byTag.key),
    ownersSection(summary),
    warningsSection(summary, lists.warnings),
    sectionRow('footer', `<p style="${STYLE.muted}">${footer}</p>${options.trustedFooterHtml ?? ''}`),
  ].filter((s) => s !== '');
  const title = `IAM credential digest: ${displayCell(label)}, ${dateOf(summary)}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(title)}</title></head>`,
    '<body>',
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor="${COLOR.page}" style="width:100%;background-color:${COLOR.page};border-collapse:collapse;">`,
    `<tr><td align="center" bgcolor="${COLOR.page}" style="padding:4px 8px 16px 8px;background-color:${COLOR.page};">`,
    '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:600px;border-collapse:collapse;">',
    ...sections,
    '</table>',
    '</td></tr></table>',
    '</body></html>',
    '',
  ].join('\n');
}
