/**
 * Member agent benchmark: one simulated account (default 5,000 users, 60 % of them with an access key,
 * 20 ms injected latency per IAM call) collected through the real collector over aws-sdk-client-mock,
 * then split into event parts. Figures: IAM calls per operation, wall time, payload bytes per user (JSON,
 * gzip), users per part.
 */
import { gzipSync } from 'node:zlib';
import {
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetAccountAuthorizationDetailsCommand,
  GetAccountPasswordPolicyCommand,
  GetAccountSummaryCommand,
  GetCredentialReportCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListVirtualMFADevicesCommand,
  type GroupDetail,
  type UserDetail,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { assembleParts, entryBytes, splitReport } from '../core/event-contract';
import { DEFAULT_MAX_ENTRY_BYTES } from '../core/names';
import { collectAccountReport } from '../collector/account-collector';
import { evaluatePrivileges } from '../core/privileges';
import { ACCOUNT, GENERATED, prng, reportCsv, syntheticUsers } from '../test/unit/collector/fixtures';
import { AWS_POLICIES, awsManaged, doc, encode, groupDetail } from '../test/unit/core/policy-fixtures';
import type { BenchModule, BenchRow } from './harness';
import { timed } from './harness';

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function simulatedAccount(users: number, keyShare: number, seed: number) {
  const fixtureUsers = syntheticUsers(users, { nameLength: 32, seed, keyShare });
  const random = prng(seed + 1);
  const groups: GroupDetail[] = [
    groupDetail('admins', [AWS_POLICIES.AdministratorAccess.Arn]),
    groupDetail('developers', [AWS_POLICIES.PowerUserAccess.Arn]),
    groupDetail('readers', [AWS_POLICIES.ReadOnlyAccess.Arn]),
    groupDetail('analysts', [
      AWS_POLICIES.AmazonS3ReadOnlyAccess.Arn,
      AWS_POLICIES.AmazonDynamoDBReadOnlyAccess.Arn,
    ]),
  ];
  const groupNames = groups.map((g) => g.GroupName!);
  const userDetails: UserDetail[] = fixtureUsers.map((u, i) => ({
    UserName: u.name,
    UserId: `AIDA${String(i).padStart(17, '0')}`,
    Arn: `arn:aws:iam::${ACCOUNT}:user/${u.name}`,
    GroupList: groupNames.filter(() => random() < 0.3),
    AttachedManagedPolicies:
      random() < 0.05 ? [{ PolicyArn: AWS_POLICIES.IAMFullAccess.Arn, PolicyName: 'IAMFullAccess' }] : [],
    UserPolicyList:
      random() < 0.2
        ? [
            {
              PolicyName: 'own-bucket',
              PolicyDocument: encode(
                doc({
                  Effect: 'Allow',
                  Action: ['s3:GetObject', 's3:PutObject'],
                  Resource: `arn:aws:s3:::home/\${aws:username}/*`,
                }),
              ),
            },
          ]
        : [],
  }));
  return { fixtureUsers, userDetails, groups, policies: Object.values(AWS_POLICIES).map(awsManaged) };
}

async function runOnce(users: number, keyShare: number, latencyMs: number, concurrency: number) {
  const account = simulatedAccount(users, keyShare, 7);
  const iam = new IAMClient({ region: 'us-east-1' });
  const mock = mockClient(iam);
  const content = new TextEncoder().encode(reportCsv(account.fixtureUsers));
  const keysByUser = new Map(
    account.fixtureUsers.map((u, i) => [
      u.name,
      (u.keys ?? []).map((k, slot) => ({
        UserName: u.name,
        AccessKeyId: `AKIA${String(i).padStart(14, '0')}X${slot}`,
        Status: k.active === false ? ('Inactive' as const) : ('Active' as const),
        CreateDate: new Date(k.created),
      })),
    ]),
  );
  mock.on(GenerateCredentialReportCommand).callsFake(async () => {
    await delay(latencyMs);
    return { State: 'COMPLETE' };
  });
  mock.on(GetCredentialReportCommand).callsFake(async () => {
    await delay(latencyMs);
    return { Content: content, GeneratedTime: new Date(GENERATED), ReportFormat: 'text/csv' };
  });
  mock.on(GetAccountAuthorizationDetailsCommand).callsFake(async (input: { Marker?: string }) => {
    await delay(latencyMs);
    const start = Number(input.Marker ?? 0);
    const end = start + 1000;
    const truncated = end < account.userDetails.length;
    return {
      UserDetailList: account.userDetails.slice(start, end),
      GroupDetailList: start === 0 ? account.groups : [],
      Policies: start === 0 ? account.policies : [],
      IsTruncated: truncated,
      ...(truncated ? { Marker: String(end) } : {}),
    };
  });
  mock.on(ListAccessKeysCommand).callsFake(async (input: { UserName?: string }) => {
    await delay(latencyMs);
    return { AccessKeyMetadata: keysByUser.get(input.UserName ?? '') ?? [], IsTruncated: false };
  });
  mock.on(GetAccessKeyLastUsedCommand).callsFake(async () => {
    await delay(latencyMs);
    return { AccessKeyLastUsed: { ServiceName: 'N/A', Region: 'N/A' } };
  });
  // Account facts (schema v3): a member account whose root credentials were removed.
  mock.on(GetAccountSummaryCommand).callsFake(async () => {
    await delay(latencyMs);
    return {
      SummaryMap: {
        AccountMFAEnabled: 0,
        AccountAccessKeysPresent: 0,
        AccountPasswordPresent: 0,
        AccountSigningCertificatesPresent: 0,
      },
    };
  });
  mock.on(GetAccountPasswordPolicyCommand).callsFake(async () => {
    await delay(latencyMs);
    return { PasswordPolicy: { MinimumPasswordLength: 14, PasswordReusePrevention: 24 } };
  });
  mock.on(ListVirtualMFADevicesCommand).callsFake(async () => {
    await delay(latencyMs);
    return { VirtualMFADevices: [], IsTruncated: false };
  });

  const { value, ms } = await timed(() => collectAccountReport({ iam }, { accountId: ACCOUNT, concurrency }));
  mock.restore();
  return { ...value, wallMs: ms, account };
}

export const agentBench: BenchModule = {
  name: 'agent',
  async run(options) {
    const users = options.int('agent-users', 5_000);
    const latencyMs = options.int('latency', 20);
    const concurrency = options.int('agent-concurrency', 8);
    // Share of users with an access key: console-only people and users whose keys were removed have none.
    const keySharePercent = options.int('agent-key-share', 60);
    const { report, stats, wallMs, account } = await runOnce(
      users,
      keySharePercent / 100,
      latencyMs,
      concurrency,
    );
    const usersWithKeys = account.fixtureUsers.filter((u) => (u.keys?.length ?? 0) > 0).length;

    const { ms: privilegeMs } = await timed(async () =>
      evaluatePrivileges({ users: account.userDetails, groups: account.groups, policies: account.policies }),
    );
    const json = Buffer.from(JSON.stringify(report), 'utf8');
    const gzip = gzipSync(json, { level: 9 });
    const base64Bytes = Math.ceil(gzip.byteLength / 3) * 4;
    const { value: parts, ms: splitMs } = await timed(async () => splitReport(report));
    const { ms: assembleMs } = await timed(async () => assembleParts(parts));
    const largest = Math.max(...parts.map(entryBytes));
    // Payload capacity of one default-size entry, and of one 1 MB entry (partitions with 1 MB events).
    const envelope = entryBytes({ ...parts[0]!, payload: '' });
    const perUserBase64 = base64Bytes / users;
    const onePart = (max: number) => Math.floor((max - envelope) / perUserBase64);
    const parts1Mb = splitReport(report, { maxEntryBytes: 1_048_576 }).length;
    const totalCalls = Object.values(stats.apiCalls).reduce((n, c) => n + c, 0);

    const row: BenchRow = {
      name: `agent: ${users.toLocaleString('en-US')} users (${keySharePercent} % with keys), ${latencyMs} ms per IAM call, ${concurrency} users in flight`,
      metrics: {
        users,
        usersWithKeys,
        usersWithKeysPercent: Math.round((usersWithKeys / users) * 1000) / 10,
        accessKeys: report.accessKeys.length,
        ...Object.fromEntries(Object.entries(stats.apiCalls).map(([op, n]) => [`calls.${op}`, n])),
        callsTotal: totalCalls,
        collectWallMs: Math.round(wallMs),
        privilegeEvalMs: Math.round(privilegeMs),
        payloadJsonBytes: json.byteLength,
        payloadGzipBytes: gzip.byteLength,
        jsonBytesPerUser: Math.round(json.byteLength / users),
        gzipBytesPerUser: Math.round((gzip.byteLength / users) * 10) / 10,
        base64BytesPerUser: Math.round(perUserBase64 * 10) / 10,
        [`usersPerPart(${DEFAULT_MAX_ENTRY_BYTES})`]: onePart(DEFAULT_MAX_ENTRY_BYTES),
        'usersPerPart(1MiB)': onePart(1_048_576),
        parts: parts.length,
        'parts(1MiB)': parts1Mb,
        largestEntryBytes: largest,
        splitMs: Math.round(splitMs),
        assembleMs: Math.round(assembleMs),
        entryEnvelopeBytes: envelope,
      },
    };
    return [row, craftedPolicyRow()];
  },
};

/**
 * The crafted policy of issue #11: one user whose inline policy Denies a resource with ten `*` against an
 * Allow of a 2,000-character resource (a regular-expression matcher backtracked for minutes on it).
 */
function craftedPolicyRow(): BenchRow {
  const allow = `arn:aws:s3:::${'a'.repeat(2_000)}/*`;
  const deny = `arn:aws:s3:::${'*a'.repeat(10)}b/*`;
  const user: UserDetail = {
    UserName: 'crafted',
    UserId: 'AIDACRAFTED0000000000',
    Arn: `arn:aws:iam::${ACCOUNT}:user/crafted`,
    UserPolicyList: [
      {
        PolicyName: 'crafted',
        PolicyDocument: encode(
          doc(
            { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: allow },
            { Effect: 'Deny', Action: 's3:*', Resource: deny },
          ),
        ),
      },
    ],
  };
  const runs = 100;
  const started = performance.now();
  let s3Read = false;
  for (let i = 0; i < runs; i++) {
    s3Read = evaluatePrivileges({ users: [user], groups: [], policies: [] }).privileges[0]?.s3Read ?? false;
  }
  const perEvaluationMs = (performance.now() - started) / runs;
  return {
    name: 'agent: crafted policy (Deny with ten * against a 2,000-character Allow resource)',
    metrics: {
      evaluations: runs,
      perEvaluationMs: Math.round(perEvaluationMs * 1000) / 1000,
      s3Read: String(s3Read),
    },
  };
}
