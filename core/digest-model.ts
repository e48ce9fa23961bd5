/**
 * What the digest says, independent of how it is drawn: the sections in their order, the headline
 * figures, and every list capped once (core/cap-rows.ts), so that the HTML (core/digest-html.ts) and the
 * plain text (core/digest-text.ts) show the same sections in the same order with the same "and N more"
 * (docs/ARCHITECTURE.md §6 "Digest"). Everything here reads a summary.json-shaped {@link Summary}.
 */
import { capRows, CappedRows, displayCell } from './cap-rows';
import { CIS_FIELD } from './finding-ids';
import {
  ORG_FINDING_CONTROLS,
  ORG_FINDING_IDS,
  ORG_FINDING_TITLES,
  type OrgFindingId,
  rootAccessLine,
} from './org-findings';
import { EXPIRING_SOON_DAYS, exemptionsProblemText } from './exemptions';
import type { DeltaList, FindingChange, KeyRef, StoppedReporting, UserRef } from './delta-types';
import {
  AGE_CAP_DAYS,
  AGE_POINTS,
  PRIVILEGE_POINTS,
  SEVERITY_POINTS,
  type ControlCompliance,
  type GroupSummary,
  type RiskyKey,
  type Summary,
} from './summary';
import type { AuditRecordView, PlannedKeyView } from './deactivation';
import { CoverageEntry, FINDING_IDS, FindingId } from './types';
import type { RefusedOwner } from './owners';

/** Rows shown per list of the digest (the most important first); the rest are counted in "and N more". */
export interface DigestLimits {
  readonly coverageEntries: number;
  /** Rows of "top risks" (active keys with findings). */
  readonly riskiestKeys: number;
  /** Per breakdown (by OU, by tag value). */
  readonly groups: number;
  /** Per list of changes since the previous run. */
  readonly deltaItems: number;
  /** Rows (CIS controls) of the compliance table. */
  readonly complianceControls: number;
  readonly warnings: number;
  /** Per list of the staged deactivation (planned keys, the agents' records). @default 50 */
  readonly remediation?: number;
}

/** Default rows per list. */
export const DIGEST_LIMITS: DigestLimits = {
  coverageEntries: 100,
  riskiestKeys: 50,
  groups: 30,
  deltaItems: 20,
  complianceControls: 20,
  warnings: 10,
};

/** Where the whole of a capped list can be read; named in its "and N more — see …" line. */
export interface FullListsAt {
  /** Users, keys and findings (top risks, new users, keys and findings): the merged CSV. */
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
  'key-quarantined': 'Key exposed: AWS quarantined the user (V3 still allows s3:GetObjectVersion)',
  'root-hardware-mfa-missing': 'Root user MFA is virtual, not hardware',
  'password-policy-weak-length': 'Password policy allows passwords shorter than 14',
  'password-policy-no-reuse-prevention': 'Password policy does not prevent reuse of the last 24',
  'user-direct-policies': 'User with policies attached directly, not through groups',
};

/** The sections of both bodies, in the order they are shown (HTML `data-section` ids). */
export const DIGEST_SECTIONS = [
  'headline',
  'changes',
  'risks',
  'remediation',
  'coverage',
  'compliance',
  'by-ou',
  'by-tag',
  'owners',
  'warnings',
] as const;
export type DigestSectionId = (typeof DIGEST_SECTIONS)[number];

/** Section headings (the headline has the document title instead); `by-tag` names its tag key. */
export function sectionTitle(id: Exclude<DigestSectionId, 'headline'>, summary: Summary): string {
  switch (id) {
    case 'changes':
      return 'What changed since the previous run';
    case 'risks':
      return 'Top risks';
    case 'remediation':
      return `Staged deactivation (${summary.remediation?.mode === 'enforce' ? 'enforced' : 'dry run'})`;
    case 'coverage':
      return 'Coverage problems';
    case 'compliance':
      return 'CIS compliance';
    case 'by-ou':
      return 'By organizational unit';
    case 'by-tag':
      return `By tag ${summary.byTag.key}`;
    case 'owners':
      return 'Owner digests';
    case 'warnings':
      return 'Warnings';
  }
}

export const fmt = (n: number): string => n.toLocaleString('en-US');

/** `1 day`, `2 days`, `1,024 users`: the count with the noun in the right number. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmt(n)} ${n === 1 ? one : many}`;
}

/** `today`, `1 day ago`, `12 days ago`; `never` when there is no date. */
export function daysAgo(days: number | undefined): string {
  if (days === undefined) return 'never';
  return days <= 0 ? 'today' : `${plural(days, 'day')} ago`;
}

/** `last used 3 days ago`, `never used`. */
export function lastUsed(days: number | undefined): string {
  return days === undefined ? 'never used' : `last used ${daysAgo(days)}`;
}

/**
 * One number of the headline. `value` is undefined when it cannot be known (new and resolved on a first
 * run). The browser test (test/browser) checks each shown value against summary.json.
 */
export interface HeadlineFigure {
  readonly id: 'open' | 'new' | 'resolved' | 'reporting' | 'expected';
  readonly label: string;
  readonly value?: number;
}

/**
 * Open findings: user-level findings org-wide (a user with two findings counts twice, as in the email's
 * subject). Integration point for severity (issue 13 item 1): when findings carry a severity, this
 * becomes the open critical and high findings and its label says so.
 */
export function openFindingsFigure(summary: Summary): HeadlineFigure {
  // What a team acts on first: open critical and high findings (the rows of findings.csv at those severities).
  const o = summary.totals.openFindings;
  return { id: 'open', label: 'open critical or high findings', value: o.critical + o.high };
}

/** The headline, in its order: open, new since the previous run, resolved, accounts reporting of expected. */
export function headlineFigures(summary: Summary): readonly HeadlineFigure[] {
  const d = summary.delta;
  return [
    openFindingsFigure(summary),
    { id: 'new', label: 'new since the previous run', ...(d ? { value: d.newFindings.count } : {}) },
    { id: 'resolved', label: 'resolved', ...(d ? { value: d.resolvedFindings.count } : {}) },
    { id: 'reporting', label: 'accounts reporting', value: summary.coverage.reporting },
    { id: 'expected', label: 'expected', value: summary.coverage.expected },
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
  const unattributed = c.unattributed ? `, ${plural(c.unattributed, 'input')} naming no account` : '';
  return `${fmt(c.reporting)} of ${plural(c.expected, 'expected account')} reporting, ${fmt(c.missing)} missing${stale}${unattributed}`;
}

/**
 * `SCPs known for 40 accounts, unknown for 2, 1 exempt (management); 3 privilege flags cleared by SCPs or
 * RCPs` (the coverage section of both bodies). Summaries written before SCPs were read have no such counts:
 * nothing is said.
 */
export function controlPolicyLine(summary: Summary): string | undefined {
  const c = summary.controlPolicies as Summary['controlPolicies'] | undefined;
  if (!c) return undefined;
  const cleared = Object.values(c.flagsCleared).reduce((a, b) => a + b, 0);
  return `SCPs known for ${plural(c.accountsKnown, 'account')}, unknown for ${fmt(c.accountsUnknown)}, ${fmt(c.accountsExempt)} exempt (management); ${plural(cleared, 'privilege flag')} cleared by SCPs or RCPs`;
}

/**
 * `Root credentials (a password, an access key or a signing certificate) present in 1 account, none in 2,
 * unknown in 4; password policy: below CIS in 1, missing in 0, unknown in 5` (the coverage section of both
 * bodies): what the root users hold — the account facts where they say, else the credential report's root row,
 * the rule of the organization line — and how much of the organization the facts do not cover yet. Summaries
 * written before the facts were read say nothing.
 */
export function accountFactsLine(summary: Summary): string | undefined {
  const f = summary.accountFacts as Summary['accountFacts'] | undefined;
  if (!f) return undefined;
  const r = f.rootCredentials;
  const p = f.passwordPolicy;
  return (
    `Root credentials (a password, an access key or a signing certificate) present in ${plural(r.present, 'account')}, none in ${fmt(r.none)}, unknown in ${fmt(r.unknown)}; ` +
    `password policy: below CIS in ${fmt(p.belowCis)}, missing in ${fmt(p.missing)}, unknown in ${fmt(p.unknown)}`
  );
}

/**
 * The headline's organization line (`Root access: centrally managed · 3 member accounts still hold root
 * credentials`, core/org-findings.ts); undefined when root access was never read.
 */
export function organizationLine(summary: Summary): string | undefined {
  return rootAccessLine(summary.organization);
}

/**
 * The coverage section's note when centralized root access could not be read from this account: a gap,
 * never a pass (docs/ARCHITECTURE.md §12).
 */
export function rootAccessCoverageLine(summary: Summary): string | undefined {
  const r = summary.organization?.rootAccess;
  if (r?.state !== 'unreadable') return undefined;
  return `Centralized root access (IAM ListOrganizationsFeatures): not readable from this account${r.detail ? ` (${r.detail})` : ''}; root-access-not-centralized and member-root-credentials-present not evaluated`;
}

/**
 * `Chat summary: published · finding events: 12 of 12 new critical/high put` (the coverage section of both
 * bodies): what the digest's notifications did this run, failures named (docs/ARCHITECTURE.md §6 "Chat and
 * routing"). Nothing when neither is configured.
 */
export function notificationsLine(summary: Summary): string | undefined {
  const n = summary.notifications;
  if (!n) return undefined;
  const parts: string[] = [];
  if (n.chat !== 'off') {
    parts.push(
      n.chat === 'published' ? 'Chat summary: published' : `Chat summary: FAILED (${n.chatError ?? 'error'})`,
    );
  }
  const ev = n.events;
  if (ev.state === 'first-run') parts.push('finding events: none (first run, nothing to compare with)');
  else if (ev.state !== 'off') {
    const truncated = ev.truncated > 0 ? `, ${fmt(ev.truncated)} over the cap summarised in one event` : '';
    const failed =
      ev.failed > 0 ? `; ${plural(ev.failed, 'event')} FAILED${ev.error ? ` (${ev.error})` : ''}` : '';
    parts.push(
      `finding events: ${plural(ev.put, 'event')} put for ${fmt(ev.newFindings)} new critical/high${truncated}${failed}`,
    );
  }
  if (parts.length === 0) return undefined;
  const line = parts.join(' · ');
  return line.charAt(0).toUpperCase() + line.slice(1);
}

/**
 * `4 exempted findings, 1 expiring within 14 days; 2 reopened (exemption expired: old-ci); 1 entry matched
 * nothing: legacy-bot; 1 entry rejected: …` (the headline of both bodies and the console). Undefined when
 * the run had no exemptions at all.
 */
export function exemptionsLine(summary: Summary): string | undefined {
  const x = summary.exemptions;
  if (!x || (x.entries === 0 && x.problem === undefined)) return undefined;
  const c = x.counts;
  const ids = (list: readonly { id: string }[]): string => {
    const shown = list.slice(0, 10).map((e) => e.id);
    return `${shown.join(', ')}${list.length > shown.length ? ` and ${fmt(list.length - shown.length)} more` : ''}`;
  };
  const parts = [
    `${plural(c.exempted, 'exempted finding')}, ${fmt(c.expiringSoon)} expiring within ${EXPIRING_SOON_DAYS} days`,
  ];
  if (c.reopened > 0 || c.expiredEntries > 0) {
    parts.push(
      `${fmt(c.reopened)} reopened (${plural(c.expiredEntries, 'entry', 'entries')} expired: ${ids(x.expired.map((e) => ({ id: `${e.id} on ${e.expiredOn}` })))})`,
    );
  }
  if (c.unmatchedEntries > 0) {
    parts.push(`${plural(c.unmatchedEntries, 'entry', 'entries')} matched nothing: ${ids(x.unmatched)}`);
  }
  if (c.rejectedEntries > 0) {
    parts.push(
      `${plural(c.rejectedEntries, 'entry', 'entries')} rejected (expires more than ${fmt(x.maxDays)} days ahead): ${ids(x.rejected)}`,
    );
  }
  return `Exemptions: ${parts.join('; ')}`;
}

/** The exemptions file problem shown at the top of the digest and in its coverage section; undefined when none. */
export function exemptionsProblemLine(summary: Summary): string | undefined {
  const x = summary.exemptions;
  return x?.problem === undefined ? undefined : exemptionsProblemText(x);
}

/** `… and 49,980 more — see the attached CSV.`: the same words in both bodies. */
export function moreLine(hidden: number, where: string): string {
  return `… and ${fmt(hidden)} more — see ${where}.`;
}

export function keyLabel(k: { accessKeyId?: string; keySlot?: number }): string {
  return k.accessKeyId ?? (k.keySlot !== undefined ? `slot ${k.keySlot}` : '');
}

/** How many characters of a proving path the top risks show (the whole path is in the CSVs). */
export const RISK_PATH_CHARS = 160;

/**
 * The proving paths of a top-risk key, as the digest shows them: `admin: …` and `data: …`, each cut to
 * RISK_PATH_CHARS (core/privilege-paths.ts; the CSVs' admin_path and data_read_path). Empty: none.
 */
export function riskPaths(k: Pick<RiskyKey, 'adminPath' | 'dataReadPath'>): string[] {
  return [
    ...(k.adminPath ? [`admin: ${displayCell(k.adminPath, RISK_PATH_CHARS)}`] : []),
    ...(k.dataReadPath ? [`data: ${displayCell(k.dataReadPath, RISK_PATH_CHARS)}`] : []),
  ];
}

/**
 * A new or resolved finding as the digest shows it: its severity, and its age (`ageDays`, from the run
 * state's first-seen time) when some row's is above 0 — a resolved finding's time open; a new one is 0.
 * `ownerTag` is shown when the data carries it; summary.json holds no account tags, so today's delta does
 * not, and the digest then leaves the owner column out.
 */
export interface FindingChangeView extends FindingChange {
  readonly ownerTag?: string;
}

/** A capped list and where its whole can be read. */
export interface ListView<T> extends CappedRows<T> {
  readonly where: string;
}

export interface DeltaViews {
  readonly newFindings: ListView<FindingChangeView>;
  readonly resolvedFindings: ListView<FindingChangeView>;
  readonly stopped: ListView<StoppedReporting>;
  readonly newUsers: ListView<UserRef>;
  readonly removedUsers: ListView<UserRef>;
  readonly newKeys: ListView<KeyRef>;
  readonly removedKeys: ListView<KeyRef>;
}

/** Every list either body shows, capped once, so the HTML and the text say the same "and N more". */
export interface DigestLists {
  readonly coverage: ListView<CoverageEntry>;
  readonly risks: ListView<RiskyKey>;
  readonly byOu: ListView<GroupSummary>;
  readonly byTag: ListView<GroupSummary>;
  /** The per-control compliance table, in CIS order (summary.json `compliance`). */
  readonly compliance: ListView<ControlCompliance>;
  readonly delta?: DeltaViews;
  readonly warnings: ListView<string>;
  /** Staged deactivation (summary.json `remediation`), when the feature is on. */
  readonly remediation?: {
    readonly keys: ListView<PlannedKeyView>;
    readonly records: ListView<AuditRecordView>;
  };
}

/** Groups with the most users with findings first (ties by name). */
function byFindings(groups: readonly GroupSummary[]): GroupSummary[] {
  return [...groups].sort(
    (a, b) =>
      b.usersWithFindings - a.usersWithFindings || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0),
  );
}

/**
 * Top risks: the ranked active keys that carry a finding (a key without one is no risk to act on), in
 * summary.json's rank order. Their whole is every active key with a finding (the CSV has them all).
 */
function riskRows(summary: Summary): { rows: RiskyKey[]; total: number } {
  const rows = summary.riskiestKeys.filter((k) => k.findings.length > 0);
  return { rows, total: Math.max(rows.length, summary.totals.activeKeysWithFindings) };
}

export function digestLists(summary: Summary, options: DigestOptions): DigestLists {
  const limits = options.limits ?? DIGEST_LIMITS;
  const at = options.fullListsAt ?? OUTPUT_FILES_AT;
  const view = <T>(rows: readonly T[], limit: number, where: string, total = rows.length): ListView<T> => ({
    ...capRows(rows, limit, total),
    where,
  });
  const d = summary.delta;
  const deltaView = <T>(list: DeltaList<T>, where: string): ListView<T> =>
    view(list.items, limits.deltaItems, where, list.count);
  const risks = riskRows(summary);
  return {
    coverage: view(summary.coverage.entries, limits.coverageEntries, at.summary),
    risks: view(risks.rows, limits.riskiestKeys, at.csv, risks.total),
    byOu: view(byFindings(summary.byOu), limits.groups, at.summary),
    byTag: view(byFindings(summary.byTag.values), limits.groups, at.summary),
    compliance: view(complianceRows(summary).controls, limits.complianceControls, at.summary),
    ...(d
      ? {
          delta: {
            newFindings: deltaView(d.newFindings, at.csv),
            resolvedFindings: deltaView(d.resolvedFindings, at.summary),
            stopped: deltaView(d.accountsStoppedReporting, at.summary),
            newUsers: deltaView(d.newUsers, at.csv),
            removedUsers: deltaView(d.removedUsers, at.summary),
            newKeys: deltaView(d.newKeys, at.csv),
            removedKeys: deltaView(d.removedKeys, at.summary),
          },
        }
      : {}),
    warnings: view(summary.warnings, limits.warnings, at.summary),
    ...(summary.remediation
      ? {
          remediation: {
            keys: view(
              summary.remediation.keys,
              limits.remediation ?? 50,
              at.summary,
              summary.remediation.planned.warn +
                summary.remediation.planned['final-notice'] +
                summary.remediation.planned.deactivate,
            ),
            records: view(
              summary.remediation.log.records,
              limits.remediation ?? 50,
              at.summary,
              summary.remediation.log.deactivated +
                summary.remediation.log.wouldDeactivate +
                summary.remediation.log.skipped +
                summary.remediation.log.failed,
            ),
          },
        }
      : {}),
  };
}

/**
 * The staged deactivation's summary lines (both bodies): this run's plan, what was spared, and what the
 * agents did since the previous run, each a sentence.
 */
export function remediationLines(summary: Summary): string[] {
  const r = summary.remediation;
  if (!r) return [];
  const p = r.planned;
  const l = r.log;
  return [
    `Planned: ${plural(p.deactivate, 'key')} due for deactivation${r.mode === 'dry-run' ? ' (dry run: nothing is deactivated)' : ''}, ${fmt(p['final-notice'])} on final notice, ${fmt(p.warn)} warned; ${plural(r.plansWritten, 'account plan')} written.`,
    `Spared: ${fmt(r.spared.optOut)} by the opt-out tag, ${fmt(r.spared.exempt)} by an exemption.`,
    `Since the previous run: ${fmt(l.deactivated)} deactivated, ${fmt(l.wouldDeactivate)} would have been (dry run), ${fmt(l.skipped)} skipped, ${fmt(l.failed)} failed.`,
    ...l.plansRefused.map(
      (x) =>
        `Account ${x.accountId}: the agent did not act on its plan (${x.plan === 'stale' ? 'too old' : 'invalid'}).`,
    ),
    ...l.unreadable.map((x) => `Account ${x.accountId}: audit log unreadable (${x.detail}).`),
    ...r.notPlanned.map((x) => `Account ${x.accountId}: not planned: ${x.detail}.`),
  ];
}

/** A finding outside CIS present in the run, for the compliance section's closing line. */
export interface OutsideCisRow {
  readonly id: FindingId;
  readonly users: number;
  readonly keys: number;
}

/**
 * The compliance section: summary.json's per-control table (accounts passing, failing and not evaluated
 * per CIS control in the run's `cisVersion`, in CIS order, like Security Hub's), and the findings that
 * map to no CIS control but are present (most users first), which the table cannot show. A summary
 * written before the table existed has no `compliance`: no controls.
 */
export function complianceRows(summary: Summary): {
  controls: readonly ControlCompliance[];
  outsideCis: OutsideCisRow[];
} {
  // Organization-scope rows (one verdict for the whole organization) have their own table: organizationComplianceRows.
  const controls = ((summary.compliance as Summary['compliance'] | undefined) ?? []).filter(
    (c) => c.scope !== 'organization',
  );
  const inTable = new Set(controls.flatMap((c) => c.findings));
  const outsideCis = FINDING_IDS.filter((id) => !inTable.has(id) && summary.findings[id]?.cis === undefined)
    .map((id) => ({ id, users: summary.findings[id]?.users ?? 0, keys: summary.findings[id]?.keys ?? 0 }))
    .filter((r) => r.users + r.keys > 0)
    .sort(
      (a, b) => b.users - a.users || b.keys - a.keys || FINDING_IDS.indexOf(a.id) - FINDING_IDS.indexOf(b.id),
    );
  return { controls, outsideCis };
}

/** The compliance table's caption, in both bodies: the benchmark version and what the counts mean. */
export function complianceCaption(summary: Summary): string {
  return `CIS AWS Foundations Benchmark ${summary.cisVersion}: accounts passing and failing each control, as Security Hub counts them (an account fails when any user or key has the finding); not evaluated: no usable report, or the report lacks the fact the control needs.`;
}

/**
 * How the top risks are ranked, in both bodies: summary.json's risk score (core/summary.ts `riskScore`),
 * its weights read from the same constants.
 */
export function riskRankCaption(): string {
  const s = SEVERITY_POINTS;
  const p = PRIVILEGE_POINTS;
  return `Active keys with findings, ranked by risk score (0–100): the most severe finding (critical ${s.critical}, high ${s.high}, medium ${s.medium}, low ${s.low}) + the user's power (root ${p.root}, admin ${p.admin}, data-read ${p.dataRead}) + the key's age (up to ${AGE_POINTS} at ${AGE_CAP_DAYS} days).`;
}

/** One organization finding in the compliance section: judged once for the whole organization. */
export interface OrgComplianceRow {
  readonly id: OrgFindingId;
  readonly title: string;
  /** Its CIS id in the run's numbering (v7.0.0 2.1.1 for root-access-not-centralized); absent: outside CIS. */
  readonly cis?: string;
  /** `pass`, `fail: 3 member accounts`, `not evaluated (…)`. */
  readonly verdict: string;
  /** Open findings of this id (rows of findings.csv): what the severity counts and `--fail-on` include. */
  readonly open: number;
}

/**
 * The compliance section's organization rows (core/org-findings.ts), in ORG_FINDING_IDS order; none when
 * centralized root access was never read (a summary of local files, or written before it existed).
 */
export function organizationComplianceRows(summary: Summary): OrgComplianceRow[] {
  const org = summary.organization;
  const state = org?.rootAccess.state;
  if (!org || state === undefined || state === 'not-read') return [];
  const field = CIS_FIELD[summary.cisVersion];
  return ORG_FINDING_IDS.map((id) => {
    const open = org.findings.filter((f) => f.id === id).length;
    let verdict: string;
    if (state === 'unreadable') verdict = 'not evaluated (not readable from this account)';
    else if (id === 'root-access-not-centralized') verdict = open > 0 ? 'fail' : 'pass';
    else if (state === 'not-centralized') verdict = 'not evaluated (root access not centralized)';
    else verdict = open > 0 ? `fail: ${plural(open, 'member account')}` : 'pass';
    const cis = field ? ORG_FINDING_CONTROLS[id][field] : undefined;
    return { id, title: ORG_FINDING_TITLES[id], ...(cis ? { cis } : {}), verdict, open };
  });
}

/** Account id → name, from summary.json's per-account list (for lists that carry only the id). */
export function accountNames(summary: Summary): ReadonlyMap<string, string> {
  const names = new Map<string, string>();
  for (const a of summary.byAccount) if (a.accountName) names.set(a.accountId, a.accountName);
  return names;
}

export function labelOf(summary: Summary, options: DigestOptions): string {
  return (
    options.organizationLabel ?? summary.organizationLabel ?? summary.organizationId ?? 'AWS Organization'
  );
}

export function dateOf(summary: Summary): string {
  return summary.generatedAt.slice(0, 10);
}

/** How a refused owner candidate reads: `tag Owner "x@outside.example"` / `alternate contact "…"`. */
function refusedLine(r: RefusedOwner): string {
  const what =
    r.source === 'tag'
      ? `tag ${r.tagKey ?? ''}`
      : r.source === 'alternate-contact'
        ? 'alternate security contact'
        : 'defaultOwner';
  const why =
    r.reason === 'invalid-address' ? 'not a plain email address' : 'domain not in ownerAllowedDomains';
  return `${r.accountId}${r.accountName ? ` (${r.accountName})` : ''}: owner address refused: ${what} ${JSON.stringify(r.value)} (${why})`;
}

/**
 * The owners section of the central digest (both bodies): how many accounts have an owner and from
 * where, what the owner digests did (mailed, written in a dry run, failed), every refused address and
 * every failed mail (capped at `limit`). Empty when the run had no owner digests (summary.owners absent).
 */
export function ownerLines(
  summary: Summary,
  limit = DIGEST_LIMITS.warnings * 2,
): { lines: string[]; items: string[]; hidden: number } {
  const o = summary.owners;
  if (!o) return { lines: [], items: [], hidden: 0 };
  const verb = o.mode === 'send' ? 'mailed' : 'written to latest/owners/ (dry run)';
  const lines = [
    `${plural(o.accountsWithOwner, 'account')} with an owner (${fmt(o.bySource.tag)} by tag, ${fmt(o.bySource['alternate-contact'])} by alternate security contact, ${fmt(o.bySource.default)} by default), ${fmt(o.accountsWithoutOwner)} without; ${plural(o.owners, 'owner')}.`,
    `${plural(o.due, 'owner digest')} due (open findings at ${o.minSeverity} or above, new findings, or keys at final notice, due or deactivated): ${fmt(o.delivered)} ${verb}, ${fmt(o.failed.count)} failed.`,
  ];
  if (o.refused.count > 0)
    lines.push(`${plural(o.refused.count, 'owner address', 'owner addresses')} refused.`);
  const c = o.contactsUnreadable;
  if (c.denied + c.failed > 0) {
    lines.push(
      `Alternate security contacts not readable for ${plural(c.denied + c.failed, 'account')} (${fmt(c.denied)} AccessDenied, ${fmt(c.failed)} other errors): the hub must be the management account or a delegated administrator for AWS Account Management.`,
    );
  }
  const all = [
    ...o.failed.items.map((f) => `owner digest to ${f.owner} failed: ${f.error}`),
    ...o.refused.items.map(refusedLine),
  ];
  const listed = o.failed.count + o.refused.count;
  const items = all.slice(0, limit);
  return { lines, items, hidden: listed - items.length };
}
