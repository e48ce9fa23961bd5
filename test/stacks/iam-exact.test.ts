import * as fs from 'node:fs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { CredreportApp } from '../../stacks/credreport-app';
import {
  DELEGATED_CONTEXT,
  synthesize,
  synthesizeRefused,
  type CfnTemplate,
  type Synthesized,
} from './helpers';
import {
  DELEGATED_SEND_DIGEST,
  EXPECTED_ACKNOWLEDGEMENTS,
  EXPECTED_MEMBER_PERMISSIONS,
  expectedHubPermissions,
} from './iam-expected';
import {
  acknowledgements,
  canonicalInventory,
  inventory,
  stableJson,
  UnclassifiedResourceError,
  type PermissionInventory,
} from './iam-inventory';
import { renderIamMarkdown } from '../../scripts/print-iam';

// The exact IAM statements of every role and resource policy (docs/ARCHITECTURE.md §9): the shipped
// configuration, the delegated-admin one, and an app widened on purpose to show the check is live.
jest.setTimeout(600_000);

const CREATE_ACCESS_KEY = new iam.PolicyStatement({
  sid: 'Widened',
  actions: ['iam:CreateAccessKey'],
  resources: ['*'],
});

/** What a careless change could add: a key-minting grant on the digest and agent roles, a new role and queue policy. */
function widen({ hub }: CredreportApp): void {
  hub.digest.handler.role.addToPrincipalPolicy(CREATE_ACCESS_KEY);
  hub.members.memberStack.agent.role.addToPrincipalPolicy(CREATE_ACCESS_KEY);
  new iam.Role(hub, 'ExtraRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  new sqs.Queue(hub, 'ExtraQueue', { enforceSSL: true });
}

/** Keys of `actual` that differ from `expected` (changed, unexpected or missing), for the live-check tests. */
function differences(actual: PermissionInventory, expected: PermissionInventory): string[] {
  const keys = [...new Set([...Object.keys(actual), ...Object.keys(expected)])].sort();
  return keys.flatMap((key) => {
    if (!(key in expected)) return [`unexpected ${key}`];
    if (!(key in actual)) return [`missing ${key}`];
    return stableJson(actual[key]) === stableJson(expected[key]) ? [] : [`changed ${key}`];
  });
}

let shipped: Synthesized;
let delegated: Synthesized;
let widened: Synthesized & { readonly refusal: Error };
beforeAll(() => {
  shipped = synthesize();
  delegated = synthesize(DELEGATED_CONTEXT);
  widened = synthesizeRefused({}, widen);
});
afterAll(() => {
  for (const s of [shipped, delegated, widened]) {
    if (s) fs.rmSync(s.assemblyDir, { recursive: true, force: true });
  }
});

const expectedShippedHub = () => canonicalInventory(expectedHubPermissions({ region: 'us-east-1' }));
const expectedMember = () => canonicalInventory(EXPECTED_MEMBER_PERMISSIONS);

describe('IAM statements of the synthesized stacks', () => {
  // On failure jest prints the whole actual entry beside the expected one: review it, then copy the
  // reviewed statements into test/stacks/iam-expected.ts (CONTRIBUTING.md, "Changing a permission").
  it('grants exactly the reviewed statements in the hub stack (management account, shipped cdk.json)', () => {
    expect(inventory(shipped.hubJson)).toEqual(expectedShippedHub());
  });

  it('grants exactly the reviewed statements in the hub stack (delegated admin, digest mailed)', () => {
    const expected = expectedHubPermissions({
      region: 'eu-west-1',
      sendDigest: DELEGATED_SEND_DIGEST,
      chatAndRouting: true,
    });
    expect(inventory(delegated.hubJson)).toEqual(canonicalInventory(expected));
  });

  it('grants exactly the reviewed statements in the member (StackSet) template, in either configuration', () => {
    expect(inventory(shipped.memberJson)).toEqual(expectedMember());
    expect(inventory(delegated.memberJson)).toEqual(expectedMember());
  });

  it('fails when iam:CreateAccessKey on * is added to the digest or the agent role (the check is live)', () => {
    const hub = inventory(widened.hubJson);
    const member = inventory(widened.memberJson);
    expect(differences(hub, expectedShippedHub())).toEqual(expect.arrayContaining(['changed DigestRole']));
    expect(differences(member, expectedMember())).toEqual(['changed AgentRole']);
    const widenedStatement = {
      Sid: 'Widened',
      Effect: 'Allow',
      Action: ['iam:CreateAccessKey'],
      Resource: ['*'],
    };
    expect((hub.DigestRole?.Policies as Record<string, unknown[]>).DigestRoleDefaultPolicy).toContainEqual(
      widenedStatement,
    );
    expect((member.AgentRole?.Policies as Record<string, unknown[]>).AgentRoleDefaultPolicy).toContainEqual(
      widenedStatement,
    );
  });

  it('fails when a role or a resource policy that nobody listed appears', () => {
    const found = differences(inventory(widened.hubJson), expectedShippedHub());
    expect(found).toEqual(expect.arrayContaining(['unexpected ExtraQueuePolicy', 'unexpected ExtraRole']));
    // Nothing else differs: the digest role's new statement is the only change to a listed entry.
    expect(found).toEqual(['changed DigestRole', 'unexpected ExtraQueuePolicy', 'unexpected ExtraRole']);
  });

  it('refuses a resource type it has not classified, so a new kind of grant cannot slip past', () => {
    const template: CfnTemplate = {
      Resources: { Secret: { Type: 'AWS::SecretsManager::ResourcePolicy', Properties: {} } },
    };
    expect(() => inventory(template)).toThrow(UnclassifiedResourceError);
    expect(() => inventory(template)).toThrow(/AWS::SecretsManager::ResourcePolicy.*classify it/);
  });

  it('shows a policy attached to something other than a role of the template on its own', () => {
    const template: CfnTemplate = {
      Resources: {
        OrphanPolicyAB12CD34: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            PolicyName: 'orphan',
            Roles: ['imported-role'],
            PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] },
          },
        },
      },
    };
    expect(inventory(template)).toEqual({
      OrphanPolicy: {
        type: 'AWS::IAM::Policy',
        PolicyName: 'orphan',
        Roles: ['imported-role'],
        Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['*'] }],
      },
    });
  });
});

describe('cdk-nag acknowledgements', () => {
  const listed = (s: Synthesized) => acknowledgements(s.app).map((a) => `${a.path} ${a.id}`);

  it('are exactly the reviewed ones, each with a reason, in either configuration', () => {
    expect(listed(shipped)).toEqual([...EXPECTED_ACKNOWLEDGEMENTS]);
    expect(listed(delegated)).toEqual([...EXPECTED_ACKNOWLEDGEMENTS]);
    for (const a of acknowledgements(shipped.app)) expect(a.reason.length).toBeGreaterThan(40);
  });

  it('never acknowledge a wildcard on a role: each IAM5 one sits on a policy of exactly one statement', () => {
    const iam5Paths = new Set(
      acknowledgements(shipped.app)
        .filter((a) => a.id.startsWith('AwsSolutions-IAM5['))
        .map((a) => a.path),
    );
    const where = shipped.app.node.findAll().filter((c) => iam5Paths.has(c.node.path));
    const shape = where.map((c) => ({
      path: c.node.path,
      statements: c instanceof iam.Policy ? c.document.statementCount : 'not a policy',
    }));
    expect(shape.length).toBe(iam5Paths.size);
    // The one exception: CDK's scheduler grant on the schedule role, acknowledged for one ARN (not `*`).
    expect(shape.filter((s) => s.statements !== 1)).toEqual([
      { path: 'CredreportHub/Digest/ScheduleRole', statements: 'not a policy' },
    ]);
    expect(
      acknowledgements(shipped.app).filter(
        (a) => a.path === 'CredreportHub/Digest/ScheduleRole' && a.id.includes('Resource::*]'),
      ),
    ).toEqual([]);
  });

  it('report iam:CreateAccessKey on * added to the digest role and to the agent role (cdk-nag itself)', () => {
    // `cdk synth` refuses the app ...
    expect(widened.refusal.message).toMatch(
      /Digest\/Role\/DefaultPolicy\/Resource[\s\S]*Agent\/Role\/DefaultPolicy\/Resource[\s\S]*AwsSolutions-IAM5\[Resource::\*\]/,
    );
    // ... because cdk-nag reports the new wildcard on exactly those two policies.
    const violations = new AwsSolutionsChecks().validateScope(widened.app).violations;
    const star = violations.find((v) => v.ruleName === 'AwsSolutions-IAM5[Resource::*]');
    expect(star?.violatingResources.map((r) => r.constructPath).sort()).toEqual([
      'CredreportHub/Digest/Digest/Role/DefaultPolicy/Resource',
      'CredreportHub/Members/Member/Agent/Role/DefaultPolicy/Resource',
    ]);
  });

  it('fail synthesis when a statement is added to a policy acknowledged for one statement', () => {
    const widenAcknowledged = ({ hub }: CredreportApp) => {
      const policy = hub.members.memberStack.agent.role.node.findChild('CollectAccountCredentialReport');
      (policy as iam.Policy).addStatements(CREATE_ACCESS_KEY);
    };
    expect(() => synthesize({}, widenAcknowledged)).toThrow(
      /Agent\/Role\/CollectAccountCredentialReport: holds 2 statements; its AwsSolutions-IAM5 acknowledgement is for CollectAccountCredentialReport alone/,
    );
  });
});

describe('scripts/print-iam renderIamMarkdown', () => {
  it('shows every role, policy, statement and acknowledgement, with pipes escaped', () => {
    const hub = inventory(shipped.hubJson);
    const member = inventory(shipped.memberJson);
    const acks = acknowledgements(shipped.app);
    const markdown = renderIamMarkdown({
      intro: 'Test.',
      stacks: [
        { title: 'Hub', inventory: hub },
        { title: 'Member', inventory: member },
      ],
      acknowledgements: [...acks, { path: 'A/B', id: 'X-1', reason: 'a | b' }],
    });
    for (const name of [...Object.keys(hub), ...Object.keys(member)])
      expect(markdown).toContain(`### ${name} (`);
    for (const policy of Object.keys(hub.DigestRole?.Policies as object)) {
      expect(markdown).toContain(`Policy \`${policy}\`:`);
    }
    expect(markdown).toContain(
      '| CollectAccountCredentialReport | Allow |  | `iam:GenerateCredentialReport`<br>`iam:GetAccountAuthorizationDetails`<br>`iam:GetAccountPasswordPolicy`<br>`iam:GetAccountSummary`<br>`iam:GetCredentialReport`<br>`iam:ListUsers`<br>`iam:ListVirtualMFADevices` | `*` |  |',
    );
    expect(markdown).toContain(
      'ArnLike aws:PrincipalArn = `arn:${AWS::Partition}:iam::*:role/credreport-member-agent`',
    );
    for (const a of acks) expect(markdown).toContain(a.reason);
    expect(markdown).toContain('| A/B | X-1 | a \\| b |');
  });
});
