import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { DEFAULT_THRESHOLDS } from '../../core/thresholds';
import { MemberAgentEnvSchema } from '../../member-agent/env';
import { MemberAgent } from '../../stacks/constructs/member-agent';

const CENTRAL_BUS = 'arn:aws:events:us-east-1:111111111111:event-bus/credreport-central';

function agentTemplate(securityHub: boolean): Template {
  const stack = new Stack(new App(), 'Member', { env: { account: '222222222222', region: 'eu-west-1' } });
  new MemberAgent(stack, 'Agent', {
    centralBusArn: CENTRAL_BUS,
    schedule: 'rate(1 day)',
    code: 'exports.handler = async () => ({});',
    maxEntryBytes: 250_000,
    collectBudgetSeconds: 600,
    logRetention: logs.RetentionDays.ONE_MONTH,
    ...(securityHub ? { securityHub: { thresholds: { ...DEFAULT_THRESHOLDS, unusedDays: 60 } } } : {}),
  });
  return Template.fromStack(stack);
}

function securityHubActions(template: Template): string[] {
  const actions: string[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const statements = (
      policy as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }
    ).Properties.PolicyDocument.Statement;
    for (const s of statements)
      for (const a of [s.Action].flat()) if (a.startsWith('securityhub:')) actions.push(a);
  }
  return actions.sort();
}

describe('MemberAgent securityHub', () => {
  it('grants no Security Hub action and turns the import off when securityHub is not set', () => {
    const template = agentTemplate(false);
    expect(securityHubActions(template)).toEqual([]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SECURITY_HUB: 'false' }) },
    });
  });

  it('grants BatchImportFindings on this account’s default product and GetFindings on its hub only, when on', () => {
    const template = agentTemplate(true);
    expect(securityHubActions(template)).toEqual([
      'securityhub:BatchImportFindings',
      'securityhub:GetFindings',
    ]);
    // Pseudo parameters, not the synth account: the member template is one for every account (StackSet).
    const own = (...tail: unknown[]) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':securityhub:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ...tail,
        ],
      ],
    });
    const arn = (suffix: string) =>
      suffix === 'hub/default'
        ? own(':hub/default')
        : own(':product/', { Ref: 'AWS::AccountId' }, '/default');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'ImportOwnFindingsToSecurityHub',
            Effect: 'Allow',
            Action: 'securityhub:BatchImportFindings',
            Resource: arn('product/222222222222/default'),
          },
          {
            Sid: 'ReadOwnSecurityHubFindings',
            Effect: 'Allow',
            Action: 'securityhub:GetFindings',
            Resource: arn('hub/default'),
          },
        ]),
      },
    });
  });

  it('hands the agent the digest’s thresholds, and they parse with the agent’s own schema', () => {
    const template = agentTemplate(true);
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0] as {
      Properties: { Environment: { Variables: Record<string, string> } };
    };
    const env = MemberAgentEnvSchema.parse(fn.Properties.Environment.Variables);
    expect(env).toMatchObject({ SECURITY_HUB: 'true', UNUSED_DAYS: 60, ROTATION_DAYS: 90 });
  });
});
