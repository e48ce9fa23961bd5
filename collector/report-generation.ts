import {
  GenerateCredentialReportCommand,
  GetCredentialReportCommand,
  IAMClient,
  ReportStateType,
} from '@aws-sdk/client-iam';
import { errorName, isRetryable } from '../core/aws-errors';
import { CallContext, CollectError } from './iam-calls';

/** The credential report as IAM returned it. */
export interface FetchedCredentialReport {
  /** The CSV decoded as UTF-8 (not yet validated). */
  readonly csv: string;
  /** GeneratedTime as ISO 8601. */
  readonly generatedTime: string;
}

const NOT_READY = new Set(['CredentialReportNotReadyException', 'ReportInProgress']);
const REGENERATE = new Set([
  'CredentialReportNotPresentException',
  'ReportNotPresent',
  'CredentialReportExpiredException',
  'ReportExpired',
]);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * GenerateCredentialReport, poll until COMPLETE (bounded backoff), GetCredentialReport. A report that is
 * not ready, not present or expired is waited for or regenerated; throttling (LimitExceeded) is waited
 * out; everything stops at the budget with CollectError. IAM reuses a report for up to 4 hours, so this
 * is usually one Generate and one Get.
 *
 * `ctx.call` already retries throttling a bounded number of times; when it gives up, this loop keeps
 * polling (still within the budget) because nothing else can proceed without the report, and another
 * tool generating the report at the same time (Config, Security Hub) can hold IAM's limit for a while.
 */
export async function fetchCredentialReport(
  iam: IAMClient,
  ctx: CallContext,
): Promise<FetchedCredentialReport> {
  const stage = 'credential report';
  for (let poll = 0; ; poll++) {
    let state: string | undefined;
    try {
      const generated = await ctx.call('GenerateCredentialReport', () =>
        iam.send(new GenerateCredentialReportCommand({})),
      );
      state = generated.State;
    } catch (error) {
      if (error instanceof CollectError) throw error; // the budget ran out while retrying
      if (!isRetryable(error)) {
        throw new CollectError(`GenerateCredentialReport failed: ${errorName(error)}`, { cause: error });
      }
      await ctx.wait(ctx.backoff(poll), stage, error);
      continue;
    }
    if (state !== ReportStateType.COMPLETE) {
      await ctx.wait(ctx.backoff(poll), stage);
      continue;
    }

    let content: Uint8Array | undefined;
    let generatedAt: Date | undefined;
    try {
      const got = await ctx.call('GetCredentialReport', () => iam.send(new GetCredentialReportCommand({})));
      content = got.Content;
      generatedAt = got.GeneratedTime;
    } catch (error) {
      if (error instanceof CollectError) throw error;
      const name = errorName(error);
      if (NOT_READY.has(name) || isRetryable(error)) {
        await ctx.wait(ctx.backoff(poll), stage, error);
        continue;
      }
      if (REGENERATE.has(name)) {
        ctx.options.logger?.info('Credential report missing or expired; regenerating', { error: name });
        await ctx.wait(ctx.backoff(0), stage, error);
        continue;
      }
      throw new CollectError(`GetCredentialReport failed: ${name}`, { cause: error });
    }

    if (content === undefined || content.byteLength === 0) {
      throw new CollectError('GetCredentialReport returned no content');
    }
    if (!(generatedAt instanceof Date) || Number.isNaN(generatedAt.getTime())) {
      throw new CollectError('GetCredentialReport returned no GeneratedTime');
    }
    let csv: string;
    try {
      csv = utf8.decode(content);
    } catch (error) {
      throw new CollectError('IAM returned a credential report that is not valid UTF-8', { cause: error });
    }
    return { csv, generatedTime: generatedAt.toISOString() };
  }
}
