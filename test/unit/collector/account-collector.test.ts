import 'aws-sdk-client-mock-jest';
import {
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetAccountAuthorizationDetailsCommand,
  GetCredentialReportCommand,
  ListAccessKeysCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { ReportParseError } from '../../../core/credential-report';
import { assembleParts, entryBytes, splitReport } from '../../../core/event-contract';
import { CollectError, collectAccountReport } from '../../../collector/account-collector';
import { ACCOUNT, GENERATED, manyUsers, reportCsv, syntheticUsers, type FixtureUser } from './fixtures';
import {
  CredentialReportExpiredException,
  CredentialReportNotPresentException,
  CredentialReportNotReadyException,
  LimitExceededException,
  NoSuchEntityException,
  accessDenied,
  fakeTime,
  keyIdOf,
  meta,
  setupIamAccount,
  type AccountSpec,
} from './iam-mock';
import { AWS_POLICIES, awsManaged, userDetail } from '../core/policy-fixtures';

const USERS: FixtureUser[] = [
  {
    name: 'alice',
    password: true,
    mfa: true,
    keys: [{ created: '2023-01-01T00:00:00+00:00', lastUsed: '2024-04-30T00:00:00+00:00' }],
  },
  {
    name: 'bob',
    keys: [{ created: '2022-06-01T12:00:00+00:00' }, { created: '2024-02-01T00:00:00+00:00', active: false }],
  },
  { name: 'carol' },
];

function collect(spec: AccountSpec, opts: { budgetMs?: number; collectPrivileges?: boolean } = {}) {
  const { iam, mock } = setupIamAccount(spec);
  const time = fakeTime();
  // Started on demand so that a test can override mocks first.
  const run = () =>
    collectAccountReport({ iam, sleep: time.sleep, clock: time.clock }, { accountId: ACCOUNT, ...opts });
  return { iam, mock, time, run };
}

describe('collectAccountReport', () => {
  it('returns the report, key inventory, privileges and call counts when IAM answers normally', async () => {
    const userDetails = [
      userDetail({ name: 'alice', attached: [AWS_POLICIES.AdministratorAccess.Arn] }),
      userDetail({ name: 'bob' }),
      userDetail({ name: 'carol' }),
    ];
    const { run, mock } = collect({
      users: USERS,
      userDetails,
      policies: [awsManaged(AWS_POLICIES.AdministratorAccess)],
    });
    const { report, stats } = await run();

    expect(report).toMatchObject({
      schemaVersion: 3,
      accountId: ACCOUNT,
      generatedTime: GENERATED,
      credentialReportCsv: reportCsv(USERS),
    });
    expect(report.accessKeys).toEqual([
      {
        userName: 'alice',
        accessKeyId: keyIdOf('alice', 1),
        status: 'Active',
        createDate: '2023-01-01T00:00:00.000Z',
      },
      {
        userName: 'bob',
        accessKeyId: keyIdOf('bob', 1),
        status: 'Active',
        createDate: '2022-06-01T12:00:00.000Z',
      },
      {
        userName: 'bob',
        accessKeyId: keyIdOf('bob', 2),
        status: 'Inactive',
        createDate: '2024-02-01T00:00:00.000Z',
      },
    ]);
    expect(report.privileges?.map((p) => [p.userName, p.admin])).toEqual([
      ['alice', true],
      ['bob', false],
      ['carol', false],
    ]);
    expect(report.warnings).toBeUndefined();
    expect(stats.users).toBe(3);
    expect(stats.apiCalls).toEqual({
      GenerateCredentialReport: 1,
      GetCredentialReport: 1,
      GetAccountAuthorizationDetails: 1,
      ListAccessKeys: 2, // carol has no key in the report
      GetAccountSummary: 1,
      GetAccountPasswordPolicy: 1,
      ListVirtualMFADevices: 1,
    });
    expect(report.accountFacts).toEqual({
      rootCredentials: {
        mfaEnabled: false,
        accessKeysPresent: false,
        passwordPresent: false,
        signingCertificatesPresent: false,
      },
      passwordPolicy: { present: true, minimumPasswordLength: 14, passwordReusePrevention: 24 },
      rootMfaVirtual: false,
      userTags: [],
      usersWithDirectPolicies: ['alice'],
    });
    expect(mock).toHaveReceivedCommandWith(GetAccountAuthorizationDetailsCommand, {
      Filter: ['User', 'Group', 'Role', 'LocalManagedPolicy', 'AWSManagedPolicy'],
    });
    expect(mock).not.toHaveReceivedCommand(GetAccessKeyLastUsedCommand);
    expect(mock).not.toHaveReceivedCommand(ListUsersCommand);
  });

  it('follows every Marker when GetAccountAuthorizationDetails and ListAccessKeys are paginated', async () => {
    const users = manyUsers(25).map((u) => ({
      ...u,
      keys: [{ created: '2023-01-01T00:00:00+00:00' }, { created: '2023-02-01T00:00:00+00:00' }],
    }));
    const { run, mock } = collect({ users, pageSize: 10, keyPageSize: 1 });
    const { report, stats } = await run();
    expect(report.privileges).toHaveLength(25);
    expect(report.accessKeys).toHaveLength(50);
    expect(stats.apiCalls.GetAccountAuthorizationDetails).toBe(3);
    expect(stats.apiCalls.ListAccessKeys).toBe(50);
    expect(mock).toHaveReceivedCommandWith(GetAccountAuthorizationDetailsCommand, { Marker: '20' });
    expect(mock).toHaveReceivedCommandWith(ListAccessKeysCommand, { UserName: 'user00003', Marker: '1' });
  });

  it('evaluates role paths from roles returned on the last snapshot page', async () => {
    const users = manyUsers(15);
    const userDetails = users.map((u) =>
      userDetail({
        name: u.name,
        inline: {
          assume: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::${ACCOUNT}:role/ops` },
            ],
          },
        },
      }),
    );
    const roleDetails = [
      {
        RoleName: 'ops',
        Arn: `arn:aws:iam::${ACCOUNT}:role/ops`,
        AssumeRolePolicyDocument: encodeURIComponent(
          JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
                Action: 'sts:AssumeRole',
              },
            ],
          }),
        ),
        AttachedManagedPolicies: [
          { PolicyArn: AWS_POLICIES.AdministratorAccess.Arn, PolicyName: 'AdministratorAccess' },
        ],
        RolePolicyList: [],
      },
    ];
    const { run } = collect({
      users,
      userDetails,
      roleDetails,
      policies: [awsManaged(AWS_POLICIES.AdministratorAccess)],
      pageSize: 10,
    });
    const { report } = await run();
    expect(report.privileges?.every((p) => p.admin)).toBe(true);
    expect(report.privileges?.[0]?.grants?.admin?.[0]?.path).toBe(
      'sts:AssumeRole role/ops → AdministratorAccess',
    );
  });

  it('collects no privileges, with a warning, when the snapshot never stops truncating', async () => {
    const { run } = collect({ users: USERS, neverEndingAuthorization: true, pageSize: 1 });
    const { report, stats } = await run();
    expect(report.privileges).toBeUndefined();
    expect(stats.apiCalls.GetAccountAuthorizationDetails).toBe(64);
    expect(report.warnings).toContainEqual(expect.stringMatching(/privileges not collected/));
  });

  it('calls GetAccessKeyLastUsed only for keys the credential report does not show', async () => {
    const newKey = {
      UserName: 'alice',
      AccessKeyId: 'AKIANEWKEY0000000001',
      Status: 'Active' as const,
      CreateDate: new Date('2024-05-01T09:00:00Z'),
    };
    const { run, mock } = collect({ users: USERS, newKeys: { alice: [newKey] } });
    mock.on(GetAccessKeyLastUsedCommand, { AccessKeyId: newKey.AccessKeyId }).resolves({
      UserName: 'alice',
      AccessKeyLastUsed: {
        LastUsedDate: new Date('2024-05-01T09:30:00Z'),
        ServiceName: 'sts',
        Region: 'eu-west-1',
      },
      ...meta,
    });
    const { report, stats } = await run();
    expect(stats.apiCalls.GetAccessKeyLastUsed).toBe(1);
    expect(mock).toHaveReceivedCommandWith(GetAccessKeyLastUsedCommand, { AccessKeyId: newKey.AccessKeyId });
    expect(report.accessKeys).toContainEqual({
      userName: 'alice',
      accessKeyId: newKey.AccessKeyId,
      status: 'Active',
      createDate: '2024-05-01T09:00:00.000Z',
      lastUsedDate: '2024-05-01T09:30:00.000Z',
      lastUsedService: 'sts',
      lastUsedRegion: 'eu-west-1',
    });
  });

  it('lists keys only for users the report shows with a key and for users newer than the report', async () => {
    // dave (with a key) was created after the report was generated: IAM lists him, the report does not.
    const dave: FixtureUser = { name: 'dave', keys: [{ created: '2024-05-01T09:00:00+00:00' }] };
    const { run, mock } = collect({
      users: [...USERS, dave],
      content: new TextEncoder().encode(reportCsv(USERS)),
    });
    const { report, stats } = await run();
    expect(stats.apiCalls.ListAccessKeys).toBe(3);
    for (const UserName of ['alice', 'bob', 'dave'])
      expect(mock).toHaveReceivedCommandWith(ListAccessKeysCommand, { UserName });
    expect(mock).not.toHaveReceivedCommandWith(ListAccessKeysCommand, { UserName: 'carol' });
    expect(report.accessKeys.map((k) => k.accessKeyId)).toContain(keyIdOf('dave', 1));
    expect(mock).toHaveReceivedCommandWith(GetAccessKeyLastUsedCommand, { AccessKeyId: keyIdOf('dave', 1) });
  });

  it('leaves out a key created after the report on a user that had none, until a report shows it', async () => {
    const carolKey = {
      UserName: 'carol',
      AccessKeyId: 'AKIACAROL00000000001',
      Status: 'Active' as const,
      CreateDate: new Date('2024-05-01T09:00:00Z'),
    };
    // This run: the report (generated 08:00) shows carol without a key; her 09:00 key is not listed.
    const first = collect({ users: USERS, newKeys: { carol: [carolKey] } });
    const { report } = await first.run();
    expect(report.accessKeys.map((k) => k.userName)).not.toContain('carol');
    expect(first.mock).not.toHaveReceivedCommandWith(ListAccessKeysCommand, { UserName: 'carol' });

    // Next run: the new report has the key in slot 1, so it is listed (and matched, no last-used call).
    const later = USERS.map((u) =>
      u.name === 'carol' ? { ...u, keys: [{ created: '2024-05-01T09:00:00+00:00' }] } : u,
    );
    const next = collect({ users: later });
    const { report: nextReport } = await next.run();
    expect(nextReport.accessKeys).toContainEqual({
      userName: 'carol',
      accessKeyId: keyIdOf('carol', 1),
      status: 'Active',
      createDate: '2024-05-01T09:00:00.000Z',
    });
    expect(next.mock).not.toHaveReceivedCommand(GetAccessKeyLastUsedCommand);
  });

  it('lists users with ListUsers and leaves privileges out when collectPrivileges is false', async () => {
    const { run, mock } = collect({ users: USERS, pageSize: 2 }, { collectPrivileges: false });
    const { report, stats } = await run();
    expect(report.privileges).toBeUndefined();
    expect(report.accessKeys).toHaveLength(3);
    expect(stats.apiCalls.ListUsers).toBe(2);
    expect(mock).not.toHaveReceivedCommand(GetAccountAuthorizationDetailsCommand);
  });

  it('keeps the report whole without privileges when GetAccountAuthorizationDetails is denied', async () => {
    const { run, mock } = collect({ users: USERS });
    mock.on(GetAccountAuthorizationDetailsCommand).rejects(accessDenied());
    const { report } = await run();
    expect(report.privileges).toBeUndefined();
    expect(report.warnings).toEqual([
      'privileges not collected: GetAccountAuthorizationDetails failed (AccessDenied)',
    ]);
    expect(report.accessKeys).toHaveLength(3);
    expect(mock).toHaveReceivedCommand(ListUsersCommand);
  });
});

describe('collectAccountReport report generation', () => {
  it('polls with bounded backoff when the report is still being generated', async () => {
    const { run, mock, time } = collect({ users: USERS });
    mock
      .on(GenerateCredentialReportCommand)
      .resolvesOnce({ State: 'STARTED', ...meta })
      .resolvesOnce({ State: 'INPROGRESS', ...meta })
      .resolvesOnce({ State: 'INPROGRESS', ...meta })
      .resolves({ State: 'COMPLETE', ...meta });
    const { stats } = await run();
    expect(stats.apiCalls.GenerateCredentialReport).toBe(4);
    expect(time.sleeps).toEqual([250, 500, 1000]);
  });

  it('caps the poll interval when generation takes long', async () => {
    const { run, mock, time } = collect({ users: USERS });
    const slow = mock.on(GenerateCredentialReportCommand);
    for (let i = 0; i < 12; i++) slow.resolvesOnce({ State: 'INPROGRESS', ...meta });
    slow.resolves({ State: 'COMPLETE', ...meta });
    await run();
    expect(Math.max(...time.sleeps)).toBe(8_000);
  });

  it('retries when GenerateCredentialReport hits LimitExceeded', async () => {
    const { run, mock } = collect({ users: USERS });
    mock
      .on(GenerateCredentialReportCommand)
      .rejectsOnce(new LimitExceededException({ message: 'too many', ...meta }))
      .resolves({ State: 'COMPLETE', ...meta });
    const { stats } = await run();
    expect(stats.apiCalls.GenerateCredentialReport).toBe(2);
  });

  it('waits and asks again when GetCredentialReport says ReportInProgress', async () => {
    const { run, mock } = collect({ users: USERS });
    mock
      .on(GetCredentialReportCommand)
      .rejectsOnce(new CredentialReportNotReadyException({ message: 'not ready', ...meta }))
      .resolves({
        Content: new TextEncoder().encode(reportCsv(USERS)),
        GeneratedTime: new Date(GENERATED),
        ...meta,
      });
    const { report } = await run();
    expect(report.generatedTime).toBe(GENERATED);
    expect(mock).toHaveReceivedCommandTimes(GetCredentialReportCommand, 2);
  });

  it.each([
    ['ReportNotPresent', () => new CredentialReportNotPresentException({ message: 'none', ...meta })],
    ['ReportExpired', () => new CredentialReportExpiredException({ message: 'expired', ...meta })],
  ])('regenerates the report when GetCredentialReport says %s', async (_code, error) => {
    const { run, mock } = collect({ users: USERS });
    mock
      .on(GetCredentialReportCommand)
      .rejectsOnce(error())
      .resolves({
        Content: new TextEncoder().encode(reportCsv(USERS)),
        GeneratedTime: new Date(GENERATED),
        ...meta,
      });
    await run();
    expect(mock).toHaveReceivedCommandTimes(GenerateCredentialReportCommand, 2);
    expect(mock).toHaveReceivedCommandTimes(GetCredentialReportCommand, 2);
  });

  it('fails with CollectError within the budget when the report never completes', async () => {
    const { run, mock, time } = collect({ users: USERS }, { budgetMs: 60_000 });
    mock.on(GenerateCredentialReportCommand).resolves({ State: 'INPROGRESS', ...meta });
    await expect(run()).rejects.toThrow(/credential report: collection time budget of 60 s exhausted/);
    expect(time.elapsed()).toBeLessThanOrEqual(60_000);
  });

  it('fails naming the budget and the last error when GenerateCredentialReport stays throttled', async () => {
    const { run, mock } = collect({ users: USERS }, { budgetMs: 30_000 });
    mock
      .on(GenerateCredentialReportCommand)
      .rejects(new LimitExceededException({ message: 'too many', ...meta }));
    const error = (await run().catch((e: unknown) => e)) as CollectError;
    expect(error).toBeInstanceOf(CollectError);
    expect(error.message).toMatch(
      /^(GenerateCredentialReport|credential report): collection time budget of 30 s exhausted \(last error: LimitExceededException\)$/,
    );
    expect(error.cause).toBeInstanceOf(LimitExceededException);
  });

  it('fails with CollectError without retrying when IAM denies report generation', async () => {
    const { run, mock } = collect({ users: USERS });
    mock.on(GenerateCredentialReportCommand).rejects(accessDenied());
    await expect(run()).rejects.toThrow(/^GenerateCredentialReport failed: AccessDenied$/);
    expect(mock).toHaveReceivedCommandTimes(GenerateCredentialReportCommand, 1);
  });

  it('rejects a malformed report from IAM with CollectError caused by ReportParseError', async () => {
    const { run } = collect({
      users: USERS,
      content: new TextEncoder().encode('user,arn\nalice,arn:aws:iam::123456789012:user/alice\n'),
    });
    const error = (await run().catch((e: unknown) => e)) as CollectError;
    expect(error).toBeInstanceOf(CollectError);
    expect(error.message).toMatch(/malformed credential report/);
    expect(error.cause).toBeInstanceOf(ReportParseError);
  });

  it('rejects a report of another account', async () => {
    const { run } = collect({
      users: USERS,
      content: new TextEncoder().encode(reportCsv(USERS, '999999999999')),
    });
    await expect(run()).rejects.toThrow(/malformed credential report.*999999999999/);
  });

  it('rejects a report whose bytes are not UTF-8', async () => {
    const bytes = new TextEncoder().encode(reportCsv(USERS));
    bytes[bytes.length - 5] = 0xff;
    const { run } = collect({ users: USERS, content: bytes });
    await expect(run()).rejects.toThrow(/not valid UTF-8/);
  });

  it('fails when GetCredentialReport returns no GeneratedTime', async () => {
    const { run, mock } = collect({ users: USERS });
    mock
      .on(GetCredentialReportCommand)
      .resolves({ Content: new TextEncoder().encode(reportCsv(USERS)), ...meta });
    await expect(run()).rejects.toThrow(/no GeneratedTime/);
  });
});

describe('collectAccountReport faults', () => {
  it('skips a user deleted between listing and reading with a warning, keeping the rest', async () => {
    const userDetails = [...USERS.map((u) => userDetail({ name: u.name })), userDetail({ name: 'gone' })];
    const { run } = collect({ users: USERS, userDetails });
    const { report } = await run();
    expect(report.warnings).toEqual([
      'user gone was deleted during collection; its access keys are not listed',
    ]);
    expect(report.accessKeys).toHaveLength(3);
    expect(report.privileges).toHaveLength(4);
  });

  it('skips a key deleted before its last use could be read', async () => {
    const newKey = {
      UserName: 'bob',
      AccessKeyId: 'AKIAGONE000000000001',
      Status: 'Active' as const,
      CreateDate: new Date('2024-05-01T09:00:00Z'),
    };
    const { run, mock } = collect({ users: USERS, newKeys: { bob: [newKey] } });
    mock.on(GetAccessKeyLastUsedCommand).rejects(new NoSuchEntityException({ message: 'gone', ...meta }));
    const { report } = await run();
    expect(report.warnings).toEqual([
      'access key AKIAGONE000000000001 of user bob was deleted during collection; skipped',
    ]);
    expect(report.accessKeys.map((k) => k.accessKeyId)).not.toContain('AKIAGONE000000000001');
  });

  it('eventually succeeds when every API throttles its first calls', async () => {
    const newKey = {
      UserName: 'alice',
      AccessKeyId: 'AKIANEWKEY0000000002',
      Status: 'Active' as const,
      CreateDate: new Date('2024-05-01T09:00:00Z'),
    };
    const { run } = collect({ users: USERS, throttleFirst: 3, pageSize: 2, newKeys: { alice: [newKey] } });
    const { report, stats } = await run();
    expect(report.accessKeys).toHaveLength(4);
    expect(stats.apiCalls).toEqual({
      GenerateCredentialReport: 4,
      GetCredentialReport: 4,
      GetAccountAuthorizationDetails: 8,
      ListAccessKeys: 8,
      GetAccessKeyLastUsed: 4,
      GetAccountSummary: 4,
      GetAccountPasswordPolicy: 4,
      ListVirtualMFADevices: 4,
    });
  });

  it('fails with CollectError when throttling never stops', async () => {
    const { run } = collect({ users: USERS, throttleFirst: 1_000 }, { budgetMs: 120_000 });
    await expect(run()).rejects.toThrow(CollectError);
  });

  it('fails the collection when ListAccessKeys is denied rather than publishing a partial inventory', async () => {
    const { run, mock } = collect({ users: USERS });
    mock.on(ListAccessKeysCommand).rejects(accessDenied());
    await expect(run()).rejects.toThrow(/collection of account 123456789012 failed: AccessDenied/);
  });

  it('reports an account with only the root user', async () => {
    const { run } = collect({ users: [] });
    const { report, stats } = await run();
    expect(stats.users).toBe(0);
    expect(report.accessKeys).toEqual([]);
    expect(report.privileges).toEqual([]);
    expect(assembleParts(splitReport(report))).toEqual(report);
  });

  it('handles 5,000 users with 64-character names in parts within the limit that round-trip', async () => {
    const users = syntheticUsers(5_000, { nameLength: 64 });
    expect(users.every((u) => u.name.length === 64)).toBe(true);
    const { run } = collect({ users });
    const { report, stats } = await run();
    expect(stats.users).toBe(5_000);
    expect(report.accessKeys).toHaveLength(users.reduce((n, u) => n + (u.keys?.length ?? 0), 0));
    const parts = splitReport(report);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(entryBytes(part)).toBeLessThanOrEqual(250_000);
    expect(assembleParts(parts)).toEqual(report);
  });

  it('keeps non-ASCII user names intact from report bytes to reassembled parts', async () => {
    const users: FixtureUser[] = [
      { name: 'zoë.müller', keys: [{ created: '2023-03-03T03:03:03+00:00' }] },
      { name: '用户-ops', keys: [{ created: '2023-04-04T04:04:04+00:00' }] },
    ];
    const { run } = collect({ users });
    const { report } = await run();
    expect(report.credentialReportCsv).toContain('zoë.müller');
    expect(report.accessKeys.map((k) => k.userName)).toEqual(['zoë.müller', '用户-ops']);
    const parts = splitReport(report, { maxEntryBytes: 1_200 });
    for (const part of parts) expect(entryBytes(part)).toBeLessThanOrEqual(1_200);
    expect(assembleParts(parts)).toEqual(report);
  });
});
