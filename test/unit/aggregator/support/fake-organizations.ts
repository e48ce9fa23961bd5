/**
 * An in-memory AWS Organization answering the read calls fetchOrgMetadata makes, with Organizations'
 * page sizes (20), call counting and failure injection (throttling, AccessDenied). Tests wire it into
 * aws-sdk-client-mock; the bench plugs it into a real client's `send`.
 */
import {
  AccessDeniedException,
  DescribeOrganizationCommand,
  DescribePolicyCommand,
  ListAccountsCommand,
  ListAWSServiceAccessForOrganizationCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListParentsCommand,
  ListPoliciesForTargetCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
  TooManyRequestsException,
} from '@aws-sdk/client-organizations';
import { ListOrganizationsFeaturesCommand } from '@aws-sdk/client-iam';

export interface FakeAccount {
  id: string;
  name: string;
  email: string;
  state: 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE' | 'CLOSED';
  parentId: string;
  joined: Date;
  tags: Record<string, string>;
}

export interface FakeOu {
  id: string;
  name: string;
  parentId: string;
}

export interface FakePolicy {
  id: string;
  name: string;
  type: 'SERVICE_CONTROL_POLICY' | 'RESOURCE_CONTROL_POLICY';
  content: string;
  awsManaged?: boolean;
}

/** FullAWSAccess, attached by AWS to every root, OU and account once SCPs are enabled. */
export const FULL_AWS_ACCESS: FakePolicy = {
  id: 'p-FullAWSAccess',
  name: 'FullAWSAccess',
  type: 'SERVICE_CONTROL_POLICY',
  content: JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  }),
  awsManaged: true,
};

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

const PAGE = 20;

export class FakeOrganization {
  readonly calls: Record<string, number> = {};
  /** Operation → number of upcoming calls to fail with TooManyRequestsException. */
  readonly throttle: Record<string, number> = {};
  /** Account ids whose ListTagsForResource is denied; `'*'` denies all. */
  readonly deniedTags = new Set<string>();
  /** Called before each operation (e.g. to move an account mid-walk). */
  before?: (operation: string, input: Input) => void;
  /** Simulated latency per call, in ms. */
  latencyMs = 0;
  /** Policy types the root lists as ENABLED (SCPs by default, as in most organizations). */
  readonly enabledPolicyTypes = new Set<string>(['SERVICE_CONTROL_POLICY']);
  /** Policies by id; FullAWSAccess is attached to every target unless `detached` names the target. */
  readonly policies = new Map<string, FakePolicy>([[FULL_AWS_ACCESS.id, FULL_AWS_ACCESS]]);
  /** Target id → further policy ids attached to it. */
  readonly attached = new Map<string, string[]>();
  /** Targets FullAWSAccess is detached from. */
  readonly detached = new Set<string>();
  /** Target ids whose ListPoliciesForTarget is denied; `'*'` denies all. */
  readonly deniedPolicies = new Set<string>();
  /** Service principals with trusted access (ListAWSServiceAccessForOrganization). */
  readonly trustedServices = new Set<string>();
  /** Centralized root access features IAM's ListOrganizationsFeatures answers (see wireFakeRootAccess). */
  rootAccessFeatures: string[] = [];
  /** When set, ListOrganizationsFeatures fails with an error of this name (e.g. AccessDeniedException). */
  rootAccessError?: string;

  constructor(
    readonly organizationId: string,
    readonly managementAccountId: string,
    readonly rootId: string,
    readonly ous: FakeOu[],
    readonly accounts: FakeAccount[],
  ) {}

  private async enter(operation: string, input: Input): Promise<void> {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    this.before?.(operation, input);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const pending = this.throttle[operation] ?? 0;
    if (pending > 0) {
      this.throttle[operation] = pending - 1;
      throw new TooManyRequestsException({
        $metadata: { httpStatusCode: 400 },
        message:
          "AWS Organizations can't complete your request because another request is already in progress",
      });
    }
  }

  private page<T>(items: readonly T[], input: Input): { items: T[]; NextToken?: string } {
    const start = Number((input.NextToken as string | undefined) ?? '0');
    const size = Math.min(PAGE, (input.MaxResults as number | undefined) ?? PAGE);
    const slice = items.slice(start, start + size);
    return { items: slice, ...(start + size < items.length ? { NextToken: String(start + size) } : {}) };
  }

  private accountShape(a: FakeAccount): Output {
    return {
      Id: a.id,
      Arn: `arn:aws:organizations::${this.managementAccountId}:account/${this.organizationId}/${a.id}`,
      Name: a.name,
      Email: a.email,
      State: a.state,
      Status: a.state === 'ACTIVE' ? 'ACTIVE' : 'SUSPENDED',
      JoinedTimestamp: a.joined,
    };
  }

  async handle(operation: string, input: Input): Promise<Output> {
    await this.enter(operation, input);
    switch (operation) {
      case 'DescribeOrganization':
        return {
          Organization: {
            Id: this.organizationId,
            MasterAccountId: this.managementAccountId,
            FeatureSet: 'ALL',
          },
        };
      case 'ListAccounts': {
        const p = this.page(this.accounts, input);
        return { Accounts: p.items.map((a) => this.accountShape(a)), NextToken: p.NextToken };
      }
      case 'ListRoots':
        return {
          Roots: [
            {
              Id: this.rootId,
              Name: 'Root',
              Arn: `arn:aws:organizations::${this.managementAccountId}:root/${this.organizationId}/${this.rootId}`,
              PolicyTypes: [...this.enabledPolicyTypes].map((Type) => ({ Type, Status: 'ENABLED' })),
            },
          ],
        };
      case 'ListOrganizationalUnitsForParent': {
        const p = this.page(
          this.ous.filter((ou) => ou.parentId === input.ParentId),
          input,
        );
        return {
          OrganizationalUnits: p.items.map((ou) => ({ Id: ou.id, Name: ou.name })),
          NextToken: p.NextToken,
        };
      }
      case 'ListAccountsForParent': {
        const p = this.page(
          this.accounts.filter((a) => a.parentId === input.ParentId),
          input,
        );
        return { Accounts: p.items.map((a) => this.accountShape(a)), NextToken: p.NextToken };
      }
      case 'ListParents': {
        const account = this.accounts.find((a) => a.id === input.ChildId);
        const ou = this.ous.find((o) => o.id === input.ChildId);
        const parentId = account?.parentId ?? ou?.parentId;
        return {
          Parents: parentId
            ? [{ Id: parentId, Type: parentId.startsWith('r-') ? 'ROOT' : 'ORGANIZATIONAL_UNIT' }]
            : [],
        };
      }
      case 'ListTagsForResource': {
        const id = input.ResourceId as string;
        if (this.deniedTags.has('*') || this.deniedTags.has(id)) {
          throw new AccessDeniedException({
            $metadata: { httpStatusCode: 400 },
            message: "You don't have permissions to access this resource.",
          });
        }
        const account = this.accounts.find((a) => a.id === id);
        const p = this.page(
          Object.entries(account?.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
          input,
        );
        return { Tags: p.items, NextToken: p.NextToken };
      }
      case 'ListPoliciesForTarget': {
        const target = input.TargetId as string;
        if (this.deniedPolicies.has('*') || this.deniedPolicies.has(target)) {
          throw new AccessDeniedException({
            $metadata: { httpStatusCode: 400 },
            message: "You don't have permissions to access this resource.",
          });
        }
        const known =
          target === this.rootId ||
          this.ous.some((o) => o.id === target) ||
          this.accounts.some((a) => a.id === target);
        if (!known) throw Object.assign(new Error('target not found'), { name: 'TargetNotFoundException' });
        const ids = [
          ...(this.detached.has(target) ? [] : [FULL_AWS_ACCESS.id]),
          ...(this.attached.get(target) ?? []),
        ];
        const summaries = ids
          .map((id) => this.policies.get(id))
          .filter((p): p is FakePolicy => p !== undefined && p.type === input.Filter)
          .map((p) => ({ Id: p.id, Name: p.name, Type: p.type, AwsManaged: p.awsManaged ?? false }));
        const p = this.page(summaries, input);
        return { Policies: p.items, NextToken: p.NextToken };
      }
      case 'DescribePolicy': {
        const policy = this.policies.get(input.PolicyId as string);
        if (!policy) throw Object.assign(new Error('no such policy'), { name: 'PolicyNotFoundException' });
        return {
          Policy: {
            PolicySummary: {
              Id: policy.id,
              Name: policy.name,
              Type: policy.type,
              AwsManaged: policy.awsManaged ?? false,
            },
            Content: policy.content,
          },
        };
      }
      case 'ListAWSServiceAccessForOrganization': {
        const p = this.page(
          [...this.trustedServices].sort().map((ServicePrincipal) => ({ ServicePrincipal })),
          input,
        );
        return { EnabledServicePrincipals: p.items, NextToken: p.NextToken };
      }
      default:
        throw new Error(`FakeOrganization: unsupported ${operation}`);
    }
  }

  async send(command: { input: Input }): Promise<Output> {
    const name = (command as object).constructor.name.replace(/Command$/, '');
    return this.handle(name, command.input);
  }
}

const OPERATIONS = [
  [DescribeOrganizationCommand, 'DescribeOrganization'],
  [ListAccountsCommand, 'ListAccounts'],
  [ListRootsCommand, 'ListRoots'],
  [ListOrganizationalUnitsForParentCommand, 'ListOrganizationalUnitsForParent'],
  [ListAccountsForParentCommand, 'ListAccountsForParent'],
  [ListParentsCommand, 'ListParents'],
  [ListTagsForResourceCommand, 'ListTagsForResource'],
  [ListPoliciesForTargetCommand, 'ListPoliciesForTarget'],
  [DescribePolicyCommand, 'DescribePolicy'],
  [ListAWSServiceAccessForOrganizationCommand, 'ListAWSServiceAccessForOrganization'],
] as const;

/**
 * Routes IAM's ListOrganizationsFeatures of an aws-sdk-client-mock IAM stub to `org` (its
 * `rootAccessFeatures`, or `rootAccessError` thrown as an error of that name, HTTP 400).
 */
export function wireFakeRootAccess(iamMock: object, org: FakeOrganization): void {
  const on = iamMock as unknown as {
    on(command: unknown): { callsFake(fn: () => Promise<Output>): void };
  };
  on.on(ListOrganizationsFeaturesCommand).callsFake(async () => {
    if (org.rootAccessError) {
      throw Object.assign(new Error(org.rootAccessError), {
        name: org.rootAccessError,
        $metadata: { httpStatusCode: 400 },
      });
    }
    return { OrganizationId: org.organizationId, EnabledFeatures: [...org.rootAccessFeatures] };
  });
}

/** Routes the Organizations commands of an aws-sdk-client-mock stub to `org`. */
export function wireFakeOrganization(mock: object, org: FakeOrganization): void {
  const on = mock as unknown as {
    on(command: unknown): { callsFake(fn: (input: Input) => Promise<Output>): void };
  };
  for (const [command, operation] of OPERATIONS)
    on.on(command).callsFake((input) => org.handle(operation, input));
}

/** A real client whose requests go to `org` (no recording: for the bench). */
export function fakeOrganizationsClient(org: FakeOrganization): OrganizationsClient {
  const client = new OrganizationsClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  (client as unknown as { send: (c: { input: Input }) => Promise<Output> }).send = (c) => org.send(c);
  return client;
}

/**
 * A generated organization: `accounts` accounts spread over `topOus` top-level OUs with `childOus`
 * children each (5 × 9 + 5 = 50 OUs by default), account ids from `accountId(i)`.
 */
export function generatedOrganization(opts: {
  accounts: number;
  topOus?: number;
  childOus?: number;
  accountId?: (i: number) => string;
}): FakeOrganization {
  const topCount = opts.topOus ?? 5;
  const childCount = opts.childOus ?? 9;
  const rootId = 'r-gen1';
  const ous: FakeOu[] = [];
  const leaves: string[] = [];
  for (let t = 0; t < topCount; t++) {
    const top = `ou-gen1-top${String(t).padStart(5, '0')}`;
    ous.push({ id: top, name: `Top${t}`, parentId: rootId });
    for (let c = 0; c < childCount; c++) {
      const child = `ou-gen1-t${t}c${String(c).padStart(4, '0')}`;
      ous.push({ id: child, name: `Unit${t}-${c}`, parentId: top });
      leaves.push(child);
    }
  }
  const accountId = opts.accountId ?? ((i: number) => String(100_000_000_000 + i));
  const accounts: FakeAccount[] = [];
  for (let i = 0; i < opts.accounts; i++) {
    accounts.push({
      id: accountId(i),
      name: `account-${i}`,
      email: `aws+${i}@example.com`,
      state: i % 97 === 13 ? 'SUSPENDED' : 'ACTIVE',
      parentId: leaves[i % leaves.length] ?? rootId,
      joined: new Date(Date.UTC(2020, 0, 1) + i * 60_000),
      tags: { Environment: ['prod', 'staging', 'dev'][i % 3] as string, Owner: `team-${i % 40}` },
    });
  }
  return new FakeOrganization('o-gen1abcdef', accountId(0), rootId, ous, accounts);
}

/** A fake organization with the accounts, OU tree and tags of `metadata` (e.g. the bundled sample org). */
export function fakeOrganizationFrom(metadata: {
  organizationId?: string;
  managementAccountId?: string;
  accounts: readonly {
    id: string;
    name: string;
    email: string;
    state: string;
    ouPath: string;
    ouIdPath: readonly string[];
    tags: Readonly<Record<string, string>>;
  }[];
}): FakeOrganization {
  const rootId = metadata.accounts.find((a) => a.ouIdPath.length > 0)?.ouIdPath[0] ?? 'r-fake';
  const ous = new Map<string, FakeOu>();
  for (const account of metadata.accounts) {
    const names = account.ouPath.split('/');
    account.ouIdPath.forEach((id, depth) => {
      if (depth === 0 || ous.has(id)) return;
      ous.set(id, { id, name: names[depth] ?? id, parentId: account.ouIdPath[depth - 1] as string });
    });
  }
  return new FakeOrganization(
    metadata.organizationId ?? 'o-fake000000',
    metadata.managementAccountId ?? metadata.accounts[0]?.id ?? '000000000000',
    rootId,
    [...ous.values()],
    metadata.accounts.map((a) => ({
      id: a.id,
      name: a.name,
      email: a.email,
      state: a.state as FakeAccount['state'],
      parentId: a.ouIdPath.at(-1) ?? rootId,
      joined: new Date('2023-01-01T00:00:00Z'),
      tags: { ...a.tags },
    })),
  );
}
