/**
 * Glue of the emulator suite: starts moto behind the recording proxy, "deploys" what the stacks would
 * (hub bucket, central bus with its policy, the SES sender; member agents put their parts on the central
 * bus directly, which the proxy bridges because moto cannot),
 * runs the real handlers as Lambda would (fresh module per cold start, environment variables, a context
 * whose ARN names the account) and reads back what they wrote.
 */
import { gunzipSync } from 'node:zlib';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutEventsRequestEntry,
  PutPermissionCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import type { Context } from 'aws-lambda';
import { parse } from 'csv-parse/sync';
import {
  CENTRAL_BUS_NAME,
  EVENT_DETAIL_TYPE,
  EVENT_SOURCE,
  MEMBER_AGENT_FUNCTION_NAME,
  MEMBER_AGENT_ROLE_NAME,
  S3_LAYOUT,
} from '../../core/names';
import type { DigestResult } from '../../aggregator/digest';
import type { IngestOutcome } from '../../aggregator/ingest';
import type { AgentResult } from '../../member-agent/handler';
import { EMULATOR_REGION, MotoServer, applyEnv, pointSdkAtEmulator, startMoto } from './moto';
import { EmulatorProxy } from './proxy';
import { SeededAccount, SeededOrg } from './scenario';
import { CaptureQueue, createQueue, drainQueue } from './sqs';

export class HarnessError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HarnessError';
  }
}

// ---------------------------------------------------------------------------------------------------
// Emulator lifecycle

export interface Emulator {
  readonly moto: MotoServer;
  readonly proxy: EmulatorProxy;
  /** What the SDK talks to (the proxy in front of moto). */
  readonly endpoint: string;
  /** Empties moto (POST /moto-api/reset) and the proxy's records, faults and learnt keys. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** moto + proxy, with process.env pointing every SDK client in this process at the proxy. */
export async function startEmulator(): Promise<Emulator> {
  const moto = await startMoto();
  let proxy: EmulatorProxy;
  try {
    proxy = await EmulatorProxy.start(moto.endpoint);
  } catch (error) {
    await moto.stop();
    throw error;
  }
  const restoreEnv = pointSdkAtEmulator(proxy.endpoint);
  return {
    moto,
    proxy,
    endpoint: proxy.endpoint,
    async reset() {
      await moto.reset();
      proxy.reset();
    },
    async stop() {
      restoreEnv();
      await proxy.stop();
      await moto.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// What the stacks would deploy

export const HUB_BUCKET = 'credreport-hub-emulator';
export const CAPTURE_QUEUE = 'central-bus-capture';
export const DIGEST_SENDER = 'credreport@example.com';
export const DIGEST_RECIPIENTS = ['security@example.com', 'platform@example.com'] as const;
const CAPTURE_RULE = 'credreport-capture';

export interface Hub {
  readonly org: SeededOrg;
  readonly accountId: string;
  readonly bucket: string;
  readonly centralBusArn: string;
  readonly queue: CaptureQueue;
  readonly sender: string;
  readonly recipients: readonly string[];
}

/** Central bus rule pattern (the stacks use the same names from core/names). */
const PART_PATTERN = JSON.stringify({ source: [EVENT_SOURCE], 'detail-type': [EVENT_DETAIL_TYPE] });

/**
 * The hub in the management account: report bucket, central bus (with the stack's policy, which moto
 * stores but does not enforce: tests/stacks simulate it), a rule on it whose target is the capture queue
 * (standing in for the ingest Lambda, which moto cannot run), and the SES sender identity (unless
 * `verifySender` is false).
 */
export async function deployHub(
  emulator: Emulator,
  org: SeededOrg,
  options: { readonly verifySender?: boolean } = {},
): Promise<Hub> {
  const s3 = new S3Client({});
  await s3.send(new CreateBucketCommand({ Bucket: HUB_BUCKET }));
  const events = new EventBridgeClient({});
  const { EventBusArn } = await events.send(new CreateEventBusCommand({ Name: CENTRAL_BUS_NAME }));
  if (!EventBusArn) throw new HarnessError('CreateEventBus returned no ARN');
  await events.send(
    new PutPermissionCommand({
      EventBusName: CENTRAL_BUS_NAME,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'MemberAgentsPutReportParts',
            Effect: 'Allow',
            Principal: '*',
            Action: 'events:PutEvents',
            Resource: EventBusArn,
            Condition: {
              StringEquals: { 'aws:PrincipalOrgID': org.organizationId },
              ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::*:role/${MEMBER_AGENT_ROLE_NAME}` },
              'ForAllValues:StringEquals': {
                'events:source': [EVENT_SOURCE],
                'events:detail-type': [EVENT_DETAIL_TYPE],
              },
            },
          },
        ],
      }),
    }),
  );
  const queue = await createQueue(emulator.moto.endpoint, CAPTURE_QUEUE);
  await events.send(
    new PutRuleCommand({ Name: CAPTURE_RULE, EventBusName: CENTRAL_BUS_NAME, EventPattern: PART_PATTERN }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: CAPTURE_RULE,
      EventBusName: CENTRAL_BUS_NAME,
      Targets: [{ Id: 'capture', Arn: queue.arn }],
    }),
  );
  if (options.verifySender ?? true) {
    // moto treats an identity as verified for sending as soon as it exists.
    await new SESv2Client({}).send(new CreateEmailIdentityCommand({ EmailIdentity: DIGEST_SENDER }));
  }
  const hub: Hub = {
    org,
    accountId: org.managementAccountId,
    bucket: HUB_BUCKET,
    centralBusArn: EventBusArn,
    queue,
    sender: DIGEST_SENDER,
    recipients: DIGEST_RECIPIENTS,
  };
  return hub;
}

// ---------------------------------------------------------------------------------------------------
// Running handlers as Lambda would

/** A Lambda context whose ARN carries the account (the agent and the digest read their account from it). */
export function lambdaContext(accountId: string, functionName: string, timeoutMs = 900_000): Context {
  const deadline = Date.now() + timeoutMs;
  const fail = () => {
    throw new HarnessError('the emulator suite does not use callback-style Lambda completion');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${EMULATOR_REGION}:${accountId}:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `emulator-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'emulator',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: fail,
    fail,
    succeed: fail,
  };
}

// A fresh module per cold start needs a synchronous require inside jest.isolateModules.
/* eslint-disable @typescript-eslint/no-require-imports */
const loadAgentHandler = () =>
  require('../../member-agent/handler') as typeof import('../../member-agent/handler');
const loadIngestHandler = () =>
  require('../../aggregator/ingest-handler') as typeof import('../../aggregator/ingest-handler');
const loadDigestHandler = () =>
  require('../../aggregator/digest-handler') as typeof import('../../aggregator/digest-handler');
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Requires a handler module afresh (a cold start): module-level clients and parsed env are rebuilt from
 * the current process.env, so each invocation gets its own account's credentials and variables.
 */
function coldStart<T>(load: () => T): T {
  let loaded: T | undefined;
  jest.isolateModules(() => {
    loaded = load();
  });
  if (loaded === undefined) throw new HarnessError('handler module did not load');
  return loaded;
}

/** An EventBridge event as the central bus delivered it, with `account` as EventBridge would set it. */
export interface DeliveredEvent {
  readonly id?: string;
  readonly source: string;
  readonly 'detail-type': string;
  readonly account: string;
  readonly region?: string;
  readonly time?: string;
  readonly resources?: unknown[];
  readonly detail: Record<string, unknown>;
}

/** Everything the capture queue holds now, parsed; `account` is NOT set (moto's SQS copy lacks it). */
export async function drainCentralBus(
  emulator: Emulator,
  hub: Hub,
): Promise<Omit<DeliveredEvent, 'account'>[]> {
  const bodies = await drainQueue(emulator.moto.endpoint, hub.queue.url);
  return bodies.map((body) => JSON.parse(body) as Omit<DeliveredEvent, 'account'>);
}

/**
 * The proxy hands a member's PutEvents to moto as the hub account (moto cannot deliver to another
 * account's bus), and moto's SQS copy drops `account` anyway. In AWS the central bus keeps the sender's
 * account. Since the harness runs one account's agent at a time and drains the queue around it, the
 * sender is known: restore it.
 */
export function asSentFrom(
  accountId: string,
  events: readonly Omit<DeliveredEvent, 'account'>[],
): DeliveredEvent[] {
  return events.map((event) => ({ ...event, account: accountId }));
}

export interface AgentRun {
  readonly result: AgentResult;
  /** What reached the central bus from this run, with `account` restored to the sender. */
  readonly events: DeliveredEvent[];
  readonly durationMs: number;
}

export interface AgentOptions {
  readonly maxEntryBytes?: number;
  /** The invocation event; default: the scheduled event. */
  readonly event?: unknown;
  /** Extra or overriding agent environment variables (e.g. DEACTIVATION_MODE, REPORT_BUCKET). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Runs the real member-agent handler in `account` (its assumed-role credentials) and captures its parts. */
export async function runMemberAgent(
  emulator: Emulator,
  hub: Hub,
  account: SeededAccount,
  options: AgentOptions = {},
): Promise<AgentRun> {
  const leftover = await drainCentralBus(emulator, hub);
  if (leftover.length > 0) {
    throw new HarnessError(
      `${leftover.length} event(s) were on the central bus before ${account.key}'s agent ran`,
    );
  }
  const restore = applyEnv({
    AWS_ACCESS_KEY_ID: account.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: account.credentials.secretAccessKey,
    AWS_SESSION_TOKEN: account.credentials.sessionToken,
    AWS_LAMBDA_FUNCTION_NAME: MEMBER_AGENT_FUNCTION_NAME,
    EVENT_BUS_NAME: hub.centralBusArn,
    MAX_ENTRY_BYTES: options.maxEntryBytes === undefined ? undefined : String(options.maxEntryBytes),
    COLLECT_BUDGET_SECONDS: '120',
    ...options.env,
  });
  const started = Date.now();
  try {
    const { handler } = coldStart(loadAgentHandler);
    const scheduled = options.event ?? {
      version: '0',
      id: 'emulator-schedule',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: account.id,
      time: new Date().toISOString(),
      region: EMULATOR_REGION,
      resources: [`arn:aws:events:${EMULATOR_REGION}:${account.id}:rule/credreport-member-agent-schedule`],
      detail: {},
    };
    const result = await handler(scheduled, lambdaContext(account.id, MEMBER_AGENT_FUNCTION_NAME));
    const durationMs = Date.now() - started;
    const events = asSentFrom(account.id, await drainCentralBus(emulator, hub));
    return { result, events, durationMs };
  } finally {
    restore();
  }
}

/**
 * PutEvents on the central bus with `account`'s credentials (for forged or replayed parts: as if that
 * account's agent role sent them, the only principal the bus policy admits).
 */
export async function putOnCentralBus(
  hub: Hub,
  account: SeededAccount,
  entries: PutEventsRequestEntry[],
): Promise<void> {
  const events = new EventBridgeClient({ credentials: account.credentials });
  const out = await events.send(
    new PutEventsCommand({ Entries: entries.map((e) => ({ ...e, EventBusName: hub.centralBusArn })) }),
  );
  if ((out.FailedEntryCount ?? 0) > 0)
    throw new HarnessError(`PutEvents failed: ${JSON.stringify(out.Entries)}`);
}

/** Runs the real ingest handler (hub credentials) on each event in order, one cold start for the batch. */
export async function runIngest(hub: Hub, events: readonly DeliveredEvent[]): Promise<IngestOutcome[]> {
  const restore = applyEnv({ REPORT_BUCKET: hub.bucket, AWS_LAMBDA_FUNCTION_NAME: 'credreport-ingest' });
  try {
    const { handler } = coldStart(loadIngestHandler);
    const context = lambdaContext(hub.accountId, 'credreport-ingest');
    const outcomes: IngestOutcome[] = [];
    for (const event of events) outcomes.push(await handler(event, context));
    return outcomes;
  } finally {
    restore();
  }
}

export interface DigestOptions {
  /** Extra or overriding digest environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** The on-demand payload's `now`. */
  readonly now?: string;
}

/** The digest environment the hub stack would set. */
export function digestEnvironment(hub: Hub): Record<string, string> {
  return {
    REPORT_BUCKET: hub.bucket,
    ORGANIZATION_ID: hub.org.organizationId,
    TARGET_OU_IDS: hub.org.rootId,
    DIGEST_RECIPIENTS: hub.recipients.join(','),
    DIGEST_SENDER: hub.sender,
    TAG_KEYS: '',
    BREAKDOWN_TAG: 'Environment',
  };
}

/** Runs the real digest handler in the hub account. */
export async function runDigestHandler(hub: Hub, options: DigestOptions = {}): Promise<DigestResult> {
  const restore = applyEnv({
    ...digestEnvironment(hub),
    AWS_LAMBDA_FUNCTION_NAME: 'credreport-digest',
    ...options.env,
  });
  try {
    const { handler } = coldStart(loadDigestHandler);
    return await handler(
      options.now ? { now: options.now } : {},
      lambdaContext(hub.accountId, 'credreport-digest'),
    );
  } finally {
    restore();
  }
}

/** Push path for every ACTIVE member account: agent → central bus → ingest. Returns the runs by account key. */
export async function pushAllMembers(
  emulator: Emulator,
  hub: Hub,
  accounts: readonly SeededAccount[] = hub.org.activeAccounts().filter((a) => !a.isManagement),
  options: AgentOptions = {},
): Promise<Map<string, { run: AgentRun; outcomes: IngestOutcome[] }>> {
  const runs = new Map<string, { run: AgentRun; outcomes: IngestOutcome[] }>();
  for (const account of accounts) {
    const run = await runMemberAgent(emulator, hub, account, options);
    const outcomes = await runIngest(hub, run.events);
    runs.set(account.key, { run, outcomes });
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------------
// Reading results

const s3 = () => new S3Client({});

/** The object's bytes (gunzipped when the key ends in .gz), or undefined when absent. */
export async function readObject(bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const out = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = Buffer.from(
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    return key.endsWith('.gz') ? gunzipSync(bytes) : bytes;
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

export async function readText(bucket: string, key: string): Promise<string> {
  const bytes = await readObject(bucket, key);
  if (bytes === undefined) throw new HarnessError(`s3://${bucket}/${key} does not exist`);
  return bytes.toString('utf8');
}

export async function listKeys(bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3().send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    keys.push(...(out.Contents ?? []).map((o) => o.Key ?? ''));
    token = out.NextContinuationToken;
  } while (token);
  return keys.sort();
}

export interface Csv {
  readonly header: string[];
  readonly rows: Record<string, string>[];
}

/** Strict CSV parse (every row the header's width), BOM tolerated. */
export function parseCsv(text: string): Csv {
  const records = parse(text, { bom: true, relax_column_count: false, skip_empty_lines: true }) as string[][];
  const [header, ...body] = records;
  if (!header) throw new HarnessError('empty CSV');
  return {
    header,
    rows: body.map((cells) => Object.fromEntries(header.map((name, index) => [name, cells[index] ?? '']))),
  };
}

export interface DigestOutputs {
  readonly credentialReport: Csv;
  readonly accessKeys: Csv;
  readonly summary: Record<string, unknown> & { coverage: SummaryCoverage };
  readonly html: string;
  readonly rawCredentialReport: string;
}

export interface SummaryCoverage {
  readonly expected: number;
  readonly reporting: number;
  readonly stale: number;
  readonly missing: number;
  readonly complete: boolean;
  readonly entries: readonly {
    readonly accountId: string;
    readonly status: string;
    readonly reason?: string;
    readonly detail?: string;
    readonly lastReportTime?: string;
  }[];
}

/** latest/ outputs of the digest. */
export async function readLatestOutputs(hub: Hub): Promise<DigestOutputs> {
  const files = S3_LAYOUT.outputFiles;
  const at = (name: string) => `${S3_LAYOUT.latestPrefix}${name}`;
  const rawCredentialReport = await readText(hub.bucket, at(files.credentialReport));
  return {
    rawCredentialReport,
    credentialReport: parseCsv(rawCredentialReport),
    accessKeys: parseCsv(await readText(hub.bucket, at(files.accessKeys))),
    summary: JSON.parse(await readText(hub.bucket, at(files.summary))) as DigestOutputs['summary'],
    html: await readText(hub.bucket, at(files.digest)),
  };
}

// ---------------------------------------------------------------------------------------------------
// Sent email

export interface SentEmail {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly html?: string;
  readonly text?: string;
  readonly attachments: readonly {
    readonly fileName: string;
    readonly contentType?: string;
    readonly content: Buffer;
  }[];
  /** moto's answer: 200 with a MessageId when it accepted the message. */
  readonly status: number;
  readonly messageId?: string;
}

interface SendEmailRequest {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[] };
  Content?: {
    Simple?: {
      Subject?: { Data?: string };
      Body?: { Html?: { Data?: string }; Text?: { Data?: string } };
      Attachments?: { FileName?: string; ContentType?: string; RawContent?: string }[];
    };
  };
}

/**
 * SES v2 SendEmail calls as the SDK serialised them. moto accepts Simple content with attachments but
 * stores only subject, destinations and the HTML body (GET /moto-api/data.json → ses.Message), so the
 * attachment is read from the request on the wire.
 */
export function sentEmails(emulator: Emulator): SentEmail[] {
  return emulator.proxy.callsTo('ses', 'SendEmail').map((call) => {
    const request = JSON.parse(call.body.toString('utf8')) as SendEmailRequest;
    const simple = request.Content?.Simple;
    return {
      from: request.FromEmailAddress ?? '',
      to: request.Destination?.ToAddresses ?? [],
      subject: simple?.Subject?.Data ?? '',
      html: simple?.Body?.Html?.Data,
      text: simple?.Body?.Text?.Data,
      attachments: (simple?.Attachments ?? []).map((a) => ({
        fileName: a.FileName ?? '',
        contentType: a.ContentType,
        content: Buffer.from(a.RawContent ?? '', 'base64'),
      })),
      status: call.status,
      messageId:
        call.status === 200
          ? (JSON.parse(call.response ?? '{}') as { MessageId?: string }).MessageId
          : undefined,
    };
  });
}

/** A message as moto recorded it (GET /moto-api/data.json → ses.Message; Simple content only). */
export interface MotoSentMessage {
  readonly id: string;
  readonly source: string;
  readonly subject: string;
  /** The HTML body when there is one, else the text body; attachments are not kept. */
  readonly body: string;
  readonly destinations: { readonly ToAddresses?: string[]; readonly CcAddresses?: string[] };
}

/**
 * Messages moto's SES backend recorded as sent, from its state dump. The dump holds every model of every
 * account (with MOTO_IAM_LOAD_MANAGED_POLICIES, ~1,500 managed policies per account), so it costs about
 * 0.5 s per seeded account: fine once per scenario.
 */
export async function motoSentMessages(emulator: Emulator): Promise<MotoSentMessage[]> {
  const response = await fetch(`${emulator.moto.endpoint}/moto-api/data.json`);
  if (!response.ok) throw new HarnessError(`GET /moto-api/data.json answered ${response.status}`);
  const data = (await response.json()) as { ses?: { Message?: MotoSentMessage[] } };
  return data.ses?.Message ?? [];
}
