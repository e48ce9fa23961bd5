import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CONFIG_KEYS,
  ConfigError,
  isValidTimeZone,
  parseConfig,
  scheduleExpressionProblem,
} from '../../stacks/config';
import { DEFAULT_THRESHOLDS } from '../../core/thresholds';
import { SHIPPED_CONTEXT } from './helpers';

const minimal = {
  organizationId: 'o-exampleorg1',
  organizationRootId: 'r-ab12',
  deploymentRegion: 'us-east-1',
  alarmEmail: 'security-alerts@example.com',
};
/** `minimal` without any alarm delivery key. */
const undelivered = Object.fromEntries(Object.entries(minimal).filter(([k]) => k !== 'alarmEmail'));
const parse = (extra: Record<string, unknown>) => () => parseConfig({ ...minimal, ...extra });

describe('parseConfig', () => {
  it('accepts the context shipped in cdk.json', () => {
    const config = parseConfig(SHIPPED_CONTEXT);
    expect(config.organizationId).toBe('o-exampleorg1');
    expect(config.targetOrganizationalUnitIds).toEqual(['r-ab12']);
    expect(config.deploymentRegion).toBe('us-east-1');
    expect(config.delegatedAdmin).toBe(false);
    expect(config.digestRecipients).toEqual([]);
    expect(config.alarmDelivery).toEqual({ kind: 'email', email: 'security-alerts@example.com' });
    expect(config.reportBucketKms).toBe(false);
  });

  it('applies the documented defaults when only the required keys are given', () => {
    const config = parseConfig(minimal);
    expect(config).toMatchObject({
      stackName: 'CredreportHub',
      targetOrganizationalUnitIds: ['r-ab12'],
      delegatedAdmin: false,
      agentSchedule: 'rate(1 day)',
      digestSchedule: 'cron(0 7 * * ? *)',
      digestTimeZone: 'UTC',
      digestRecipients: [],
      tagKeys: [],
      breakdownTag: 'Environment',
      cisVersion: 'v5.0.0',
      retentionDays: 400,
      noncurrentVersionDays: 30,
      logRetentionDays: 90,
      retainStacksOnAccountRemoval: false,
      maxConcurrentPercentage: 50,
      failureTolerancePercentage: 10,
      collectBudgetSeconds: 600,
      agentStartWindowMinutes: 4,
      reportBucketKms: false,
      securityHub: false,
    });
    expect(config.thresholds).toEqual(DEFAULT_THRESHOLDS);
    expect(config.account).toBeUndefined();
    expect(config.digestSender).toBeUndefined();
  });

  it('takes strings from `cdk -c key=value` for booleans, numbers and lists', () => {
    const config = parseConfig({
      ...minimal,
      delegatedAdmin: 'true',
      rotationDays: '60',
      graceDays: '0',
      targetOrganizationalUnitIds: 'ou-ab12-cd34ef56, r-ab12',
      digestRecipients: '["a@example.com","b@example.com"]',
      digestSender: 'credreport@example.com',
    });
    expect(config.delegatedAdmin).toBe(true);
    expect(config.thresholds.rotationDays).toBe(60);
    expect(config.thresholds.graceDays).toBe(0);
    expect(config.targetOrganizationalUnitIds).toEqual(['ou-ab12-cd34ef56', 'r-ab12']);
    expect(config.digestRecipients).toEqual(['a@example.com', 'b@example.com']);
  });

  it('ignores the CDK own context keys (feature flags, aws:cdk:…)', () => {
    expect(() =>
      parseConfig({
        ...minimal,
        '@aws-cdk/core:newStyleStackSynthesis': true,
        'aws:cdk:enable-path-metadata': true,
      }),
    ).not.toThrow();
  });

  it('throws a ConfigError naming organizationId when it is not o-…', () => {
    expect(parse({ organizationId: 'org-123' })).toThrow(ConfigError);
    expect(parse({ organizationId: 'org-123' })).toThrow(
      /organizationId: expected an AWS Organizations id like o-/,
    );
  });

  it('throws naming organizationId and deploymentRegion when they are missing', () => {
    expect(() => parseConfig({ organizationRootId: 'r-ab12' })).toThrow(
      /organizationId: expected .* got nothing[\s\S]*deploymentRegion: expected an AWS region/,
    );
  });

  describe('managementAccountId', () => {
    const delegated = { delegatedAdmin: true, account: '111111111111' };
    it('is accepted in delegated-admin mode with the hub account, and absent by default', () => {
      expect(parseConfig(minimal).managementAccountId).toBeUndefined();
      expect(parseConfig({ ...minimal, ...delegated, managementAccountId: '999999999999' })).toMatchObject({
        delegatedAdmin: true,
        account: '111111111111',
        managementAccountId: '999999999999',
      });
    });

    it('throws when it is not 12 digits', () => {
      expect(parse({ ...delegated, managementAccountId: '9999' })).toThrow(
        /managementAccountId: expected a 12-digit AWS account id/,
      );
    });

    it('throws outside delegated-admin mode, where the hub is the management account', () => {
      expect(parse({ account: '111111111111', managementAccountId: '999999999999' })).toThrow(
        /managementAccountId: only with delegatedAdmin true/,
      );
    });

    it('throws without the hub account, which the management agent needs for the central bus ARN', () => {
      expect(parse({ delegatedAdmin: true, managementAccountId: '999999999999' })).toThrow(
        /managementAccountId: requires account/,
      );
    });

    it('throws when it is the hub account itself', () => {
      expect(parse({ ...delegated, managementAccountId: '111111111111' })).toThrow(
        /managementAccountId: must differ from account/,
      );
    });
  });

  it('throws naming deploymentRegion when it is not a region', () => {
    expect(parse({ deploymentRegion: 'US East' })).toThrow(
      /deploymentRegion: expected an AWS region like us-east-1/,
    );
  });

  it('throws naming targetOrganizationalUnitIds when an id is neither ou-… nor r-…', () => {
    expect(parse({ targetOrganizationalUnitIds: ['ou-ab12-cd34ef56', 'o-exampleorg1'] })).toThrow(
      /targetOrganizationalUnitIds: expected OU ids like ou-ab12-cd34ef56 or the root id like r-ab12, got "o-exampleorg1"/,
    );
  });

  it('throws naming targetOrganizationalUnitIds when the list is empty or repeats an id', () => {
    expect(parse({ targetOrganizationalUnitIds: [] })).toThrow(
      /targetOrganizationalUnitIds: expected at least one/,
    );
    expect(parse({ targetOrganizationalUnitIds: ['r-ab12', 'r-ab12'] })).toThrow(
      /targetOrganizationalUnitIds: r-ab12 is listed twice/,
    );
  });

  it('requires organizationRootId when targetOrganizationalUnitIds is not set (the default is the root)', () => {
    const withoutRoot = {
      organizationId: minimal.organizationId,
      deploymentRegion: minimal.deploymentRegion,
    };
    expect(() => parseConfig(withoutRoot)).toThrow(
      /organizationRootId: required when targetOrganizationalUnitIds is not set/,
    );
    expect(parse({ organizationRootId: 'root' })).toThrow(
      /organizationRootId: expected the organization root id like r-/,
    );
  });

  it('throws naming digestSender when recipients are given without a sender', () => {
    expect(parse({ digestRecipients: ['sec@example.com'] })).toThrow(
      /digestSender: required when digestRecipients is not empty/,
    );
  });

  it('throws naming digestRecipients when a sender is given without recipients', () => {
    expect(parse({ digestSender: 'credreport@example.com' })).toThrow(
      /digestRecipients: expected at least one address when digestSender is set/,
    );
  });

  it('throws naming digestRecipients and digestSender when they are not email addresses', () => {
    expect(parse({ digestRecipients: ['security team'], digestSender: 'credreport@example.com' })).toThrow(
      /digestRecipients: expected email addresses, got "security team"/,
    );
    expect(parse({ digestRecipients: ['a@example.com'], digestSender: 'credreport' })).toThrow(
      /digestSender: expected the verified SES email address/,
    );
  });

  it('throws naming the schedule key when a schedule expression is malformed', () => {
    expect(parse({ agentSchedule: 'every day' })).toThrow(/agentSchedule: expected rate\(/);
    expect(parse({ agentSchedule: 'rate(1 days)' })).toThrow(/agentSchedule: use the singular unit for 1/);
    expect(parse({ digestSchedule: 'cron(0 7 * * *)' })).toThrow(
      /digestSchedule: a cron expression has 6 fields/,
    );
    expect(parse({ digestSchedule: 'cron(0 7 * * * *)' })).toThrow(
      /digestSchedule: exactly one of day-of-month and day-of-week must be \?/,
    );
  });

  it('throws naming digestTimeZone when it is not an IANA time zone', () => {
    expect(parse({ digestTimeZone: 'Central European Time' })).toThrow(
      /digestTimeZone: expected an IANA time zone/,
    );
  });

  it('throws naming each threshold that is not positive (graceDays may be 0)', () => {
    expect(parse({ rotationDays: 0 })).toThrow(
      /rotationDays: expected a positive whole number of days, got 0/,
    );
    expect(parse({ unusedDays: -5 })).toThrow(/unusedDays: expected a positive whole number of days, got -5/);
    expect(parse({ rootUseDays: 'soon' })).toThrow(
      /rootUseDays: expected a positive whole number of days, got "soon"/,
    );
    expect(parse({ staleHours: 0 })).toThrow(/staleHours: expected a positive number of hours, got 0/);
    expect(parse({ graceDays: -1 })).toThrow(/graceDays: expected a whole number of days, 0 or more, got -1/);
    expect(parse({ graceDays: 0 })).not.toThrow();
  });

  it('throws naming retentionDays and logRetentionDays when they are not valid retentions', () => {
    expect(parse({ retentionDays: 0 })).toThrow(
      /retentionDays: expected a positive whole number of days, got 0/,
    );
    expect(parse({ logRetentionDays: 45 })).toThrow(
      /logRetentionDays: expected one of the CloudWatch Logs retention values/,
    );
  });

  it('throws naming the StackSet percentages when they are out of range', () => {
    expect(parse({ maxConcurrentPercentage: 0 })).toThrow(
      /maxConcurrentPercentage: expected a whole percentage from 1 to 100/,
    );
    expect(parse({ failureTolerancePercentage: 101 })).toThrow(
      /failureTolerancePercentage: expected a whole percentage from 0 to 100/,
    );
  });

  it('throws naming delegatedAdmin when it is not a boolean', () => {
    expect(parse({ delegatedAdmin: 'yes' })).toThrow(/delegatedAdmin: expected true or false, got "yes"/);
  });

  describe('alarm delivery', () => {
    const topic = 'arn:aws:sns:us-east-1:123456789012:security-alarms';
    const delivery = (extra: Record<string, unknown>) => () => parseConfig({ ...undelivered, ...extra });

    it('takes exactly one of alarmEmail, alarmTopicArn or alarmDelivery "none"', () => {
      expect(delivery({ alarmEmail: 'a@example.com' })().alarmDelivery).toEqual({
        kind: 'email',
        email: 'a@example.com',
      });
      expect(delivery({ alarmTopicArn: topic })().alarmDelivery).toEqual({ kind: 'topic', topicArn: topic });
      expect(delivery({ alarmDelivery: 'none' })().alarmDelivery).toEqual({ kind: 'none' });
    });

    it('throws naming the three keys and what to set when none is set', () => {
      expect(delivery({})).toThrow(ConfigError);
      expect(delivery({})).toThrow(
        /alarmEmail: alarm delivery is required, and none of alarmEmail, alarmTopicArn, alarmDelivery is set: set exactly one of alarmEmail \(an address to subscribe\), alarmTopicArn \(an existing SNS topic in deploymentRegion\) or alarmDelivery "none"/,
      );
    });

    it('throws naming each extra key when more than one is set', () => {
      expect(delivery({ alarmEmail: 'a@example.com', alarmTopicArn: topic })).toThrow(
        /alarmTopicArn: cannot be combined with alarmEmail: set exactly one of/,
      );
      expect(delivery({ alarmTopicArn: topic, alarmDelivery: 'none' })).toThrow(
        /alarmDelivery: cannot be combined with alarmTopicArn/,
      );
      expect(delivery({ alarmEmail: 'a@example.com', alarmDelivery: 'none' })).toThrow(
        /alarmDelivery: cannot be combined with alarmEmail/,
      );
    });

    it('throws naming alarmDelivery when it is anything but "none"', () => {
      expect(delivery({ alarmDelivery: 'email' })).toThrow(
        /alarmDelivery: the only value is "none" \(the explicit opt-out\); for delivery set alarmEmail or alarmTopicArn instead, got "email"/,
      );
      expect(delivery({ alarmDelivery: true })).toThrow(/alarmDelivery: the only value is "none"/);
    });

    it('throws naming alarmTopicArn when it is not an SNS topic ARN', () => {
      for (const arn of [
        'security-alarms',
        'arn:aws:sqs:us-east-1:123456789012:security-alarms',
        'arn:aws:sns:us-east-1:1234:security-alarms',
        'arn:aws:sns:us-east-1:123456789012:security alarms',
      ]) {
        expect(delivery({ alarmTopicArn: arn })).toThrow(
          /alarmTopicArn: expected an SNS topic ARN like arn:aws:sns:us-east-1:123456789012:security-alarms/,
        );
      }
      expect(delivery({ alarmTopicArn: 42 })).toThrow(/alarmTopicArn: expected an SNS topic ARN, got 42/);
    });

    it('throws naming alarmTopicArn when the topic is not in deploymentRegion (alarms notify their own region only)', () => {
      expect(delivery({ alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:security-alarms' })).toThrow(
        /alarmTopicArn: the topic is in eu-west-1, but CloudWatch alarms can only notify a topic in their own region \(deploymentRegion us-east-1\)/,
      );
    });

    it('throws naming alarmTopicArn when its partition is not the region partition', () => {
      expect(delivery({ alarmTopicArn: 'arn:aws-cn:sns:us-east-1:123456789012:security-alarms' })).toThrow(
        /alarmTopicArn: partition aws-cn does not match deploymentRegion us-east-1 \(partition aws\)/,
      );
      expect(
        delivery({
          deploymentRegion: 'cn-north-1',
          alarmTopicArn: 'arn:aws-cn:sns:cn-north-1:123456789012:security-alarms',
        })().alarmDelivery,
      ).toEqual({ kind: 'topic', topicArn: 'arn:aws-cn:sns:cn-north-1:123456789012:security-alarms' });
      expect(
        delivery({
          deploymentRegion: 'us-gov-west-1',
          alarmTopicArn: 'arn:aws:sns:us-gov-west-1:123456789012:security-alarms',
        }),
      ).toThrow(
        /alarmTopicArn: partition aws does not match deploymentRegion us-gov-west-1 \(partition aws-us-gov\)/,
      );
    });

    it('throws naming alarmTopicArn when it is a FIFO topic', () => {
      expect(delivery({ alarmTopicArn: `${topic}.fifo` })).toThrow(
        /alarmTopicArn: a FIFO topic requires a message group id/,
      );
    });
  });

  it('throws naming reportBucketKms when it is not a boolean', () => {
    expect(parse({ reportBucketKms: 'yes' })).toThrow(/reportBucketKms: expected true or false, got "yes"/);
    expect(parseConfig({ ...minimal, reportBucketKms: 'true' }).reportBucketKms).toBe(true);
  });

  it('throws naming alarmEmail, account and tagKeys when malformed', () => {
    expect(parse({ alarmEmail: 'ops' })).toThrow(/alarmEmail: expected an email address/);
    expect(parse({ account: '1234' })).toThrow(/account: expected a 12-digit AWS account id/);
    expect(parse({ tagKeys: ['Owner,Team'] })).toThrow(/tagKeys: expected AWS tag keys/);
  });

  it('throws naming collectBudgetSeconds when it would not leave the agent a minute before its timeout', () => {
    expect(parse({ collectBudgetSeconds: 900 })).toThrow(
      /collectBudgetSeconds: expected seconds from 60 to 840/,
    );
  });

  it('takes securityHub as a boolean (off by default) and throws naming it otherwise', () => {
    expect(parseConfig({ ...minimal, securityHub: true }).securityHub).toBe(true);
    expect(parseConfig({ ...minimal, securityHub: 'true' }).securityHub).toBe(true);
    expect(parse({ securityHub: 'yes please' })).toThrow(/securityHub/);
  });

  it('throws naming agentStartWindowMinutes when it is not whole minutes from 0 to 13', () => {
    expect(parse({ agentStartWindowMinutes: -1 })).toThrow(
      /agentStartWindowMinutes: expected whole minutes from 0 to 13, got -1/,
    );
    expect(parse({ agentStartWindowMinutes: 2.5 })).toThrow(
      /agentStartWindowMinutes: expected whole minutes/,
    );
    expect(parse({ agentStartWindowMinutes: 'soon' })).toThrow(
      /agentStartWindowMinutes: expected whole minutes/,
    );
  });

  it('throws naming agentStartWindowMinutes when window and collect budget leave no minute to publish', () => {
    expect(parse({ agentStartWindowMinutes: 5 })).toThrow(
      /agentStartWindowMinutes: a scheduled agent waits up to the window \(5 min = 300 s\) before collecting for up to collectBudgetSeconds \(600 s\); .* \(at most 840 s, got 900 s\): lower one of them/,
    );
    expect(parse({ collectBudgetSeconds: 840 })).toThrow(/at most 840 s, got 1080 s/);
    expect(
      parseConfig({ ...minimal, collectBudgetSeconds: 840, agentStartWindowMinutes: '0' }),
    ).toMatchObject({
      collectBudgetSeconds: 840,
      agentStartWindowMinutes: 0,
    });
    expect(parseConfig({ ...minimal, collectBudgetSeconds: 60, agentStartWindowMinutes: 13 })).toMatchObject({
      agentStartWindowMinutes: 13,
    });
  });

  it('throws naming digestConfigurationSet when malformed or set without a sender', () => {
    const mailing = { digestRecipients: ['a@example.com'], digestSender: 'c@example.com' };
    expect(parse({ ...mailing, digestConfigurationSet: 'has space' })).toThrow(
      /digestConfigurationSet: expected an SES configuration set name/,
    );
    expect(parse({ digestConfigurationSet: 'credreport' })).toThrow(
      /digestConfigurationSet: only meaningful with digestSender and digestRecipients/,
    );
    expect(parseConfig({ ...minimal, ...mailing, digestConfigurationSet: 'credreport_1' })).toMatchObject({
      digestConfigurationSet: 'credreport_1',
    });
  });

  it('throws naming digestRecipients when there are more than the 50 SES allows', () => {
    const many = Array.from({ length: 51 }, (_, i) => `r${i}@example.com`);
    expect(parse({ digestRecipients: many, digestSender: 'c@example.com' })).toThrow(
      /digestRecipients: expected at most 50 addresses/,
    );
  });

  it('takes cisVersion v4.0.1, v5.0.0, v6.0.0 or v7.0.0 and throws naming cisVersion for any other', () => {
    for (const v of ['v4.0.1', 'v5.0.0', 'v6.0.0', 'v7.0.0']) {
      expect(parseConfig({ ...minimal, cisVersion: v }).cisVersion).toBe(v);
    }
    expect(parse({ cisVersion: 'v1.4.0' })).toThrow(
      /cisVersion: expected one of v4.0.1, v5.0.0, v6.0.0, v7.0.0/,
    );
    expect(parse({ cisVersion: 'v8.0.0' })).toThrow(/cisVersion: expected one of/);
  });

  it('throws naming stackName, breakdownTag and retainStacksOnAccountRemoval when malformed', () => {
    expect(parse({ stackName: '1st-stack' })).toThrow(/stackName: expected a CloudFormation stack name/);
    expect(parse({ breakdownTag: 'a,b' })).toThrow(/breakdownTag: expected an AWS tag key/);
    expect(parse({ retainStacksOnAccountRemoval: 'no' })).toThrow(
      /retainStacksOnAccountRemoval: expected true or false, got "no"/,
    );
  });

  it('defaults exemptionMaxDays to 365 and throws naming it when out of range', () => {
    expect(parseConfig(minimal).exemptionMaxDays).toBe(365);
    expect(parseConfig({ ...minimal, exemptionMaxDays: 30 }).exemptionMaxDays).toBe(30);
    expect(parse({ exemptionMaxDays: 0 })).toThrow(
      /exemptionMaxDays: expected a whole number of days from 1 to 3650, got 0/,
    );
    expect(parse({ exemptionMaxDays: 4000 })).toThrow(
      /exemptionMaxDays: expected a whole number of days from 1 to 3650/,
    );
  });

  it('throws naming the size and time keys when out of range', () => {
    expect(parse({ noncurrentVersionDays: 0 })).toThrow(
      /noncurrentVersionDays: expected a positive whole number of days, got 0/,
    );
    expect(parse({ maxEmailBytes: 50_000_000 })).toThrow(
      /maxEmailBytes: expected a size in bytes up to 40000000/,
    );
    expect(parse({ tagCacheHours: 0.5 })).toThrow(/tagCacheHours: expected a positive whole number of hours/);
    expect(parse({ maxEntryBytes: 300_000_000 })).toThrow(
      /maxEntryBytes: expected a size in bytes from 16384/,
    );
  });

  it('names the key in every problem, whatever the wrong value (object, list, number, text)', () => {
    const optional = (key: string) => !['organizationId', 'deploymentRegion'].includes(key);
    for (const key of CONFIG_KEYS) {
      for (const wrong of [{ nested: true }, [{ nested: true }], -1, 'not-a-valid-value?']) {
        let problems: readonly string[] = [];
        try {
          parseConfig({ ...minimal, [key]: wrong });
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          problems = (error as ConfigError).problems;
        }
        // Some keys accept some of these values (e.g. a text tag key). When refused, the key itself is
        // named; a consequence for another key (digestSender needed for these recipients) names that key.
        if (problems.length > 0) {
          expect({ key, wrong, named: problems.some((p) => p.startsWith(`${key}: `)) }).toEqual({
            key,
            wrong,
            named: true,
          });
        }
        for (const problem of problems) {
          expect(CONFIG_KEYS).toContain(problem.slice(0, problem.indexOf(':')));
        }
        // No key accepts an object or a list of objects.
        if (!optional(key) || typeof wrong === 'object')
          expect({ key, wrong, refused: problems.length > 0 }).toEqual({ key, wrong, refused: true });
      }
    }
  });

  it('reports an unknown camelCase key as a likely typo', () => {
    expect(parse({ organisationId: 'o-exampleorg1' })).toThrow(/organisationId: unknown context key/);
  });

  it('lists every problem at once', () => {
    try {
      parseConfig({
        organizationId: 'x',
        deploymentRegion: 'y',
        organizationRootId: 'r-ab12',
        alarmDelivery: 'none',
        rotationDays: 0,
      });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        expect.stringMatching(/^organizationId:/),
        expect.stringMatching(/^deploymentRegion:/),
        expect.stringMatching(/^rotationDays:/),
      ]);
    }
  });
});

describe('README deploy guide', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  // The configuration table of the deploy guide: from its heading to the next heading.
  const guide =
    readme.slice(readme.indexOf('### Configure (`cdk.json` context)')).split(/\n#{2,3} /)[0] ?? '';

  it('has the configuration section', () => {
    expect(guide).toMatch(/^### Configure/);
  });

  it('documents every context key in its configuration table, and no key the app does not read', () => {
    const tableKeys = new Set(
      guide
        .split('\n')
        .filter((line) => line.startsWith('| `'))
        .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1])),
    );
    expect(CONFIG_KEYS.filter((k) => !tableKeys.has(k))).toEqual([]);
    const notKeys = [...tableKeys].filter(
      (k) => k !== undefined && /^[a-z]/.test(k) && !CONFIG_KEYS.includes(k),
    );
    expect(notKeys).toEqual([]);
  });
});

describe('scheduleExpressionProblem', () => {
  it('accepts rate and six-field cron expressions', () => {
    for (const ok of [
      'rate(1 day)',
      'rate(12 hours)',
      'rate(5 minutes)',
      'cron(0 7 * * ? *)',
      'cron(30 6 ? * MON-FRI *)',
    ]) {
      expect(scheduleExpressionProblem(ok)).toBeUndefined();
    }
  });

  it('explains what is wrong otherwise', () => {
    expect(scheduleExpressionProblem('rate(0 days)')).toMatch(/at least 1/);
    expect(scheduleExpressionProblem('rate(2 day)')).toMatch(/plural/);
    expect(scheduleExpressionProblem('at(2030-01-01T00:00:00)')).toMatch(/expected rate/);
  });
});

describe('isValidTimeZone', () => {
  it('accepts IANA names and rejects anything else', () => {
    expect(isValidTimeZone('Europe/Paris')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
  });

  describe('chat and routing', () => {
    const TOPIC = 'arn:aws:sns:us-east-1:123456789012:security-chat';

    it('is off by default', () => {
      const config = parseConfig(minimal);
      expect(config.chat).toEqual({ kind: 'none' });
      expect(config.findingEvents).toBe(false);
      expect(config.maxFindingEvents).toBe(500);
    });

    it('takes an existing topic ARN, or creates a topic with chatTopic true (also as the string "true" from -c)', () => {
      expect(parse({ chatTopicArn: TOPIC })().chat).toEqual({ kind: 'topic', topicArn: TOPIC });
      expect(parse({ chatTopic: true })().chat).toEqual({ kind: 'create' });
      expect(parse({ chatTopic: 'true' })().chat).toEqual({ kind: 'create' });
    });

    it('refuses both chat keys at once', () => {
      expect(parse({ chatTopicArn: TOPIC, chatTopic: true })).toThrow(
        /chatTopic: cannot be combined with chatTopicArn/,
      );
    });

    it('refuses a chat topic ARN that is malformed, FIFO, in another region or partition', () => {
      expect(parse({ chatTopicArn: 'security-chat' })).toThrow(
        /chatTopicArn: expected an SNS topic ARN like/,
      );
      expect(parse({ chatTopicArn: `${TOPIC}.fifo` })).toThrow(
        /chatTopicArn: a FIFO topic requires a message group id/,
      );
      expect(parse({ chatTopicArn: 'arn:aws:sns:eu-west-1:123456789012:chat' })).toThrow(
        /chatTopicArn: the topic is in eu-west-1, but the digest publishes to topics of deploymentRegion us-east-1/,
      );
      expect(parse({ chatTopicArn: 'arn:aws-cn:sns:us-east-1:123456789012:chat' })).toThrow(
        /chatTopicArn: partition aws-cn does not match deploymentRegion us-east-1/,
      );
      expect(parse({ chatTopicArn: 42 })).toThrow(/chatTopicArn: expected an SNS topic ARN, got 42/);
    });

    it('turns finding events on with a cap from 1 to 10,000', () => {
      expect(parse({ findingEvents: true, maxFindingEvents: 50 })()).toMatchObject({
        findingEvents: true,
        maxFindingEvents: 50,
      });
      expect(parse({ findingEvents: true, maxFindingEvents: 0 })).toThrow(
        /maxFindingEvents: expected a whole number of events from 1 to 10000/,
      );
      expect(parse({ findingEvents: true, maxFindingEvents: 10_001 })).toThrow(/maxFindingEvents/);
      expect(parse({ findingEvents: 'yes' })).toThrow(/findingEvents/);
    });

    it('refuses maxFindingEvents without findingEvents', () => {
      expect(parse({ maxFindingEvents: 100 })).toThrow(
        /maxFindingEvents: only meaningful with findingEvents true/,
      );
    });
  });
});

describe('parseConfig: athena', () => {
  const tagged = { athena: true, tagKeys: ['Environment', 'Owner'] };

  it('is off by default, and on with the documented defaults', () => {
    expect(parseConfig(minimal).athena).toBeUndefined();
    expect(parseConfig({ ...minimal, ...tagged }).athena).toEqual({
      database: 'credreport',
      environmentTag: 'Environment',
      productionValue: 'Production',
      ownerTag: 'Owner',
    });
    expect(
      parseConfig({
        ...minimal,
        athena: 'true',
        tagKeys: 'Stage,Team',
        athenaDatabase: 'security_reports',
        athenaEnvironmentTag: 'Stage',
        athenaProductionValue: 'prod',
        athenaOwnerTag: 'Team',
      }).athena,
    ).toEqual({
      database: 'security_reports',
      environmentTag: 'Stage',
      productionValue: 'prod',
      ownerTag: 'Team',
    });
  });

  it('throws naming tagKeys when athena is on without fixed tag columns', () => {
    expect(parse({ athena: true })).toThrow(
      /tagKeys: required when athena is true: the CSV SerDe maps columns by position/,
    );
  });

  it('throws naming the tag key the saved queries read when it is not a column', () => {
    expect(parse({ athena: true, tagKeys: ['Environment'] })).toThrow(
      /athenaOwnerTag: "Owner" is not one of tagKeys/,
    );
    expect(parse({ ...tagged, athenaEnvironmentTag: 'Stage' })).toThrow(
      /athenaEnvironmentTag: "Stage" is not one of tagKeys \(Environment, Owner\)/,
    );
  });

  it('throws naming tagKeys when two keys would be one Athena column', () => {
    expect(parse({ athena: true, tagKeys: ['Environment', 'Owner', 'owner'] })).toThrow(
      /tagKeys: "tag:Owner" and "tag:owner" would both be the credential_report column tag_owner/,
    );
  });

  it('throws naming each malformed athena key', () => {
    expect(parse({ ...tagged, athenaDatabase: 'Has-Dash' })).toThrow(
      /athenaDatabase: expected a Glue database name/,
    );
    expect(parse({ ...tagged, athenaProductionValue: '' })).toThrow(
      /athenaProductionValue: expected an AWS tag value/,
    );
    expect(parse({ athena: 'yes' })).toThrow(/athena: expected true or false/);
  });

  it('throws naming an athena key set while athena is off', () => {
    expect(parse({ athenaDatabase: 'credreport' })).toThrow(
      /athenaDatabase: only meaningful with athena true/,
    );
  });
});

describe('parseConfig owner digests', () => {
  const sending = {
    digestRecipients: ['security@example.com'],
    digestSender: 'credreport@example.com',
  };

  it('is off by default with the documented defaults', () => {
    expect(parseConfig(minimal)).toMatchObject({
      ownerDigests: 'off',
      ownerTagKeys: ['Owner'],
      ownerAllowedDomains: [],
      ownerMinSeverity: 'high',
    });
    expect(parseConfig(minimal).defaultOwner).toBeUndefined();
  });

  it('accepts owner settings, from cdk.json or -c strings, domains in lower case', () => {
    const config = parseConfig({
      ...minimal,
      ...sending,
      ownerDigests: 'send',
      ownerTagKeys: 'Owner,team:owner',
      defaultOwner: 'cloud-team@example.com',
      ownerAllowedDomains: 'Example.com,corp.example.org',
      ownerMinSeverity: 'medium',
    });
    expect(config).toMatchObject({
      ownerDigests: 'send',
      ownerTagKeys: ['Owner', 'team:owner'],
      defaultOwner: 'cloud-team@example.com',
      ownerAllowedDomains: ['example.com', 'corp.example.org'],
      ownerMinSeverity: 'medium',
    });
  });

  it('requires ownerAllowedDomains when owner digests are on', () => {
    expect(parse({ ownerDigests: 'dry-run' })).toThrow(
      /ownerAllowedDomains: required when ownerDigests is dry-run/,
    );
  });

  it('requires digestSender to send owner digests', () => {
    expect(parse({ ownerDigests: 'send', ownerAllowedDomains: ['example.com'] })).toThrow(
      /ownerDigests: "send" requires digestSender/,
    );
  });

  it('refuses a defaultOwner outside the allowed domains, a bad domain, mode or severity', () => {
    expect(
      parse({ ownerDigests: 'dry-run', ownerAllowedDomains: ['example.com'], defaultOwner: 'x@evil.com' }),
    ).toThrow(/defaultOwner: its domain is not in ownerAllowedDomains/);
    expect(parse({ ownerAllowedDomains: ['not a domain'] })).toThrow(/ownerAllowedDomains: expected domains/);
    expect(parse({ ownerDigests: 'yes' })).toThrow(/ownerDigests: expected one of off, dry-run, send/);
    expect(parse({ ownerMinSeverity: 'urgent' })).toThrow(
      /ownerMinSeverity: expected one of critical, high, medium, low/,
    );
  });
});
