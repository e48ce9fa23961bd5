import * as fs from 'node:fs';
import { ReportDigest } from '../../stacks/constructs/report-digest';
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as logs from 'aws-cdk-lib/aws-logs';
import { DEFAULT_THRESHOLDS } from '../../core/thresholds';
import { OWNER_DIGEST_STATEMENTS } from './iam-expected';
import { canonicalStatement, inventory, RenderedStatement } from './iam-inventory';
import { CfnTemplate, resource, synthesize, Synthesized } from './helpers';

/** Owner digests on, sending (the shipped context has no recipients). */
const OWNER_CONTEXT = {
  digestRecipients: ['security@example.com'],
  digestSender: 'credreport@example.com',
  ownerDigests: 'send',
  ownerTagKeys: ['Owner', 'team:owner'],
  defaultOwner: 'cloud@example.com',
  ownerAllowedDomains: ['example.com', 'corp.example.org'],
  ownerMinSeverity: 'medium',
};

let shipped: Synthesized;
let sending: Synthesized;
let dryRun: Synthesized;
beforeAll(() => {
  shipped = synthesize();
  sending = synthesize(OWNER_CONTEXT);
  dryRun = synthesize({ ownerDigests: 'dry-run', ownerAllowedDomains: ['example.com'] });
});
afterAll(() => {
  for (const s of [shipped, sending, dryRun]) fs.rmSync(s.assemblyDir, { recursive: true, force: true });
});

/** Every rendered statement of the template's inventory, by Sid. */
function statementsBySid(t: CfnTemplate): Map<string, RenderedStatement> {
  const out = new Map<string, RenderedStatement>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const s = v as { Sid?: unknown; Effect?: unknown };
      if (typeof s.Sid === 'string' && typeof s.Effect === 'string') out.set(s.Sid, v as RenderedStatement);
      Object.values(v).forEach(walk);
    }
  };
  walk(inventory(t));
  return out;
}

function digestEnv(t: CfnTemplate): Record<string, string> {
  const fn = resource(t, 'AWS::Lambda::Function', 'DigestFunction')[1];
  return (fn.Properties?.Environment as { Variables: Record<string, string> }).Variables;
}

describe('owner digests in the hub stack', () => {
  it('grants nothing new and passes OWNER_DIGESTS=off when off (the default)', () => {
    const sids = statementsBySid(shipped.hubJson);
    expect(sids.has('ReadSecurityContacts')).toBe(false);
    expect(sids.has('ReadSesSendRate')).toBe(false);
    expect(digestEnv(shipped.hubJson)).toMatchObject({ OWNER_DIGESTS: 'off', OWNER_TAG_KEYS: 'Owner' });
  });

  it('grants GetAlternateContact for SECURITY contacts of the organization, GetAccount and a recipients-limited SendEmail when sending', () => {
    const sids = statementsBySid(sending.hubJson);
    for (const [sid, expected] of Object.entries(OWNER_DIGEST_STATEMENTS)) {
      const got = sids.get(sid);
      expect(got && canonicalStatement(got as unknown as Record<string, unknown>)).toEqual(
        canonicalStatement(expected as unknown as Record<string, unknown>),
      );
    }
    expect(digestEnv(sending.hubJson)).toMatchObject({
      OWNER_DIGESTS: 'send',
      OWNER_TAG_KEYS: 'Owner,team:owner',
      DEFAULT_OWNER: 'cloud@example.com',
      OWNER_ALLOWED_DOMAINS: 'example.com,corp.example.org',
      OWNER_MIN_SEVERITY: 'medium',
    });
  });

  it('in a dry run reads contacts but has no SES permission', () => {
    const sids = statementsBySid(dryRun.hubJson);
    expect(sids.has('ReadSecurityContacts')).toBe(true);
    expect(sids.has('ReadSesSendRate')).toBe(false);
    expect(sids.has('SendDigest')).toBe(false);
  });
});

describe('ReportDigest owners props', () => {
  const make = (owners: ConstructorParameters<typeof ReportDigest>[2]['owners'], sender?: string) => () => {
    const stack = new Stack(new App(), 'S');
    new ReportDigest(stack, 'Digest', {
      bucket: new s3.Bucket(stack, 'B'),
      organizationId: 'o-exampleorg1',
      targetOrganizationalUnitIds: ['r-ab12'],
      schedule: 'rate(1 day)',
      timeZone: 'UTC',
      recipients: sender ? ['security@example.com'] : [],
      ...(sender ? { sender } : {}),
      tagKeys: [],
      breakdownTag: 'Environment',
      thresholds: DEFAULT_THRESHOLDS,
      maxEmailBytes: 10_000_000,
      tagCacheHours: 24,
      logRetention: logs.RetentionDays.ONE_WEEK,
      ...(owners ? { owners } : {}),
    });
  };
  const base = { tagKeys: ['Owner'], allowedDomains: ['example.com'], minSeverity: 'high' as const };

  it('throws when owner digests are on without allowed domains', () => {
    expect(make({ ...base, mode: 'dry-run', allowedDomains: [] })).toThrow(
      /owners.allowedDomains is required/,
    );
  });
  it('throws when sending without a sender', () => {
    expect(make({ ...base, mode: 'send' })).toThrow(/owners.mode send requires sender/);
  });
  it('accepts a dry run without a sender', () => {
    expect(make({ ...base, mode: 'dry-run' })).not.toThrow();
  });
});
