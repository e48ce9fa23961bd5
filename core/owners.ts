/**
 * Account owners and who gets a per-owner digest (docs/ARCHITECTURE.md §6 "Owner digests"). Pure: the
 * alternate contacts arrive already fetched (collector/alternate-contacts.ts, cached in org/metadata.json),
 * "now" is never read.
 *
 * An account's owner is, in this order: the first configured account tag (`ownerTagKeys`, default
 * `Owner`) holding an acceptable address, else the account's alternate SECURITY contact, else
 * `defaultOwner`. Every candidate address is checked the same way: one sane email syntax, then its domain
 * against `ownerAllowedDomains` (exact domains, compared in lower case). A candidate that fails is
 * refused (listed in the central digest as "owner address refused") and the next source is tried, so an
 * outside address in a tag can never receive the organization's findings, and the account still reaches
 * a legitimate owner when there is one.
 */
import { createHash } from 'node:crypto';
import { displayCell } from './cap-rows';
import type { Severity } from './finding-ids';
import { severityRank, SEVERITIES } from './finding-ids';
import type { Summary } from './summary';
import type { OrgMetadata } from './types';

/** `ownerDigests`: off (default), dry-run (written to latest/owners/), send (SES). */
export const OWNER_DIGEST_MODES = ['off', 'dry-run', 'send'] as const;
export type OwnerDigestMode = (typeof OWNER_DIGEST_MODES)[number];

/** Default `ownerTagKeys`. */
export const DEFAULT_OWNER_TAG_KEYS: readonly string[] = ['Owner'];
/** Default `ownerMinSeverity`. */
export const DEFAULT_OWNER_MIN_SEVERITY: Severity = 'high';
/** Most refusals and mail failures listed in summary.json (their counts are always exact). */
export const OWNER_LIST_LIMIT = 100;
/** The longest address accepted (RFC 5321's path limit). */
export const MAX_ADDRESS_CHARS = 254;

/** What decides each account's owner. */
export interface OwnerPolicy {
  /** Account tag keys tried in order. */
  readonly tagKeys: readonly string[];
  /** The owner of accounts no tag or contact names (must itself pass the checks). */
  readonly defaultOwner?: string;
  /** Domains an owner address may have (exact, case-insensitive); empty: any domain (CLI only). */
  readonly allowedDomains: readonly string[];
}

/** The alternate SECURITY contact of one account as last read (cached with the org metadata). */
export type AlternateContact =
  | { readonly status: 'found'; readonly email: string; readonly fetchedAt: string }
  | { readonly status: 'none'; readonly fetchedAt: string }
  /** `denied`: AccessDenied (not the management account or delegated admin, trusted access off); `failed`: anything else. */
  | { readonly status: 'denied' | 'failed'; readonly detail: string; readonly fetchedAt: string };

export type OwnerSource = 'tag' | 'alternate-contact' | 'default';

/** An owner candidate that was not accepted. */
export interface RefusedOwner {
  readonly accountId: string;
  readonly accountName?: string;
  readonly source: OwnerSource;
  /** The tag key, for a tag. */
  readonly tagKey?: string;
  /** The refused value, cut for display (escaped by the renderer like every value). */
  readonly value: string;
  readonly reason: 'invalid-address' | 'domain-not-allowed';
}

export interface AccountOwner {
  readonly owner: string;
  readonly source: OwnerSource;
}

export interface OwnerResolution {
  /** Account id → its owner; accounts without one are absent. */
  readonly byAccount: ReadonlyMap<string, AccountOwner>;
  /** Every refused candidate, in account order. */
  readonly refused: readonly RefusedOwner[];
  /** Accounts (of the metadata) without an owner. */
  readonly unowned: readonly string[];
}

// One sane syntax, not RFC 5322: dot-atom local part, a dotted domain of LDH labels, a letter TLD.
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const TLD = /^[a-z]{2,63}$/;

/** A domain as `ownerAllowedDomains` accepts it: lower case LDH labels, at least two. */
export function isValidDomain(domain: string): boolean {
  const labels = domain.split('.');
  return (
    domain.length <= 253 &&
    labels.length >= 2 &&
    labels.every((l) => LABEL.test(l)) &&
    TLD.test(labels[labels.length - 1] ?? '')
  );
}

/**
 * The address in canonical form (trimmed, lower case), or undefined when it is not one plain address
 * (`Name <a@b>`, lists, quoted local parts and IP literals are all refused).
 */
export function normaliseAddress(raw: string): string | undefined {
  const text = raw.trim().toLowerCase();
  if (text.length === 0 || text.length > MAX_ADDRESS_CHARS) return undefined;
  const at = text.lastIndexOf('@');
  if (at <= 0 || text.indexOf('@') !== at) return undefined;
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (local.length > 64 || !LOCAL.test(local) || !isValidDomain(domain)) return undefined;
  return text;
}

/** Whether `address` (normalised) is at one of `allowedDomains` (empty: every domain). */
export function isAllowedDomain(address: string, allowedDomains: readonly string[]): boolean {
  if (allowedDomains.length === 0) return true;
  const domain = address.slice(address.lastIndexOf('@') + 1);
  return allowedDomains.some((d) => d.toLowerCase() === domain);
}

type Check =
  | { readonly ok: true; readonly address: string }
  | { readonly ok: false; readonly reason: RefusedOwner['reason'] };

/** The checks every owner candidate passes: syntax, then domain. */
export function checkOwnerAddress(raw: string, allowedDomains: readonly string[]): Check {
  const address = normaliseAddress(raw);
  if (address === undefined) return { ok: false, reason: 'invalid-address' };
  if (!isAllowedDomain(address, allowedDomains)) return { ok: false, reason: 'domain-not-allowed' };
  return { ok: true, address };
}

/**
 * Each account's owner (see the module comment for the order and the checks). `contacts`: the cached
 * alternate SECURITY contacts by account id (absent or not `found`: no contact).
 */
export function resolveOwners(
  metadata: OrgMetadata | undefined,
  contacts: Readonly<Record<string, AlternateContact>> | undefined,
  policy: OwnerPolicy,
): OwnerResolution {
  const byAccount = new Map<string, AccountOwner>();
  const refused: RefusedOwner[] = [];
  const unowned: string[] = [];
  const fallback =
    policy.defaultOwner !== undefined
      ? checkOwnerAddress(policy.defaultOwner, policy.allowedDomains)
      : undefined;
  for (const account of [...(metadata?.accounts ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const refuse = (
      source: OwnerSource,
      value: string,
      reason: RefusedOwner['reason'],
      tagKey?: string,
    ): void => {
      refused.push({
        accountId: account.id,
        ...(account.name ? { accountName: account.name } : {}),
        source,
        ...(tagKey !== undefined ? { tagKey } : {}),
        value: displayCell(value, 100),
        reason,
      });
    };
    let found: AccountOwner | undefined;
    for (const key of policy.tagKeys) {
      const value = account.tags[key];
      if (value === undefined || value.trim() === '') continue;
      const check = checkOwnerAddress(value, policy.allowedDomains);
      if (check.ok) {
        found = { owner: check.address, source: 'tag' };
        break;
      }
      refuse('tag', value, check.reason, key);
    }
    const contact = contacts?.[account.id];
    if (!found && contact?.status === 'found') {
      const check = checkOwnerAddress(contact.email, policy.allowedDomains);
      if (check.ok) found = { owner: check.address, source: 'alternate-contact' };
      else refuse('alternate-contact', contact.email, check.reason);
    }
    if (!found && fallback?.ok) found = { owner: fallback.address, source: 'default' };
    if (found) byAccount.set(account.id, found);
    else unowned.push(account.id);
  }
  return { byAccount, refused, unowned };
}

/** What an owner's own summary says about whether they get mail. */
export interface OwnerActivity {
  /** Open findings per severity in their accounts. */
  readonly openFindings: Readonly<Record<Severity, number>>;
  /** Findings new since the previous run in their accounts (undefined: no previous run). */
  readonly newFindings?: number;
  /** Their keys the staged deactivation has at final notice or due (undefined: the feature is off). */
  readonly keysNearDeactivation?: number;
  /** Their keys an agent deactivated, or failed to, since the previous run. */
  readonly keysActedOn?: number;
}

/** What an owner's own summary holds to act on (core/merge.ts partitions, with their remediation). */
export function ownerActivityOf(summary: Summary): OwnerActivity {
  const r = summary.remediation;
  return {
    openFindings: summary.totals.openFindings,
    ...(summary.delta ? { newFindings: summary.delta.newFindings.count } : {}),
    ...(r
      ? {
          keysNearDeactivation: r.planned['final-notice'] + r.planned.deactivate,
          keysActedOn: r.log.deactivated + r.log.failed,
        }
      : {}),
  };
}

/**
 * Whether an owner gets a digest: open findings at or above `minSeverity`, findings new since the previous
 * run, a key of theirs at final notice or due for deactivation, or a key an agent deactivated (or failed to)
 * since the previous run. So an owner hears of a deactivation from the final notice on, whatever the
 * severity of `credential-unused`, and is told when it is done. Nothing to act on: no mail (an owner is not
 * told daily that all is well).
 */
export function ownerGetsDigest(activity: OwnerActivity, minSeverity: Severity): boolean {
  const limit = severityRank(minSeverity);
  const open = SEVERITIES.filter((s) => severityRank(s) <= limit).reduce(
    (n, s) => n + activity.openFindings[s],
    0,
  );
  return (
    open > 0 ||
    (activity.newFindings ?? 0) > 0 ||
    (activity.keysNearDeactivation ?? 0) > 0 ||
    (activity.keysActedOn ?? 0) > 0
  );
}

/**
 * A safe object/file name for an owner address: the address with every character outside
 * `[a-z0-9._@+-]` replaced by `_`, plus 8 hex digits of its SHA-256 so two addresses never share a file.
 */
export function ownerFileName(address: string): string {
  const safe = address
    .toLowerCase()
    .replace(/[^a-z0-9._@+-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 120);
  const hash = createHash('sha256').update(address).digest('hex').slice(0, 8);
  return `${safe}-${hash}.html`;
}

/** One owner mail that could not be sent (after its retries). */
export interface OwnerMailFailure {
  readonly owner: string;
  readonly error: string;
}

/** summary.json's `owners`: how the accounts were assigned and what the owner digests did. */
export interface OwnersSummary {
  readonly mode: OwnerDigestMode;
  /** Minimum severity that makes an owner's open findings worth a mail. */
  readonly minSeverity: Severity;
  /** Distinct owners with at least one account. */
  readonly owners: number;
  readonly accountsWithOwner: number;
  readonly accountsWithoutOwner: number;
  readonly bySource: Readonly<Record<OwnerSource, number>>;
  /** Refused candidates: `count` exact, `items` the first OWNER_LIST_LIMIT. */
  readonly refused: { readonly count: number; readonly items: readonly RefusedOwner[] };
  /** Alternate contacts that could not be read (AccessDenied, other failures). */
  readonly contactsUnreadable: { readonly denied: number; readonly failed: number };
  /** Owners whose accounts have something to act on (a mail is due). */
  readonly due: number;
  /** Mails sent (send) or written to latest/owners/ (dry-run). */
  readonly delivered: number;
  readonly failed: { readonly count: number; readonly items: readonly OwnerMailFailure[] };
}

/** The owners section before any mail: resolution and contact counts (delivery fields zero). */
export function ownersSummaryOf(
  mode: OwnerDigestMode,
  minSeverity: Severity,
  resolution: OwnerResolution,
  contacts: Readonly<Record<string, AlternateContact>> | undefined,
): OwnersSummary {
  const bySource: Record<OwnerSource, number> = { tag: 0, 'alternate-contact': 0, default: 0 };
  for (const { source } of resolution.byAccount.values()) bySource[source]++;
  let denied = 0;
  let failed = 0;
  for (const c of Object.values(contacts ?? {})) {
    if (c.status === 'denied') denied++;
    else if (c.status === 'failed') failed++;
  }
  return {
    mode,
    minSeverity,
    owners: new Set([...resolution.byAccount.values()].map((o) => o.owner)).size,
    accountsWithOwner: resolution.byAccount.size,
    accountsWithoutOwner: resolution.unowned.length,
    bySource,
    refused: { count: resolution.refused.length, items: resolution.refused.slice(0, OWNER_LIST_LIMIT) },
    contactsUnreadable: { denied, failed },
    due: 0,
    delivered: 0,
    failed: { count: 0, items: [] },
  };
}

/** The owners section with the delivery outcome. */
export function withDelivery(
  owners: OwnersSummary,
  delivery: {
    readonly due: number;
    readonly delivered: number;
    readonly failures: readonly OwnerMailFailure[];
  },
): OwnersSummary {
  return {
    ...owners,
    due: delivery.due,
    delivered: delivery.delivered,
    failed: { count: delivery.failures.length, items: delivery.failures.slice(0, OWNER_LIST_LIMIT) },
  };
}

/** The owners whose digest is due ({@link ownerGetsDigest}) with their summaries, by address. */
export function dueOwners(
  partitions: ReadonlyMap<string, Summary>,
  minSeverity: Severity,
): [owner: string, summary: Summary][] {
  return [...partitions.entries()]
    .filter(([, summary]) => ownerGetsDigest(ownerActivityOf(summary), minSeverity))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
