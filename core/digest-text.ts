/**
 * The digest as plain text (the email's text part): the sections of core/digest-model.ts in the same order
 * as the HTML, the same capped lists and the same "and N more". Every value of the data is cut to the
 * display bound and its control characters shown as spaces.
 */
import { displayCell, DISPLAY_CELL_CHARS } from './cap-rows';
import type { UserRef } from './delta-types';
import {
  accountNames,
  accountFactsLine,
  complianceCaption,
  complianceRows,
  controlPolicyLine,
  organizationComplianceRows,
  exemptionsLine,
  exemptionsProblemLine,
  organizationLine,
  ownerLines,
  rootAccessCoverageLine,
  notificationsLine,
  coverageLine,
  dateOf,
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
} from './digest-model';
import { auditRecordLine, plannedKeyLine } from './deactivation';
import { coverageStatusText, describeCoverageEntry } from './summary';
import type { GroupSummary, Summary } from './summary';
import { CoverageEntry, FINDING_IDS } from './types';

/**
 * A value of the data in the text digest: cut to `maxChars`, control characters (a hostile tag value,
 * user name or key id) shown as spaces. Cut first, so a huge value is never scanned whole.
 */
function clean(value: string | undefined, maxChars = DISPLAY_CELL_CHARS): string {
  // eslint-disable-next-line no-control-regex
  return displayCell(value ?? '', maxChars).replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/**
 * A plain-text table: columns padded to their widest cell (`numeric` ones right-aligned, header included),
 * each cell cut to the display bound, control characters of the data shown as spaces.
 */
export function textTable(
  rows: readonly (readonly string[])[],
  header: readonly string[],
  numeric: readonly number[] = [],
): string {
  const all = [header, ...rows.map((r) => r.map((cell) => clean(cell)))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (numeric.includes(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Users and keys per finding, with its CIS control (`-` when none), as a text table (the demo's console). */
export function findingsTextTable(summary: Summary): string {
  return textTable(
    FINDING_IDS.map((id) => {
      const f = summary.findings[id];
      return [id, f.cis ?? '-', fmt(f.users), fmt(f.keys)];
    }),
    ['finding', 'CIS', 'users', 'keys'],
    [2, 3],
  );
}

function heading(id: Exclude<DigestSectionId, 'headline'>, summary: Summary): string[] {
  const title = clean(sectionTitle(id, summary));
  return ['', title, '-'.repeat(title.length)];
}

function more(list: ListView<unknown>): string[] {
  return list.hidden > 0 ? [moreLine(list.hidden, list.where)] : [];
}

/** A capped list as a text table and its "and N more", or `empty` when the whole list is empty. */
function listText<T>(
  list: ListView<T>,
  header: string[],
  row: (item: T, index: number) => string[],
  empty: string,
  numeric: number[] = [],
): string[] {
  if (list.shown.length + list.hidden === 0) return [empty];
  return [...(list.shown.length > 0 ? [textTable(list.shown.map(row), header, numeric)] : []), ...more(list)];
}

function headlineText(summary: Summary, label: string): string[] {
  const f = new Map(headlineFigures(summary).map((x) => [x.id, x.value]));
  const n = (id: 'open' | 'new' | 'resolved' | 'reporting' | 'expected'): string => {
    const v = f.get(id);
    return v === undefined ? '—' : fmt(v);
  };
  const first = summary.delta === undefined ? ' (first run)' : '';
  const c = summary.coverage;
  const t = summary.totals;
  const org = organizationLine(summary);
  const problem = exemptionsProblemLine(summary);
  const exemptions = exemptionsLine(summary);
  return [
    `IAM credential digest: ${clean(label)}, ${dateOf(summary)}`,
    ...(problem ? [`EXEMPTIONS: ${clean(problem, 1000)}.`] : []),
    `Open critical or high findings: ${n('open')} · New since the previous run: ${n('new')}${first} · Resolved: ${n('resolved')} · Accounts reporting: ${n('reporting')} of ${n('expected')}`,
    `Coverage (${c.complete ? 'complete' : 'INCOMPLETE'}): ${coverageLine(summary)}.`,
    ...(org ? [`${clean(org, 700)}.`] : []),
    `${plural(t.accounts, 'account')}, ${plural(t.users, 'user')}, ${plural(t.accessKeys, 'access key')} (${fmt(t.activeAccessKeys)} active), ${plural(t.usersWithFindings, 'user')} with findings.`,
    ...(exemptions ? [`${clean(exemptions, 1500)}.`] : []),
  ];
}

function findingChangesText(
  list: ListView<FindingChangeView>,
  names: ReadonlyMap<string, string>,
  empty: string,
  ageTitle: string,
): string[] {
  const withOwner = list.shown.some((r) => r.ownerTag !== undefined);
  // As in the HTML: a new finding is 0 days old, so the column appears only when some age says more.
  const withAge = list.shown.some((r) => (r.ageDays ?? 0) > 0);
  const header = [
    'severity',
    'finding',
    'user',
    'account',
    'key',
    ...(withOwner ? ['owner'] : []),
    ...(withAge ? [ageTitle] : []),
  ];
  return listText(
    list,
    header,
    (r) => [
      r.severity ?? '',
      r.finding,
      r.userName,
      names.has(r.accountId) ? `${r.accountId} (${names.get(r.accountId)})` : r.accountId,
      keyLabel(r),
      ...(withOwner ? [r.ownerTag ?? ''] : []),
      ...(withAge ? [r.ageDays === undefined ? '' : plural(r.ageDays, 'day')] : []),
    ],
    empty,
    withAge ? [header.length - 1] : [],
  );
}

function changesText(
  summary: Summary,
  views: DeltaViews | undefined,
  names: ReadonlyMap<string, string>,
): string[] {
  const out = heading('changes', summary);
  const d = summary.delta;
  if (!d || !views) {
    out.push('First run: there is no previous run to compare with, so nothing is new or resolved yet.');
    return out;
  }
  if (d.previousGeneratedAt) out.push(`Compared with the run of ${clean(d.previousGeneratedAt)}.`);
  out.push(
    '',
    `New findings (${fmt(d.newFindings.count)}):`,
    ...findingChangesText(views.newFindings, names, 'No new findings.', 'age'),
  );
  out.push(
    '',
    `Resolved findings (${fmt(d.resolvedFindings.count)}):`,
    ...findingChangesText(views.resolvedFindings, names, 'No finding was resolved.', 'open for'),
  );
  out.push(
    '',
    `Accounts that stopped reporting (${fmt(d.accountsStoppedReporting.count)}):`,
    ...listText(
      views.stopped,
      ['account', 'name', 'status', 'detail'],
      (r) => [
        r.accountId,
        r.accountName ?? names.get(r.accountId) ?? '',
        coverageStatusText(r),
        r.detail ?? '',
      ],
      'None.',
    ),
  );
  out.push(
    '',
    `Users: ${fmt(d.newUsers.count)} new, ${fmt(d.removedUsers.count)} removed. Access keys: ${fmt(d.newKeys.count)} new, ${fmt(d.removedKeys.count)} removed.`,
  );
  const refs = <T extends UserRef>(title: string, list: ListView<T>, key?: (r: T) => string): void => {
    if (list.shown.length + list.hidden === 0) return;
    out.push(
      '',
      `${title} (${fmt(list.shown.length + list.hidden)}):`,
      ...listText(
        list,
        ['user', 'account', ...(key ? ['key'] : [])],
        (r) => [r.userName, r.accountId, ...(key ? [key(r)] : [])],
        'None.',
      ),
    );
  };
  refs('New users', views.newUsers);
  refs('Removed users', views.removedUsers);
  refs('New access keys', views.newKeys, keyLabel);
  refs('Removed access keys', views.removedKeys, keyLabel);
  return out;
}

/** A coverage entry as one line, each of its values cut to the display bound. */
function coverageText(entry: CoverageEntry): string {
  return clean(
    describeCoverageEntry({
      ...entry,
      accountId: displayCell(entry.accountId),
      ...(entry.accountName !== undefined ? { accountName: displayCell(entry.accountName) } : {}),
      ...(entry.detail !== undefined ? { detail: displayCell(entry.detail) } : {}),
    }),
    Number.POSITIVE_INFINITY,
  );
}

function groupsText(
  id: 'by-ou' | 'by-tag',
  summary: Summary,
  list: ListView<GroupSummary>,
  first: string,
): string[] {
  return [
    ...heading(id, summary),
    ...listText(
      list,
      [first, 'users with findings', 'users', 'active keys', 'accounts reporting'],
      (g) => [
        g.value,
        fmt(g.usersWithFindings),
        fmt(g.users),
        fmt(g.activeAccessKeys),
        `${fmt(g.reporting)} of ${fmt(g.accounts)}`,
      ],
      'No accounts.',
      [1, 2, 3, 4],
    ),
  ];
}

/** The digest as plain text (the email's text part): the same lists as the HTML, capped the same way. */
export function renderDigestText(summary: Summary, options: DigestOptions = {}): string {
  const lists = digestLists(summary, options);
  const names = accountNames(summary);
  const out: string[] = [...headlineText(summary, labelOf(summary, options))];
  out.push(...changesText(summary, lists.delta, names));

  out.push(...heading('risks', summary), riskRankCaption());
  const risks = lists.risks;
  if (risks.shown.length + risks.hidden === 0) out.push('No active key has a finding.');
  // Two lines per key (who and what, then why) so the text part stays readable where mail wraps lines.
  const rank = String(risks.shown.length).length;
  risks.shown.forEach((k, i) => {
    const account = k.accountName ? `${k.accountId} (${k.accountName})` : k.accountId;
    const facts = [
      keyLabel(k) ? `key ${keyLabel(k)}` : 'key',
      ...(k.ageDays === undefined ? [] : [`${plural(k.ageDays, 'day')} old`]),
      lastUsed(k.daysSinceLastUse),
      ...(k.privileges.length > 0 ? [`can ${k.privileges.join(', ')}`] : []),
      ...(k.riskScore !== undefined ? [`risk ${k.riskScore}`] : []),
    ];
    out.push(
      `${fmt(i + 1).padStart(rank)}. ${clean(k.userName)} in ${clean(account)}: ${clean(facts.join(', '))}`,
    );
    for (const path of riskPaths(k)) out.push(`${' '.repeat(rank + 2)}${clean(path)}`);
    out.push(`${' '.repeat(rank + 2)}${k.severity ? `${k.severity}: ` : ''}${k.findings.join(', ')}`);
  });
  out.push(...more(risks));

  const rem = lists.remediation;
  if (summary.remediation && rem) {
    const mode = summary.remediation.mode;
    out.push(
      ...heading('remediation', summary),
      ...remediationLines(summary).map((line) => clean(line, 700)),
    );
    out.push(
      ...listText(
        rem.keys,
        ['account', 'user', 'key', 'stage'],
        (k) => [k.accountId, k.userName, k.accessKeyId, plannedKeyLine(k, mode)],
        'No key is staged.',
      ),
      'What the agents did or skipped since the previous run:',
      ...listText(
        rem.records,
        ['account', 'user', 'key', 'outcome'],
        (x) => [x.accountId, x.userName, x.accessKeyId, auditRecordLine(x)],
        'No audit records since the previous run.',
      ),
    );
  }

  out.push(...heading('coverage', summary));
  const cov = lists.coverage;
  if (cov.shown.length + cov.hidden === 0) out.push('Every expected account sent a fresh, usable report.');
  for (const entry of cov.shown) out.push(`  ${coverageText(entry)}`);
  out.push(...more(cov));
  if (summary.coverage.unexpected > 0) {
    out.push(`${plural(summary.coverage.unexpected, 'account')} reporting but not expected.`);
  }
  const scp = controlPolicyLine(summary);
  if (scp) out.push(`${scp}.`);
  const facts = accountFactsLine(summary);
  if (facts) out.push(`${facts}.`);
  const rootAccess = rootAccessCoverageLine(summary);
  if (rootAccess) out.push(`${clean(rootAccess, 700)}.`);
  const notifications = notificationsLine(summary);
  if (notifications) out.push(`${clean(notifications, 700)}.`);
  const exemptionsProblem = exemptionsProblemLine(summary);
  if (exemptionsProblem) out.push(`${clean(exemptionsProblem, 1000)}.`);

  const { outsideCis } = complianceRows(summary);
  out.push(...heading('compliance', summary), complianceCaption(summary));
  out.push(
    ...listText(
      lists.compliance,
      ['CIS', 'finding', 'severity', 'Security Hub', 'failing', 'passing', 'not evaluated'],
      (c) => [
        c.cis,
        c.findings.join(', '),
        c.severity,
        c.securityHub ?? '-',
        fmt(c.accountsFailing),
        fmt(c.accountsPassing),
        fmt(c.accountsNotEvaluated),
      ],
      'No CIS control in this version maps to a finding.',
      [4, 5, 6],
    ),
  );
  if (outsideCis.length > 0) {
    out.push(
      `Outside CIS: ${outsideCis.map((r) => `${FINDING_TITLES[r.id]} (${plural(r.users, 'user')}, ${plural(r.keys, 'key')})`).join('; ')}.`,
    );
  }

  const orgRows = organizationComplianceRows(summary);
  if (orgRows.length > 0) {
    out.push(
      'Organization controls, one verdict for the whole organization:',
      textTable(
        orgRows.map((r) => [r.id, r.cis ?? '-', r.verdict]),
        ['finding', 'CIS', 'organization'],
      ),
    );
  }

  out.push(...groupsText('by-ou', summary, lists.byOu, 'OU'));
  out.push(...groupsText('by-tag', summary, lists.byTag, clean(summary.byTag.key)));

  const owners = ownerLines(summary);
  if (owners.lines.length > 0) {
    out.push(
      ...heading('owners', summary),
      ...owners.lines.map((line) => clean(line, 700)),
      ...owners.items.map((line) => `  - ${clean(line, 700)}`),
      ...(owners.hidden > 0 ? [moreLine(owners.hidden, 'summary.json')] : []),
    );
  }
  const w = lists.warnings;
  if (w.shown.length + w.hidden > 0) {
    out.push(...heading('warnings', summary), ...w.shown.map((line) => `  - ${clean(line)}`), ...more(w));
  }
  const th = summary.thresholds;
  out.push(
    '',
    `credreport thresholds: rotation ${th.rotationDays} days, unused ${th.unusedDays} days, grace ${th.graceDays} days, root use ${th.rootUseDays} days, stale after ${th.staleHours} hours.`,
  );
  return `${out.join('\n')}\n`;
}
