import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { retry } from '../core/concurrency';
import { CredreportError } from '../core/errors';

/** The response could not be delivered to CloudFormation's pre-signed URL. */
export class CustomResourceResponseError extends CredreportError {}

/** Physical id of the one-time "report on first deployment" resource; stable across updates. */
export const INITIAL_REPORT_PHYSICAL_ID = 'credreport-member-agent-initial-report';

export function isCustomResourceEvent(event: unknown): event is CloudFormationCustomResourceEvent {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  return (
    (e.RequestType === 'Create' || e.RequestType === 'Update' || e.RequestType === 'Delete') &&
    typeof e.ResponseURL === 'string' &&
    typeof e.StackId === 'string' &&
    typeof e.RequestId === 'string' &&
    typeof e.LogicalResourceId === 'string'
  );
}

/** PUTs a body to a URL (the pre-signed S3 URL CloudFormation gives); injectable for tests. */
export type ResponseSender = (url: string, body: string) => Promise<void>;

/** The pre-signed URL answered with an HTTP error status. */
class ResponseStatusError extends CustomResourceResponseError {
  constructor(readonly status: number) {
    super(`response URL answered HTTP ${status}`);
  }
}

/**
 * Default sender: fetch PUT with the body as bytes (so no Content-Type is added, which the pre-signed URL
 * was not signed for), a timeout, and a few retries of network errors and 5xx answers (the shared
 * `retry`, docs/ARCHITECTURE.md §12); a 4xx will not change, so it is not retried.
 */
export const fetchResponseSender: ResponseSender = async (url, body) => {
  const bytes = Buffer.from(body, 'utf8');
  try {
    await retry(
      async () => {
        const response = await fetch(url, {
          method: 'PUT',
          body: bytes,
          headers: { 'content-length': String(bytes.byteLength) },
          signal: AbortSignal.timeout(10_000),
        });
        if (!response.ok) throw new ResponseStatusError(response.status);
      },
      {
        attempts: 3,
        baseMs: 500,
        capMs: 8_000,
        retryIf: (error) => !(error instanceof ResponseStatusError) || error.status >= 500,
      },
    );
  } catch (lastError) {
    throw new CustomResourceResponseError('could not deliver the custom resource response', {
      cause: lastError,
    });
  }
};

/**
 * Always SUCCESS: the first-deployment run must never block or roll back a StackSet instance; a failed
 * collection shows up in the hub's coverage instead.
 */
export async function respondSuccess(
  event: CloudFormationCustomResourceEvent,
  send: ResponseSender,
  reason: string,
): Promise<void> {
  const physicalId = event.RequestType === 'Create' ? INITIAL_REPORT_PHYSICAL_ID : event.PhysicalResourceId;
  await send(
    event.ResponseURL,
    JSON.stringify({
      Status: 'SUCCESS',
      Reason: reason,
      PhysicalResourceId: physicalId,
      StackId: event.StackId,
      RequestId: event.RequestId,
      LogicalResourceId: event.LogicalResourceId,
      Data: {},
    }),
  );
}
