import { IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleError, CallerIdentity } from '../../../cli/aws';
import {
  AccountOutcome,
  collectAccounts,
  CollectOrgDeps,
  CollectOrgError,
  formatMetadataFile,
  MetadataFileError,
  parseMetadataFile,
  selectAccounts,
} from '../../../cli/collect-org';
import type { AccountReport, OrgMetadata } from '../../../core/types';

const NOW = new Date('2026-01-02T06:00:00Z');
const CALLER: CallerIdentity = {
  accountId: '100000000000',
  arn: 'arn:aws-us-gov:iam::100000000000:user/auditor',
  partition: 'aws-us-gov',
};
const ownClient = new IAMClient({ region: 'us-gov-west-1' });
const assumedClient = new IAMClient({ region: 'us-gov-west-1' });

const ids = (n: number, from = 200_000_000_000): string[] =>
  Array.from({ length: n }, (_, i) => String(from + i));

function reportFor(accountId: string): AccountReport {
  return {
    schemaVersion: 1,
    accountId,
    generatedTime: NOW.toISOString(),
    collectedTime: NOW.toISOString(),
    credentialReportCsv: 'user,arn\n',
    accessKeys: [],
  };
}

/** A deferred per account: the test decides when each account's collection finishes. */
interface Gate {
  readonly started: string[];
  release(accountId: string): void;
  releaseAll(): void;
  deps: CollectOrgDeps;
}

function gated(): Gate {
  const waiting = new Map<string, () => void>();
  const released = new Set<string>();
  const started: string[] = [];
  return {
    started,
    release(accountId) {
      released.add(accountId);
      waiting.get(accountId)?.();
    },
    releaseAll() {
      for (const id of started) this.release(id);
    },
    deps: {
      ownIam: () => ownClient,
      assumedIam: async () => assumedClient,
      collect: async (_deps, opts) => {
        started.push(opts.accountId);
        if (!released.has(opts.accountId)) {
          await new Promise<void>((resolve) => waiting.set(opts.accountId, resolve));
        }
        return {
          report: reportFor(opts.accountId),
          stats: { apiCalls: { GetCredentialReport: 1 }, users: 0, durationMs: 1 },
        };
      },
      clock: () => NOW,
    },
  };
}

/** Lets every pending promise callback run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
};

async function drain(iterable: AsyncIterable<AccountReport>): Promise<string[]> {
  const out: string[] = [];
  for await (const report of iterable) out.push(report.accountId);
  return out;
}

describe('collectAccounts', () => {
  it('yields every report and reports each account once, with own credentials for the caller', async () => {
    const outcomes: AccountOutcome[] = [];
    const seen = new Map<string, IAMClient>();
    const assumed: string[] = [];
    const reports = await drain(
      collectAccounts(
        {
          ownIam: () => ownClient,
          assumedIam: async (roleArn) => {
            assumed.push(roleArn);
            return assumedClient;
          },
          collect: async (deps, opts) => {
            seen.set(opts.accountId, deps.iam);
            return {
              report: reportFor(opts.accountId),
              stats: { apiCalls: { ListUsers: 2 }, users: 3, durationMs: 1 },
            };
          },
        },
        {
          caller: CALLER,
          accountIds: ['300000000000', CALLER.accountId, '200000000000'],
          roleName: 'CredreportReadOnly',
          concurrency: 2,
          onSettled: (o) => outcomes.push(o),
        },
      ),
    );
    expect(reports).toEqual(['100000000000', '200000000000', '300000000000']);
    expect(seen.get(CALLER.accountId)).toBe(ownClient);
    expect(seen.get('200000000000')).toBe(assumedClient);
    expect(assumed.sort()).toEqual([
      'arn:aws-us-gov:iam::200000000000:role/CredreportReadOnly',
      'arn:aws-us-gov:iam::300000000000:role/CredreportReadOnly',
    ]);
    expect(outcomes.map((o) => [o.accountId, o.ok, o.assumedRole]).sort()).toEqual([
      ['100000000000', true, false],
      ['200000000000', true, true],
      ['300000000000', true, true],
    ]);
    expect(outcomes[0]).toMatchObject({ ok: true, users: 3, apiCalls: { ListUsers: 2 } });
  });

  it('turns an AssumeRole refusal and a collector error into problems and goes on', async () => {
    const outcomes: AccountOutcome[] = [];
    const reports = await drain(
      collectAccounts(
        {
          ownIam: () => ownClient,
          assumedIam: async (roleArn, accountId) => {
            if (accountId === '200000000001') {
              throw new AssumeRoleError(
                roleArn,
                Object.assign(new Error('not authorized'), { name: 'AccessDenied' }),
              );
            }
            return assumedClient;
          },
          collect: async (_deps, opts) => {
            if (opts.accountId === '200000000002') throw new TypeError('boom');
            return { report: reportFor(opts.accountId), stats: { apiCalls: {}, users: 0, durationMs: 1 } };
          },
          clock: () => NOW,
        },
        {
          caller: CALLER,
          accountIds: ids(4),
          roleName: 'R',
          concurrency: 4,
          onSettled: (o) => outcomes.push(o),
        },
      ),
    );
    expect(reports).toEqual(['200000000000', '200000000003']);
    const problems = outcomes.flatMap((o) => (o.ok ? [] : [o.problem]));
    expect(problems.sort((a, b) => a.accountId.localeCompare(b.accountId))).toEqual([
      {
        accountId: '200000000001',
        reason: 'collection-failed',
        detail: expect.stringMatching(
          /^AssumeRole arn:aws-us-gov:iam::200000000001:role\/R failed: AccessDenied: not authorized/,
        ) as unknown as string,
        at: NOW.toISOString(),
      },
      {
        accountId: '200000000002',
        reason: 'collection-failed',
        detail: 'collection failed: TypeError: boom',
        at: NOW.toISOString(),
      },
    ]);
  });

  it('holds at most `concurrency` reports in hand while the consumer is slow', async () => {
    let started = 0;
    let consumed = 0;
    let peakInHand = 0;
    const iterator = collectAccounts(
      {
        ownIam: () => ownClient,
        assumedIam: async () => assumedClient,
        collect: async (_deps, opts) => {
          started++;
          peakInHand = Math.max(peakInHand, started - consumed);
          return { report: reportFor(opts.accountId), stats: { apiCalls: {}, users: 0, durationMs: 1 } };
        },
      },
      { caller: CALLER, accountIds: ids(50), roleName: 'R', concurrency: 3 },
    );
    for await (const report of iterator) {
      expect(report.accountId).toBe(ids(50)[consumed]);
      consumed++;
      await settle(); // a consumer slower than the collections
      expect(started - consumed).toBeLessThanOrEqual(3);
    }
    expect(consumed).toBe(50);
    expect(peakInHand).toBe(3);
  });

  it('starts no account `orderWindow` places past a slow one, so a reordering consumer keeps id order', async () => {
    const gate = gated();
    const accounts = ids(12);
    const got: string[] = [];
    const consuming = (async () => {
      for await (const report of collectAccounts(gate.deps, {
        caller: CALLER,
        accountIds: accounts,
        roleName: 'R',
        concurrency: 3,
        orderWindow: 4,
      })) {
        got.push(report.accountId);
      }
    })();
    await settle();
    expect(gate.started).toEqual(accounts.slice(0, 3));
    // Everything but the first account finishes as soon as it starts.
    for (let round = 0; round < 10; round++) {
      for (const id of gate.started.slice(1)) gate.release(id);
      await settle();
    }
    // Accounts 1-3 are done, but 4 is orderWindow places past the slow account 0: not started.
    expect(gate.started).toEqual(accounts.slice(0, 4));
    expect(got).toEqual(accounts.slice(1, 4));
    gate.release(accounts[0] as string);
    for (let round = 0; round < 20; round++) {
      gate.releaseAll();
      await settle();
    }
    await consuming;
    expect(got).toEqual([...accounts.slice(1, 4), accounts[0], ...accounts.slice(4)]);
  });

  it('hands over the lowest account id among the reports ready', async () => {
    const gate = gated();
    const accounts = ids(4);
    const iterator = collectAccounts(gate.deps, {
      caller: CALLER,
      accountIds: accounts,
      roleName: 'R',
      concurrency: 4,
    });
    const first = iterator.next();
    await settle();
    gate.release(accounts[3] as string);
    expect((await first).value?.accountId).toBe(accounts[3]); // nothing lower is ready: no waiting
    // 2, 1, 0 finish in that order while the consumer is busy; it then gets them lowest first.
    for (const id of [accounts[2], accounts[1], accounts[0]]) {
      gate.release(id as string);
      await settle();
    }
    const rest: string[] = [];
    for await (const report of iterator) rest.push(report.accountId);
    expect(rest).toEqual(accounts.slice(0, 3));
  });

  it('starts no further account once the consumer stops', async () => {
    const gate = gated();
    const accounts = ids(20);
    const iterator = collectAccounts(gate.deps, {
      caller: CALLER,
      accountIds: accounts,
      roleName: 'R',
      concurrency: 2,
    });
    const first = iterator.next();
    await settle();
    gate.release(accounts[0] as string);
    expect((await first).value?.accountId).toBe(accounts[0]);
    await iterator.return(undefined);
    gate.releaseAll();
    await settle();
    // 0 and 1 were started first; 0's slot was still taken when the consumer stopped.
    expect(gate.started).toEqual(accounts.slice(0, 2));
  });

  it('rethrows an error from the onSettled callback instead of hiding it', async () => {
    const iterator = collectAccounts(
      {
        ownIam: () => ownClient,
        assumedIam: async () => assumedClient,
        collect: async (_deps, opts) => ({
          report: reportFor(opts.accountId),
          stats: { apiCalls: {}, users: 0, durationMs: 1 },
        }),
      },
      {
        caller: CALLER,
        accountIds: ids(3),
        roleName: 'R',
        concurrency: 1,
        onSettled: () => {
          throw new Error('progress broke');
        },
      },
    );
    await expect(drain(iterator)).rejects.toThrow('progress broke');
  });

  it('rejects a concurrency that is not a positive integer', async () => {
    const iterator = collectAccounts(gated().deps, {
      caller: CALLER,
      accountIds: ids(1),
      roleName: 'R',
      concurrency: 0,
    });
    await expect(iterator.next()).rejects.toThrow(RangeError);
  });
});

describe('selectAccounts', () => {
  const metadata: OrgMetadata = {
    fetchedAt: NOW.toISOString(),
    accounts: [
      {
        id: '200000000001',
        name: 'a',
        email: '',
        state: 'ACTIVE',
        ouPath: 'Root/P',
        ouIdPath: ['r-1', 'ou-1-p'],
        tags: {},
      },
      {
        id: '200000000002',
        name: 'b',
        email: '',
        state: 'ACTIVE',
        ouPath: 'Root/D',
        ouIdPath: ['r-1', 'ou-1-d'],
        tags: {},
      },
      {
        id: '200000000003',
        name: 'c',
        email: '',
        state: 'SUSPENDED',
        ouPath: 'Root/P',
        ouIdPath: ['r-1', 'ou-1-p'],
        tags: {},
      },
    ],
  };

  it('selects every ACTIVE account, sorted, when nothing narrows it', () => {
    expect(selectAccounts(metadata)).toEqual(['200000000001', '200000000002']);
  });

  it('names an OU that is not in the organization', () => {
    expect(() => selectAccounts(metadata, { ouIds: ['ou-1-x'] })).toThrow(CollectOrgError);
  });
});

describe('metadata file', () => {
  it('reads back what it writes, accounts sorted by id', () => {
    const metadata: OrgMetadata = {
      organizationId: 'o-1',
      fetchedAt: NOW.toISOString(),
      accounts: [
        {
          id: '200000000002',
          name: 'b',
          email: 'b@x',
          state: 'ACTIVE',
          ouPath: 'Root',
          ouIdPath: ['r-1'],
          tags: { Env: 'dev' },
        },
        {
          id: '200000000001',
          name: 'a',
          email: 'a@x',
          state: 'ACTIVE',
          ouPath: 'Root',
          ouIdPath: ['r-1'],
          tags: {},
        },
      ],
    };
    const read = parseMetadataFile(formatMetadataFile(metadata), 'm.json');
    expect(read.accounts.map((a) => a.id)).toEqual(['200000000001', '200000000002']);
    expect(read.accounts[1]?.tags).toEqual({ Env: 'dev' });
  });

  it('says a file that is not JSON is not JSON', () => {
    expect(() => parseMetadataFile('{', 'm.json')).toThrow(MetadataFileError);
    expect(() => parseMetadataFile('{', 'm.json')).toThrow(/m\.json is not JSON/);
  });
});
