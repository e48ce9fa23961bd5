import 'aws-sdk-client-mock-jest';
import {
  GetAccountPasswordPolicyCommand,
  GetAccountSummaryCommand,
  ListVirtualMFADevicesCommand,
} from '@aws-sdk/client-iam';
import { CollectError, collectAccountReport } from '../../../collector/account-collector';
import { rootCredentialsOf, usersWithDirectPolicies } from '../../../collector/account-facts';
import { parseAccountReport } from '../../../core/event-contract';
import { ACCOUNT, type FixtureUser } from './fixtures';
import {
  NO_ROOT_CREDENTIALS_SUMMARY,
  accessDenied,
  fakeTime,
  setupIamAccount,
  throttling,
  type AccountSpec,
} from './iam-mock';

const USERS: FixtureUser[] = [{ name: 'alice' }, { name: 'bob' }];

async function collect(
  spec: Partial<AccountSpec>,
  tweak?: (mock: ReturnType<typeof setupIamAccount>['mock']) => void,
) {
  const { iam, mock } = setupIamAccount({ users: USERS, ...spec });
  tweak?.(mock);
  const time = fakeTime();
  const result = await collectAccountReport(
    { iam, sleep: time.sleep, clock: time.clock },
    { accountId: ACCOUNT, budgetMs: 120_000 },
  );
  return { ...result, mock };
}

const rootDevice = {
  SerialNumber: `arn:aws:iam::${ACCOUNT}:mfa/root-account-mfa-device`,
  User: {
    Arn: `arn:aws:iam::${ACCOUNT}:root`,
    UserName: ACCOUNT,
    Path: '/',
    UserId: ACCOUNT,
    CreateDate: new Date(),
  },
};
const userDevice = (name: string) => ({
  SerialNumber: `arn:aws:iam::${ACCOUNT}:mfa/${name}`,
  User: {
    Arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
    UserName: name,
    Path: '/',
    UserId: 'AIDA',
    CreateDate: new Date(),
  },
});

describe('rootCredentialsOf', () => {
  it('turns counts into booleans and leaves a key IAM omitted unknown', () => {
    expect(rootCredentialsOf({ AccountMFAEnabled: 1, AccountAccessKeysPresent: 0, Users: 4 })).toEqual({
      mfaEnabled: true,
      accessKeysPresent: false,
    });
    expect(rootCredentialsOf(undefined)).toEqual({});
  });
});

describe('account facts in collectAccountReport', () => {
  it('reads the root credentials, the password policy and the MFA device type when IAM answers', async () => {
    const { report, mock } = await collect({
      summary: {
        AccountMFAEnabled: 1,
        AccountAccessKeysPresent: 1,
        AccountPasswordPresent: 1,
        AccountSigningCertificatesPresent: 0,
      },
      passwordPolicy: { MinimumPasswordLength: 8 },
      virtualMfaDevices: [userDevice('alice'), rootDevice],
    });
    expect(report.schemaVersion).toBe(3);
    expect(report.accountFacts).toMatchObject({
      rootCredentials: {
        mfaEnabled: true,
        accessKeysPresent: true,
        passwordPresent: true,
        signingCertificatesPresent: false,
      },
      passwordPolicy: { present: true, minimumPasswordLength: 8 },
      rootMfaVirtual: true,
    });
    expect(report.accountFacts?.passwordPolicy).not.toHaveProperty('passwordReusePrevention');
    expect(mock).toHaveReceivedCommandWith(ListVirtualMFADevicesCommand, { AssignmentStatus: 'Assigned' });
    expect(report.warnings).toBeUndefined();
  });

  it('leaves AccountPasswordPresent unknown when the answer lacks it (as moto does)', async () => {
    const summary: Record<string, number> = { ...NO_ROOT_CREDENTIALS_SUMMARY };
    delete summary.AccountPasswordPresent;
    const { report } = await collect({ summary });
    expect(report.accountFacts?.rootCredentials).toEqual({
      mfaEnabled: false,
      accessKeysPresent: false,
      signingCertificatesPresent: false,
    });
  });

  it('reports no password policy when IAM answers NoSuchEntity', async () => {
    const { report } = await collect({ passwordPolicy: null });
    expect(report.accountFacts?.passwordPolicy).toEqual({ present: false });
    expect(report.warnings).toBeUndefined();
  });

  it('follows every Marker of the virtual MFA listing to find the root device on a later page', async () => {
    const devices = [...Array.from({ length: 5 }, (_, i) => userDevice(`u${i}`)), rootDevice];
    const { report, stats } = await collect({ virtualMfaDevices: devices, mfaPageSize: 2 });
    expect(report.accountFacts?.rootMfaVirtual).toBe(true);
    expect(stats.apiCalls.ListVirtualMFADevices).toBe(3);
  });

  it('says the root device is not virtual when only users hold virtual devices', async () => {
    const { report } = await collect({ virtualMfaDevices: [userDevice('alice')] });
    expect(report.accountFacts?.rootMfaVirtual).toBe(false);
  });

  it('keeps the report and warns, fact by fact, when each read is denied', async () => {
    const { report } = await collect({}, (mock) => {
      mock.on(GetAccountSummaryCommand).rejects(accessDenied());
      mock.on(GetAccountPasswordPolicyCommand).rejects(accessDenied());
      mock.on(ListVirtualMFADevicesCommand).rejects(accessDenied());
    });
    expect(report.accountFacts).toEqual({ usersWithDirectPolicies: [], userTags: [] });
    expect(report.warnings).toEqual([
      'root credentials unknown: GetAccountSummary access denied (AccessDenied)',
      'password policy unknown: GetAccountPasswordPolicy access denied (AccessDenied)',
      'root MFA device type unknown: ListVirtualMFADevices access denied (AccessDenied)',
    ]);
    expect(() => parseAccountReport(report)).not.toThrow();
  });

  it('keeps the other facts when only one read is denied', async () => {
    const { report } = await collect({ passwordPolicy: null }, (mock) => {
      mock.on(GetAccountSummaryCommand).rejects(accessDenied());
    });
    expect(report.accountFacts?.rootCredentials).toBeUndefined();
    expect(report.accountFacts?.passwordPolicy).toEqual({ present: false });
    expect(report.warnings).toEqual([
      'root credentials unknown: GetAccountSummary access denied (AccessDenied)',
    ]);
  });

  it('retries a throttled fact read through the shared retries', async () => {
    const { report, stats } = await collect({}, (mock) => {
      mock
        .on(GetAccountSummaryCommand)
        .rejectsOnce(throttling())
        .resolves({ SummaryMap: { AccountMFAEnabled: 1 } });
    });
    expect(report.accountFacts?.rootCredentials).toEqual({ mfaEnabled: true });
    expect(stats.apiCalls.GetAccountSummary).toBe(2);
  });

  it('leaves a password policy outside IAM ranges unknown instead of failing the report', async () => {
    const { report } = await collect({ passwordPolicy: { MinimumPasswordLength: 500 } });
    expect(report.accountFacts?.passwordPolicy).toBeUndefined();
    expect(report.warnings).toEqual([
      'password policy unknown: GetAccountPasswordPolicy failed (UnexpectedPasswordPolicy)',
    ]);
  });

  it('fails with CollectError when a fact read throttles past the time budget', async () => {
    const { iam, mock } = setupIamAccount({ users: USERS });
    mock.on(GetAccountSummaryCommand).rejects(throttling());
    const time = fakeTime();
    await expect(
      collectAccountReport(
        { iam, sleep: time.sleep, clock: time.clock },
        { accountId: ACCOUNT, budgetMs: 10_000 },
      ),
    ).rejects.toThrow(CollectError);
  });
});

describe('usersWithDirectPolicies', () => {
  it('lists users with an attached managed policy or an inline one, not those with groups only', () => {
    expect(
      usersWithDirectPolicies({
        users: [
          {
            UserName: 'managed',
            AttachedManagedPolicies: [{ PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }],
          },
          { UserName: 'inline', UserPolicyList: [{ PolicyName: 'p', PolicyDocument: '%7B%7D' }] },
          { UserName: 'grouped', GroupList: ['admins'], AttachedManagedPolicies: [], UserPolicyList: [] },
        ],
        groups: [],
        roles: [],
        policies: [],
      }),
    ).toEqual(['managed', 'inline']);
  });
});
