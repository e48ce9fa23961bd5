/**
 * The digest's overhead of SCP and RCP evaluation (core/scp.ts, docs/ARCHITECTURE.md §7): the synthetic
 * organization of the core bench (root → top OU → leaf OU → account), 5 SCPs on every path besides
 * FullAWSAccess (2 at the root, 1 per OU, 1 on the account; one leaf in two denies data reads), an RCP
 * at the root, and grants for every flag the synthetic users hold (2 per kind, as privileges v2 will send).
 * Measured three ways on the same reports: the merge without SCP data (as before), the merge with it,
 * and the evaluation alone (ControlPolicyIndex + applyServiceControlPolicies, no CSV).
 * `npm run bench -- --only scp [--scp-accounts 10000] [--scp-users 10] [--seed 1]`.
 */
import { Writable } from 'node:stream';
import { runMerge } from '../core/merge';
import { syntheticOrganization } from '../core/sample-org';
import { applyServiceControlPolicies, ControlPolicyIndex, PrivilegeGrants } from '../core/scp';
import { DEFAULT_THRESHOLDS } from '../core/thresholds';
import {
  AccountReport,
  ControlPolicyAttachments,
  OrgControlPolicies,
  OrgMetadata,
  StoredControlPolicy,
} from '../core/types';
import { BenchModule, BenchRow, timed } from './harness';

class NullSink extends Writable {
  override _write(_chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    callback();
  }
}

const doc = (...statements: object[]): string =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements });
const scp = (name: string, content: string): StoredControlPolicy => ({
  name,
  type: 'SERVICE_CONTROL_POLICY',
  content,
  fetchedAt: '2024-06-01T00:00:00Z',
});

function controlPolicies(metadata: OrgMetadata): OrgControlPolicies {
  const at = (policyIds: string[]): ControlPolicyAttachments => ({
    policyIds,
    fetchedAt: metadata.fetchedAt,
  });
  const scpAttachments: Record<string, ControlPolicyAttachments> = {};
  const rcpAttachments: Record<string, ControlPolicyAttachments> = {};
  let leaf = 0;
  for (const account of metadata.accounts) {
    const [root, top, bottom] = account.ouIdPath as [string, string, string];
    scpAttachments[root] ??= at(['p-FullAWSAccess', 'p-denyleave', 'p-denyroot']);
    scpAttachments[top] ??= at(['p-FullAWSAccess', 'p-regions']);
    scpAttachments[bottom] ??= at(['p-FullAWSAccess', leaf++ % 2 === 0 ? 'p-denydata' : 'p-denys3writes']);
    scpAttachments[account.id] = at(['p-FullAWSAccess', 'p-denyiamusers']);
    rcpAttachments[root] ??= at(['p-RCPFullAWSAccess', 'p-perimeter']);
    rcpAttachments[top] ??= at(['p-RCPFullAWSAccess']);
    rcpAttachments[bottom] ??= at(['p-RCPFullAWSAccess']);
    rcpAttachments[account.id] = at(['p-RCPFullAWSAccess']);
  }
  return {
    scp: { status: 'enabled', attachments: scpAttachments },
    rcp: { status: 'enabled', attachments: rcpAttachments },
    policies: {
      'p-FullAWSAccess': scp('FullAWSAccess', doc({ Effect: 'Allow', Action: '*', Resource: '*' })),
      'p-denyleave': scp(
        'DenyLeaveOrg',
        doc({
          Effect: 'Deny',
          Action: ['organizations:LeaveOrganization', 'account:CloseAccount'],
          Resource: '*',
        }),
      ),
      'p-denyroot': scp(
        'DenyRootUser',
        doc({
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { StringLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:root' } },
        }),
      ),
      'p-regions': scp(
        'DenyOutsideEu',
        doc({
          Effect: 'Deny',
          NotAction: ['iam:*', 'organizations:*', 'sts:*', 'support:*'],
          Resource: '*',
          Condition: { StringNotEquals: { 'aws:RequestedRegion': ['eu-west-1', 'eu-central-1'] } },
        }),
      ),
      'p-denydata': scp(
        'DenyDataReads',
        doc({
          Effect: 'Deny',
          Action: ['s3:GetObject*', 'dynamodb:*', 'dax:*', 'rds-db:*', 'rds-data:*'],
          Resource: '*',
        }),
      ),
      'p-denys3writes': scp(
        'DenyS3Deletes',
        doc({ Effect: 'Deny', Action: ['s3:DeleteBucket', 's3:PutBucketPolicy'], Resource: '*' }),
      ),
      'p-denyiamusers': scp(
        'DenyIamUserKeys',
        doc({ Effect: 'Deny', Action: ['iam:CreateLoginProfile'], Resource: '*' }),
      ),
      'p-RCPFullAWSAccess': {
        ...scp('RCPFullAWSAccess', doc({ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' })),
        type: 'RESOURCE_CONTROL_POLICY',
      },
      'p-perimeter': {
        ...scp(
          'EnforceOrgIdentities',
          doc({
            Effect: 'Deny',
            Principal: '*',
            Action: ['s3:*', 'sts:AssumeRole', 'kms:*', 'sqs:*', 'secretsmanager:*'],
            Resource: '*',
            Condition: { StringNotEqualsIfExists: { 'aws:PrincipalOrgID': 'o-synthetic01' } },
          }),
        ),
        type: 'RESOURCE_CONTROL_POLICY',
      },
    },
  };
}

const GRANT_ACTIONS = {
  admin: [['iam:PutUserPolicy', 'iam:AttachUserPolicy'], ['iam:CreateAccessKey']],
  s3Read: [['s3:GetObject'], ['s3:GetObjectVersion']],
  rdsRead: [['rds-db:connect'], ['rds:ModifyDBInstance']],
  dynamodbRead: [['dynamodb:GetItem', 'dynamodb:Query'], ['dax:GetItem']],
} as const;

/** Grants for every flag a user holds: what privileges v2 will send with the report. */
function grantsOf(report: AccountReport): ReadonlyMap<string, PrivilegeGrants> {
  const out = new Map<string, PrivilegeGrants>();
  for (const p of report.privileges ?? []) {
    const grants: Record<string, { path: string; actions: readonly string[] }[]> = {};
    for (const kind of ['admin', 's3Read', 'rdsRead', 'dynamodbRead'] as const) {
      if (p[kind])
        grants[kind] = GRANT_ACTIONS[kind].map((actions, i) => ({ path: `${kind}-${i}`, actions }));
    }
    out.set(p.userName, grants);
  }
  return out;
}

export const scpBench: BenchModule = {
  name: 'scp',
  async run(options): Promise<BenchRow[]> {
    const accounts = options.int('scp-accounts', 10_000);
    const users = options.int('scp-users', 10);
    const seed = options.int('seed', 1);
    const now = new Date('2024-06-01T06:00:00Z');
    const org = syntheticOrganization({ accounts, usersPerAccount: users, seed, now });
    const reports = [...org.reports];
    const withScps: OrgMetadata = { ...org.metadata, controlPolicies: controlPolicies(org.metadata) };
    // Grants are built before timing: in the digest they arrive with the report.
    const grants = new Map(reports.map((r) => [r.accountId, grantsOf(r)]));

    const merge = (metadata: OrgMetadata, withGrants: boolean) =>
      timed(() =>
        runMerge(
          {
            now,
            thresholds: DEFAULT_THRESHOLDS,
            metadata,
            reports,
            ...(withGrants ? { grantsOf: (r: AccountReport) => grants.get(r.accountId) } : {}),
          },
          { credentialReport: new NullSink(), accessKeys: new NullSink() },
        ),
      );
    const evaluate = () =>
      timed(async () => {
        const index = new ControlPolicyIndex(withScps);
        let cleared = 0;
        for (const report of reports) {
          const applied = applyServiceControlPolicies(
            report.privileges ?? [],
            grants.get(report.accountId) ?? new Map(),
            index.chainFor(report.accountId),
          );
          cleared += Object.values(applied.cleared).reduce((a, b) => a + b, 0);
        }
        return cleared;
      });

    // Warm-up of each, then the measured runs (alternated, best of two).
    await merge(org.metadata, false);
    await merge(withScps, true);
    const before = [await merge(org.metadata, false), await merge(org.metadata, false)];
    const after = [await merge(withScps, true), await merge(withScps, true)];
    await evaluate();
    const alone = [await evaluate(), await evaluate()];
    const best = (runs: { ms: number }[]) => Math.min(...runs.map((r) => r.ms));
    const summary = after[0]?.value.summary.controlPolicies;
    const cleared = summary ? Object.values(summary.flagsCleared).reduce((a, b) => a + b, 0) : 0;
    const userRows = reports.reduce((n, r) => n + (r.privileges?.length ?? 0), 0);
    return [
      {
        name: `scp: ${accounts.toLocaleString('en-US')} accounts x ${users} users, 5 SCPs + FullAWSAccess on each path, 1 RCP`,
        metrics: {
          users: userRows,
          mergeWithoutScpMs: Math.round(best(before)),
          mergeWithScpMs: Math.round(best(after)),
          overheadMs: Math.round(best(after) - best(before)),
          evaluationAloneMs: Math.round(best(alone)),
          evaluationPerUserUs: Math.round((best(alone) / Math.max(1, userRows)) * 1000 * 100) / 100,
          accountsKnown: summary?.accountsKnown ?? 0,
          accountsExempt: summary?.accountsExempt ?? 0,
          flagsCleared: cleared,
          clearedAlone: alone[0]?.value ?? 0,
        },
      },
    ];
  },
};
