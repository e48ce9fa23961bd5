/**
 * Organization metadata for the output columns and for coverage: every account (name, email, `State`,
 * joined time), its OU path from the root down (names and ids), and its tags.
 *
 * Call pattern, chosen because Organizations throttles early (TooManyRequestsException at a few TPS):
 * - `DescribeOrganization` once, `ListAccounts` paginated (the authoritative account list and states);
 * - the OU tree from each root down, alongside ListAccounts: per parent one
 *   `ListOrganizationalUnitsForParent` and one `ListAccountsForParent` (both paginated), so placing
 *   10,000 accounts in 50 OUs costs about 2 × 51 + 10,000 / 20 calls instead of one `ListParents` chain
 *   per account. An account that moved while the tree was walked (so no parent listed it) is placed
 *   with `ListParents`;
 * - tags with `ListTagsForResource` per account, at low concurrency, and only for ACTIVE accounts that are
 *   new since the cached metadata or whose cached tags are older than `tagMaxAgeHours`, within `budgetMs`
 *   (suspended and closed accounts, which AWS lists for 90 days, are not expected to report: they keep
 *   their cached tags rather than spend throttled calls);
 *   Tags that cannot be refreshed (budget, AccessDenied, persistent throttling) keep their cached value
 *   and produce a warning: tags never fail the run.
 *
 * The client should be built with `retryMode: 'adaptive'`; each page is additionally retried here with
 * exponential backoff when the SDK's own attempts are exhausted by TooManyRequestsException, so one
 * throttled page does not restart a pagination.
 */
import {
  Account,
  DescribeOrganizationCommand,
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListParentsCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
  Root,
} from '@aws-sdk/client-organizations';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { IAMClient } from '@aws-sdk/client-iam';
import { errorName, isAccessDenied } from '../core/aws-errors';
import { mapLimit, sleep as defaultSleep } from '../core/concurrency';
import { CredreportError } from '../core/errors';
import { AccountMetadata, OrgMetadata } from '../core/types';
import { fetchControlPolicies } from './control-policies';
import { allPages, OrgCallContext, send } from './org-calls';
import { fetchRootAccess } from './root-access';

/** The organization structure (accounts or OU tree) could not be read. */
export class OrgMetadataError extends CredreportError {}

export interface OrgMetadataResult {
  readonly metadata: OrgMetadata;
  /** Requests sent per Organizations operation (including our own throttling retries). */
  readonly calls: Readonly<Record<string, number>>;
  /** Non-fatal gaps, safe to show (tags not refreshed, accounts not placed in the tree). */
  readonly warnings: readonly string[];
}

export interface FetchOrgMetadataOptions {
  /** Time of the run: becomes `fetchedAt` and the tag refresh time. */
  readonly now: Date;
  /** Previously fetched metadata (org/metadata.json): its tags are reused while fresh. */
  readonly cached?: OrgMetadata;
  /** Cached tags older than this are refreshed. @default 24 */
  readonly tagMaxAgeHours?: number;
  /** Concurrent Organizations requests (tree walk and tags). @default 3 */
  readonly concurrency?: number;
  /** Time after which no new tag request is started, in ms from the call. @default 120000 */
  readonly budgetMs?: number;
  readonly logger?: Logger;
  /** Retries of one request after the SDK gave up on TooManyRequestsException. @default 5 */
  readonly throttleRetries?: number;
  /** Injected for tests: waits between throttling retries. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Injected for tests: a monotonic clock in ms, for the budget. */
  readonly clock?: () => number;
  /**
   * An IAM client of the same account: centralized root access is read too (collector/root-access.ts).
   * Absent: `rootAccess` keeps the cached value, if any.
   */
  readonly iam?: IAMClient;
}

export const DEFAULT_TAG_MAX_AGE_HOURS = 24;
export const DEFAULT_ORG_CONCURRENCY = 3;
export const DEFAULT_ORG_BUDGET_MS = 120_000;
const DEFAULT_THROTTLE_RETRIES = 5;
/** After this many AccessDenied answers without one success, stop asking for tags in this run. */
const TAG_DENIED_CIRCUIT = 5;
/** Most `ListParents` fallbacks per run (accounts moved during the walk); beyond, the path stays empty. */
const MAX_PARENT_LOOKUPS = 200;

interface Placement {
  readonly ouPath: string;
  readonly ouIdPath: readonly string[];
}

/** `State` replaces the deprecated `Status`; fall back only when an endpoint does not send it yet. */
const stateOf = (account: Account): string => account.State ?? account.Status ?? 'UNKNOWN';

function toIso(value: Date | undefined): string | undefined {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : undefined;
}

/** Fetches (or refreshes, reusing `cached` tags) the organization's accounts, OU paths and tags. */
export async function fetchOrgMetadata(
  client: OrganizationsClient,
  opts: FetchOrgMetadataOptions,
): Promise<OrgMetadataResult> {
  const clock = opts.clock ?? (() => performance.now());
  const started = clock();
  const concurrency = opts.concurrency ?? DEFAULT_ORG_CONCURRENCY;
  const budgetMs = opts.budgetMs ?? DEFAULT_ORG_BUDGET_MS;
  const tagMaxAgeMs = (opts.tagMaxAgeHours ?? DEFAULT_TAG_MAX_AGE_HOURS) * 3_600_000;
  const calls: Record<string, number> = {};
  const warnings: string[] = [];
  const ctx: OrgCallContext = {
    client,
    calls,
    retries: opts.throttleRetries ?? DEFAULT_THROTTLE_RETRIES,
    sleep: opts.sleep ?? defaultSleep,
    logger: opts.logger,
  };

  let organizationId: string | undefined;
  let managementAccountId: string | undefined;
  let accounts: Account[];
  let roots: Root[] = [];
  const placement = new Map<string, Placement>();
  const ouById = new Map<string, Placement>();
  try {
    const described = await send(ctx, 'DescribeOrganization', () =>
      client.send(new DescribeOrganizationCommand({})),
    );
    organizationId = described.Organization?.Id;
    managementAccountId = described.Organization?.MasterAccountId;

    // ListAccounts (the authoritative list, one sequential pagination) and the tree walk are independent:
    // ListAccounts takes one of the `concurrency` lanes and the walk the others (at least one), so the
    // slower of the two sets the time rather than their sum, within the same number of requests in flight.
    const listAccounts = (): Promise<Account[]> =>
      allPages(
        ctx,
        'ListAccounts',
        (NextToken) => client.send(new ListAccountsCommand({ NextToken, MaxResults: 20 })),
        (p) => p.Accounts,
      );
    const walkTree = async (lanes: number): Promise<void> => {
      roots = await allPages(
        ctx,
        'ListRoots',
        (NextToken) => client.send(new ListRootsCommand({ NextToken })),
        (p) => p.Roots,
      );
      // Breadth-first, one level at a time, `lanes` parents in flight.
      let level: { id: string; place: Placement }[] = roots.flatMap((root) =>
        root.Id ? [{ id: root.Id, place: { ouPath: root.Name ?? 'Root', ouIdPath: [root.Id] } }] : [],
      );
      while (level.length > 0) {
        for (const parent of level) ouById.set(parent.id, parent.place);
        const children = await mapLimit(level, lanes, async (parent) => {
          const ous = await allPages(
            ctx,
            'ListOrganizationalUnitsForParent',
            (NextToken) =>
              client.send(
                new ListOrganizationalUnitsForParentCommand({
                  ParentId: parent.id,
                  NextToken,
                  MaxResults: 20,
                }),
              ),
            (p) => p.OrganizationalUnits,
          );
          const direct = await allPages(
            ctx,
            'ListAccountsForParent',
            (NextToken) =>
              client.send(
                new ListAccountsForParentCommand({ ParentId: parent.id, NextToken, MaxResults: 20 }),
              ),
            (p) => p.Accounts,
          );
          for (const account of direct) if (account.Id) placement.set(account.Id, parent.place);
          return ous.flatMap((ou) =>
            ou.Id
              ? [
                  {
                    id: ou.Id,
                    place: {
                      ouPath: `${parent.place.ouPath}/${ou.Name ?? ou.Id}`,
                      ouIdPath: [...parent.place.ouIdPath, ou.Id],
                    },
                  },
                ]
              : [],
          );
        });
        level = children.flat();
      }
    };
    [accounts] = await Promise.all([listAccounts(), walkTree(Math.max(1, concurrency - 1))]);
  } catch (error) {
    throw new OrgMetadataError(`Could not read the organization structure: ${errorName(error)}`, {
      cause: error,
    });
  }

  // Accounts moved between OUs while the tree was walked: place them with ListParents (bounded).
  const unplaced = accounts.filter((a) => a.Id && !placement.has(a.Id)).map((a) => a.Id as string);
  let lookups = 0;
  for (const accountId of unplaced) {
    if (lookups >= MAX_PARENT_LOOKUPS) break;
    lookups++;
    try {
      const parents = await allPages(
        ctx,
        'ListParents',
        (NextToken) => client.send(new ListParentsCommand({ ChildId: accountId, NextToken })),
        (p) => p.Parents,
      );
      const place = parents[0]?.Id ? ouById.get(parents[0].Id) : undefined;
      if (place) placement.set(accountId, place);
    } catch (error) {
      opts.logger?.warn('Could not place account in the OU tree', { accountId, error: errorName(error) });
    }
  }
  const stillUnplaced = accounts.filter((a) => a.Id && !placement.has(a.Id)).length;
  if (stillUnplaced > 0) {
    warnings.push(
      `${stillUnplaced} account(s) could not be placed in the OU tree (moved during the run?); OU path left empty`,
    );
  }

  // Tags: reuse the cache, refresh the new and the oldest first, within the budget.
  const cachedById = new Map((opts.cached?.accounts ?? []).map((a) => [a.id, a]));
  const cachedFetchedAt = opts.cached?.tagsFetchedAt ?? {};
  const nowMs = opts.now.getTime();
  const tags = new Map<string, Readonly<Record<string, string>>>();
  const tagsFetchedAt: Record<string, string> = {};
  const due: { id: string; age: number }[] = [];
  for (const account of accounts) {
    const id = account.Id;
    if (!id) continue;
    const cachedAccount = cachedById.get(id);
    const fetchedAt = cachedFetchedAt[id];
    const fetchedMs = fetchedAt ? Date.parse(fetchedAt) : Number.NaN;
    if (cachedAccount) tags.set(id, cachedAccount.tags);
    if (cachedAccount && fetchedAt && !Number.isNaN(fetchedMs)) tagsFetchedAt[id] = fetchedAt;
    if (stateOf(account) !== 'ACTIVE') continue;
    if (Number.isNaN(fetchedMs) || !cachedAccount) due.push({ id, age: Number.POSITIVE_INFINITY });
    else if (nowMs - fetchedMs >= tagMaxAgeMs) due.push({ id, age: nowMs - fetchedMs });
  }
  due.sort((a, b) => b.age - a.age || a.id.localeCompare(b.id));

  let outOfBudget = 0;
  let denied = 0;
  let succeeded = 0;
  let circuitOpen = false;
  let notTried = 0;
  let failed = 0;
  await mapLimit(due, concurrency, async ({ id }) => {
    if (circuitOpen) {
      notTried++;
      return;
    }
    if (clock() - started > budgetMs) {
      outOfBudget++;
      return;
    }
    try {
      const list = await allPages(
        ctx,
        'ListTagsForResource',
        (NextToken) => client.send(new ListTagsForResourceCommand({ ResourceId: id, NextToken })),
        (p) => p.Tags,
      );
      const record: Record<string, string> = {};
      for (const tag of list) if (tag.Key !== undefined) record[tag.Key] = tag.Value ?? '';
      tags.set(id, record);
      tagsFetchedAt[id] = opts.now.toISOString();
      succeeded++;
    } catch (error) {
      if (isAccessDenied(error)) {
        denied++;
        if (succeeded === 0 && denied >= TAG_DENIED_CIRCUIT) circuitOpen = true;
      } else if (errorName(error) === 'TargetNotFoundException') {
        // Left the organization between ListAccounts and now: nothing to tag.
        tags.set(id, {});
        tagsFetchedAt[id] = opts.now.toISOString();
      } else {
        failed++;
        opts.logger?.warn('Could not read account tags', { accountId: id, error: errorName(error) });
      }
    }
  });
  if (denied > 0) {
    warnings.push(
      `ListTagsForResource was denied for ${denied} account(s)${circuitOpen ? ` (stopped asking; ${notTried} more not tried)` : ''}; their cached tags (or none) are used`,
    );
  }
  if (outOfBudget > 0) {
    warnings.push(
      `Tags of ${outOfBudget} account(s) not refreshed within the ${budgetMs} ms budget; cached tags (or none) are used`,
    );
  }
  if (failed > 0)
    warnings.push(`Tags of ${failed} account(s) could not be read; cached tags (or none) are used`);

  // SCPs and RCPs on every path (collector/control-policies.ts), within what is left of the budget.
  const control = await fetchControlPolicies({
    ctx,
    roots,
    ouIds: [...ouById.keys()].filter((id) => !id.startsWith('r-')),
    accountIds: accounts.filter((a) => a.Id && stateOf(a) === 'ACTIVE').map((a) => a.Id as string),
    ...(opts.cached?.controlPolicies ? { cached: opts.cached.controlPolicies } : {}),
    now: opts.now,
    maxAgeMs: tagMaxAgeMs,
    concurrency,
    outOfBudget: () => clock() - started > budgetMs,
  });
  warnings.push(...control.warnings);

  // Centralized root access: two calls, every failure a state or a warning (collector/root-access.ts).
  const root = opts.iam
    ? await fetchRootAccess({
        ctx,
        iam: opts.iam,
        now: opts.now,
        ...(opts.cached?.rootAccess ? { cached: opts.cached.rootAccess } : {}),
      })
    : undefined;
  if (root) warnings.push(...root.warnings);
  const rootAccess = root?.rootAccess ?? opts.cached?.rootAccess;

  const metadataAccounts: AccountMetadata[] = accounts
    .filter((a): a is Account & { Id: string } => typeof a.Id === 'string')
    .map((a) => {
      const place = placement.get(a.Id);
      const joinedTime = toIso(a.JoinedTimestamp);
      return {
        id: a.Id,
        name: a.Name ?? '',
        email: a.Email ?? '',
        state: stateOf(a),
        ...(joinedTime ? { joinedTime } : {}),
        ouPath: place?.ouPath ?? '',
        ouIdPath: place?.ouIdPath ?? [],
        tags: tags.get(a.Id) ?? {},
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));

  for (const warning of warnings) opts.logger?.warn('Organization metadata incomplete', { warning });
  opts.logger?.info('Fetched organization metadata', {
    accounts: metadataAccounts.length,
    ous: ouById.size,
    tagRefreshes: succeeded,
    calls,
  });
  return {
    metadata: {
      ...(organizationId ? { organizationId } : {}),
      ...(managementAccountId ? { managementAccountId } : {}),
      fetchedAt: opts.now.toISOString(),
      accounts: metadataAccounts,
      tagsFetchedAt: Object.fromEntries(Object.entries(tagsFetchedAt).sort(([a], [b]) => a.localeCompare(b))),
      controlPolicies: control.controlPolicies,
      ...(rootAccess ? { rootAccess } : {}),
      // Read by the digest for owner digests (collector/alternate-contacts.ts); kept as cached here.
      ...(opts.cached?.alternateContacts ? { alternateContacts: opts.cached.alternateContacts } : {}),
    },
    calls,
    warnings,
  };
}
