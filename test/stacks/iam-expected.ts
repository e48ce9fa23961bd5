import type { PermissionEntry, RenderedStatement } from './iam-inventory';

/*
 * Every role and resource policy the stacks synthesize, statement by statement: the reviewed list that
 * test/stacks/iam-exact.test.ts compares the templates with. A new grant, resource, condition, role or
 * policy fails that test until it is written here — so widening a permission is always a diff of this
 * file, reviewed as such (CONTRIBUTING.md, "Changing a permission").
 *
 * One object per role (trust policy, managed policies, each attached policy by its logical id without
 * CDK's hash) and per resource policy. References are rendered as text: `${Reports.Arn}` is the GetAtt
 * Arn of the resource whose logical id starts with `Reports`, `${CentralBusArn}` a parameter,
 * `${AWS::Partition}` a pseudo parameter. Action and Resource lists and statements may be written in any
 * order; a one-element condition or principal list is written as its element.
 */

/** The CDK TLS-only deny on a bucket or queue (enforceSSL, and minimumTLSVersion on buckets). */
const denyInsecureTransport = (service: 's3' | 'sqs', resources: string[]): RenderedStatement => ({
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: [`${service}:*`],
  Resource: resources,
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
});
const denyOldTls = (resources: string[]): RenderedStatement => ({
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: ['s3:*'],
  Resource: resources,
  Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
});
const lambdaTrust: RenderedStatement = {
  Effect: 'Allow',
  Principal: { Service: 'lambda.amazonaws.com' },
  Action: ['sts:AssumeRole'],
};
const writeOwnLogs = (logGroup: string): RenderedStatement => ({
  Sid: 'WriteOwnLogs',
  Effect: 'Allow',
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Resource: [`\${${logGroup}.Arn}`],
});
const sendToQueue = (queue: string): RenderedStatement => ({
  Effect: 'Allow',
  Action: ['sqs:SendMessage'],
  Resource: [`\${${queue}.Arn}`],
});

/** The account-wide IAM reads of one account's report (member agent and the hub's own account). */
const collectAccountCredentialReport: RenderedStatement[] = [
  {
    Sid: 'CollectAccountCredentialReport',
    Effect: 'Allow',
    Action: [
      'iam:GenerateCredentialReport',
      'iam:GetAccountAuthorizationDetails',
      'iam:GetAccountPasswordPolicy',
      'iam:GetAccountSummary',
      'iam:GetCredentialReport',
      'iam:ListUsers',
      'iam:ListVirtualMFADevices',
    ],
    Resource: ['*'],
  },
];
const readAccessKeyMetadata: RenderedStatement[] = [
  {
    Sid: 'ReadAccessKeyMetadata',
    Effect: 'Allow',
    Action: ['iam:GetAccessKeyLastUsed', 'iam:ListAccessKeys'],
    Resource: ['arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*'],
  },
];

/** What varies between the two configurations the tests synthesize. */
export interface HubVariant {
  /** The hub's region (deploymentRegion). */
  readonly region: string;
  /** The digest's SES statement, when digestSender is set. */
  readonly sendDigest?: RenderedStatement;
  /** `chatTopic: true` and `findingEvents: true` (DELEGATED_CONTEXT): the chat topic, its key, the digest's grants. */
  readonly chatAndRouting?: boolean;
}

/** The digest's grants for a created chat topic and finding events on the central bus. */
function chatAndRoutingStatements(region: string): RenderedStatement[] {
  return [
    {
      Sid: 'PublishChatSummary',
      Effect: 'Allow',
      Action: ['sns:Publish'],
      Resource: ['${ChatTopic}'],
    },
    {
      Sid: 'EncryptChatSummary',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: ['${ChatTopicKey.Arn}'],
      Condition: { StringEquals: { 'kms:ViaService': `sns.${region}.\${AWS::URLSuffix}` } },
    },
    {
      Sid: 'PutFindingEvents',
      Effect: 'Allow',
      Action: ['events:PutEvents'],
      Resource: ['${CentralBus.Arn}'],
      Condition: {
        'ForAllValues:StringEquals': { 'events:source': 'credreport.findings' },
        Null: { 'events:source': 'false' },
      },
    },
  ];
}

/** The chat topic's key (CDK's default key policy only) and its TLS-only topic policy. */
const CHAT_TOPIC_ENTRIES: Record<string, PermissionEntry> = {
  ChatTopicKey: {
    type: 'AWS::KMS::Key',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' },
        Action: ['kms:*'],
        Resource: ['*'],
      },
    ],
  },
  ChatTopicPolicy: {
    type: 'AWS::SNS::TopicPolicy',
    Topics: ['${ChatTopic}'],
    Statement: [
      {
        Sid: 'AllowPublishThroughSSLOnly',
        Effect: 'Deny',
        Principal: '*',
        Action: ['sns:Publish'],
        Resource: ['${ChatTopic}'],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  },
};

/** The hub stack (CredreportHub). */
export function expectedHubPermissions(variant: HubVariant): Record<string, PermissionEntry> {
  return {
    ...(variant.chatAndRouting ? CHAT_TOPIC_ENTRIES : {}),
    CentralBusPolicy: {
      type: 'AWS::Events::EventBusPolicy',
      EventBusName: '${CentralBus}',
      StatementId: 'MemberAgentsPutReportParts',
      Statement: [
        {
          Sid: 'MemberAgentsPutReportParts',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: ['events:PutEvents'],
          Resource: ['${CentralBus.Arn}'],
          Condition: {
            StringEquals: { 'aws:PrincipalOrgID': 'o-exampleorg1' },
            ArnLike: { 'aws:PrincipalArn': 'arn:${AWS::Partition}:iam::*:role/credreport-member-agent' },
            'ForAllValues:StringEquals': {
              'events:source': 'credreport.member-agent',
              'events:detail-type': 'Credential Report Part',
            },
            Null: { 'events:source': 'false', 'events:detail-type': 'false' },
          },
        },
      ],
    },

    CentralBusFailurePolicy: {
      type: 'AWS::Events::EventBusPolicy',
      EventBusName: '${CentralBus}',
      StatementId: 'MemberAgentsPutAgentFailures',
      Statement: [
        {
          Sid: 'MemberAgentsPutAgentFailures',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: ['events:PutEvents'],
          Resource: ['${CentralBus.Arn}'],
          Condition: {
            StringEquals: { 'aws:PrincipalOrgID': 'o-exampleorg1' },
            ArnLike: { 'aws:PrincipalArn': 'arn:${AWS::Partition}:iam::*:role/credreport-member-agent' },
            'ForAllValues:StringEquals': {
              'events:source': 'credreport.member-agent',
              'events:detail-type': 'Credential Report Agent Failure',
            },
            Null: { 'events:source': 'false', 'events:detail-type': 'false' },
          },
        },
      ],
    },

    ReportsPolicy: {
      type: 'AWS::S3::BucketPolicy',
      Bucket: '${Reports}',
      Statement: [
        denyInsecureTransport('s3', ['${Reports.Arn}', '${Reports.Arn}/*']),
        denyOldTls(['${Reports.Arn}', '${Reports.Arn}/*']),
      ],
    },
    ReportsAccessLogsPolicy: {
      type: 'AWS::S3::BucketPolicy',
      Bucket: '${ReportsAccessLogs}',
      Statement: [
        denyInsecureTransport('s3', ['${ReportsAccessLogs.Arn}', '${ReportsAccessLogs.Arn}/*']),
        denyOldTls(['${ReportsAccessLogs.Arn}', '${ReportsAccessLogs.Arn}/*']),
        {
          Effect: 'Allow',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Action: ['s3:PutObject'],
          Resource: ['${ReportsAccessLogs.Arn}/report-bucket/*'],
          Condition: {
            ArnLike: { 'aws:SourceArn': '${Reports.Arn}' },
            StringEquals: { 'aws:SourceAccount': '${AWS::AccountId}' },
          },
        },
      ],
    },

    IngestRole: {
      type: 'AWS::IAM::Role',
      AssumeRolePolicy: [lambdaTrust],
      Policies: {
        IngestRoleDefaultPolicy: [
          writeOwnLogs('IngestLogs'),
          sendToQueue('IngestFailureDlqQueue'),
          {
            Sid: 'ListParts',
            Effect: 'Allow',
            Action: ['s3:ListBucket'],
            Resource: ['${Reports.Arn}'],
            Condition: { StringLikeIfExists: { 's3:prefix': 'incoming/*' } },
          },
        ],
        IngestRoleReadWriteParts: [
          {
            Sid: 'ReadWriteParts',
            Effect: 'Allow',
            Action: ['s3:GetObject', 's3:PutObject'],
            Resource: ['${Reports.Arn}/accounts/*', '${Reports.Arn}/incoming/*'],
          },
        ],
      },
    },
    IngestPartsRuleAllowEventRuleCredreportHubIngestFunction: {
      type: 'AWS::Lambda::Permission',
      Action: 'lambda:InvokeFunction',
      FunctionName: '${IngestFunction.Arn}',
      Principal: 'events.amazonaws.com',
      SourceArn: '${IngestPartsRule.Arn}',
    },
    IngestDeliveryDlqQueuePolicy: {
      type: 'AWS::SQS::QueuePolicy',
      Queues: ['${IngestDeliveryDlqQueue}'],
      Statement: [
        denyInsecureTransport('sqs', ['${IngestDeliveryDlqQueue.Arn}']),
        {
          Sid: 'AllowEventRuleCredreportHubIngestPartsRule657391AF',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: ['sqs:SendMessage'],
          Resource: ['${IngestDeliveryDlqQueue.Arn}'],
          Condition: { ArnEquals: { 'aws:SourceArn': '${IngestPartsRule.Arn}' } },
        },
      ],
    },
    IngestFailureDlqQueuePolicy: {
      type: 'AWS::SQS::QueuePolicy',
      Queues: ['${IngestFailureDlqQueue}'],
      Statement: [denyInsecureTransport('sqs', ['${IngestFailureDlqQueue.Arn}'])],
    },

    DigestRole: {
      type: 'AWS::IAM::Role',
      AssumeRolePolicy: [lambdaTrust],
      Policies: {
        DigestRoleDefaultPolicy: [
          writeOwnLogs('DigestLogs'),
          sendToQueue('DigestDlqQueue'),
          {
            Sid: 'ListReports',
            Effect: 'Allow',
            Action: ['s3:ListBucket'],
            Resource: ['${Reports.Arn}'],
            Condition: { StringLikeIfExists: { 's3:prefix': ['accounts/*', 'incoming/*'] } },
          },
          {
            Sid: 'ReadExemptions',
            Effect: 'Allow',
            Action: ['s3:GetObject'],
            Resource: [
              '${Reports.Arn}/config/exemptions.json',
              '${Reports.Arn}/config/exemptions.last-valid.json',
            ],
          },
          {
            Sid: 'KeepLastValidExemptions',
            Effect: 'Allow',
            Action: ['s3:PutObject'],
            Resource: ['${Reports.Arn}/config/exemptions.last-valid.json'],
          },
          ...(variant.sendDigest !== undefined ? [variant.sendDigest] : []),
          ...(variant.chatAndRouting ? chatAndRoutingStatements(variant.region) : []),
        ],
        DigestRoleReadReports: [
          {
            Sid: 'ReadReports',
            Effect: 'Allow',
            Action: ['s3:GetObject'],
            Resource: ['${Reports.Arn}/accounts/*', '${Reports.Arn}/latest/*', '${Reports.Arn}/org/*'],
          },
        ],
        DigestRoleWriteOutputs: [
          {
            Sid: 'WriteOutputs',
            Effect: 'Allow',
            Action: ['s3:AbortMultipartUpload', 's3:PutObject'],
            Resource: ['${Reports.Arn}/latest/*', '${Reports.Arn}/org/*', '${Reports.Arn}/runs/*'],
          },
        ],
        DigestRoleReadOrganization: [
          {
            Sid: 'ReadOrganization',
            Effect: 'Allow',
            Action: [
              'organizations:DescribeOrganization',
              'organizations:ListAccounts',
              'organizations:ListRoots',
            ],
            Resource: ['*'],
          },
        ],
        DigestRoleReadRootAccessManagement: [
          {
            Sid: 'ReadRootAccessManagement',
            Effect: 'Allow',
            Action: ['iam:ListOrganizationsFeatures', 'organizations:ListAWSServiceAccessForOrganization'],
            Resource: ['*'],
          },
        ],
        DigestRoleReadOrganizationTree: [
          {
            Sid: 'ReadOrganizationTree',
            Effect: 'Allow',
            Action: ['organizations:ListAccountsForParent', 'organizations:ListOrganizationalUnitsForParent'],
            Resource: [
              'arn:${AWS::Partition}:organizations::*:ou/o-exampleorg1/*',
              'arn:${AWS::Partition}:organizations::*:root/o-exampleorg1/*',
            ],
          },
        ],
        DigestRoleReadAccountParentsAndTags: [
          {
            Sid: 'ReadAccountParentsAndTags',
            Effect: 'Allow',
            Action: ['organizations:ListParents', 'organizations:ListTagsForResource'],
            Resource: ['arn:${AWS::Partition}:organizations::*:account/o-exampleorg1/*'],
          },
        ],
        DigestRoleReadControlPolicyAttachments: [
          {
            Sid: 'ReadControlPolicyAttachments',
            Effect: 'Allow',
            Action: ['organizations:ListPoliciesForTarget'],
            Resource: [
              'arn:${AWS::Partition}:organizations::*:account/o-exampleorg1/*',
              'arn:${AWS::Partition}:organizations::*:ou/o-exampleorg1/*',
              'arn:${AWS::Partition}:organizations::*:root/o-exampleorg1/*',
            ],
            Condition: {
              StringEquals: {
                'organizations:PolicyType': ['RESOURCE_CONTROL_POLICY', 'SERVICE_CONTROL_POLICY'],
              },
            },
          },
        ],
        DigestRoleReadControlPolicies: [
          {
            Sid: 'ReadControlPolicies',
            Effect: 'Allow',
            Action: ['organizations:DescribePolicy'],
            Resource: [
              'arn:${AWS::Partition}:organizations::*:policy/o-exampleorg1/resource_control_policy/*',
              'arn:${AWS::Partition}:organizations::*:policy/o-exampleorg1/service_control_policy/*',
              'arn:${AWS::Partition}:organizations::aws:policy/resource_control_policy/*',
              'arn:${AWS::Partition}:organizations::aws:policy/service_control_policy/*',
            ],
          },
        ],
        DigestRoleCollectAccountCredentialReport: collectAccountCredentialReport,
        DigestRoleReadAccessKeyMetadata: readAccessKeyMetadata,
      },
    },
    DigestDlqQueuePolicy: {
      type: 'AWS::SQS::QueuePolicy',
      Queues: ['${DigestDlqQueue}'],
      Statement: [denyInsecureTransport('sqs', ['${DigestDlqQueue.Arn}'])],
    },
    DigestScheduleRole: {
      type: 'AWS::IAM::Role',
      AssumeRolePolicy: [
        {
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Action: ['sts:AssumeRole'],
          Condition: { StringEquals: { 'aws:SourceAccount': '${AWS::AccountId}' } },
        },
      ],
      Policies: {
        DigestScheduleRoleDefaultPolicy: [
          {
            Effect: 'Allow',
            Action: ['lambda:InvokeFunction'],
            Resource: ['${DigestFunction.Arn}', '${DigestFunction.Arn}:*'],
          },
          sendToQueue('DigestDlqQueue'),
        ],
      },
    },

    AlarmsTopicKey: {
      type: 'AWS::KMS::Key',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' },
          Action: ['kms:*'],
          Resource: ['*'],
        },
        {
          Sid: 'AllowCloudWatchAlarmsToPublish',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: ['*'],
          Condition: {
            ArnLike: {
              'aws:SourceArn': `arn:\${AWS::Partition}:cloudwatch:${variant.region}:\${AWS::AccountId}:alarm:*`,
            },
            StringEquals: { 'aws:SourceAccount': '${AWS::AccountId}' },
          },
        },
      ],
    },
    AlarmsTopicPolicy: {
      type: 'AWS::SNS::TopicPolicy',
      Topics: ['${AlarmsTopic}'],
      Statement: [
        {
          Sid: 'AllowPublishThroughSSLOnly',
          Effect: 'Deny',
          Principal: '*',
          Action: ['sns:Publish'],
          Resource: ['${AlarmsTopic}'],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
        {
          Sid: 'AllowThisAccountsAlarms',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['sns:Publish'],
          Resource: ['${AlarmsTopic}'],
          Condition: {
            ArnLike: {
              'aws:SourceArn': `arn:\${AWS::Partition}:cloudwatch:${variant.region}:\${AWS::AccountId}:alarm:*`,
            },
          },
        },
      ],
    },
  };
}

/** The member stack (the StackSet template every member account runs). */
export const EXPECTED_MEMBER_PERMISSIONS: Record<string, PermissionEntry> = {
  AgentRole: {
    type: 'AWS::IAM::Role',
    RoleName: 'credreport-member-agent',
    AssumeRolePolicy: [lambdaTrust],
    Policies: {
      AgentRoleDefaultPolicy: [
        writeOwnLogs('AgentLogs'),
        {
          Sid: 'PublishReportParts',
          Effect: 'Allow',
          Action: ['events:PutEvents'],
          Resource: ['${CentralBusArn}'],
        }, // The Lambda's on-failure destination (CDK's grant): lost runs to the account's own queue.
        {
          Effect: 'Allow',
          Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          Resource: ['${AgentFailedRunsQueue.Arn}'],
        },
      ],
      AgentRoleCollectAccountCredentialReport: collectAccountCredentialReport,
      AgentRoleReadAccessKeyMetadata: readAccessKeyMetadata,
    },
  },
  AgentFailedRunsQueuePolicy: {
    type: 'AWS::SQS::QueuePolicy',
    Queues: ['${AgentFailedRunsQueue}'],
    Statement: [
      denyInsecureTransport('sqs', ['${AgentFailedRunsQueue.Arn}']),
      {
        Sid: 'AllowEventRuleCredreportHubMembersMemberAgentScheduleE7A70307',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: ['sqs:SendMessage'],
        Resource: ['${AgentFailedRunsQueue.Arn}'],
        // Only this account's agent schedule rule (its target's dead-letter queue).
        Condition: { ArnEquals: { 'aws:SourceArn': '${AgentSchedule9B73A951.Arn}' } },
      },
    ],
  },
  AgentScheduleAllowEventRuleCredreportHubMembersMemberAgentFunction: {
    type: 'AWS::Lambda::Permission',
    Action: 'lambda:InvokeFunction',
    FunctionName: '${AgentFunction.Arn}',
    Principal: 'events.amazonaws.com',
    // The rule keeps its hash: without it, its name would be that of the AgentSchedule parameter.
    SourceArn: '${AgentSchedule9B73A951.Arn}',
  },
};

/** The digest's SES statement in the delegated configuration (DELEGATED_CONTEXT). */
export const DELEGATED_SEND_DIGEST: RenderedStatement = {
  Sid: 'SendDigest',
  Effect: 'Allow',
  Action: ['ses:SendEmail'],
  Resource: [
    'arn:${AWS::Partition}:ses:eu-west-1:${AWS::AccountId}:configuration-set/credreport-digest',
    'arn:${AWS::Partition}:ses:eu-west-1:${AWS::AccountId}:identity/credreport@reports.example.com',
    'arn:${AWS::Partition}:ses:eu-west-1:${AWS::AccountId}:identity/reports.example.com',
  ],
  Condition: { StringEquals: { 'ses:FromAddress': 'credreport@reports.example.com' } },
};

/**
 * Every acknowledgement of a validation finding (cdk-nag AwsSolutions), as `<construct path> <rule id>`:
 * an acknowledgement covers that construct and everything under it, so each IAM5 one sits on a policy
 * holding exactly the one statement it was given for (stacks/constructs/nag-acknowledgements.ts). The
 * reasons are printed by `npm run print-iam`.
 */
export const EXPECTED_ACKNOWLEDGEMENTS: readonly string[] = [
  'CredreportHub/Digest/Digest/Function AwsSolutions-L1',
  'CredreportHub/Digest/Digest/Role/CollectAccountCredentialReport AwsSolutions-IAM5[Resource::*]',
  'CredreportHub/Digest/Digest/Role/ReadAccessKeyMetadata AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:user/*]',
  'CredreportHub/Digest/Digest/Role/ReadAccountParentsAndTags AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::*:account/o-exampleorg1/*]',
  'CredreportHub/Digest/Digest/Role/ReadControlPolicies AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::*:policy/o-exampleorg1/resource_control_policy/*]',
  'CredreportHub/Digest/Digest/Role/ReadControlPolicies AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::*:policy/o-exampleorg1/service_control_policy/*]',
  'CredreportHub/Digest/Digest/Role/ReadControlPolicies AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::aws:policy/resource_control_policy/*]',
  'CredreportHub/Digest/Digest/Role/ReadControlPolicies AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::aws:policy/service_control_policy/*]',
  'CredreportHub/Digest/Digest/Role/ReadControlPolicyAttachments AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::*:account/o-exampleorg1/*]',
  'CredreportHub/Digest/Digest/Role/ReadControlPolicyAttachments AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::*:ou/o-exampleorg1/*]',
  'CredreportHub/Digest/Digest/Role/ReadControlPolicyAttachments AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::*:root/o-exampleorg1/*]',
  'CredreportHub/Digest/Digest/Role/ReadOrganization AwsSolutions-IAM5[Resource::*]',
  'CredreportHub/Digest/Digest/Role/ReadOrganizationTree AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::*:ou/o-exampleorg1/*]',
  'CredreportHub/Digest/Digest/Role/ReadOrganizationTree AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:organizations::*:root/o-exampleorg1/*]',
  'CredreportHub/Digest/Digest/Role/ReadReports AwsSolutions-IAM5[Resource::<Reports33416250.Arn>/accounts/*]',
  'CredreportHub/Digest/Digest/Role/ReadReports AwsSolutions-IAM5[Resource::<Reports33416250.Arn>/latest/*]',
  'CredreportHub/Digest/Digest/Role/ReadReports AwsSolutions-IAM5[Resource::<Reports33416250.Arn>/org/*]',
  'CredreportHub/Digest/Digest/Role/ReadRootAccessManagement AwsSolutions-IAM5[Resource::*]',
  'CredreportHub/Digest/Digest/Role/WriteOutputs AwsSolutions-IAM5[Resource::<Reports33416250.Arn>/latest/*]',
  'CredreportHub/Digest/Digest/Role/WriteOutputs AwsSolutions-IAM5[Resource::<Reports33416250.Arn>/org/*]',
  'CredreportHub/Digest/Digest/Role/WriteOutputs AwsSolutions-IAM5[Resource::<Reports33416250.Arn>/runs/*]',
  'CredreportHub/Digest/Dlq/Queue AwsSolutions-SQS3',
  // Granted by CDK's scheduler target into the schedule role's default policy, beside sqs:SendMessage on
  // the DLQ: specific to this ARN, so only another grant on the digest function's versions would be hidden.
  'CredreportHub/Digest/ScheduleRole AwsSolutions-IAM5[Resource::<DigestFunctionCE0EDC24.Arn>:*]',
  'CredreportHub/Ingest/DeliveryDlq/Queue AwsSolutions-SQS3',
  'CredreportHub/Ingest/FailureDlq/Queue AwsSolutions-SQS3',
  'CredreportHub/Ingest/Ingest/Function AwsSolutions-L1',
  'CredreportHub/Ingest/Ingest/Role/ReadWriteParts AwsSolutions-IAM5[Resource::<Reports33416250.Arn>/accounts/*]',
  'CredreportHub/Ingest/Ingest/Role/ReadWriteParts AwsSolutions-IAM5[Resource::<Reports33416250.Arn>/incoming/*]',
  'CredreportHub/Members/Member/Agent/FailedRuns/Queue AwsSolutions-SQS3',
  'CredreportHub/Members/Member/Agent/Function AwsSolutions-L1',
  'CredreportHub/Members/Member/Agent/Role/CollectAccountCredentialReport AwsSolutions-IAM5[Resource::*]',
  'CredreportHub/Members/Member/Agent/Role/ReadAccessKeyMetadata AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:user/*]',
  'CredreportHub/Reports/AccessLogs AwsSolutions-S1',
];

/**
 * The digest role's owner-digest statements (OWNER_CONTEXT of test/stacks/owner-digests.test.ts): only
 * when `ownerDigests` is not off; `ses:GetAccount` and the recipients condition only when it is `send`.
 */
export const OWNER_DIGEST_STATEMENTS: Readonly<Record<string, RenderedStatement>> = {
  ReadSecurityContacts: {
    Sid: 'ReadSecurityContacts',
    Effect: 'Allow',
    Action: ['account:GetAlternateContact'],
    Resource: [
      'arn:${AWS::Partition}:account::${AWS::AccountId}:account',
      'arn:${AWS::Partition}:account::*:account/o-exampleorg1/*',
    ],
    Condition: { 'ForAllValues:StringEquals': { 'account:AlternateContactTypes': ['SECURITY'] } },
  },
  ReadSesSendRate: { Sid: 'ReadSesSendRate', Effect: 'Allow', Action: ['ses:GetAccount'], Resource: ['*'] },
  SendDigest: {
    Sid: 'SendDigest',
    Effect: 'Allow',
    Action: ['ses:SendEmail'],
    Resource: [
      'arn:${AWS::Partition}:ses:us-east-1:${AWS::AccountId}:identity/credreport@example.com',
      'arn:${AWS::Partition}:ses:us-east-1:${AWS::AccountId}:identity/example.com',
    ],
    Condition: {
      StringEquals: { 'ses:FromAddress': 'credreport@example.com' },
      'ForAllValues:StringLike': {
        'ses:Recipients': ['security@example.com', '*@example.com', '*@corp.example.org'],
      },
    },
  },
};

// Staged deactivation (deactivation.mode dry-run / enforce; off adds nothing above), checked by
// test/stacks/deactivation.test.ts statement by statement, as synthesized.
const bucketObjects = (suffix: string) => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': ['Reports33416250', 'Arn'] }, suffix]],
});
const memberBucketObjects = (middle: string, tail: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':s3:::',
      { Ref: 'ReportBucketName' },
      middle,
      { Ref: 'AWS::AccountId' },
      tail,
    ],
  ],
});
const AGENT_ROLE_CONDITIONS = {
  StringEquals: { 'aws:PrincipalOrgID': 'o-exampleorg1' },
  ArnLike: { 'aws:PrincipalArn': 'arn:*:iam::*:role/credreport-member-agent' },
};

/** The member agent role's staged-deactivation statements in enforce mode (dry-run: the first two). */
export const EXPECTED_REMEDIATION_AGENT_STATEMENTS = [
  {
    Action: 's3:GetObject',
    Effect: 'Allow',
    Resource: memberBucketObjects('/remediation/', '/plan.json'),
    Sid: 'ReadOwnRemediationPlan',
  },
  {
    Action: 's3:PutObject',
    Effect: 'Allow',
    Resource: memberBucketObjects('/remediation/', '/log/*'),
    Sid: 'WriteOwnRemediationLog',
  },
  {
    Action: 'iam:UpdateAccessKey',
    Effect: 'Allow',
    Resource: {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':user/*']],
    },
    Sid: 'DeactivateUnusedKeys',
  },
];

/** The report bucket policy's statements admitting the agents to their own account's objects. */
export const EXPECTED_REMEDIATION_BUCKET_STATEMENTS = [
  {
    Action: 's3:GetObject',
    Condition: AGENT_ROLE_CONDITIONS,
    Effect: 'Allow',
    Principal: { AWS: '*' },
    Resource: bucketObjects('/remediation/${aws:PrincipalAccount}/plan.json'),
    Sid: 'AgentsReadOwnRemediationPlan',
  },
  {
    Action: 's3:PutObject',
    Condition: AGENT_ROLE_CONDITIONS,
    Effect: 'Allow',
    Principal: { AWS: '*' },
    Resource: bucketObjects('/remediation/${aws:PrincipalAccount}/log/*'),
    Sid: 'AgentsWriteOwnRemediationLog',
  },
];

/** The digest role's staged-deactivation statements. */
export const EXPECTED_REMEDIATION_DIGEST_STATEMENTS = [
  {
    Action: 's3:ListBucket',
    Condition: { StringLike: { 's3:prefix': ['remediation/*'] } },
    Effect: 'Allow',
    Resource: { 'Fn::GetAtt': ['Reports33416250', 'Arn'] },
    Sid: 'ListRemediation',
  },
  {
    Action: 's3:PutObject',
    Effect: 'Allow',
    Resource: bucketObjects('/remediation/*/plan.json'),
    Sid: 'WriteRemediationPlans',
  },
  {
    Action: 's3:GetObject',
    Effect: 'Allow',
    Resource: bucketObjects('/remediation/*/log/*'),
    Sid: 'ReadRemediationLogs',
  },
];
