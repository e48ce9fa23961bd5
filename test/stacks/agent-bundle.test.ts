import 'aws-sdk-client-mock-jest';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { assembleParts, parsePartDetail } from '../../core/event-contract';
import { bundleMemberAgent } from '../../stacks/build/agent-bundle';
import { ACCOUNT } from '../unit/collector/fixtures';
import { setupIamAccount } from '../unit/collector/iam-mock';

type Handler = (event: unknown, context: Context) => Promise<{ parts: number; users: number }>;

/** Loads the bundle as Lambda would (CommonJS), resolving only `@aws-sdk/*` from the repo's node_modules. */
function load(code: string): { handler: Handler } {
  const mod = { exports: {} as { handler: Handler } };
  const requireShim = (id: string): unknown => {
    // Jest's own require, so that the bundle gets the same (mocked) SDK client classes as this test.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (id.startsWith('@aws-sdk/') || id.startsWith('node:') || !id.includes('/')) return require(id);
    throw new Error(`bundle requires a module it should contain: ${id}`);
  };
  new Function('module', 'exports', 'require', '__filename', '__dirname', code)(
    mod,
    mod.exports,
    requireShim,
    '/var/task/index.js',
    '/var/task',
  );
  return mod.exports;
}

describe('bundleMemberAgent', () => {
  const bundle = bundleMemberAgent();

  it('produces one file under 500 KB when built', () => {
    expect(bundle.bytes).toBe(Buffer.byteLength(bundle.code));
    expect(bundle.bytes).toBeLessThan(500_000);
  });

  it('leaves the AWS SDK v3 clients to the runtime and bundles everything else', () => {
    const required = [...bundle.code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(required).toEqual(expect.arrayContaining(['@aws-sdk/client-iam', '@aws-sdk/client-eventbridge']));
    expect(
      required.filter((id) => !id!.startsWith('@aws-sdk/') && !id!.startsWith('node:') && id!.includes('/')),
    ).toEqual([]);
    expect(bundle.code).not.toContain('@cloud-copilot');
  });

  it('is deterministic so an unchanged agent does not redeploy the StackSet', () => {
    expect(bundleMemberAgent().code).toBe(bundle.code);
  });

  it('runs a whole invocation from the bundled code when loaded like the Lambda runtime', async () => {
    const saved = { ...process.env };
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      process.env.EVENT_BUS_NAME = 'arn:aws:events:us-east-1:111111111111:event-bus/credreport-central';
      setupIamAccount({ users: [{ name: 'alice', keys: [{ created: '2023-01-01T00:00:00+00:00' }] }] });
      const eb = mockClient(EventBridgeClient);
      eb.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => ({
        FailedEntryCount: 0,
        Entries: input.Entries.map(() => ({ EventId: 'e' })),
        $metadata: {},
      }));
      const { handler } = load(bundle.code);
      const result = await handler({}, {
        invokedFunctionArn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:agent`,
      } as Context);
      expect(result).toMatchObject({ parts: 1, users: 1 });
      const parts = eb
        .commandCalls(PutEventsCommand)
        .flatMap((c) => (c.args[0].input.Entries ?? []).map((e) => parsePartDetail(JSON.parse(e.Detail!))));
      expect(assembleParts(parts).accessKeys).toHaveLength(1);
    } finally {
      write.mockRestore();
      process.env = saved;
    }
  });
});
