/**
 * Collects one account's report: the IAM credential report, the access-key inventory and the per-user
 * privilege summary. Used by the member agent, the hub's own-account collection and `credreport collect`
 * (each passes its own IAMClient, built with `retryMode: 'adaptive'`).
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ROOT_USER, type CredentialReportRow } from '../core/columns';
import { sleep as realSleep } from '../core/concurrency';
import { parseCredentialReport, ReportParseError } from '../core/credential-report';
import { ContractError, boundWarnings, parseAccountReport } from '../core/event-contract';
import type { AccountReport } from '../core/types';
import { collectAccountFacts, userTagsOf, usersWithDirectPolicies } from './account-facts';
import { fetchAuthorizationDetails } from './authorization-details';
import { errorName, isRetryable } from '../core/aws-errors';
import { CallContext, CollectError } from './iam-calls';
import { collectKeyInventory, listUserNames } from './key-inventory';
import { EVENT_SCHEMA_VERSION } from '../core/names';
import { evaluatePrivileges, type AuthorizationDetails } from '../core/privileges';
import { fetchCredentialReport } from './report-generation';

export { CollectError } from './iam-calls';

export interface CollectStats {
  /** IAM requests sent, per operation (retries included). */
  readonly apiCalls: Record<string, number>;
  /** IAM users in the credential report (the root row not counted). */
  readonly users: number;
  readonly durationMs: number;
}

/** Default time budget of one collection. */
export const DEFAULT_COLLECT_BUDGET_MS = 300_000;
/** Default number of users whose keys are listed concurrently. */
export const DEFAULT_KEY_CONCURRENCY = 8;

/**
 * Collects the account's report. Throws CollectError when the report cannot be produced whole: IAM
 * refuses or keeps failing, the report is malformed (cause: ReportParseError), or `budgetMs` runs out.
 * Privileges that cannot be collected (e.g. GetAccountAuthorizationDetails denied) are left out with a
 * warning rather than failing the report.
 */
export async function collectAccountReport(
  deps: {
    readonly iam: IAMClient;
    readonly logger?: Logger;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly clock?: () => Date;
  },
  opts: {
    readonly accountId: string;
    readonly budgetMs?: number;
    readonly collectPrivileges?: boolean;
    /** Users whose keys are listed concurrently (default DEFAULT_KEY_CONCURRENCY). */
    readonly concurrency?: number;
  },
): Promise<{ report: AccountReport; stats: CollectStats }> {
  const clock = deps.clock ?? (() => new Date());
  const budgetMs = opts.budgetMs ?? DEFAULT_COLLECT_BUDGET_MS;
  const started = clock().getTime();
  const ctx = new CallContext({
    sleep: deps.sleep ?? realSleep,
    clock,
    deadline: started + budgetMs,
    budgetMs,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  const { iam, logger } = deps;
  const warnings: string[] = [];

  try {
    // Report generation takes seconds; fetch the authorization snapshot meanwhile.
    const reportPromise = fetchCredentialReport(iam, ctx);
    const authPromise: Promise<AuthorizationDetails | undefined> =
      opts.collectPrivileges === false
        ? Promise.resolve(undefined)
        : fetchAuthorizationDetails(iam, ctx).catch((error: unknown) => {
            if (error instanceof CollectError || isRetryable(error)) throw error;
            warnings.push(
              `privileges not collected: GetAccountAuthorizationDetails failed (${errorName(error)})`,
            );
            logger?.warn('Privileges not collected', { error: errorName(error) });
            return undefined;
          });
    // Account facts (schema v3): never fatal but for the time budget (collector/account-facts.ts).
    const factsPromise = collectAccountFacts(iam, ctx);
    const [reportResult, authResult, factsResult] = await Promise.allSettled([
      reportPromise,
      authPromise,
      factsPromise,
    ]);
    if (reportResult.status === 'rejected') throw reportResult.reason;
    if (authResult.status === 'rejected') throw authResult.reason;
    if (factsResult.status === 'rejected') throw factsResult.reason;
    warnings.push(...factsResult.value.warnings);
    if (factsResult.value.warnings.length > 0) {
      logger?.warn('Account facts incomplete', { unknown: factsResult.value.warnings.length });
    }
    const fetched = reportResult.value;
    const auth = authResult.value;

    let rows: readonly CredentialReportRow[];
    try {
      rows = parseCredentialReport(fetched.csv, opts.accountId).rows;
    } catch (error) {
      if (error instanceof ReportParseError) {
        throw new CollectError(`IAM returned a malformed credential report: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    }
    logger?.info('Credential report ready', {
      generatedTime: fetched.generatedTime,
      rows: rows.length,
      bytes: Buffer.byteLength(fetched.csv, 'utf8'),
    });

    const rowsByUser = new Map<string, CredentialReportRow>();
    for (const row of rows) if (row.user !== ROOT_USER) rowsByUser.set(row.user, row);

    const userNames =
      auth !== undefined
        ? auth.users.map((u) => u.UserName).filter((n): n is string => n !== undefined)
        : await listUserNames(iam, ctx);
    const inventory = await collectKeyInventory(
      iam,
      ctx,
      userNames,
      rowsByUser,
      opts.concurrency ?? DEFAULT_KEY_CONCURRENCY,
    );
    warnings.push(...inventory.warnings);

    let privileges: AccountReport['privileges'];
    if (auth !== undefined) {
      const evaluation = evaluatePrivileges(auth, { now: clock().toISOString() });
      privileges = evaluation.privileges;
      warnings.push(...evaluation.warnings);
    }

    const tagged = auth !== undefined ? userTagsOf(auth) : undefined;
    if (tagged?.warning) warnings.push(tagged.warning);
    const accountFacts =
      auth === undefined
        ? factsResult.value.facts
        : {
            ...factsResult.value.facts,
            usersWithDirectPolicies: usersWithDirectPolicies(auth),
            ...(tagged?.userTags ? { userTags: tagged.userTags } : {}),
          };
    const report: AccountReport = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      accountId: opts.accountId,
      generatedTime: fetched.generatedTime,
      collectedTime: clock().toISOString(),
      credentialReportCsv: fetched.csv,
      accessKeys: inventory.keys,
      ...(privileges !== undefined ? { privileges } : {}),
      ...(warnings.length > 0 ? { warnings: boundWarnings(warnings) } : {}),
      ...(accountFacts !== undefined ? { accountFacts } : {}),
    };
    try {
      parseAccountReport(report);
    } catch (error) {
      throw new CollectError(`collected report does not match the event contract`, {
        cause: error as ContractError,
      });
    }

    const stats: CollectStats = {
      apiCalls: { ...ctx.apiCalls },
      users: rowsByUser.size,
      durationMs: clock().getTime() - started,
    };
    logger?.info('Account report collected', {
      users: stats.users,
      usersWithKeysListed: inventory.listedUsers,
      accessKeys: report.accessKeys.length,
      privileges: privileges !== undefined,
      warnings: warnings.length,
      apiCalls: stats.apiCalls,
      durationMs: stats.durationMs,
    });
    return { report, stats };
  } catch (error) {
    if (error instanceof CollectError) throw error;
    throw new CollectError(`collection of account ${opts.accountId} failed: ${errorName(error)}`, {
      cause: error,
    });
  }
}
