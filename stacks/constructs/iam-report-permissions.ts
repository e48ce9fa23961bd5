import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * IAM read actions that collect one account's report and its account facts (root credentials, password
 * policy, virtual MFA devices: report schema v3). None has a resource type in the IAM service
 * authorization reference, so `*` is the only resource they accept.
 */
export const IAM_REPORT_ACCOUNT_ACTIONS = [
  'iam:GenerateCredentialReport',
  'iam:GetCredentialReport',
  'iam:GetAccountAuthorizationDetails',
  'iam:ListUsers',
  'iam:GetAccountSummary',
  'iam:GetAccountPasswordPolicy',
  'iam:ListVirtualMFADevices',
] as const;

/** IAM read actions on users: scoped to this account's user ARNs. */
export const IAM_REPORT_USER_ACTIONS = ['iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed'] as const;

/** A statement and why its wildcard resource is acceptable (the cdk-nag AwsSolutions-IAM5 reason). */
export interface AcknowledgedStatement {
  readonly statement: iam.PolicyStatement;
  readonly reason: string;
}

/**
 * The statements that let a role collect its own account's credential report, key inventory and
 * privilege summary — nothing that writes, nothing that reads secrets — each with the reason for its
 * wildcard resource (granted with grantAcknowledged, one policy per statement).
 */
export function iamReportStatements(scope: IConstruct): AcknowledgedStatement[] {
  return [
    {
      statement: new iam.PolicyStatement({
        sid: 'CollectAccountCredentialReport',
        actions: [...IAM_REPORT_ACCOUNT_ACTIONS],
        resources: ['*'],
      }),
      reason:
        'iam:GenerateCredentialReport, GetCredentialReport, GetAccountAuthorizationDetails, ListUsers, GetAccountSummary, GetAccountPasswordPolicy and ListVirtualMFADevices have no resource type: IAM accepts only "*" for them (reads of this account only).',
    },
    {
      statement: new iam.PolicyStatement({
        sid: 'ReadAccessKeyMetadata',
        actions: [...IAM_REPORT_USER_ACTIONS],
        resources: [
          Stack.of(scope).formatArn({ service: 'iam', region: '', resource: 'user', resourceName: '*' }),
        ],
      }),
      reason:
        'iam:ListAccessKeys and GetAccessKeyLastUsed on every user of this account (user/*): the key inventory covers every user, which is the report itself.',
    },
  ];
}
