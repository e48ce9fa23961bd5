/** An aws-sdk-client-mock IAM account for the collector and handler tests (not a test file itself). */
import {
  CredentialReportExpiredException,
  CredentialReportNotPresentException,
  CredentialReportNotReadyException,
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetAccountAuthorizationDetailsCommand,
  GetAccountPasswordPolicyCommand,
  GetAccountSummaryCommand,
  GetCredentialReportCommand,
  IAMClient,
  LimitExceededException,
  ListAccessKeysCommand,
  ListUsersCommand,
  ListVirtualMFADevicesCommand,
  NoSuchEntityException,
  type AccessKeyMetadata,
  type PasswordPolicy,
  type VirtualMFADevice,
  type ManagedPolicyDetail,
  type RoleDetail,
  type UserDetail,
} from '@aws-sdk/client-iam';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { ACCOUNT, GENERATED, reportCsv, type FixtureUser } from './fixtures';

export {
  CredentialReportExpiredException,
  CredentialReportNotPresentException,
  CredentialReportNotReadyException,
  LimitExceededException,
  NoSuchEntityException,
};

export const meta = { $metadata: {} };

/** IAM's throttling error as the SDK surfaces it (no modelled class). */
export function throttling(): Error {
  return Object.assign(new Error('Rate exceeded'), {
    name: 'Throttling',
    $metadata: { httpStatusCode: 400 },
    $retryable: { throttling: true },
  });
}

export function accessDenied(): Error {
  return Object.assign(new Error('not authorized'), {
    name: 'AccessDenied',
    $metadata: { httpStatusCode: 403 },
  });
}

/** A fake clock whose `sleep` advances time instead of waiting. */
export function fakeTime(start = Date.parse('2024-05-01T08:01:00Z')) {
  let now = start;
  const sleeps: number[] = [];
  return {
    clock: () => new Date(now),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
    elapsed: () => now - start,
  };
}

export interface AccountSpec {
  readonly users: readonly FixtureUser[];
  /** Raw report bytes instead of the CSV built from `users`. */
  readonly content?: Uint8Array;
  /** Extra keys per user that the report does not show (created after it). */
  readonly newKeys?: Readonly<Record<string, readonly AccessKeyMetadata[]>>;
  readonly userDetails?: readonly UserDetail[];
  readonly policies?: readonly ManagedPolicyDetail[];
  /** Roles, returned on the last GetAccountAuthorizationDetails page. */
  readonly roleDetails?: readonly RoleDetail[];
  /** Answer every GetAccountAuthorizationDetails page as truncated (a misbehaving endpoint). */
  readonly neverEndingAuthorization?: boolean;
  /** Users per GetAccountAuthorizationDetails / ListUsers page. */
  readonly pageSize?: number;
  /** Keys per ListAccessKeys page. */
  readonly keyPageSize?: number;
  /** Fail the first N calls of each operation (per user for per-user operations) with Throttling. */
  readonly throttleFirst?: number;
  /** GetAccountSummary's SummaryMap. @default root with MFA, no password, no keys, no certificates */
  readonly summary?: Record<string, number>;
  /** GetAccountPasswordPolicy's answer; `null`: NoSuchEntity. @default length 14, reuse 24 */
  readonly passwordPolicy?: PasswordPolicy | null;
  /** Assigned virtual MFA devices (ListVirtualMFADevices). @default none */
  readonly virtualMfaDevices?: readonly VirtualMFADevice[];
  /** Virtual MFA devices per page. */
  readonly mfaPageSize?: number;
}

/** The summary of a member account whose root credentials were removed (AWS's current practice). */
export const NO_ROOT_CREDENTIALS_SUMMARY = {
  AccountMFAEnabled: 0,
  AccountAccessKeysPresent: 0,
  AccountPasswordPresent: 0,
  AccountSigningCertificatesPresent: 0,
  Users: 3,
};

export const keyIdOf = (user: string, slot: number): string =>
  `AKIA${Buffer.from(`${user}#${slot}`).toString('hex').toUpperCase().slice(-15).padStart(15, '0')}${slot}`;

export function setupIamAccount(spec: AccountSpec): { iam: IAMClient; mock: AwsClientStub<IAMClient> } {
  const mock = mockClient(IAMClient);
  const iam = new IAMClient({ region: 'us-east-1' });
  const throttleCounts = new Map<string, number>();
  const throttle = (key: string): void => {
    const n = throttleCounts.get(key) ?? 0;
    throttleCounts.set(key, n + 1);
    if (n < (spec.throttleFirst ?? 0)) throw throttling();
  };

  const content = spec.content ?? new TextEncoder().encode(reportCsv(spec.users));
  mock.on(GenerateCredentialReportCommand).callsFake(() => {
    throttle('generate');
    return { State: 'COMPLETE', ...meta };
  });
  mock.on(GetCredentialReportCommand).callsFake(() => {
    throttle('get');
    return { Content: content, GeneratedTime: new Date(GENERATED), ReportFormat: 'text/csv', ...meta };
  });

  const userDetails: UserDetail[] =
    spec.userDetails?.slice() ??
    spec.users.map((u) => ({
      UserName: u.name,
      Arn: `arn:aws:iam::${ACCOUNT}:user/${u.name}`,
      GroupList: [],
      AttachedManagedPolicies: [],
      UserPolicyList: [],
    }));
  const pageSize = spec.pageSize ?? 1000;
  mock.on(GetAccountAuthorizationDetailsCommand).callsFake((input: { Marker?: string }) => {
    throttle(`gaad:${input.Marker ?? ''}`);
    const start = Number(input.Marker ?? 0);
    const end = start + pageSize;
    const truncated = spec.neverEndingAuthorization === true || end < userDetails.length;
    return {
      UserDetailList: userDetails.slice(start, end),
      GroupDetailList: [],
      RoleDetailList: truncated ? [] : [...(spec.roleDetails ?? [])],
      Policies: start === 0 ? [...(spec.policies ?? [])] : [],
      IsTruncated: truncated,
      ...(truncated ? { Marker: String(end) } : {}),
      ...meta,
    };
  });
  mock.on(ListUsersCommand).callsFake((input: { Marker?: string }) => {
    throttle(`users:${input.Marker ?? ''}`);
    const start = Number(input.Marker ?? 0);
    const end = start + pageSize;
    const truncated = end < spec.users.length;
    return {
      Users: spec.users.slice(start, end).map((u) => ({
        UserName: u.name,
        Arn: `arn:aws:iam::${ACCOUNT}:user/${u.name}`,
        Path: '/',
        UserId: 'AIDA',
        CreateDate: new Date(),
      })),
      IsTruncated: truncated,
      ...(truncated ? { Marker: String(end) } : {}),
      ...meta,
    };
  });

  const keysByUser = new Map<string, AccessKeyMetadata[]>();
  for (const user of spec.users) {
    const keys: AccessKeyMetadata[] = (user.keys ?? []).map((k, i) => ({
      UserName: user.name,
      AccessKeyId: keyIdOf(user.name, i + 1),
      Status: k.active === false ? 'Inactive' : 'Active',
      CreateDate: new Date(k.created),
    }));
    keysByUser.set(user.name, [...keys, ...(spec.newKeys?.[user.name] ?? [])]);
  }
  const keyPageSize = spec.keyPageSize ?? 100;
  mock.on(ListAccessKeysCommand).callsFake((input: { UserName?: string; Marker?: string }) => {
    throttle(`keys:${input.UserName}:${input.Marker ?? ''}`);
    const keys = keysByUser.get(input.UserName ?? '');
    if (keys === undefined)
      throw new NoSuchEntityException({
        message: `The user with name ${input.UserName} cannot be found.`,
        ...meta,
      });
    const start = Number(input.Marker ?? 0);
    const end = start + keyPageSize;
    const truncated = end < keys.length;
    return {
      AccessKeyMetadata: keys.slice(start, end),
      IsTruncated: truncated,
      ...(truncated ? { Marker: String(end) } : {}),
      ...meta,
    };
  });
  mock.on(GetAccessKeyLastUsedCommand).callsFake((input: { AccessKeyId?: string }) => {
    throttle(`lastused:${input.AccessKeyId}`);
    const known = [...keysByUser.values()].flat().some((k) => k.AccessKeyId === input.AccessKeyId);
    if (!known)
      throw new NoSuchEntityException({ message: 'The Access Key with id x cannot be found', ...meta });
    return { UserName: 'x', AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' }, ...meta };
  });
  mock.on(GetAccountSummaryCommand).callsFake(() => {
    throttle('summary');
    return { SummaryMap: spec.summary ?? NO_ROOT_CREDENTIALS_SUMMARY, ...meta };
  });
  mock.on(GetAccountPasswordPolicyCommand).callsFake(() => {
    throttle('policy');
    if (spec.passwordPolicy === null) {
      throw new NoSuchEntityException({
        message: `The Password Policy with domain name ${ACCOUNT} cannot be found.`,
        ...meta,
      });
    }
    return {
      PasswordPolicy: spec.passwordPolicy ?? { MinimumPasswordLength: 14, PasswordReusePrevention: 24 },
      ...meta,
    };
  });
  const devices = spec.virtualMfaDevices ?? [];
  const mfaPageSize = spec.mfaPageSize ?? 1000;
  mock.on(ListVirtualMFADevicesCommand).callsFake((input: { Marker?: string }) => {
    throttle(`mfa:${input.Marker ?? ''}`);
    const start = Number(input.Marker ?? 0);
    const end = start + mfaPageSize;
    const truncated = end < devices.length;
    return {
      VirtualMFADevices: devices.slice(start, end),
      IsTruncated: truncated,
      ...(truncated ? { Marker: String(end) } : {}),
      ...meta,
    };
  });
  return { iam, mock };
}
