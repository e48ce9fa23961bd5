/**
 * findings.csv (docs/ARCHITECTURE.md §6): one row per open finding, long format, so a spreadsheet pivot or
 * an Athena query needs no string splitting. runMerge hands it every user and key it writes with the
 * findings evaluated for them; this module turns each finding into its row: severity and controls
 * (core/finding-ids.ts), when it was first seen (the previous run's state, core/delta.ts), its age in
 * whole days, a short detail ("unused 132 days") and, for the privilege findings, the proving path
 * (core/privilege-paths.ts: `admin_path` for privileged-key, `data_read_path` for data-read-key).
 */
import type { CsvWriter } from './csv-writer';
import { FINDING_CONTROLS, FINDING_SEVERITY, FindingControls, FindingId, Severity } from './finding-ids';
import { ORG_FINDING_CONTROLS, type OrgFinding, type OrgFindingId } from './org-findings';
import type { Thresholds } from './thresholds';
import { formatReportTime, wholeDaysBetweenMs } from './time';
import type { PrivilegePaths } from './privilege-paths';
import { NewFindingCollector } from './notifications';
import { expiredNote, type ExemptionOutcome } from './exemptions';
import { PasswordPolicyFact, PrivilegeKind, UserPrivileges } from './types';

/** What the detail of a user's or key's findings is written from (times in epoch ms). */
export interface FindingFacts {
  /** A key's creation (last rotation); undefined for a user's own findings or when unknown. */
  readonly keyCreatedMs?: number;
  /** A key's last use; undefined: never used (or a user's own findings). */
  readonly keyLastUsedMs?: number;
  /** A user's password last use; undefined: never used. */
  readonly passwordLastUsedMs?: number;
  /** A never-used password's last change (else the user's creation): what credential-unused counts from. */
  readonly passwordSetMs?: number;
  /** Active keys of the user (multiple-active-keys). */
  readonly activeKeys: number;
  readonly privileges?: UserPrivileges;
  /** The user's path columns (admin_path, data_read_path). */
  readonly paths?: PrivilegePaths;
  /** The account's password policy (account facts), for the password-policy findings of the root row. */
  readonly passwordPolicy?: PasswordPolicyFact;
}

/** Who a row is about: a user (no key) or one of its keys. */
export interface FindingSubject {
  readonly userName: string;
  readonly userArn: string;
  /** Empty when the key id is unknown (root keys, reports without a key inventory) or for a user's own findings. */
  readonly accessKeyId: string;
  readonly slot?: 1 | 2;
  /** True for rows of a key. */
  readonly isKey: boolean;
}

/** The account a finding is in, as the other outputs name it. */
export interface FindingAccount {
  /** 12 digits; for root-access-not-centralized the organization id (`o-…`). */
  readonly accountId: string;
  readonly accountName?: string;
  readonly ouPath?: string;
}

/**
 * One open finding as every finding output sees it (findings.csv's row, findings.ocsf.json's record,
 * a Security Hub finding): raw values, never CSV-neutralised.
 */
export interface OpenFinding extends FindingAccount {
  readonly findingId: FindingId | OrgFindingId;
  readonly severity: Severity;
  readonly controls: FindingControls;
  /** Absent for an organization finding. */
  readonly userName?: string;
  readonly userArn?: string;
  /** Empty when the key id is unknown or for a user's own findings. */
  readonly accessKeyId: string;
  readonly slot?: 1 | 2;
  /** ISO time the finding was first seen open on this user or key (this run's time when new). */
  readonly firstSeen: string;
  readonly detail: string;
  /** The proving path of privileged-key / data-read-key; empty elsewhere. */
  readonly path: string;
  /** An organization finding (core/org-findings.ts), not a user's or key's. */
  readonly organization: boolean;
}

/** Receives every open finding as it is written; a promise asks the writer to wait (backpressure). */
export type OpenFindingObserver = (finding: OpenFinding) => Promise<void> | undefined;

const DATA_KINDS: readonly PrivilegeKind[] = ['s3Read', 'rdsRead', 'dynamodbRead'];
const KIND_TEXT: Readonly<Record<PrivilegeKind, string>> = {
  admin: 'admin',
  s3Read: 'S3',
  rdsRead: 'RDS',
  dynamodbRead: 'DynamoDB',
};

function days(n: number): string {
  return n === 1 ? '1 day' : `${n} days`;
}

/** The `detail` cell of one finding: what a reader acts on, in a few words. */
export function findingDetail(
  id: FindingId,
  subject: Pick<FindingSubject, 'isKey'>,
  facts: FindingFacts,
  nowMs: number,
  thresholds: Thresholds,
): string {
  const since = (ms: number | undefined): number | undefined =>
    ms === undefined ? undefined : wholeDaysBetweenMs(ms, nowMs);
  const keyAge = since(facts.keyCreatedMs);
  const keyUnused = since(facts.keyLastUsedMs);
  switch (id) {
    case 'root-access-key':
      return keyAge === undefined ? 'active root access key' : `active root access key, ${days(keyAge)} old`;
    case 'root-mfa-disabled':
      return 'root user without MFA';
    case 'root-recently-used': {
      const used = subject.isKey ? keyUnused : since(facts.passwordLastUsedMs);
      const how = subject.isKey ? 'root access key' : 'root password';
      return used === undefined ? `${how} used` : `${how} used ${days(used)} ago`;
    }
    case 'console-without-mfa':
      return 'console password without MFA';
    case 'key-created-at-setup':
      return keyAge === undefined ? 'never used' : `never used, created ${days(keyAge)} ago`;
    case 'credential-unused': {
      if (subject.isKey) {
        if (keyUnused !== undefined) return `unused ${days(keyUnused)}`;
        return keyAge === undefined ? 'never used' : `never used, created ${days(keyAge)} ago`;
      }
      const used = since(facts.passwordLastUsedMs);
      if (used !== undefined) return `password unused ${days(used)}`;
      const set = since(facts.passwordSetMs);
      return set === undefined ? 'password never used' : `password never used, set ${days(set)} ago`;
    }
    case 'multiple-active-keys':
      return `${facts.activeKeys} active access keys`;
    case 'key-not-rotated':
      return keyAge === undefined
        ? `not rotated within ${days(thresholds.rotationDays)}`
        : `${days(keyAge)} old, rotate within ${days(thresholds.rotationDays)}`;
    case 'privileged-key':
      return 'active access key with admin power';
    case 'data-read-key': {
      const kinds = DATA_KINDS.filter((k) => facts.privileges?.[k]).map((k) => KIND_TEXT[k]);
      return `active access key that can read ${kinds.length > 0 ? kinds.join(', ') : 'data'}`;
    }
    case 'key-quarantined':
      return 'AWS attached a compromised-key quarantine policy: the key was exposed; rotate it';
    case 'root-hardware-mfa-missing':
      return 'root MFA is a virtual device, not a hardware one';
    case 'password-policy-weak-length': {
      const policy = facts.passwordPolicy;
      return policy?.present === true
        ? `password policy minimum length ${policy.minimumPasswordLength}, CIS asks 14 or more`
        : 'no password policy: minimum length is not set to 14 or more';
    }
    case 'password-policy-no-reuse-prevention': {
      const policy = facts.passwordPolicy;
      if (policy?.present !== true) return 'no password policy: password reuse is not prevented';
      return policy.passwordReusePrevention === undefined
        ? 'password reuse is not prevented, CIS asks the last 24'
        : `password policy remembers ${policy.passwordReusePrevention}, CIS asks the last 24`;
    }
    case 'user-direct-policies':
      return 'policies attached to the user directly, not through a group';
  }
}

/** The `path` cell: `admin_path` for privileged-key, `data_read_path` for data-read-key, else empty. */
export function findingPath(id: FindingId, paths: PrivilegePaths | undefined): string {
  if (id === 'privileged-key') return paths?.admin ?? '';
  if (id === 'data-read-key') return paths?.dataRead ?? '';
  return '';
}

/**
 * Writes the rows of findings.csv (when a sink was given) and counts every open finding under its
 * severity (always: summary.json's `totals.openFindings` is the number of rows findings.csv has or would have).
 */
export class FindingsCsv {
  private readonly nowMs: number;
  /** The run's time as ISO text (first-seen of the new-finding events and the state file). */
  private readonly nowIso: string;
  /** This run's time as a `first_seen` cell. */
  private readonly nowCell: string;

  constructor(
    private readonly csv: CsvWriter | undefined,
    now: Date,
    private readonly thresholds: Thresholds,
    /** Counts one open finding (SummaryBuilder.addOpenFinding). */
    private readonly count: (id: FindingId) => void,
    /**
     * Collects the new critical and high findings (chat and routing, core/notifications.ts); given only when
     * there is a previous run, since without one every finding would look new.
     */
    private readonly newFindings?: NewFindingCollector,
    /** Every open finding, for the other finding outputs (findings.ocsf.json, Security Hub). */
    private readonly observe?: OpenFindingObserver,
  ) {
    this.nowMs = now.getTime();
    this.nowCell = formatReportTime(this.nowMs);
    this.nowIso = now.toISOString();
  }

  /**
   * The rows of one user's own findings or one key's findings. `firstSeen(id)` gives the ISO time the
   * finding was first seen on this user or key (the previous run's state), undefined when it is new now.
   */
  async write(
    prefix: readonly string[],
    subject: FindingSubject,
    findings: readonly FindingId[],
    facts: FindingFacts,
    firstSeen: (id: FindingId) => string | undefined,
    account: FindingAccount,
    exemption?: ExemptionOutcome,
  ): Promise<void> {
    for (const id of findings) {
      this.count(id);
      if (this.newFindings && NewFindingCollector.notifies(id) && firstSeen(id) === undefined) {
        // prefix: the account columns, account_id then account_name (core/columns.ts).
        this.newFindings.add({
          accountId: prefix[0] ?? '',
          ...(prefix[1] ? { accountName: prefix[1] } : {}),
          userName: subject.userName,
          userArn: subject.userArn,
          ...(subject.accessKeyId !== '' ? { accessKeyId: subject.accessKeyId } : {}),
          ...(subject.slot !== undefined ? { keySlot: subject.slot } : {}),
          findingId: id,
          firstSeen: this.nowIso,
        });
      }
      if (!this.csv && !this.observe) continue;
      // Worded once for both outputs (findings.csv and the open-finding observer: OCSF, Security Hub).
      const text = {
        detail: findingDetail(id, subject, facts, this.nowMs, this.thresholds),
        path: findingPath(id, facts.paths),
      };
      if (this.observe) {
        const observed = this.observe({
          ...account,
          findingId: id,
          severity: FINDING_SEVERITY[id],
          controls: FINDING_CONTROLS[id],
          userName: subject.userName,
          userArn: subject.userArn,
          accessKeyId: subject.accessKeyId,
          ...(subject.slot !== undefined ? { slot: subject.slot } : {}),
          firstSeen: firstSeen(id) ?? this.nowIso,
          ...text,
          organization: false,
        });
        if (observed) await observed;
      }
      if (!this.csv) continue;
      const reopened = exemption?.reopened.find((r) => r.finding === id);
      const wait = this.row(prefix, subject, id, text, firstSeen, [
        '',
        reopened ? reopened.expiredOn : '',
        reopened ? `${expiredNote(reopened.expiredOn)} (${reopened.entry})` : '',
      ]);
      if (wait) await wait;
    }
    // Exempted findings get a row too, with exempted_by filled; they are not counted as open.
    if (!this.csv) return;
    for (const x of exemption?.exempted ?? []) {
      const text = {
        detail: findingDetail(x.finding, subject, facts, this.nowMs, this.thresholds),
        path: findingPath(x.finding, facts.paths),
      };
      const wait = this.row(prefix, subject, x.finding, text, firstSeen, [x.by.join('+'), x.expires, '']);
      if (wait) await wait;
    }
  }

  private row(
    prefix: readonly string[],
    subject: FindingSubject,
    id: FindingId,
    text: { readonly detail: string; readonly path: string },
    firstSeen: (id: FindingId) => string | undefined,
    exemptionCells: readonly string[],
  ): Promise<void> | undefined {
    const csv = this.csv as CsvWriter;
    const seen = firstSeen(id) ?? this.nowIso;
    const seenMs = Date.parse(seen);
    const controls = FINDING_CONTROLS[id];
    return csv.write([
      ...prefix,
      subject.userName,
      subject.userArn,
      subject.accessKeyId,
      subject.slot === undefined ? '' : String(subject.slot),
      id,
      FINDING_SEVERITY[id],
      controls.cisV4 ?? '',
      controls.cisV5 ?? '',
      controls.cisV6 ?? '',
      controls.cisV7 ?? '',
      controls.securityHub ?? '',
      // The state file keeps first-seen times as written by toISOString; the cell is in the one CSV form.
      Number.isNaN(seenMs) ? '' : formatReportTime(seenMs),
      Number.isNaN(seenMs) ? '' : String(wholeDaysBetweenMs(seenMs, this.nowMs)),
      text.detail,
      text.path,
      ...exemptionCells,
    ]);
  }

  /**
   * One organization finding's row: `prefix` holds the organization id (or the member account's columns);
   * user and key empty; first seen now (not carried across runs). Counted in summary.json by the
   * organization section, not through `count`.
   */
  async writeOrganization(
    prefix: readonly string[],
    finding: OrgFinding,
    account: FindingAccount,
  ): Promise<void> {
    const controls = ORG_FINDING_CONTROLS[finding.id];
    if (this.observe) {
      const observed = this.observe({
        ...account,
        findingId: finding.id,
        severity: finding.severity,
        controls,
        accessKeyId: '',
        firstSeen: this.nowIso,
        detail: finding.detail,
        path: '',
        organization: finding.id === 'root-access-not-centralized',
      });
      if (observed) await observed;
    }
    if (!this.csv) return;
    const wait = this.csv.write([
      ...prefix,
      '',
      '',
      '',
      '',
      finding.id,
      finding.severity,
      controls.cisV4 ?? '',
      controls.cisV5 ?? '',
      controls.cisV6 ?? '',
      controls.cisV7 ?? '',
      controls.securityHub ?? '',
      this.nowCell,
      '0',
      finding.detail,
      '',
      '',
      '',
      '',
    ]);
    if (wait) await wait;
  }
}
