/**
 * What every Organizations request of one metadata fetch shares (collector/org-metadata.ts,
 * collector/control-policies.ts): counting, and retries of throttled requests after the SDK gave up.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import { isThrottling } from '../core/aws-errors';
import { retry } from '../core/concurrency';

const THROTTLE_BASE_MS = 400;
const THROTTLE_CAP_MS = 10_000;

/** What every Organizations request of one fetch shares (not the IAM `CallContext` of iam-calls.ts). */
export interface OrgCallContext {
  readonly client: OrganizationsClient;
  readonly calls: Record<string, number>;
  readonly retries: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly logger?: Logger;
}

/**
 * Sends one command, counting it, and retries it with full-jitter exponential backoff on throttling only
 * (the shared `retry`, docs/ARCHITECTURE.md §12): other faults were already retried by the SDK.
 */
export function send<T>(ctx: OrgCallContext, operation: string, request: () => Promise<T>): Promise<T> {
  return retry(
    () => {
      ctx.calls[operation] = (ctx.calls[operation] ?? 0) + 1;
      return request();
    },
    {
      attempts: ctx.retries + 1,
      baseMs: THROTTLE_BASE_MS,
      capMs: THROTTLE_CAP_MS,
      random: Math.random,
      retryIf: isThrottling,
      sleep: ctx.sleep,
      beforeWait: ({ attempt, delayMs }) =>
        ctx.logger?.debug('Organizations throttled; retrying', {
          operation,
          attempt: attempt + 1,
          delayMs,
        }),
    },
  );
}

/** Follows NextToken to the end; each page is retried on its own. */
export async function allPages<P extends { NextToken?: string | undefined }, I>(
  ctx: OrgCallContext,
  operation: string,
  page: (token: string | undefined) => Promise<P>,
  items: (p: P) => readonly I[] | undefined,
): Promise<I[]> {
  const out: I[] = [];
  let token: string | undefined;
  do {
    const response = await send(ctx, operation, () => page(token));
    out.push(...(items(response) ?? []));
    token = response.NextToken;
  } while (token);
  return out;
}
