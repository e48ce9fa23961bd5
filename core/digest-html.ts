/**
 * The emailed digest: one self-contained HTML page (inline styles only, no scripts, no external
 * resources) and its plain-text twin. Every value from the data passes through escapeHtml; every table is
 * capped, so the mail stays small for 10,000 accounts.
 */
import { escapeHtml } from './html-escape';
import type { DeltaList, FindingDelta } from './delta';
import { coverageStatusText, describeCoverageEntry } from './summary';
import type { GroupSummary, Summary } from './summary';
import { CoverageEntry, FINDING_IDS, FindingId } from './types';

export interface DigestOptions {
  /** Shown in the title, e.g. the organization id. Default: summary.organizationLabel / organizationId. */
  readonly organizationLabel?: string;
}

/** Rows per table in the digest. */
export const DIGEST_LIMITS = {
  coverageEntries: 100,
  riskiestKeys: 50,
  groups: 30,
  deltaItems: 20,
  warnings: 10,
} as const;

/** One line per finding for the digest. */
export const FINDING_TITLES: Readonly<Record<FindingId, string>> = {
  'root-access-key': 'Root user has an active access key',
  'root-mfa-disabled': 'Root user without MFA',
  'root-recently-used': 'Root user used recently',
  'console-without-mfa': 'Console password without MFA',
  'key-created-at-setup': 'Console user with an active key never used',
  'credential-unused': 'Password or active key unused',
  'multiple-active-keys': 'User with two active keys',
  'key-not-rotated': 'Active key not rotated',
  'privileged-key': 'Active key with admin power',
  'data-read-key': 'Active key that can read S3, RDS or DynamoDB data',
};

const STYLE = {
  body: 'margin:0;padding:16px;background:#f6f7f9;font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#1b1f24;',
  card: 'background:#ffffff;border:1px solid #d8dde3;border-radius:6px;padding:12px 16px;margin:0 0 16px 0;',
  h1: 'font-size:20px;margin:0 0 4px 0;',
  h2: 'font-size:16px;margin:0 0 8px 0;',
  muted: 'color:#59636e;font-size:12px;',
  table: 'border-collapse:collapse;width:100%;font-size:13px;',
  th: 'text-align:left;border-bottom:2px solid #d8dde3;padding:4px 6px;background:#f0f2f5;',
  td: 'border-bottom:1px solid #eceff2;padding:4px 6px;vertical-align:top;',
  num: 'border-bottom:1px solid #eceff2;padding:4px 6px;text-align:right;vertical-align:top;',
  ok: 'display:inline-block;padding:2px 8px;border-radius:10px;background:#dafbe1;color:#116329;font-weight:bold;',
  bad: 'display:inline-block;padding:2px 8px;border-radius:10px;background:#ffebe9;color:#a40e26;font-weight:bold;',
  code: 'font-family:Consolas,Menlo,monospace;font-size:12px;',
} as const;

const e = (value: string | number | undefined): string =>
  escapeHtml(value === undefined ? '' : String(value));
const fmt = (n: number): string => n.toLocaleString('en-US');

function labelOf(summary: Summary, options: DigestOptions): string {
  return (
    options.organizationLabel ?? summary.organizationLabel ?? summary.organizationId ?? 'AWS Organization'
  );
}

function dateOf(summary: Summary): string {
  return summary.generatedAt.slice(0, 10);
}

interface Column<T> {
  readonly title: string;
  readonly cell: (row: T) => string | number | undefined;
  readonly numeric?: boolean;
  readonly code?: boolean;
}

function htmlTable<T>(rows: readonly T[], columns: readonly Column<T>[], total = rows.length): string {
  if (rows.length === 0) return `<p style="${STYLE.muted}">None.</p>`;
  const head = columns.map((c) => `<th style="${STYLE.th}">${e(c.title)}</th>`).join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${columns
          .map((c) => {
            const value = c.cell(row);
            const text = typeof value === 'number' ? fmt(value) : e(value);
            const inner = c.code ? `<span style="${STYLE.code}">${text}</span>` : text;
            return `<td style="${c.numeric ? STYLE.num : STYLE.td}">${inner}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  const more =
    total > rows.length
      ? `<p style="${STYLE.muted}">… and ${fmt(total - rows.length)} more (see summary.json).</p>`
      : '';
  return `<table style="${STYLE.table}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${more}`;
}

function section(title: string, inner: string): string {
  return `<div style="${STYLE.card}"><h2 style="${STYLE.h2}">${e(title)}</h2>\n${inner}\n</div>`;
}

const coverageColumns: readonly Column<CoverageEntry>[] = [
  { title: 'Account', cell: (r) => r.accountId, code: true },
  { title: 'Name', cell: (r) => r.accountName },
  { title: 'OU', cell: (r) => r.ouPath },
  { title: 'Status', cell: (r) => coverageStatusText(r) },
  { title: 'Detail', cell: (r) => r.detail },
];

function groupColumns(first: string): Column<GroupSummary>[] {
  return [
    { title: first, cell: (g) => g.value },
    { title: 'Accounts', cell: (g) => g.accounts, numeric: true },
    { title: 'Reporting', cell: (g) => g.reporting, numeric: true },
    { title: 'Users', cell: (g) => g.users, numeric: true },
    { title: 'Active keys', cell: (g) => g.activeAccessKeys, numeric: true },
    { title: 'Users with findings', cell: (g) => g.usersWithFindings, numeric: true },
  ];
}

/** Groups with the most users with findings first (ties by name), capped. */
function topGroups(groups: readonly GroupSummary[]): GroupSummary[] {
  return [...groups]
    .sort(
      (a, b) =>
        b.usersWithFindings - a.usersWithFindings || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0),
    )
    .slice(0, DIGEST_LIMITS.groups);
}

/**
 * `4 of 7 expected accounts reporting, 3 missing (1 of them stale)` (digests and console output). Missing
 * is the verdict's count (docs/ARCHITECTURE.md §12: never reported + stale + rejected + incomplete), so the line
 * reads the same number as summary.json, the digest's result and the exit status.
 */
export function coverageLine(summary: Summary): string {
  const c = summary.coverage;
  const stale = c.stale > 0 ? ` (${fmt(c.stale)} of them stale)` : '';
  const unattributed = c.unattributed
    ? `, ${fmt(c.unattributed)} input${c.unattributed === 1 ? '' : 's'} naming no account`
    : '';
  return `${fmt(c.reporting)} of ${fmt(c.expected)} expected accounts reporting, ${fmt(c.missing)} missing${stale}${unattributed}`;
}

function keyLabel(k: { accessKeyId?: string; keySlot?: number }): string {
  return k.accessKeyId ?? (k.keySlot !== undefined ? `slot ${k.keySlot}` : '');
}

function deltaSection(summary: Summary): string {
  const d = summary.delta;
  if (!d) return '';
  const counts: [string, number][] = [
    ['New users', d.newUsers.count],
    ['Removed users', d.removedUsers.count],
    ['New access keys', d.newKeys.count],
    ['Removed access keys', d.removedKeys.count],
    ['New findings', d.newFindings.count],
    ['Resolved findings', d.resolvedFindings.count],
    ['Accounts that stopped reporting', d.accountsStoppedReporting.count],
  ];
  const since = d.previousGeneratedAt
    ? `<p style="${STYLE.muted}">Compared with the run of ${e(d.previousGeneratedAt)}.</p>`
    : '';
  const countTable = htmlTable(counts, [
    { title: 'Change', cell: (r) => r[0] },
    { title: 'Count', cell: (r) => r[1], numeric: true },
  ]);
  const findingList = (title: string, list: FindingDelta): string =>
    list.count === 0
      ? ''
      : `<h3 style="${STYLE.h2}">${e(title)}</h3>` +
        htmlTable(
          list.items.slice(0, DIGEST_LIMITS.deltaItems),
          [
            { title: 'Finding', cell: (r) => r.finding },
            { title: 'Account', cell: (r) => r.accountId, code: true },
            { title: 'User', cell: (r) => r.userName },
            { title: 'Key', cell: (r) => keyLabel(r), code: true },
          ],
          list.count,
        );
  const refList = <T extends { accountId: string; userName: string; accessKeyId?: string; keySlot?: number }>(
    title: string,
    list: DeltaList<T>,
    withKey: boolean,
  ): string =>
    list.count === 0
      ? ''
      : `<h3 style="${STYLE.h2}">${e(title)}</h3>` +
        htmlTable(
          list.items.slice(0, DIGEST_LIMITS.deltaItems),
          [
            { title: 'Account', cell: (r: T) => r.accountId, code: true },
            { title: 'User', cell: (r: T) => r.userName },
            ...(withKey ? [{ title: 'Key', cell: (r: T) => keyLabel(r), code: true }] : []),
          ],
          list.count,
        );
  const stopped =
    d.accountsStoppedReporting.count === 0
      ? ''
      : `<h3 style="${STYLE.h2}">Accounts that stopped reporting</h3>` +
        htmlTable(
          d.accountsStoppedReporting.items.slice(0, DIGEST_LIMITS.deltaItems),
          [
            { title: 'Account', cell: (r) => r.accountId, code: true },
            { title: 'Name', cell: (r) => r.accountName },
            { title: 'Status', cell: (r) => coverageStatusText(r) },
            { title: 'Detail', cell: (r) => r.detail },
          ],
          d.accountsStoppedReporting.count,
        );
  return section(
    'Changes since the previous run',
    [
      since,
      countTable,
      stopped,
      findingList('New findings', d.newFindings),
      findingList('Resolved findings', d.resolvedFindings),
      refList('New users', d.newUsers, false),
      refList('Removed users', d.removedUsers, false),
      refList('New access keys', d.newKeys, true),
      refList('Removed access keys', d.removedKeys, true),
    ].join('\n'),
  );
}

/** The digest as one self-contained HTML document. */
export function renderDigestHtml(summary: Summary, options: DigestOptions = {}): string {
  const label = labelOf(summary, options);
  const title = `IAM credential digest: ${label}, ${dateOf(summary)}`;
  const c = summary.coverage;
  const t = summary.totals;
  const badge = c.complete
    ? `<span style="${STYLE.ok}">complete</span>`
    : `<span style="${STYLE.bad}">incomplete</span>`;
  const nonReporting = c.entries.slice(0, DIGEST_LIMITS.coverageEntries);

  const findingsRows = FINDING_IDS.map((id) => ({ id, ...summary.findings[id] }));
  const findingsTable = htmlTable(findingsRows, [
    { title: 'Finding', cell: (r) => r.id, code: true },
    { title: 'What', cell: (r) => FINDING_TITLES[r.id] },
    { title: 'CIS', cell: (r) => r.cis ?? '' },
    { title: 'Users', cell: (r) => r.users, numeric: true },
    { title: 'Keys', cell: (r) => r.keys, numeric: true },
  ]);

  const keys = summary.riskiestKeys.slice(0, DIGEST_LIMITS.riskiestKeys);
  const keysTable = htmlTable(keys, [
    { title: 'Account', cell: (k) => (k.accountName ? `${k.accountId} (${k.accountName})` : k.accountId) },
    { title: 'User', cell: (k) => k.userName },
    { title: 'Key', cell: (k) => keyLabel(k), code: true },
    { title: 'Age (days)', cell: (k) => k.ageDays, numeric: true },
    {
      title: 'Last used',
      cell: (k) => (k.daysSinceLastUse === undefined ? 'never' : `${fmt(k.daysSinceLastUse)} days ago`),
    },
    { title: 'Privileges', cell: (k) => k.privileges.join(', ') },
    { title: 'Findings', cell: (k) => k.findings.join(', ') },
  ]);

  const warnings =
    summary.warnings.length === 0
      ? ''
      : section(
          'Warnings',
          `<ul>${summary.warnings
            .slice(0, DIGEST_LIMITS.warnings)
            .map((w) => `<li>${e(w)}</li>`)
            .join('')}</ul>${
            summary.warnings.length > DIGEST_LIMITS.warnings
              ? `<p style="${STYLE.muted}">… and ${fmt(summary.warnings.length - DIGEST_LIMITS.warnings)} more.</p>`
              : ''
          }`,
        );

  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(title)}</title></head>`,
    `<body style="${STYLE.body}">`,
    `<div style="${STYLE.card}"><h1 style="${STYLE.h1}">${e(title)}</h1>`,
    `<p style="${STYLE.muted}">Generated ${e(summary.generatedAt)}. ${fmt(t.accounts)} accounts, ${fmt(t.users)} users, ${fmt(t.accessKeys)} access keys (${fmt(t.activeAccessKeys)} active), ${fmt(t.usersWithFindings)} users with findings.</p></div>`,
    section(
      'Coverage',
      `<p>${badge} ${e(coverageLine(summary))}${c.unexpected > 0 ? `, ${fmt(c.unexpected)} reporting but not expected` : ''}.</p>\n` +
        (c.entries.length > 0 ? htmlTable(nonReporting, coverageColumns, c.entries.length) : ''),
    ),
    section('Findings', findingsTable),
    section('Riskiest active keys', keysTable),
    section(
      'By organizational unit',
      htmlTable(topGroups(summary.byOu), groupColumns('OU'), summary.byOu.length),
    ),
    section(
      `By tag ${summary.byTag.key}`,
      htmlTable(
        topGroups(summary.byTag.values),
        groupColumns(summary.byTag.key),
        summary.byTag.values.length,
      ),
    ),
    deltaSection(summary),
    warnings,
    `<p style="${STYLE.muted}">credreport: thresholds rotation ${e(summary.thresholds.rotationDays)} days, unused ${e(summary.thresholds.unusedDays)} days, grace ${e(summary.thresholds.graceDays)} days, root use ${e(summary.thresholds.rootUseDays)} days, stale after ${e(summary.thresholds.staleHours)} hours.</p>`,
    '</body></html>',
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/**
 * A plain-text table: columns padded to their widest cell (`numeric` ones right-aligned), control
 * characters of the data shown as spaces.
 */
export function textTable(
  rows: readonly (readonly string[])[],
  header: readonly string[],
  numeric: readonly number[] = [],
): string {
  const all = [header, ...rows.map((r) => r.map(clean))];
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

/** Users and keys per finding, with its CIS control (`-` when none), as a text table. */
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

/** Control characters (a hostile tag value, user name or key id) shown as spaces in the text digest. */
function clean(value: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  return (value ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** The digest as plain text (the email's text part and `credreport` console output). */
export function renderDigestText(summary: Summary, options: DigestOptions = {}): string {
  const label = labelOf(summary, options);
  const c = summary.coverage;
  const t = summary.totals;
  const out: string[] = [];
  out.push(`IAM credential digest: ${clean(label)}, ${dateOf(summary)}`);
  out.push(
    `${fmt(t.accounts)} accounts, ${fmt(t.users)} users, ${fmt(t.accessKeys)} access keys (${fmt(t.activeAccessKeys)} active), ${fmt(t.usersWithFindings)} users with findings.`,
  );
  out.push('', `Coverage (${c.complete ? 'complete' : 'INCOMPLETE'}): ${coverageLine(summary)}.`);
  const shown = c.entries.slice(0, DIGEST_LIMITS.coverageEntries);
  for (const entry of shown) out.push(`  ${clean(describeCoverageEntry(entry))}`);
  if (c.entries.length > shown.length) out.push(`… and ${fmt(c.entries.length - shown.length)} more.`);
  out.push('', 'Findings:', findingsTextTable(summary));
  if (summary.riskiestKeys.length > 0) {
    const keys = summary.riskiestKeys.slice(0, 10);
    out.push(
      '',
      `Riskiest active keys (top ${keys.length} of ${summary.riskiestKeys.length} in summary.json):`,
    );
    out.push(
      textTable(
        keys.map((k) => [
          k.accountId,
          k.userName,
          keyLabel(k),
          k.ageDays === undefined ? '' : fmt(k.ageDays),
          k.privileges.join(','),
          k.findings.join(','),
        ]),
        ['account', 'user', 'key', 'age', 'privileges', 'findings'],
        [3],
      ),
    );
  }
  const d = summary.delta;
  if (d) {
    out.push(
      '',
      `Since ${clean(d.previousGeneratedAt ?? 'the previous run')}: ${fmt(d.newUsers.count)} new users, ${fmt(d.removedUsers.count)} removed users, ${fmt(d.newKeys.count)} new keys, ${fmt(d.removedKeys.count)} removed keys, ${fmt(d.newFindings.count)} new findings, ${fmt(d.resolvedFindings.count)} resolved findings, ${fmt(d.accountsStoppedReporting.count)} accounts stopped reporting.`,
    );
  }
  if (summary.warnings.length > 0) out.push('', `${fmt(summary.warnings.length)} warnings in summary.json.`);
  return `${out.join('\n')}\n`;
}
