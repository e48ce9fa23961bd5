/**
 * The emailed digest: one self-contained HTML page (inline styles only, no scripts, no external
 * resources) and its plain-text twin. Every value from the data passes through escapeHtml; every list is
 * capped by {@link DIGEST_LIMITS} and every shown value cut to a display bound (core/cap-rows.ts,
 * docs/ARCHITECTURE.md §6 "Email"), so the mail stays small whatever the organization or its inputs hold.
 * Both bodies render the same capped lists, so they name the same "and N more".
 */
import { capRows, CappedRows, displayCell, DISPLAY_CELL_CHARS } from './cap-rows';
import { escapeHtml } from './html-escape';
import type { DeltaList, FindingChange, KeyRef, StoppedReporting, UserRef } from './delta-types';
import { coverageStatusText, describeCoverageEntry } from './summary';
import type { GroupSummary, RiskyKey, Summary } from './summary';
import { CoverageEntry, FINDING_IDS, FindingId } from './types';

/** Rows shown per list of the digest (the most important first); the rest are counted in "and N more". */
export interface DigestLimits {
  readonly coverageEntries: number;
  readonly riskiestKeys: number;
  /** Per breakdown (by OU, by tag value). */
  readonly groups: number;
  /** Per list of changes since the previous run. */
  readonly deltaItems: number;
  readonly warnings: number;
}

/** Default rows per list. */
export const DIGEST_LIMITS: DigestLimits = {
  coverageEntries: 100,
  riskiestKeys: 50,
  groups: 30,
  deltaItems: 20,
  warnings: 10,
};

/** Where the whole of a capped list can be read; named in its "and N more — see …" line. */
export interface FullListsAt {
  /** Users, keys and findings (riskiest keys, new users, keys and findings): the merged CSV. */
  readonly csv: string;
  /** Coverage, breakdowns, removed users and keys, resolved findings, warnings: summary.json. */
  readonly summary: string;
}

/** digest.html and the console name the files beside it. */
export const OUTPUT_FILES_AT: FullListsAt = { csv: 'credential-report.csv', summary: 'summary.json' };

export interface DigestOptions {
  /** Shown in the title, e.g. the organization id. Default: summary.organizationLabel / organizationId. */
  readonly organizationLabel?: string;
  /** @default DIGEST_LIMITS */
  readonly limits?: DigestLimits;
  /** @default OUTPUT_FILES_AT */
  readonly fullListsAt?: FullListsAt;
}

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
  'key-quarantined':
    'Critical: AWS quarantined this user for an exposed key (V3 still allows s3:GetObjectVersion)',
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

/** A value of the data in HTML: cut to the display bound, then escaped (bytes are counted after escaping). */
const e = (value: string | number | undefined): string =>
  escapeHtml(displayCell(value === undefined ? '' : String(value)));
const fmt = (n: number): string => n.toLocaleString('en-US');

function labelOf(summary: Summary, options: DigestOptions): string {
  return (
    options.organizationLabel ?? summary.organizationLabel ?? summary.organizationId ?? 'AWS Organization'
  );
}

function dateOf(summary: Summary): string {
  return summary.generatedAt.slice(0, 10);
}

function keyLabel(k: { accessKeyId?: string; keySlot?: number }): string {
  return k.accessKeyId ?? (k.keySlot !== undefined ? `slot ${k.keySlot}` : '');
}

/** A capped list and where its whole can be read. */
interface ListView<T> extends CappedRows<T> {
  readonly where: string;
}

interface DeltaViews {
  readonly stopped: ListView<StoppedReporting>;
  readonly newFindings: ListView<FindingChange>;
  readonly resolvedFindings: ListView<FindingChange>;
  readonly newUsers: ListView<UserRef>;
  readonly removedUsers: ListView<UserRef>;
  readonly newKeys: ListView<KeyRef>;
  readonly removedKeys: ListView<KeyRef>;
}

/** Every list either body shows, capped once, so the HTML and the text say the same "and N more". */
interface DigestLists {
  readonly coverage: ListView<CoverageEntry>;
  readonly riskiestKeys: ListView<RiskyKey>;
  readonly byOu: ListView<GroupSummary>;
  readonly byTag: ListView<GroupSummary>;
  readonly delta?: DeltaViews;
  readonly warnings: ListView<string>;
}

/** Groups with the most users with findings first (ties by name). */
function byFindings(groups: readonly GroupSummary[]): GroupSummary[] {
  return [...groups].sort(
    (a, b) =>
      b.usersWithFindings - a.usersWithFindings || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0),
  );
}

function digestLists(summary: Summary, options: DigestOptions): DigestLists {
  const limits = options.limits ?? DIGEST_LIMITS;
  const at = options.fullListsAt ?? OUTPUT_FILES_AT;
  const view = <T>(rows: readonly T[], limit: number, where: string, total = rows.length): ListView<T> => ({
    ...capRows(rows, limit, total),
    where,
  });
  const d = summary.delta;
  const deltaView = <T>(list: DeltaList<T>, where: string): ListView<T> =>
    view(list.items, limits.deltaItems, where, list.count);
  return {
    coverage: view(summary.coverage.entries, limits.coverageEntries, at.summary),
    // Every active key was ranked (core/summary.ts); summary.json keeps the top ones, the CSV has them all.
    riskiestKeys: view(summary.riskiestKeys, limits.riskiestKeys, at.csv, summary.totals.activeAccessKeys),
    byOu: view(byFindings(summary.byOu), limits.groups, at.summary),
    byTag: view(byFindings(summary.byTag.values), limits.groups, at.summary),
    ...(d
      ? {
          delta: {
            stopped: deltaView(d.accountsStoppedReporting, at.summary),
            newFindings: deltaView(d.newFindings, at.csv),
            resolvedFindings: deltaView(d.resolvedFindings, at.summary),
            newUsers: deltaView(d.newUsers, at.csv),
            removedUsers: deltaView(d.removedUsers, at.summary),
            newKeys: deltaView(d.newKeys, at.csv),
            removedKeys: deltaView(d.removedKeys, at.summary),
          },
        }
      : {}),
    warnings: view(summary.warnings, limits.warnings, at.summary),
  };
}

/** `… and 49,980 more — see the attached CSV.`: the same words in both bodies. */
export function moreLine(hidden: number, where: string): string {
  return `… and ${fmt(hidden)} more — see ${where}.`;
}

interface Column<T> {
  readonly title: string;
  readonly cell: (row: T) => string | number | undefined;
  readonly numeric?: boolean;
  readonly code?: boolean;
}

function htmlMore(list: ListView<unknown>): string {
  // The pointer is the caller's (a file name or an s3:// URI), not data: escaped, not cut.
  return list.hidden > 0
    ? `<p style="${STYLE.muted}">${escapeHtml(moreLine(list.hidden, list.where))}</p>`
    : '';
}

function htmlTable<T>(list: CappedRows<T> | ListView<T>, columns: readonly Column<T>[]): string {
  const more = 'where' in list ? htmlMore(list) : '';
  if (list.shown.length === 0) return more || `<p style="${STYLE.muted}">None.</p>`;
  const head = columns.map((c) => `<th style="${STYLE.th}">${e(c.title)}</th>`).join('');
  const body = list.shown
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
  return `<table style="${STYLE.table}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${more}`;
}

/** A fixed list (every finding id, the change counts): shown whole. */
const whole = <T>(rows: readonly T[]): CappedRows<T> => ({ shown: rows, hidden: 0 });

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

/** The change counts, in the order both bodies show them. */
function deltaCounts(summary: Summary): [string, number][] {
  const d = summary.delta;
  if (!d) return [];
  return [
    ['New users', d.newUsers.count],
    ['Removed users', d.removedUsers.count],
    ['New access keys', d.newKeys.count],
    ['Removed access keys', d.removedKeys.count],
    ['New findings', d.newFindings.count],
    ['Resolved findings', d.resolvedFindings.count],
    ['Accounts that stopped reporting', d.accountsStoppedReporting.count],
  ];
}

function deltaSection(summary: Summary, views: DeltaViews | undefined): string {
  const d = summary.delta;
  if (!d || !views) return '';
  const since = d.previousGeneratedAt
    ? `<p style="${STYLE.muted}">Compared with the run of ${e(d.previousGeneratedAt)}.</p>`
    : '';
  const countTable = htmlTable(whole(deltaCounts(summary)), [
    { title: 'Change', cell: (r) => r[0] },
    { title: 'Count', cell: (r) => r[1], numeric: true },
  ]);
  const titled = <T>(title: string, list: ListView<T>, columns: readonly Column<T>[]): string =>
    list.shown.length + list.hidden === 0
      ? ''
      : `<h3 style="${STYLE.h2}">${e(title)}</h3>` + htmlTable(list, columns);
  const findingColumns: Column<FindingChange>[] = [
    { title: 'Finding', cell: (r) => r.finding },
    { title: 'Account', cell: (r) => r.accountId, code: true },
    { title: 'User', cell: (r) => r.userName },
    { title: 'Key', cell: (r) => keyLabel(r), code: true },
  ];
  const userColumns: Column<UserRef>[] = [
    { title: 'Account', cell: (r) => r.accountId, code: true },
    { title: 'User', cell: (r) => r.userName },
  ];
  const keyColumns: Column<KeyRef>[] = [
    ...userColumns,
    { title: 'Key', cell: (r) => keyLabel(r), code: true },
  ];
  return section(
    'Changes since the previous run',
    [
      since,
      countTable,
      titled('Accounts that stopped reporting', views.stopped, [
        { title: 'Account', cell: (r) => r.accountId, code: true },
        { title: 'Name', cell: (r) => r.accountName },
        { title: 'Status', cell: (r) => coverageStatusText(r) },
        { title: 'Detail', cell: (r) => r.detail },
      ]),
      titled('New findings', views.newFindings, findingColumns),
      titled('Resolved findings', views.resolvedFindings, findingColumns),
      titled('New users', views.newUsers, userColumns),
      titled('Removed users', views.removedUsers, userColumns),
      titled('New access keys', views.newKeys, keyColumns),
      titled('Removed access keys', views.removedKeys, keyColumns),
    ]
      .filter((part) => part !== '')
      .join('\n'),
  );
}

/** The digest as one self-contained HTML document. */
export function renderDigestHtml(summary: Summary, options: DigestOptions = {}): string {
  const lists = digestLists(summary, options);
  const label = labelOf(summary, options);
  const title = `IAM credential digest: ${displayCell(label)}, ${dateOf(summary)}`;
  const c = summary.coverage;
  const t = summary.totals;
  const badge = c.complete
    ? `<span style="${STYLE.ok}">complete</span>`
    : `<span style="${STYLE.bad}">incomplete</span>`;

  const findingsRows = FINDING_IDS.map((id) => ({ id, ...summary.findings[id] }));
  const findingsTable = htmlTable(whole(findingsRows), [
    { title: 'Finding', cell: (r) => r.id, code: true },
    { title: 'What', cell: (r) => FINDING_TITLES[r.id] },
    { title: 'CIS', cell: (r) => r.cis ?? '' },
    { title: 'Users', cell: (r) => r.users, numeric: true },
    { title: 'Keys', cell: (r) => r.keys, numeric: true },
  ]);

  const keysTable = htmlTable(lists.riskiestKeys, [
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

  const w = lists.warnings;
  const warnings =
    w.shown.length + w.hidden === 0
      ? ''
      : section(
          'Warnings',
          `<ul>${w.shown.map((line) => `<li>${e(line)}</li>`).join('')}</ul>${htmlMore(w)}`,
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
        (c.entries.length > 0 ? htmlTable(lists.coverage, coverageColumns) : ''),
    ),
    section('Findings', findingsTable),
    section('Riskiest active keys', keysTable),
    section('By organizational unit', htmlTable(lists.byOu, groupColumns('OU'))),
    section(
      `By tag ${displayCell(summary.byTag.key)}`,
      htmlTable(lists.byTag, groupColumns(summary.byTag.key)),
    ),
    deltaSection(summary, lists.delta),
    warnings,
    `<p style="${STYLE.muted}">credreport: thresholds rotation ${e(summary.thresholds.rotationDays)} days, unused ${e(summary.thresholds.unusedDays)} days, grace ${e(summary.thresholds.graceDays)} days, root use ${e(summary.thresholds.rootUseDays)} days, stale after ${e(summary.thresholds.staleHours)} hours.</p>`,
    '</body></html>',
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/**
 * A plain-text table: columns padded to their widest cell (`numeric` ones right-aligned), each cell cut to
 * the display bound, control characters of the data shown as spaces.
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

/**
 * A value of the data in the text digest: cut to `maxChars`, control characters (a hostile tag value,
 * user name or key id) shown as spaces. Cut first, so a huge value is never scanned whole.
 */
function clean(value: string | undefined, maxChars = DISPLAY_CELL_CHARS): string {
  // eslint-disable-next-line no-control-regex
  return displayCell(value ?? '', maxChars).replace(/[\u0000-\u001f\u007f]/g, ' ');
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

function textMore(list: ListView<unknown>): string[] {
  return list.hidden > 0 ? [moreLine(list.hidden, list.where)] : [];
}

function groupsText(title: string, list: ListView<GroupSummary>): string[] {
  if (list.shown.length + list.hidden === 0) return [];
  return [
    '',
    `${title}:`,
    ...(list.shown.length > 0
      ? [
          textTable(
            list.shown.map((g) => [
              g.value,
              fmt(g.accounts),
              fmt(g.reporting),
              fmt(g.users),
              fmt(g.activeAccessKeys),
              fmt(g.usersWithFindings),
            ]),
            ['value', 'accounts', 'reporting', 'users', 'active keys', 'users with findings'],
            [1, 2, 3, 4, 5],
          ),
        ]
      : []),
    ...textMore(list),
  ];
}

function deltaText(summary: Summary, views: DeltaViews | undefined): string[] {
  const d = summary.delta;
  if (!d || !views) return [];
  const out = [
    '',
    `Since ${clean(d.previousGeneratedAt ?? 'the previous run')}: ${fmt(d.newUsers.count)} new users, ${fmt(d.removedUsers.count)} removed users, ${fmt(d.newKeys.count)} new keys, ${fmt(d.removedKeys.count)} removed keys, ${fmt(d.newFindings.count)} new findings, ${fmt(d.resolvedFindings.count)} resolved findings, ${fmt(d.accountsStoppedReporting.count)} accounts stopped reporting.`,
  ];
  const list = <T>(title: string, view: ListView<T>, header: string[], row: (r: T) => string[]): void => {
    if (view.shown.length + view.hidden === 0) return;
    out.push('', `${title}:`);
    if (view.shown.length > 0) out.push(textTable(view.shown.map(row), header));
    out.push(...textMore(view));
  };
  const finding = (r: FindingChange): string[] => [r.finding, r.accountId, r.userName, keyLabel(r)];
  const user = (r: UserRef): string[] => [r.accountId, r.userName];
  const key = (r: KeyRef): string[] => [r.accountId, r.userName, keyLabel(r)];
  list('Accounts that stopped reporting', views.stopped, ['account', 'name', 'status', 'detail'], (r) => [
    r.accountId,
    r.accountName ?? '',
    coverageStatusText(r),
    r.detail ?? '',
  ]);
  list('New findings', views.newFindings, ['finding', 'account', 'user', 'key'], finding);
  list('Resolved findings', views.resolvedFindings, ['finding', 'account', 'user', 'key'], finding);
  list('New users', views.newUsers, ['account', 'user'], user);
  list('Removed users', views.removedUsers, ['account', 'user'], user);
  list('New access keys', views.newKeys, ['account', 'user', 'key'], key);
  list('Removed access keys', views.removedKeys, ['account', 'user', 'key'], key);
  return out;
}

/** The digest as plain text (the email's text part): the same lists as the HTML, capped the same way. */
export function renderDigestText(summary: Summary, options: DigestOptions = {}): string {
  const lists = digestLists(summary, options);
  const label = labelOf(summary, options);
  const c = summary.coverage;
  const t = summary.totals;
  const out: string[] = [];
  out.push(`IAM credential digest: ${clean(label)}, ${dateOf(summary)}`);
  out.push(
    `${fmt(t.accounts)} accounts, ${fmt(t.users)} users, ${fmt(t.accessKeys)} access keys (${fmt(t.activeAccessKeys)} active), ${fmt(t.usersWithFindings)} users with findings.`,
  );
  out.push('', `Coverage (${c.complete ? 'complete' : 'INCOMPLETE'}): ${coverageLine(summary)}.`);
  for (const entry of lists.coverage.shown) out.push(`  ${coverageText(entry)}`);
  out.push(...textMore(lists.coverage));
  out.push('', 'Findings:', findingsTextTable(summary));
  const keys = lists.riskiestKeys;
  if (keys.shown.length + keys.hidden > 0) {
    out.push('', 'Riskiest active keys:');
    if (keys.shown.length > 0) {
      out.push(
        textTable(
          keys.shown.map((k) => [
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
    out.push(...textMore(keys));
  }
  out.push(...groupsText('By organizational unit', lists.byOu));
  out.push(...groupsText(`By tag ${clean(summary.byTag.key)}`, lists.byTag));
  out.push(...deltaText(summary, lists.delta));
  const w = lists.warnings;
  if (w.shown.length + w.hidden > 0) {
    out.push('', 'Warnings:', ...w.shown.map((line) => `  - ${clean(line)}`), ...textMore(w));
  }
  return `${out.join('\n')}\n`;
}
