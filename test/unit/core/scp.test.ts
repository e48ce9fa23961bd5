import fc from 'fast-check';
import { parsePolicyDocument } from '../../../core/policy-engine';
import {
  applyServiceControlPolicies,
  ChainLevel,
  ControlPolicy,
  ControlPolicyChain,
  ControlPolicyIndex,
  PrivilegeGrants,
  rcpBlock,
  scpBlock,
} from '../../../core/scp';
import type { OrgMetadata, UserPrivileges } from '../../../core/types';

const FULL = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
});
const doc = (...statements: object[]): string =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements });
const policy = (id: string, name: string, content: string): ControlPolicy => ({
  id,
  name,
  statements: parsePolicyDocument(content),
});
const fullAccess = policy('p-FullAWSAccess', 'FullAWSAccess', FULL);
const denyS3 = policy('p-abc123', 'DenyS3', doc({ Effect: 'Deny', Action: 's3:*', Resource: '*' }));

const levels = (...perLevel: ControlPolicy[][]): ChainLevel[] =>
  perLevel.map((policies, i) => ({
    targetId: i === 0 ? 'r-root' : i === perLevel.length - 1 ? '111111111111' : `ou-root-${i}`,
    policies,
  }));
const known = (scp: ChainLevel[], rcp?: ChainLevel[]): ControlPolicyChain => ({
  status: 'known',
  scp,
  ...(rcp ? { rcp } : {}),
  verdicts: new Map(),
});

const user = (userName: string, flags: Partial<UserPrivileges> = {}): UserPrivileges => ({
  userName,
  admin: false,
  s3Read: false,
  rdsRead: false,
  dynamodbRead: false,
  grantingPolicies: {},
  ...flags,
});

describe('scpBlock', () => {
  it('allows an action when every level has FullAWSAccess and nothing denies it', () => {
    expect(scpBlock(levels([fullAccess], [fullAccess], [fullAccess]), 's3:GetObject')).toBeUndefined();
  });

  it('blocks an action an unconditional Deny with Resource * covers, naming that policy', () => {
    expect(scpBlock(levels([fullAccess], [fullAccess, denyS3], [fullAccess]), 's3:GetObject')).toEqual({
      by: 'SCP',
      targetId: 'ou-root-1',
      action: 's3:GetObject',
      policy: { id: 'p-abc123', name: 'DenyS3' },
    });
  });

  it('blocks an action when one level has no Allow for it, even though the others allow everything', () => {
    const onlyEc2 = policy('p-ec2only', 'OnlyEc2', doc({ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }));
    expect(scpBlock(levels([fullAccess], [onlyEc2], [fullAccess]), 's3:GetObject')).toEqual({
      by: 'SCP',
      targetId: 'ou-root-1',
      action: 's3:GetObject',
    });
  });

  it('ignores a conditional Deny (its condition may not hold for this user)', () => {
    const conditional = policy(
      'p-cond',
      'DenyOutsideRegions',
      doc({
        Effect: 'Deny',
        Action: 's3:*',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:RequestedRegion': 'eu-west-1' } },
      }),
    );
    expect(scpBlock(levels([fullAccess, conditional], [fullAccess]), 's3:GetObject')).toBeUndefined();
  });

  it('counts a conditional Allow as an Allow', () => {
    const conditionalAllow = policy(
      'p-condallow',
      'AllowS3InRegion',
      doc({
        Effect: 'Allow',
        Action: 's3:*',
        Resource: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'true' } },
      }),
    );
    expect(scpBlock(levels([fullAccess], [conditionalAllow]), 's3:GetObject')).toBeUndefined();
  });

  it('ignores a Deny limited to some resources, since a grant names actions only', () => {
    const someBuckets = policy(
      'p-some',
      'DenyAudit',
      doc({ Effect: 'Deny', Action: 's3:GetObject', Resource: 'arn:aws:s3:::audit/*' }),
    );
    expect(scpBlock(levels([fullAccess, someBuckets]), 's3:GetObject')).toBeUndefined();
  });

  it('matches actions case-insensitively and honours NotAction in a Deny', () => {
    const allButIam = policy(
      'p-notiam',
      'DenyAllButIam',
      doc({ Effect: 'Deny', NotAction: 'iam:*', Resource: '*' }),
    );
    const chain = levels([fullAccess, allButIam]);
    expect(scpBlock(chain, 'S3:getobject')?.policy?.id).toBe('p-notiam');
    expect(scpBlock(chain, 'iam:CreateAccessKey')).toBeUndefined();
  });

  it('reports a Deny before a missing Allow, at the highest level first', () => {
    const onlyEc2 = policy('p-ec2only', 'OnlyEc2', doc({ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }));
    const block = scpBlock(levels([onlyEc2], [fullAccess], [fullAccess, denyS3]), 's3:GetObject');
    expect(block?.policy?.id).toBe('p-abc123');
  });
});

describe('rcpBlock', () => {
  const rcpFull = policy(
    'p-RCPFullAWSAccess',
    'RCPFullAWSAccess',
    doc({ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }),
  );

  it('blocks an S3 read an unconditional RCP Deny covers', () => {
    const deny = policy(
      'p-rcp1',
      'DenyS3Reads',
      doc({ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: '*' }),
    );
    expect(rcpBlock(levels([rcpFull, deny]), 's3:GetObject')).toMatchObject({
      by: 'RCP',
      policy: { id: 'p-rcp1', name: 'DenyS3Reads' },
    });
  });

  it('does not block an inside user with the data-perimeter RCP (Deny for principals outside the org)', () => {
    const perimeter = policy(
      'p-perimeter',
      'EnforceOrgIdentities',
      doc({
        Effect: 'Deny',
        Principal: '*',
        Action: ['s3:*', 'sts:AssumeRole'],
        Resource: '*',
        Condition: { StringNotEqualsIfExists: { 'aws:PrincipalOrgID': 'o-abc' } },
      }),
    );
    expect(rcpBlock(levels([rcpFull, perimeter]), 's3:GetObject')).toBeUndefined();
  });

  it('never blocks an action of a service RCPs do not cover, even under Deny *', () => {
    const denyAll = policy(
      'p-rcpall',
      'DenyAll',
      doc({ Effect: 'Deny', Principal: '*', Action: '*', Resource: '*' }),
    );
    expect(rcpBlock(levels([rcpFull, denyAll]), 'rds-db:connect')).toBeUndefined();
    expect(rcpBlock(levels([rcpFull, denyAll]), 'rds:DownloadDBLogFilePortion')).toBeUndefined();
    expect(rcpBlock(levels([rcpFull, denyAll]), 's3:GetObjectVersion')?.policy?.id).toBe('p-rcpall');
  });

  it("blocks DynamoDB and DAX reads under an RCP Deny: both are on the guide's list of RCP services", () => {
    const denyTables = policy(
      'p-rcpddb',
      'DenyTables',
      doc({ Effect: 'Deny', Principal: '*', Action: ['dynamodb:*', 'dax:*'], Resource: '*' }),
    );
    expect(rcpBlock(levels([rcpFull, denyTables]), 'dynamodb:GetItem')?.policy?.id).toBe('p-rcpddb');
    expect(rcpBlock(levels([rcpFull, denyTables]), 'dax:GetItem')?.policy?.id).toBe('p-rcpddb');
  });

  it('does not require an Allow at each level (RCPFullAWSAccess cannot be detached)', () => {
    expect(rcpBlock(levels([], []), 's3:GetObject')).toBeUndefined();
  });
});

describe('applyServiceControlPolicies', () => {
  const s3Grants: PrivilegeGrants = {
    s3Read: [{ path: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess', actions: ['s3:GetObject'] }],
  };

  it('clears a flag whose only grant is denied and names the first blocking policy', () => {
    const users = [user('alice', { s3Read: true })];
    const result = applyServiceControlPolicies(
      users,
      new Map([['alice', s3Grants]]),
      known(levels([fullAccess], [fullAccess, denyS3], [fullAccess])),
    );
    expect(result.users[0]?.s3Read).toBe(false);
    expect(result.blocked.get('alice')).toEqual({ s3Read: 'blocked by SCP p-abc123 DenyS3' });
    expect(result.cleared).toEqual({ admin: 0, s3Read: 1, rdsRead: 0, dynamodbRead: 0 });
  });

  it('keeps a flag when one of its grants is still allowed', () => {
    const grants: PrivilegeGrants = {
      admin: [
        { path: 'AdministratorAccess', actions: ['s3:PutObject', 'iam:PutUserPolicy'] },
        { path: 'iam:CreateAccessKey on user/deploy', actions: ['iam:CreateAccessKey'] },
      ],
    };
    const result = applyServiceControlPolicies(
      [user('bob', { admin: true })],
      new Map([['bob', grants]]),
      known(levels([fullAccess, denyS3], [fullAccess])),
    );
    expect(result.users[0]?.admin).toBe(true);
    expect(result.blocked.size).toBe(0);
  });

  it('clears a flag when each grant has at least one blocked action', () => {
    const denyIamUsers = policy(
      'p-iam',
      'DenyUserWrites',
      doc({ Effect: 'Deny', Action: ['iam:PutUserPolicy', 'iam:CreateAccessKey'], Resource: '*' }),
    );
    const grants: PrivilegeGrants = {
      admin: [
        { path: 'inline', actions: ['s3:GetObject', 'iam:PutUserPolicy'] },
        { path: 'key', actions: ['iam:CreateAccessKey'] },
      ],
    };
    const result = applyServiceControlPolicies(
      [user('carol', { admin: true, s3Read: true })],
      new Map([['carol', grants]]),
      known(levels([fullAccess], [fullAccess, denyIamUsers])),
    );
    expect(result.users[0]).toMatchObject({ admin: false, s3Read: true });
    expect(result.blocked.get('carol')).toEqual({ admin: 'blocked by SCP p-iam DenyUserWrites' });
  });

  it('names the level without an Allow when no policy denies', () => {
    const onlyEc2 = policy('p-ec2only', 'OnlyEc2', doc({ Effect: 'Allow', Action: 'ec2:*', Resource: '*' }));
    const result = applyServiceControlPolicies(
      [user('dan', { s3Read: true })],
      new Map([['dan', s3Grants]]),
      known(levels([fullAccess], [onlyEc2], [fullAccess])),
    );
    expect(result.blocked.get('dan')?.s3Read).toBe('blocked by SCP: no Allow for s3:GetObject at ou-root-1');
  });

  it('clears an S3 flag through an RCP Deny and says RCP', () => {
    const rcpDeny = policy(
      'p-rcp9',
      'NoS3Reads',
      doc({ Effect: 'Deny', Principal: '*', Action: 's3:Get*', Resource: '*' }),
    );
    const result = applyServiceControlPolicies(
      [user('erin', { s3Read: true })],
      new Map([['erin', s3Grants]]),
      known(levels([fullAccess], [fullAccess]), levels([], [rcpDeny])),
    );
    expect(result.blocked.get('erin')?.s3Read).toBe('blocked by RCP p-rcp9 NoS3Reads');
  });

  it('changes nothing for the management account, an unknown chain, or a user without grants', () => {
    const users = [user('alice', { s3Read: true }), user('zed', { s3Read: true })];
    const grants = new Map([['alice', s3Grants]]);
    for (const chain of [{ status: 'exempt' }, { status: 'unknown', reason: 'x' }] as ControlPolicyChain[]) {
      const result = applyServiceControlPolicies(users, grants, chain);
      expect(result.users).toBe(users);
      expect(result.blocked.size).toBe(0);
    }
    const result = applyServiceControlPolicies(users, grants, known(levels([fullAccess, denyS3])));
    expect(result.users[1]).toBe(users[1]);
    expect(result.users[0]?.s3Read).toBe(false);
  });

  it('keeps a true flag whose kind has no grants listed (nothing proves it blocked)', () => {
    const result = applyServiceControlPolicies(
      [user('fay', { s3Read: true, rdsRead: true })],
      new Map([['fay', { s3Read: [] }]]),
      known(levels([fullAccess, denyS3])),
    );
    expect(result.users[0]).toMatchObject({ s3Read: true, rdsRead: true });
  });

  // Property: clearing agrees with a direct reading of the rule on random chains, grants and flags.
  it('clears a flag exactly when every grant has an action that some level denies or does not allow', () => {
    const actions = [
      's3:GetObject',
      'iam:PutUserPolicy',
      'dynamodb:Scan',
      'rds-db:connect',
      'sts:AssumeRole',
    ];
    const patterns = ['*', 's3:*', 'iam:*', 'iam:Put*', 'dynamodb:Scan', 'sts:*', '*:Get*'];
    const arbPolicy = fc
      .record({
        effect: fc.constantFrom('Allow', 'Deny'),
        action: fc.constantFrom(...patterns),
        conditional: fc.boolean(),
      })
      .map(({ effect, action, conditional }, i = 0) =>
        policy(
          `p-${effect}${action}${conditional}${i}`,
          `${effect}-${action}`,
          doc({
            Effect: effect,
            Action: action,
            Resource: '*',
            ...(conditional ? { Condition: { Bool: { 'aws:X': 'true' } } } : {}),
          }),
        ),
      );
    const arbLevels = fc.array(fc.array(arbPolicy, { maxLength: 3 }), { minLength: 1, maxLength: 4 });
    const arbGrants = fc.array(fc.array(fc.constantFrom(...actions), { minLength: 1, maxLength: 3 }), {
      minLength: 1,
      maxLength: 3,
    });
    fc.assert(
      fc.property(arbLevels, arbGrants, (perLevel, grantActions) => {
        const chainLevels = levels(...perLevel);
        const grants: PrivilegeGrants = {
          admin: grantActions.map((a, i) => ({ path: `g${i}`, actions: a })),
        };
        const result = applyServiceControlPolicies(
          [user('u', { admin: true })],
          new Map([['u', grants]]),
          known(chainLevels),
        );
        const matches = (pattern: string, action: string): boolean =>
          new RegExp(`^${pattern.replace(/\*/g, '.*')}$`, 'i').test(action);
        const allowed = (action: string): boolean =>
          chainLevels.every((l) =>
            l.policies.some((p) => p.name.startsWith('Allow-') && matches(p.name.slice(6), action)),
          ) &&
          !chainLevels.some((l) =>
            l.policies.some(
              (p) =>
                p.name.startsWith('Deny-') &&
                !p.statements[0]?.conditional &&
                matches(p.name.slice(5), action),
            ),
          );
        const expectCleared = grantActions.every((a) => a.some((action) => !allowed(action)));
        expect(result.users[0]?.admin).toBe(!expectCleared);
      }),
      { numRuns: 300 },
    );
  });
});

describe('ControlPolicyIndex', () => {
  const metadata = (over: Partial<OrgMetadata> = {}): OrgMetadata => ({
    managementAccountId: '999999999999',
    fetchedAt: '2026-12-01T00:00:00Z',
    accounts: [
      {
        id: '111111111111',
        name: 'prod',
        email: 'p@example.com',
        state: 'ACTIVE',
        ouPath: 'Root/Prod',
        ouIdPath: ['r-root', 'ou-root-prod'],
        tags: {},
      },
    ],
    controlPolicies: {
      scp: {
        status: 'enabled',
        attachments: {
          'r-root': { policyIds: ['p-FullAWSAccess'], fetchedAt: '2026-12-01T00:00:00Z' },
          'ou-root-prod': { policyIds: ['p-FullAWSAccess', 'p-abc123'], fetchedAt: '2026-12-01T00:00:00Z' },
          '111111111111': { policyIds: ['p-FullAWSAccess'], fetchedAt: '2026-12-01T00:00:00Z' },
        },
      },
      rcp: { status: 'not-enabled', attachments: {} },
      policies: {
        'p-FullAWSAccess': {
          name: 'FullAWSAccess',
          type: 'SERVICE_CONTROL_POLICY',
          content: FULL,
          fetchedAt: 'x',
        },
        'p-abc123': {
          name: 'DenyS3',
          type: 'SERVICE_CONTROL_POLICY',
          content: doc({ Effect: 'Deny', Action: 's3:*', Resource: '*' }),
          fetchedAt: 'x',
        },
      },
    },
    ...over,
  });

  it('builds the chain root → OU → account from the cached attachments', () => {
    const chain = new ControlPolicyIndex(metadata()).chainFor('111111111111');
    expect(chain.status).toBe('known');
    if (chain.status !== 'known') return;
    expect(chain.scp.map((l) => [l.targetId, l.policies.map((p) => p.id)])).toEqual([
      ['r-root', ['p-FullAWSAccess']],
      ['ou-root-prod', ['p-FullAWSAccess', 'p-abc123']],
      ['111111111111', ['p-FullAWSAccess']],
    ]);
    expect(chain.rcp).toBeUndefined();
  });

  it('treats the management account as exempt', () => {
    expect(new ControlPolicyIndex(metadata()).chainFor('999999999999')).toEqual({ status: 'exempt' });
  });

  it('answers unknown with a reason when SCP data is missing, disabled, incomplete or unparsable', () => {
    const base = metadata();
    const control = base.controlPolicies!;
    expect(new ControlPolicyIndex({ ...base, controlPolicies: undefined }).chainFor('111111111111')).toEqual({
      status: 'unknown',
      reason: 'SCPs not read',
    });
    const disabled = {
      ...control,
      scp: { status: 'not-enabled' as const, detail: 'SCPs are not enabled', attachments: {} },
    };
    expect(
      new ControlPolicyIndex({ ...base, controlPolicies: disabled }).chainFor('111111111111'),
    ).toMatchObject({
      status: 'unknown',
      reason: 'SCPs are not enabled',
    });
    const withoutAccount = Object.fromEntries(
      Object.entries(control.scp.attachments).filter(([id]) => id !== '111111111111'),
    );
    const missing = { ...control, scp: { ...control.scp, attachments: withoutAccount } };
    expect(
      new ControlPolicyIndex({ ...base, controlPolicies: missing }).chainFor('111111111111'),
    ).toMatchObject({
      status: 'unknown',
      reason: 'policies attached to 111111111111 not read',
    });
    const empty = {
      ...control,
      scp: {
        ...control.scp,
        attachments: { ...control.scp.attachments, 'ou-root-prod': { policyIds: [], fetchedAt: 'x' } },
      },
    };
    expect(
      new ControlPolicyIndex({ ...base, controlPolicies: empty }).chainFor('111111111111'),
    ).toMatchObject({
      status: 'unknown',
      reason: 'no SCP listed on ou-root-prod',
    });
    const broken = {
      ...control,
      policies: {
        ...control.policies,
        'p-abc123': { ...control.policies['p-abc123']!, content: '{not json' },
      },
    };
    expect(
      new ControlPolicyIndex({ ...base, controlPolicies: broken }).chainFor('111111111111'),
    ).toMatchObject({
      status: 'unknown',
      reason: 'policy p-abc123 could not be parsed',
    });
    expect(new ControlPolicyIndex(base).chainFor('222222222222')).toMatchObject({ status: 'unknown' });
    const { managementAccountId: _m, ...anonymous } = base;
    void _m;
    expect(new ControlPolicyIndex(anonymous).chainFor('111111111111')).toEqual({
      status: 'unknown',
      reason: 'management account not known',
    });
  });

  it('applies RCPs when they are enabled and their attachments are known', () => {
    const base = metadata();
    const control = base.controlPolicies!;
    const rcp = {
      status: 'enabled' as const,
      attachments: {
        'r-root': { policyIds: ['p-rcp1'], fetchedAt: 'x' },
        'ou-root-prod': { policyIds: [], fetchedAt: 'x' },
        '111111111111': { policyIds: [], fetchedAt: 'x' },
      },
    };
    const policies = {
      ...control.policies,
      'p-rcp1': {
        name: 'DenyS3Reads',
        type: 'RESOURCE_CONTROL_POLICY' as const,
        content: doc({ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: '*' }),
        fetchedAt: 'x',
      },
    };
    const chain = new ControlPolicyIndex({
      ...base,
      controlPolicies: { ...control, rcp, policies },
    }).chainFor('111111111111');
    expect(chain.status === 'known' && chain.rcp?.[0]?.policies[0]?.name).toBe('DenyS3Reads');
  });
});
