import { ConfigError, parseConfig } from '../../stacks/config';
import { MEMBER_AGENT_ROLE_NAME } from '../../core/names';
import {
  accessMismatches,
  resolveCfn,
  resource,
  resourcesOfType,
  roleStatements,
  SHIPPED_CONTEXT,
  synthesize,
  type AccessCase,
  type Statement,
  type Synthesized,
} from './helpers';
import {
  EXPECTED_REMEDIATION_AGENT_STATEMENTS,
  EXPECTED_REMEDIATION_BUCKET_STATEMENTS,
  EXPECTED_REMEDIATION_DIGEST_STATEMENTS,
} from './iam-expected';

// Staged deactivation (docs/ARCHITECTURE.md §7, §11): what the feature adds to the templates, exactly, and the
// bucket policy simulated as S3 evaluates it across accounts.
jest.setTimeout(600_000);

const HUB = '111111111111';
const A = '222222222222';
const B = '333333333333';
const ORG = 'o-exampleorg1';

let enforce: Synthesized;
let dryRun: Synthesized;
beforeAll(() => {
  enforce = synthesize({ deactivation: { mode: 'enforce', optOutTag: 'credreport:keep' } });
  dryRun = synthesize({ deactivation: { optOutTag: 'credreport:keep' } });
});

const agentRole = (s: Synthesized) => resourcesOfType(s.memberJson, 'AWS::IAM::Role')[0]?.[0] as string;
const bySid = (statements: readonly Statement[], sids: readonly string[]) =>
  statements.filter((st) => sids.includes(st.Sid ?? ''));
const REMEDIATION_SIDS = ['ReadOwnRemediationPlan', 'WriteOwnRemediationLog', 'DeactivateUnusedKeys'];

describe('staged deactivation in the templates', () => {
  it('gives the member agent its plan, its log and, in enforce mode only, iam:UpdateAccessKey on its users', () => {
    const statements = roleStatements(enforce.memberJson, agentRole(enforce));
    expect(bySid(statements, REMEDIATION_SIDS)).toEqual(EXPECTED_REMEDIATION_AGENT_STATEMENTS);
    const dry = roleStatements(dryRun.memberJson, agentRole(dryRun));
    expect(bySid(dry, REMEDIATION_SIDS).map((st) => st.Sid)).toEqual([
      'ReadOwnRemediationPlan',
      'WriteOwnRemediationLog',
    ]);
    expect(JSON.stringify(dry)).not.toContain('iam:UpdateAccessKey');
    expect(enforce.memberJson.Parameters?.ReportBucketName).toMatchObject({ Type: 'String' });
  });

  it('passes the mode and the hub bucket to every agent', () => {
    const fn = resourcesOfType(enforce.memberJson, 'AWS::Lambda::Function').find(
      ([, r]) => (r.Properties?.FunctionName as string | undefined) === 'credreport-member-agent',
    )?.[1];
    const env = (fn?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({
      DEACTIVATION_MODE: 'enforce',
      REPORT_BUCKET: { Ref: 'ReportBucketName' },
      PLAN_MAX_AGE_HOURS: '26',
    });
    const stackSet = resourcesOfType(enforce.hubJson, 'AWS::CloudFormation::StackSet')[0]?.[1];
    expect(JSON.stringify(stackSet?.Properties?.Parameters)).toContain('ReportBucketName');
  });

  it('lets the digest write plans and read audit logs, and adds the two bucket statements', () => {
    const digestRole = (
      resource(enforce.hubJson, 'AWS::Lambda::Function', 'DigestFunction')[1].Properties?.Role as {
        'Fn::GetAtt': [string, string];
      }
    )['Fn::GetAtt'][0];
    expect(
      bySid(roleStatements(enforce.hubJson, digestRole), [
        'WriteRemediationPlans',
        'ReadRemediationLogs',
        'ListRemediation',
      ]),
    ).toEqual(EXPECTED_REMEDIATION_DIGEST_STATEMENTS);
    const policy = resourcesOfType(enforce.hubJson, 'AWS::S3::BucketPolicy').find(([id]) =>
      id.startsWith('ReportsPolicy'),
    )?.[1];
    const statements = (policy?.Properties?.PolicyDocument as { Statement: Statement[] }).Statement;
    expect(bySid(statements, ['AgentsReadOwnRemediationPlan', 'AgentsWriteOwnRemediationLog'])).toEqual(
      EXPECTED_REMEDIATION_BUCKET_STATEMENTS,
    );
  });

  it('admits each agent to its own account plan and log only (simulated with the bucket policy)', async () => {
    const policy = resourcesOfType(enforce.hubJson, 'AWS::S3::BucketPolicy').find(([id]) =>
      id.startsWith('ReportsPolicy'),
    )?.[1];
    const bucketPolicy = resolveCfn(enforce.hubJson, policy?.Properties?.PolicyDocument, {
      account: HUB,
      region: 'us-east-1',
    }) as {
      Statement: Statement[];
    };
    const plan = bucketPolicy.Statement.find((st) => st.Sid === 'AgentsReadOwnRemediationPlan');
    const bucketArn = String(plan?.Resource).split('/remediation/')[0] as string;
    const bucketName = bucketArn.replace('arn:aws:s3:::', '');
    const agentPolicy = (account: string) =>
      resolveCfn(enforce.memberJson, roleStatements(enforce.memberJson, agentRole(enforce)), {
        account,
        region: 'us-east-1',
        parameters: {
          ReportBucketName: bucketName,
          CentralBusArn: `arn:aws:events:us-east-1:${HUB}:event-bus/credreport-central`,
        },
      }) as Statement[];
    const check = (principal: string, account: string, identity: readonly Statement[], cases: AccessCase[]) =>
      accessMismatches(
        identity,
        cases.map((c) => ({
          ...c,
          resourceAccount: HUB,
          context: {
            'aws:PrincipalOrgID': ORG,
            'aws:PrincipalArn': principal,
            'aws:PrincipalAccount': account,
            ...(c.context ?? {}),
          },
        })),
        { principal, principalAccount: account, resourcePolicy: bucketPolicy },
      );
    const obj = (key: string) => `${bucketArn}/${key}`;
    const agentA = `arn:aws:iam::${A}:role/${MEMBER_AGENT_ROLE_NAME}`;
    expect(
      await check(agentA, A, agentPolicy(A), [
        { action: 's3:GetObject', resource: obj(`remediation/${A}/plan.json`), allowed: true },
        { action: 's3:GetObject', resource: obj(`remediation/${B}/plan.json`), allowed: false },
        { action: 's3:PutObject', resource: obj(`remediation/${A}/plan.json`), allowed: false },
        { action: 's3:PutObject', resource: obj(`remediation/${A}/log/2026-12-04.json`), allowed: true },
        {
          action: 's3:PutObject',
          resource: obj(`remediation/${A}/log/2026-12-04T061502Z.json`),
          allowed: true,
        },
        { action: 's3:PutObject', resource: obj(`remediation/${B}/log/2026-12-04.json`), allowed: false },
        {
          action: 's3:PutObject',
          resource: obj(`remediation/${B}/log/2026-12-04T061502Z.json`),
          allowed: false,
        },
        { action: 's3:GetObject', resource: obj(`remediation/${A}/log/2026-12-04.json`), allowed: false },
        { action: 's3:GetObject', resource: obj(`accounts/${A}/latest.json`), allowed: false },
      ]),
    ).toEqual([]);
    // Even with s3:* in its own policies, a principal that is not an agent role gets nothing from the bucket.
    const wide: Statement[] = [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }];
    for (const principal of [
      `arn:aws:iam::${A}:role/PowerUser`,
      `arn:aws:iam::${A}:user/alice`,
      `arn:aws:iam::${A}:role/x/${MEMBER_AGENT_ROLE_NAME}`,
    ]) {
      expect(
        await check(principal, A, wide, [
          { action: 's3:GetObject', resource: obj(`remediation/${A}/plan.json`), allowed: false },
          { action: 's3:PutObject', resource: obj(`remediation/${A}/log/2026-12-04.json`), allowed: false },
        ]),
      ).toEqual([]);
    }
    // The agent role name in an account outside the organization.
    expect(
      await check(`arn:aws:iam::999999999999:role/${MEMBER_AGENT_ROLE_NAME}`, '999999999999', wide, [
        {
          action: 's3:GetObject',
          resource: obj('remediation/999999999999/plan.json'),
          allowed: false,
          context: { 'aws:PrincipalOrgID': 'o-otherorg123' },
        },
      ]),
    ).toEqual([]);
  });
});

describe('deactivation config', () => {
  const parse = (deactivation: unknown, extra: Record<string, unknown> = {}) =>
    parseConfig({ ...SHIPPED_CONTEXT, deactivation, ...extra });
  const problems = (deactivation: unknown, extra: Record<string, unknown> = {}): string[] => {
    try {
      parse(deactivation, extra);
      return [];
    } catch (error) {
      return (error as ConfigError).problems.slice();
    }
  };

  it('is off by default and dry-run when turned on without a mode', () => {
    expect(parseConfig({ ...SHIPPED_CONTEXT }).deactivation.mode).toBe('off');
    expect(parse({}).deactivation).toEqual({
      mode: 'dry-run',
      human: { unusedDays: 90, noticeDays: 14, deactivateAfterDays: 180 },
      machine: { unusedDays: 90, noticeDays: 14, deactivateAfterDays: 180 },
      planMaxAgeHours: 26,
    });
  });

  it('takes separate human and machine thresholds over the shared ones, and a JSON string from -c', () => {
    const c = parse(
      JSON.stringify({
        mode: 'enforce',
        unusedDays: 60,
        human: { deactivateAfterDays: 120 },
        optOutTag: 'credreport:keep',
      }),
    );
    expect(c.deactivation).toMatchObject({
      mode: 'enforce',
      human: { unusedDays: 60, noticeDays: 14, deactivateAfterDays: 120 },
      machine: { unusedDays: 60, noticeDays: 14, deactivateAfterDays: 180 },
      optOutTag: 'credreport:keep',
    });
  });

  it('refuses an unordered ladder, naming the kind and the numbers', () => {
    expect(problems({ unusedDays: 170 })).toEqual([
      'deactivation.human: unusedDays (170) must be below deactivateAfterDays - noticeDays (166): the warning comes before the final notice',
      'deactivation.machine: unusedDays (170) must be below deactivateAfterDays - noticeDays (166): the warning comes before the final notice',
    ]);
    expect(problems({ machine: { noticeDays: 200 } })[0]).toMatch(
      /^deactivation.machine: noticeDays \(200\) must be below deactivateAfterDays/,
    );
  });

  it('refuses a bad mode, an unknown key and bad numbers, naming the field', () => {
    expect(problems({ mode: 'yes' })[0]).toMatch(/^deactivation.mode: expected one of off, dry-run, enforce/);
    expect(problems({ unusedDay: 3 })[0]).toMatch(/^deactivation: unknown key\(s\) unusedDay/);
    expect(problems({ human: { unusedDays: 0 } })[0]).toMatch(
      /^deactivation.human.unusedDays: expected a positive whole number/,
    );
    expect(problems({ planMaxAgeHours: 500 })[0]).toMatch(
      /^deactivation.planMaxAgeHours: expected whole hours from 1 to 168/,
    );
  });

  it('refuses the feature with a customer managed bucket key, with what to change', () => {
    expect(problems({ mode: 'dry-run' }, { reportBucketKms: true })).toEqual([
      expect.stringMatching(
        /^deactivation: not available with reportBucketKms true yet: .*set reportBucketKms false or deactivation.mode "off"$/,
      ),
    ]);
    expect(problems({ mode: 'off' }, { reportBucketKms: true })).toEqual([]);
  });
});
