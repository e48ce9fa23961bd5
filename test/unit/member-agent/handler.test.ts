import 'aws-sdk-client-mock-jest';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { GenerateCredentialReportCommand, GetCredentialReportCommand } from '@aws-sdk/client-iam';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  assembleParts,
  parseAgentFailureDetail,
  parsePartDetail,
  reportIdFor,
} from '../../../core/event-contract';
import { AGENT_FAILURE_DETAIL_TYPE } from '../../../core/names';
import {
  CustomResourceResponseError,
  INITIAL_REPORT_PHYSICAL_ID,
  fetchResponseSender,
} from '../../../member-agent/custom-resource';
import { MemberAgentEnvSchema } from '../../../member-agent/env';
import {
  AgentConfigError,
  accountIdFromFunctionArn,
  createHandler,
  type AgentDeps,
} from '../../../member-agent/handler';
import { PublishError } from '../../../member-agent/publish';
import { startOffsetMs } from '../../../core/start-window';
import { ACCOUNT, GENERATED, type FixtureUser } from '../collector/fixtures';
import { fakeTime, keyIdOf, setupIamAccount } from '../collector/iam-mock';

const USERS: FixtureUser[] = [
  { name: 'alice', keys: [{ created: '2023-01-01T00:00:00+00:00', lastUsed: '2024-04-30T00:00:00+00:00' }] },
  { name: 'bob', keys: [{ created: '2022-06-01T12:00:00+00:00' }] },
];

const context = {
  invokedFunctionArn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:credreport-member-agent`,
  functionName: 'credreport-member-agent',
  awsRequestId: 'req-1',
} as Context;

const ebMock = mockClient(EventBridgeClient);
const eventBridge = new EventBridgeClient({ region: 'eu-west-1' });

const CENTRAL_BUS = 'arn:aws:events:eu-west-1:111111111111:event-bus/credreport-central';
const OTHER_BUS = 'arn:aws:events:eu-west-1:111111111111:event-bus/agent-bus';

function setup(env: Record<string, string> = {}) {
  ebMock.reset();
  const order: string[] = [];
  const { iam, mock } = setupIamAccount({ users: USERS });
  const generate = mock.on(GenerateCredentialReportCommand);
  generate.callsFake(() => {
    order.push('iam');
    return { State: 'COMPLETE', $metadata: {} };
  });
  ebMock.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
    order.push('put');
    return {
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: `e${i}` })),
      $metadata: {},
    };
  });
  const responses: { url: string; body: Record<string, unknown> }[] = [];
  const logs: string[] = [];
  const logger = new Logger({ serviceName: 'test', logLevel: 'DEBUG' });
  const time = fakeTime();
  const deps: AgentDeps = {
    env: MemberAgentEnvSchema.parse({ EVENT_BUS_NAME: CENTRAL_BUS, ...env }),
    iam,
    eventBridge,
    logger,
    sleep: time.sleep,
    clock: time.clock,
    respond: async (url, body) => {
      order.push('respond');
      responses.push({ url, body: JSON.parse(body) as Record<string, unknown> });
    },
  };
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    logs.push(String(chunk));
    return true;
  });
  return {
    deps,
    handler: createHandler(() => deps),
    iamMock: mock,
    order,
    responses,
    logs,
    time,
    restore: () => write.mockRestore(),
  };
}

/** The detail-types of every entry put on the bus. */
function sentDetailTypes() {
  return ebMock
    .commandCalls(PutEventsCommand)
    .flatMap((c) => (c.args[0].input.Entries ?? []).map((e) => e.DetailType));
}

/** The agent failures put on the bus, parsed with the hub's schema. */
function sentFailures() {
  return ebMock
    .commandCalls(PutEventsCommand)
    .flatMap((c) => c.args[0].input.Entries ?? [])
    .filter((e) => e.DetailType === AGENT_FAILURE_DETAIL_TYPE)
    .map((e) => parseAgentFailureDetail(JSON.parse(e.Detail!)));
}

function sentParts() {
  return ebMock
    .commandCalls(PutEventsCommand)
    .flatMap((c) => (c.args[0].input.Entries ?? []).map((e) => parsePartDetail(JSON.parse(e.Detail!))));
}

const customResource = (RequestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent =>
  ({
    RequestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:credreport-member-agent',
    ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/presigned',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/StackSet-credreport/abc',
    RequestId: 'req-42',
    LogicalResourceId: 'InitialReport',
    ResourceType: 'Custom::CredreportInitialReport',
    ResourceProperties: { ServiceToken: 'x' },
    ...(RequestType === 'Create' ? {} : { PhysicalResourceId: INITIAL_REPORT_PHYSICAL_ID }),
  }) as CloudFormationCustomResourceEvent;

describe('member agent handler', () => {
  it('collects and publishes the report when invoked by the schedule', async () => {
    const t = setup();
    try {
      const result = await t.handler(
        { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} },
        context,
      );
      expect(result).toEqual({
        accountId: ACCOUNT,
        trigger: 'schedule',
        reportId: reportIdFor(ACCOUNT, GENERATED),
        parts: 1,
        users: 2,
      });
      const report = assembleParts(sentParts());
      expect(report.accountId).toBe(ACCOUNT);
      expect(report.accessKeys.map((k) => k.accessKeyId)).toEqual([keyIdOf('alice', 1), keyIdOf('bob', 1)]);
      expect(ebMock).toHaveReceivedCommandWith(PutEventsCommand, {
        Entries: [expect.objectContaining({ EventBusName: CENTRAL_BUS })],
      });
    } finally {
      t.restore();
    }
  });

  it('reports immediately when invoked by hand with any payload', async () => {
    const t = setup({ EVENT_BUS_NAME: OTHER_BUS });
    try {
      const result = await t.handler({ hello: 'world' }, context);
      expect(result.trigger).toBe('manual');
      expect(ebMock).toHaveReceivedCommandWith(PutEventsCommand, {
        Entries: [expect.objectContaining({ EventBusName: OTHER_BUS })],
      });
    } finally {
      t.restore();
    }
  });

  it('answers the custom resource SUCCESS before collecting when the StackSet instance is created', async () => {
    const t = setup();
    try {
      const result = await t.handler(customResource('Create'), context);
      expect(t.order[0]).toBe('respond');
      expect(t.order).toContain('iam');
      expect(t.order.at(-1)).toBe('put');
      expect(t.responses).toEqual([
        {
          url: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/presigned',
          body: {
            Status: 'SUCCESS',
            Reason: 'Report collection started',
            PhysicalResourceId: INITIAL_REPORT_PHYSICAL_ID,
            StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/StackSet-credreport/abc',
            RequestId: 'req-42',
            LogicalResourceId: 'InitialReport',
            Data: {},
          },
        },
      ]);
      expect(result).toMatchObject({ trigger: 'custom-resource', parts: 1 });
    } finally {
      t.restore();
    }
  });

  it('keeps the physical id when the custom resource is updated', async () => {
    const t = setup();
    try {
      await t.handler(customResource('Update'), context);
      expect(t.responses[0]!.body.PhysicalResourceId).toBe(INITIAL_REPORT_PHYSICAL_ID);
    } finally {
      t.restore();
    }
  });

  it('only responds when the custom resource is deleted', async () => {
    const t = setup();
    try {
      const result = await t.handler(customResource('Delete'), context);
      expect(result).toEqual({ accountId: ACCOUNT, trigger: 'custom-resource', parts: 0, users: 0 });
      expect(t.order).toEqual(['respond']);
      expect(t.responses[0]!.body).toMatchObject({
        Status: 'SUCCESS',
        PhysicalResourceId: INITIAL_REPORT_PHYSICAL_ID,
      });
      expect(ebMock).not.toHaveReceivedCommand(PutEventsCommand);
    } finally {
      t.restore();
    }
  });

  it('has answered SUCCESS and then fails the invocation when the collection fails on first deployment', async () => {
    const t = setup();
    try {
      t.iamMock.on(GetCredentialReportCommand).resolves({
        Content: new TextEncoder().encode('not,a,report\n'),
        GeneratedTime: new Date(GENERATED),
        $metadata: {},
      });
      await expect(t.handler(customResource('Create'), context)).rejects.toThrow(
        /malformed credential report/,
      );
      expect(t.responses[0]!.body.Status).toBe('SUCCESS');
      // No part; only the failure, for the hub's coverage.
      expect(sentDetailTypes()).toEqual([AGENT_FAILURE_DETAIL_TYPE]);
      expect(sentFailures()).toMatchObject([{ stage: 'collect', errorName: 'CollectError' }]);
    } finally {
      t.restore();
    }
  });

  it('fails without collecting when the custom resource response cannot be delivered', async () => {
    const t = setup();
    const refused = new CustomResourceResponseError('could not deliver the custom resource response');
    const handler = createHandler(() => ({
      ...t.deps,
      respond: async () => {
        throw refused;
      },
    }));
    try {
      // Lambda retries the asynchronous invocation, which answers again and then collects.
      await expect(handler(customResource('Create'), context)).rejects.toBe(refused);
      expect(t.iamMock).not.toHaveReceivedCommand(GenerateCredentialReportCommand);
      expect(sentDetailTypes()).toEqual([AGENT_FAILURE_DETAIL_TYPE]);
      expect(sentFailures()).toMatchObject([{ stage: 'start', errorName: 'CustomResourceResponseError' }]);
    } finally {
      t.restore();
    }
  });

  it('publishes no part, only its failure, and fails when IAM returns a malformed report', async () => {
    const t = setup();
    try {
      t.iamMock.on(GetCredentialReportCommand).resolves({
        Content: new TextEncoder().encode('user,arn\n'),
        GeneratedTime: new Date(GENERATED),
        $metadata: {},
      });
      await expect(t.handler({}, context)).rejects.toThrow(/malformed credential report/);
      expect(sentDetailTypes()).toEqual([AGENT_FAILURE_DETAIL_TYPE]);
      expect(sentFailures()).toEqual([
        {
          schemaVersion: 1,
          accountId: ACCOUNT,
          runId: 'req-1',
          failedTime: expect.any(String),
          stage: 'collect',
          errorName: 'CollectError',
          message: expect.stringMatching(/^IAM returned a malformed credential report: /),
          agentVersion: 'unversioned',
        },
      ]);
    } finally {
      t.restore();
    }
  });

  it('fails the invocation with PublishError when parts cannot be put on the bus', async () => {
    const t = setup();
    try {
      ebMock
        .on(PutEventsCommand)
        .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }], $metadata: {} });
      await expect(t.handler({}, context)).rejects.toThrow(PublishError);
    } finally {
      t.restore();
    }
  });

  it('reports a publish failure to the hub after the part retries, and still fails with PublishError', async () => {
    const t = setup({ AGENT_VERSION: 'abcdef012345' });
    try {
      ebMock
        .on(PutEventsCommand)
        .callsFake((input: { Entries: PutEventsRequestEntry[] }) =>
          input.Entries[0]?.DetailType === AGENT_FAILURE_DETAIL_TYPE
            ? { FailedEntryCount: 0, Entries: [{ EventId: 'f1' }], $metadata: {} }
            : { FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }], $metadata: {} },
        );
      await expect(t.handler({}, context)).rejects.toThrow(PublishError);
      expect(sentDetailTypes().at(-1)).toBe(AGENT_FAILURE_DETAIL_TYPE);
      expect(sentDetailTypes().filter((d) => d === AGENT_FAILURE_DETAIL_TYPE)).toHaveLength(1);
      expect(sentFailures()).toMatchObject([
        { stage: 'publish', errorName: 'PublishError', agentVersion: 'abcdef012345' },
      ]);
      expect(sentFailures()[0]?.message).toMatch(/ThrottlingException/);
    } finally {
      t.restore();
    }
  });

  it('keeps the run own error when the failure report cannot be delivered either', async () => {
    const t = setup();
    try {
      ebMock
        .on(PutEventsCommand)
        .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
      await expect(t.handler({}, context)).rejects.toThrow(PublishError);
      // It was tried, once, after the parts; its own error did not replace the run's.
      expect(sentDetailTypes().filter((d) => d === AGENT_FAILURE_DETAIL_TYPE)).toHaveLength(1);
    } finally {
      t.restore();
    }
  });

  it('reports a timeout to the hub while a run is still going shortly before the function timeout', async () => {
    const t = setup();
    // IAM never answers: the run would be ended by Lambda's timeout, with no catch.
    t.iamMock.on(GenerateCredentialReportCommand).callsFake(() => new Promise(() => undefined));
    const nearTimeout = { ...context, getRemainingTimeInMillis: () => 30 } as Context;
    const handler = createHandler(() => ({ ...t.deps, timeoutReportMarginMs: 0 }));
    try {
      void handler({}, nearTimeout);
      for (let i = 0; i < 50 && sentFailures().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(sentFailures()).toMatchObject([{ stage: 'timeout', errorName: 'AgentTimeoutError' }]);
      expect(sentFailures()[0]?.message).toBe('the run reached its timeout while in stage collect');
      expect(sentDetailTypes()).toEqual([AGENT_FAILURE_DETAIL_TYPE]);
    } finally {
      t.restore();
    }
  });

  it('reports nothing when the run ends before the timeout margin', async () => {
    const t = setup();
    const roomy = { ...context, getRemainingTimeInMillis: () => 900_000 } as Context;
    try {
      await t.handler({}, roomy);
      expect(sentFailures()).toEqual([]);
    } finally {
      t.restore();
    }
  });

  it('logs structured JSON without report contents, user names or key ids', async () => {
    const t = setup();
    try {
      await t.handler({}, context);
    } finally {
      t.restore();
    }
    expect(t.logs.length).toBeGreaterThan(0);
    const records = t.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((r) => r.message)).toEqual(
      expect.arrayContaining(['Credential report ready', 'Report published']),
    );
    expect(records.every((r) => r.accountId === ACCOUNT)).toBe(true);
    const all = t.logs.join('\n');
    for (const secret of ['alice', 'bob', keyIdOf('alice', 1), 'arn:aws:iam::123456789012:user'])
      expect(all).not.toContain(secret);
  });

  it('rejects an invocation whose function ARN carries no account id', () => {
    expect(() => accountIdFromFunctionArn('arn:aws:lambda:eu-west-1:xyz:function:f')).toThrow(
      AgentConfigError,
    );
    expect(accountIdFromFunctionArn(context.invokedFunctionArn)).toBe(ACCOUNT);
  });
});

describe('member agent start window', () => {
  const WINDOW_SECONDS = 240;
  const offset = startOffsetMs(ACCOUNT, WINDOW_SECONDS * 1000);
  const scheduled = (time: string) => ({
    source: 'aws.events',
    'detail-type': 'Scheduled Event',
    time,
    detail: {},
  });

  /** The handler with a wait that is recorded in the call order, and the time of the first IAM call. */
  function windowed() {
    const t = setup({ START_WINDOW_SECONDS: String(WINDOW_SECONDS) });
    let firstIamAt: number | undefined;
    t.iamMock.on(GenerateCredentialReportCommand).callsFake(() => {
      t.order.push('iam');
      firstIamAt ??= t.time.clock().getTime();
      return { State: 'COMPLETE', $metadata: {} };
    });
    const handler = createHandler(() => ({
      ...t.deps,
      sleep: async (ms: number) => {
        t.order.push(`wait ${ms}`);
        await t.time.sleep(ms);
      },
    }));
    return { ...t, handler, firstIamAt: () => firstIamAt };
  }

  it('waits for its own offset into the window before collecting on a scheduled run', async () => {
    const t = windowed();
    try {
      const start = t.time.clock();
      expect(offset).toBeGreaterThan(0);
      await t.handler(scheduled(start.toISOString()), context);
      expect(t.order.slice(0, 2)).toEqual([`wait ${offset}`, 'iam']);
      expect(t.firstIamAt()).toBe(start.getTime() + offset);
      expect(ebMock).toHaveReceivedCommand(PutEventsCommand);
      expect(t.logs.join('')).toContain('"message":"Waiting for this account start slot"');
    } finally {
      t.restore();
    }
  });

  it('counts the wait from the schedule time, so a run invoked late waits only what is left', async () => {
    const t = windowed();
    try {
      const start = t.time.clock().getTime();
      await t.handler(scheduled(new Date(start - 1_000).toISOString()), context);
      expect(t.order[0]).toBe(`wait ${offset - 1_000}`);
      const late = windowed();
      try {
        const lateStart = late.time.clock().getTime();
        await late.handler(scheduled(new Date(lateStart - 3_600_000).toISOString()), context);
        expect(late.order[0]).toBe('wait 0');
        expect(late.firstIamAt()).toBe(lateStart);
      } finally {
        late.restore();
      }
    } finally {
      t.restore();
    }
  });

  it('starts at once when invoked by hand or by the first-deployment custom resource', async () => {
    const manual = windowed();
    try {
      const start = manual.time.clock().getTime();
      await manual.handler({ hello: 'world' }, context);
      expect(manual.order[0]).toBe('iam');
      expect(manual.firstIamAt()).toBe(start);
    } finally {
      manual.restore();
    }
    const first = windowed();
    try {
      const start = first.time.clock().getTime();
      await first.handler(customResource('Create'), context);
      expect(first.order.slice(0, 2)).toEqual(['respond', 'iam']);
      expect(first.firstIamAt()).toBe(start);
    } finally {
      first.restore();
    }
  });

  it('does not wait on a scheduled run when the window is 0', async () => {
    const t = setup();
    try {
      const start = t.time.clock().getTime();
      await t.handler(scheduled(new Date(start).toISOString()), context);
      expect(t.time.elapsed()).toBe(0);
      expect(t.order[0]).toBe('iam');
    } finally {
      t.restore();
    }
  });
});

describe('member agent handler environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('fails naming the variable when the environment is invalid', async () => {
    process.env.EVENT_BUS_NAME = CENTRAL_BUS;
    process.env.MAX_ENTRY_BYTES = 'lots';
    let handler: typeof import('../../../member-agent/handler').handler | undefined;
    // A fresh module instance: the environment is parsed once per cold start.
    await jest.isolateModulesAsync(async () => {
      ({ handler } = await import('../../../member-agent/handler'));
    });
    await expect(handler!({}, context)).rejects.toThrow(/invalid environment: MAX_ENTRY_BYTES/);
  });

  it('refuses a bus that is not an event bus ARN: only the central bus policy admits the agent', async () => {
    process.env.EVENT_BUS_NAME = 'default';
    let handler: typeof import('../../../member-agent/handler').handler | undefined;
    await jest.isolateModulesAsync(async () => {
      ({ handler } = await import('../../../member-agent/handler'));
    });
    await expect(handler!({}, context)).rejects.toThrow(/invalid environment: EVENT_BUS_NAME/);
  });
});

describe('fetchResponseSender', () => {
  it('PUTs the body without a content type when given the pre-signed URL', async () => {
    const received: { method?: string; headers: Record<string, unknown>; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ method: req.method, headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await fetchResponseSender(
        `http://127.0.0.1:${port}/presigned?X-Amz-Signature=abc`,
        '{"Status":"SUCCESS"}',
      );
      expect(received).toHaveLength(1);
      expect(received[0]!.method).toBe('PUT');
      expect(received[0]!.body).toBe('{"Status":"SUCCESS"}');
      expect(received[0]!.headers['content-type']).toBeUndefined();
    } finally {
      server.close();
    }
  });

  it('retries a 5xx answer and does not retry a 4xx one', async () => {
    const answers = [503, 200];
    let received = 0;
    const server = createServer((_req, res) => {
      received++;
      res.writeHead(answers.shift() ?? 403).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await fetchResponseSender(`http://127.0.0.1:${port}/x`, '{}');
      expect(received).toBe(2);
      const refused = (await fetchResponseSender(`http://127.0.0.1:${port}/x`, '{}').catch(
        (e: unknown) => e,
      )) as Error;
      expect(refused).toBeInstanceOf(CustomResourceResponseError);
      expect((refused.cause as Error).message).toBe('response URL answered HTTP 403');
      expect(received).toBe(3);
    } finally {
      server.close();
    }
  });

  it('throws CustomResourceResponseError when the URL refuses the response', async () => {
    const server = createServer((_req, res) => res.writeHead(403).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await expect(fetchResponseSender(`http://127.0.0.1:${port}/x`, '{}')).rejects.toThrow(
        /could not deliver the custom resource response/,
      );
    } finally {
      server.close();
    }
  });
});
