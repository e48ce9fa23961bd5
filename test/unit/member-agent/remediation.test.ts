import 'aws-sdk-client-mock-jest';
import {
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
  NoSuchEntityException,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { parseAuditLog, type PlannedAction, type RemediationPlan } from '../../../core/deactivation';
import { runRemediation } from '../../../member-agent/remediation';

const ACCOUNT = '111122223333';
const BUCKET = 'credreport-reports';
const NOW = new Date('2026-12-04T09:00:00Z');
const PLANNED_AT = '2026-12-04T07:00:00.000Z';
const LAST_USE = '2026-06-01T00:00:00.000Z';

const iam = mockClient(IAMClient);
const s3 = mockClient(S3Client);
const logger = new Logger({ logLevel: 'SILENT' });

function action(id: string, userName: string, over: Partial<PlannedAction> = {}): PlannedAction {
  return {
    accessKeyId: id,
    userName,
    stage: 'deactivate',
    kind: 'machine',
    lastUsedAtPlan: LAST_USE,
    createDate: '2025-01-01T00:00:00.000Z',
    deactivateOn: '2026-12-04',
    ...over,
  };
}

function servePlan(plan: RemediationPlan | string): void {
  const text = typeof plan === 'string' ? plan : JSON.stringify(plan);
  s3.on(GetObjectCommand).resolves({
    Body: { transformToString: () => Promise.resolve(text) },
  } as never);
}

const plan = (actions: PlannedAction[], over: Partial<RemediationPlan> = {}): RemediationPlan => ({
  schemaVersion: 1,
  accountId: ACCOUNT,
  mode: 'enforce',
  generatedAt: PLANNED_AT,
  actions,
  ...over,
});

/** IAM as it stands at action time: users → their keys (id → status, last use). */
function iamState(users: Record<string, Record<string, { status: string; lastUsed?: string }>>): void {
  iam.on(GetAccessKeyLastUsedCommand).callsFake((input: { AccessKeyId: string }) => {
    for (const [userName, keys] of Object.entries(users)) {
      const k = keys[input.AccessKeyId];
      if (k) {
        return {
          UserName: userName,
          AccessKeyLastUsed: k.lastUsed
            ? { LastUsedDate: new Date(k.lastUsed), ServiceName: 's3', Region: 'us-east-1' }
            : undefined,
        };
      }
    }
    throw new NoSuchEntityException({ message: 'no such key', $metadata: {} });
  });
  iam.on(ListAccessKeysCommand).callsFake((input: { UserName: string }) => {
    const keys = users[input.UserName];
    if (!keys) throw new NoSuchEntityException({ message: 'no such user', $metadata: {} });
    return {
      AccessKeyMetadata: Object.entries(keys).map(([AccessKeyId, k]) => ({
        AccessKeyId,
        Status: k.status,
        UserName: input.UserName,
      })),
    };
  });
  iam.on(UpdateAccessKeyCommand).resolves({});
}

function writtenLog() {
  const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
  expect(put?.Key).toBe(`remediation/${ACCOUNT}/log/2026-12-04T090000Z.json`);
  expect(put?.Bucket).toBe(BUCKET);
  return parseAuditLog(String(put?.Body));
}

const run = (mode: 'dry-run' | 'enforce' = 'enforce') =>
  runRemediation(
    { iam: iam as unknown as IAMClient, s3: s3 as unknown as S3Client, logger, clock: () => NOW },
    { accountId: ACCOUNT, bucket: BUCKET, mode, planMaxAgeHours: 26 },
  );

beforeEach(() => {
  iam.reset();
  s3.reset();
  s3.on(PutObjectCommand).resolves({});
});

describe('runRemediation', () => {
  it('deactivates exactly the due keys in enforce mode and logs each', async () => {
    servePlan(
      plan([
        action('AKIAAAAAAAAAAAAAAAA1', 'ci-bot'),
        action('AKIAAAAAAAAAAAAAAAA2', 'old-svc', { lastUsedAtPlan: undefined }),
        action('AKIAAAAAAAAAAAAAAAA3', 'ci-bot', { stage: 'final-notice', deactivateOn: '2026-12-10' }),
      ]),
    );
    iamState({
      'ci-bot': {
        AKIAAAAAAAAAAAAAAAA1: { status: 'Active', lastUsed: LAST_USE },
        AKIAAAAAAAAAAAAAAAA3: { status: 'Active' },
      },
      'old-svc': { AKIAAAAAAAAAAAAAAAA2: { status: 'Active' } },
    });
    const result = await run();
    expect(result).toEqual({ plan: 'acted', records: 2, deactivated: 2 });
    expect(iam).toHaveReceivedCommandTimes(UpdateAccessKeyCommand, 2);
    expect(iam).toHaveReceivedCommandWith(UpdateAccessKeyCommand, {
      UserName: 'ci-bot',
      AccessKeyId: 'AKIAAAAAAAAAAAAAAAA1',
      Status: 'Inactive',
    });
    expect(iam).toHaveReceivedCommandWith(UpdateAccessKeyCommand, {
      UserName: 'old-svc',
      AccessKeyId: 'AKIAAAAAAAAAAAAAAAA2',
      Status: 'Inactive',
    });
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: BUCKET,
      Key: `remediation/${ACCOUNT}/plan.json`,
    });
    expect(writtenLog().records.map((r) => [r.accessKeyId, r.outcome])).toEqual([
      ['AKIAAAAAAAAAAAAAAAA1', 'deactivated'],
      ['AKIAAAAAAAAAAAAAAAA2', 'deactivated'],
    ]);
  });

  it('never calls UpdateAccessKey in dry-run mode, and logs what it would do', async () => {
    servePlan(plan([action('AKIAAAAAAAAAAAAAAAA1', 'ci-bot')]));
    iamState({ 'ci-bot': { AKIAAAAAAAAAAAAAAAA1: { status: 'Active', lastUsed: LAST_USE } } });
    await run('dry-run');
    expect(iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(writtenLog()).toMatchObject({ mode: 'dry-run', records: [{ outcome: 'would-deactivate' }] });
  });

  it("stays in dry run when the plan says dry-run, whatever the agent's mode", async () => {
    servePlan(plan([action('AKIAAAAAAAAAAAAAAAA1', 'ci-bot')], { mode: 'dry-run' }));
    iamState({ 'ci-bot': { AKIAAAAAAAAAAAAAAAA1: { status: 'Active', lastUsed: LAST_USE } } });
    await run('enforce');
    expect(iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
  });

  it('skips a key used since the plan, a rotated key, a deleted user and an inactive key, with reasons', async () => {
    servePlan(
      plan([
        action('AKIAAAAAAAAAAAAAAAA1', 'used'),
        action('AKIAAAAAAAAAAAAAAAA2', 'rotated'),
        action('AKIAAAAAAAAAAAAAAAA3', 'deleted'),
        action('AKIAAAAAAAAAAAAAAAA4', 'inactive'),
        action('AKIAAAAAAAAAAAAAAAA5', 'never', { lastUsedAtPlan: undefined }),
      ]),
    );
    iamState({
      used: { AKIAAAAAAAAAAAAAAAA1: { status: 'Active', lastUsed: '2026-12-04T08:00:00.000Z' } },
      // Rotated: the planned key was deleted, a new one exists.
      rotated: { AKIAAAAAAAAAAAAAAAA9: { status: 'Active' } },
      inactive: { AKIAAAAAAAAAAAAAAAA4: { status: 'Inactive', lastUsed: LAST_USE } },
      // Never used at plan time, used since.
      never: { AKIAAAAAAAAAAAAAAAA5: { status: 'Active', lastUsed: '2026-12-03T00:00:00.000Z' } },
    });
    await run();
    expect(iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(writtenLog().records.map((r) => [r.userName, r.outcome, r.reason])).toEqual([
      ['used', 'skipped', 'used-since-plan'],
      ['rotated', 'skipped', 'key-gone'],
      ['deleted', 'skipped', 'key-gone'],
      ['inactive', 'skipped', 'already-inactive'],
      ['never', 'skipped', 'used-since-plan'],
    ]);
  });

  it("takes a last use within a day of the plan's for the same use, and deactivates the key", async () => {
    // The plan's last use came from the credential report; GetAccessKeyLastUsed words it 10 minutes later.
    const tenMinutesLater = new Date(Date.parse(LAST_USE) + 600_000).toISOString();
    const twoDaysLater = new Date(Date.parse(LAST_USE) + 2 * 86_400_000).toISOString();
    servePlan(plan([action('AKIAAAAAAAAAAAAAAAA1', 'same-use'), action('AKIAAAAAAAAAAAAAAAA2', 'new-use')]));
    iamState({
      'same-use': { AKIAAAAAAAAAAAAAAAA1: { status: 'Active', lastUsed: tenMinutesLater } },
      'new-use': { AKIAAAAAAAAAAAAAAAA2: { status: 'Active', lastUsed: twoDaysLater } },
    });
    await run();
    expect(writtenLog().records.map((r) => [r.userName, r.outcome, r.reason])).toEqual([
      ['same-use', 'deactivated', undefined],
      ['new-use', 'skipped', 'used-since-plan'],
    ]);
  });

  it('skips a key whose user was deleted after GetAccessKeyLastUsed answered', async () => {
    servePlan(plan([action('AKIAAAAAAAAAAAAAAAA1', 'gone')]));
    iam.on(GetAccessKeyLastUsedCommand).resolves({
      UserName: 'gone',
      AccessKeyLastUsed: { LastUsedDate: new Date(LAST_USE), ServiceName: 's3', Region: 'us-east-1' },
    });
    iam
      .on(ListAccessKeysCommand)
      .rejects(new NoSuchEntityException({ message: 'no such user', $metadata: {} }));
    await run();
    expect(iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(writtenLog().records).toEqual([
      expect.objectContaining({ outcome: 'skipped', reason: 'user-gone' }),
    ]);
  });

  it("does not act on a stale plan, nor on another account's, and says so in the log", async () => {
    servePlan(plan([action('AKIAAAAAAAAAAAAAAAA1', 'ci-bot')], { generatedAt: '2026-12-02T07:00:00.000Z' }));
    iamState({ 'ci-bot': { AKIAAAAAAAAAAAAAAAA1: { status: 'Active', lastUsed: LAST_USE } } });
    await run();
    expect(iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(writtenLog()).toMatchObject({ plan: 'stale', records: [] });

    s3.reset();
    s3.on(PutObjectCommand).resolves({});
    servePlan(plan([action('AKIAAAAAAAAAAAAAAAA1', 'ci-bot')], { accountId: '999988887777' }));
    await run();
    expect(iam).not.toHaveReceivedCommand(UpdateAccessKeyCommand);
    expect(writtenLog()).toMatchObject({ plan: 'invalid', records: [] });
  });

  it('does nothing and writes nothing when the account has no plan', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no plan', $metadata: {} }));
    expect(await run()).toEqual({ plan: 'none' });
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(iam).not.toHaveReceivedAnyCommand();
  });

  it('skips a key whose owner changed since the plan and still acts on the next key', async () => {
    servePlan(
      plan([action('AKIAAAAAAAAAAAAAAAA1', 'planned-user'), action('AKIAAAAAAAAAAAAAAAA2', 'next-user')]),
    );
    iamState({
      // The planned key id now answers for another user: the plan no longer describes it.
      'other-user': { AKIAAAAAAAAAAAAAAAA1: { status: 'Active', lastUsed: LAST_USE } },
      'planned-user': {},
      'next-user': { AKIAAAAAAAAAAAAAAAA2: { status: 'Active', lastUsed: LAST_USE } },
    });
    const result = await run();
    expect(result).toEqual({ plan: 'acted', records: 2, deactivated: 1 });
    expect(iam).toHaveReceivedCommandTimes(UpdateAccessKeyCommand, 1);
    expect(iam).toHaveReceivedCommandWith(UpdateAccessKeyCommand, {
      UserName: 'next-user',
      AccessKeyId: 'AKIAAAAAAAAAAAAAAAA2',
      Status: 'Inactive',
    });
    expect(iam).not.toHaveReceivedCommandWith(UpdateAccessKeyCommand, {
      AccessKeyId: 'AKIAAAAAAAAAAAAAAAA1',
    });
    // The re-check stops at GetAccessKeyLastUsed: the changed key's user is never listed.
    expect(iam).not.toHaveReceivedCommandWith(ListAccessKeysCommand, { UserName: 'planned-user' });
    expect(iam).not.toHaveReceivedCommandWith(ListAccessKeysCommand, { UserName: 'other-user' });
    expect(writtenLog().records.map((r) => [r.accessKeyId, r.userName, r.outcome, r.reason])).toEqual([
      ['AKIAAAAAAAAAAAAAAAA1', 'planned-user', 'skipped', 'user-changed'],
      ['AKIAAAAAAAAAAAAAAAA2', 'next-user', 'deactivated', undefined],
    ]);
  });

  it('records a failed UpdateAccessKey as failed and goes on with the next key', async () => {
    servePlan(plan([action('AKIAAAAAAAAAAAAAAAA1', 'a'), action('AKIAAAAAAAAAAAAAAAA2', 'b')]));
    iamState({
      a: { AKIAAAAAAAAAAAAAAAA1: { status: 'Active', lastUsed: LAST_USE } },
      b: { AKIAAAAAAAAAAAAAAAA2: { status: 'Active', lastUsed: LAST_USE } },
    });
    iam
      .on(UpdateAccessKeyCommand, { AccessKeyId: 'AKIAAAAAAAAAAAAAAAA1' })
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    await run();
    expect(writtenLog().records.map((r) => [r.userName, r.outcome, r.detail])).toEqual([
      ['a', 'failed', 'AccessDenied'],
      ['b', 'deactivated', undefined],
    ]);
  });
});
