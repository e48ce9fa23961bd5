/**
 * Just enough SQS (awsJson 1.0 protocol, unsigned — moto does not check signatures) to capture what the
 * central bus delivers. @aws-sdk/client-sqs is not a dependency of the project and the suite must not
 * add one; these four calls are all the capture queue needs.
 */
import { DEFAULT_TEST_CREDENTIALS, EMULATOR_REGION, MOTO_DEFAULT_ACCOUNT_ID } from './moto';

export class SqsCallError extends Error {
  constructor(action: string, status: number, body: string) {
    super(`SQS ${action} answered ${status}: ${body.slice(0, 300)}`);
    this.name = 'SqsCallError';
  }
}

async function call<T>(endpoint: string, action: string, input: Record<string, unknown>): Promise<T> {
  const response = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
      // Without it moto resolves the key by loading every account's IAM backend in every partition.
      'x-moto-account-id': MOTO_DEFAULT_ACCOUNT_ID,
      // moto reads the account from the access key in the credential scope (this one is its default account).
      authorization: `AWS4-HMAC-SHA256 Credential=${DEFAULT_TEST_CREDENTIALS.accessKeyId}/20260101/${EMULATOR_REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  if (!response.ok) throw new SqsCallError(action, response.status, text);
  return (text ? JSON.parse(text) : {}) as T;
}

export interface CaptureQueue {
  readonly url: string;
  readonly arn: string;
}

/** Creates a standard queue in moto's default account. */
export async function createQueue(endpoint: string, name: string): Promise<CaptureQueue> {
  const { QueueUrl } = await call<{ QueueUrl: string }>(endpoint, 'CreateQueue', { QueueName: name });
  const { Attributes } = await call<{ Attributes: Record<string, string> }>(endpoint, 'GetQueueAttributes', {
    QueueUrl,
    AttributeNames: ['QueueArn'],
  });
  const arn = Attributes.QueueArn;
  if (!arn) throw new SqsCallError('GetQueueAttributes', 200, 'no QueueArn');
  return { url: QueueUrl, arn };
}

/** Receives and deletes every message currently in the queue; returns the bodies in arrival order. */
export async function drainQueue(endpoint: string, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages } = await call<{ Messages?: { Body: string; ReceiptHandle: string }[] }>(
      endpoint,
      'ReceiveMessage',
      { QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300 },
    );
    if (!Messages || Messages.length === 0) return bodies;
    for (const message of Messages) {
      bodies.push(message.Body);
      await call(endpoint, 'DeleteMessage', { QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle });
    }
  }
}
