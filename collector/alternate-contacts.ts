/**
 * The alternate SECURITY contact of the accounts whose owner no tag gives (core/owners.ts), read from the
 * hub with AWS Account Management `GetAlternateContact` and cached in org/metadata.json beside the tags.
 *
 * Call pattern: one call per account, and only for the accounts that need it (ACTIVE, no acceptable owner
 * tag), only when the cached answer is older than `maxAgeHours` (default a week: contacts change rarely)
 * or was a failure, oldest first, at most `maxCalls` per run and within `budgetMs`, at low concurrency,
 * each throttled call retried with backoff (collector/org-calls.ts `send`). So 10,000 accounts cost at
 * most `maxCalls` calls a day, and none once every answer is cached and fresh.
 *
 * A member account needs `AccountId`, and the hub must then be the management account or a delegated
 * administrator for Account Management (trusted access enabled); the hub's own account is asked without
 * `AccountId` (the management account may not name itself). ResourceNotFoundException: the account has
 * no such contact. AccessDenied: recorded per account (shown in the central digest), never fatal; after
 * `DENIED_CIRCUIT` denials without one success the run stops asking.
 */
import { AccountClient, GetAlternateContactCommand } from '@aws-sdk/client-account';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import { errorName, isAccessDenied, isNotFound } from '../core/aws-errors';
import { mapLimit, sleep as defaultSleep } from '../core/concurrency';
import type { AlternateContact } from '../core/owners';
import { send, type OrgCallContext } from './org-calls';

export const DEFAULT_CONTACT_MAX_AGE_HOURS = 168;
export const DEFAULT_CONTACT_MAX_CALLS = 2_000;
export const DEFAULT_CONTACT_CONCURRENCY = 3;
/** After this many AccessDenied answers without one success, stop asking in this run. */
const DENIED_CIRCUIT = 5;

export interface FetchAlternateContactsOptions {
  readonly account: AccountClient;
  /** Only for the shared call context's type (throttling retries and counting). */
  readonly organizations: OrganizationsClient;
  /** The accounts whose contact is wanted. */
  readonly accountIds: readonly string[];
  /** The hub's own account: asked without AccountId. */
  readonly ownAccountId: string;
  readonly now: Date;
  /** The contacts cached with the org metadata. */
  readonly cached?: Readonly<Record<string, AlternateContact>>;
  /** @default DEFAULT_CONTACT_MAX_AGE_HOURS */
  readonly maxAgeHours?: number;
  /** @default DEFAULT_CONTACT_MAX_CALLS */
  readonly maxCalls?: number;
  /** @default DEFAULT_CONTACT_CONCURRENCY */
  readonly concurrency?: number;
  /** No new call is started after this many ms. @default 60000 */
  readonly budgetMs?: number;
  readonly logger?: Logger;
  /** Retries of one call after the SDK gave up on throttling. @default 5 */
  readonly throttleRetries?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly clock?: () => number;
}

export interface AlternateContactsResult {
  /** Every cached or fetched contact of `accountIds` (accounts no longer asked for are dropped). */
  readonly contacts: Readonly<Record<string, AlternateContact>>;
  /** GetAlternateContact requests sent (retries included). */
  readonly calls: number;
  /** Non-fatal gaps, safe to show. */
  readonly warnings: readonly string[];
}

/** Reads (or reuses) the alternate SECURITY contact of each account in `accountIds`. */
export async function fetchAlternateContacts(
  opts: FetchAlternateContactsOptions,
): Promise<AlternateContactsResult> {
  const clock = opts.clock ?? (() => performance.now());
  const started = clock();
  const budgetMs = opts.budgetMs ?? 60_000;
  const maxAgeMs = (opts.maxAgeHours ?? DEFAULT_CONTACT_MAX_AGE_HOURS) * 3_600_000;
  const maxCalls = opts.maxCalls ?? DEFAULT_CONTACT_MAX_CALLS;
  const nowMs = opts.now.getTime();
  const nowIso = opts.now.toISOString();
  const calls: Record<string, number> = {};
  const ctx: OrgCallContext = {
    client: opts.organizations,
    calls,
    retries: opts.throttleRetries ?? 5,
    sleep: opts.sleep ?? defaultSleep,
    logger: opts.logger,
  };

  const contacts: Record<string, AlternateContact> = {};
  const due: { id: string; age: number }[] = [];
  for (const id of [...new Set(opts.accountIds)].sort()) {
    const cached = opts.cached?.[id];
    const fetchedMs = cached ? Date.parse(cached.fetchedAt) : Number.NaN;
    if (cached) contacts[id] = cached;
    const failed = cached?.status === 'denied' || cached?.status === 'failed';
    if (!cached || Number.isNaN(fetchedMs)) due.push({ id, age: Number.POSITIVE_INFINITY });
    else if (failed || nowMs - fetchedMs >= maxAgeMs) due.push({ id, age: nowMs - fetchedMs });
  }
  due.sort((a, b) => b.age - a.age || (a.id < b.id ? -1 : 1));
  const asked = due.slice(0, maxCalls);
  const overCap = due.length - asked.length;

  let denied = 0;
  let succeeded = 0;
  let circuitOpen = false;
  let skipped = 0;
  await mapLimit(asked, opts.concurrency ?? DEFAULT_CONTACT_CONCURRENCY, async ({ id }) => {
    if (circuitOpen || clock() - started > budgetMs) {
      skipped++;
      return;
    }
    try {
      const own = id === opts.ownAccountId;
      const response = await send(ctx, 'GetAlternateContact', () =>
        opts.account.send(
          new GetAlternateContactCommand({
            AlternateContactType: 'SECURITY',
            ...(own ? {} : { AccountId: id }),
          }),
        ),
      );
      succeeded++;
      const email = response.AlternateContact?.EmailAddress;
      contacts[id] =
        email !== undefined && email.trim() !== ''
          ? { status: 'found', email: email.slice(0, 320), fetchedAt: nowIso }
          : { status: 'none', fetchedAt: nowIso };
    } catch (error) {
      if (isNotFound(error) || errorName(error) === 'ResourceNotFoundException') {
        succeeded++;
        contacts[id] = { status: 'none', fetchedAt: nowIso };
      } else if (isAccessDenied(error)) {
        denied++;
        if (succeeded === 0 && denied >= DENIED_CIRCUIT) circuitOpen = true;
        contacts[id] = { status: 'denied', detail: errorName(error), fetchedAt: nowIso };
      } else {
        opts.logger?.warn('Could not read an alternate contact', { accountId: id, error: errorName(error) });
        contacts[id] = { status: 'failed', detail: errorName(error).slice(0, 200), fetchedAt: nowIso };
      }
    }
  });

  const warnings: string[] = [];
  if (denied > 0) {
    warnings.push(
      `GetAlternateContact was denied for ${denied} account(s)${circuitOpen ? ' (stopped asking)' : ''}: the hub must be the management account or a delegated administrator for AWS Account Management, with trusted access enabled`,
    );
  }
  if (skipped + overCap > 0) {
    warnings.push(
      `Alternate contacts of ${skipped + overCap} account(s) not refreshed this run (budget or ${maxCalls}-call cap); cached contacts (or none) are used`,
    );
  }
  return { contacts, calls: calls.GetAlternateContact ?? 0, warnings };
}
