/**
 * Failure behaviour against moto: throttling, silent accounts, forged and missing parts, an unverified
 * SES sender, and an account `credreport collect` cannot enter. Each test starts from an emptied
 * emulator (POST /moto-api/reset) and a small seeded organization: management + 1–2 member accounts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3_LAYOUT } from '../../core/names';
import { EXIT } from '../../cli/command';
import { buildCli, expectedUsers, parseCsvFile, rowUserKey, runCli, userKey } from './expectations';
import {
  Emulator,
  Hub,
  deployHub,
  listKeys,
  motoSentMessages,
  pushAllMembers,
  readLatestOutputs,
  readObject,
  readText,
  runDigestHandler,
  runIngest,
  runMemberAgent,
  asSentFrom,
  drainCentralBus,
  putOnCentralBus,
  sentEmails,
  startEmulator,
} from './harness';
import { emulatorEnv } from './moto';
import { denyAssumeRole, throttle } from './proxy';
import { SeededOrg, addBulkUsers, seedOrganization, smallOrgSpec } from './scenario';

jest.setTimeout(180_000);

let emulator: Emulator;
let org: SeededOrg;
let cli: { dir: string; entry: string } | undefined;

beforeAll(async () => {
  cli = await buildCli();
  emulator = await startEmulator();
}, 90_000);

afterAll(async () => {
  await emulator?.stop();
  if (cli) await rm(cli.dir, { recursive: true, force: true });
});

/** Empties moto and seeds management + `members` workload accounts (fewer accounts, faster tests). */
async function freshOrg(members: number, options: { verifySender?: boolean } = {}): Promise<Hub> {
  await emulator.reset();
  org = await seedOrganization(smallOrgSpec(members));
  return deployHub(emulator, org, options);
}

describe('faults', () => {
  it('retries a throttled credential report request and still delivers the report', async () => {
    const hub = await freshOrg(1);
    const account = org.account('acct-1');
    const fault = emulator.proxy.inject(
      throttle(
        'throttle-generate-report',
        (c) => c.service === 'iam' && c.action === 'GenerateCredentialReport' && c.accountId === account.id,
        2,
      ),
    );

    const run = await runMemberAgent(emulator, hub, account);

    expect(fault.hits()).toBe(2);
    const calls = emulator.proxy.callsTo('iam', 'GenerateCredentialReport', account.id);
    expect(calls.slice(0, 2).map((c) => [c.status, c.injected])).toEqual([
      [400, 'throttle-generate-report'],
      [400, 'throttle-generate-report'],
    ]);
    expect(calls.slice(2).some((c) => c.status === 200 && c.injected === undefined)).toBe(true);
    expect(run.result).toMatchObject({ accountId: account.id, users: account.users.length });
    const outcomes = await runIngest(hub, run.events);
    expect(outcomes.at(-1)).toEqual({ status: 'stored', reportId: run.result.reportId });
    const stored = JSON.parse(await readText(hub.bucket, S3_LAYOUT.accountLatest(account.id))) as {
      accountId: string;
    };
    expect(stored.accountId).toBe(account.id);
  });

  it('names an account that never reported in coverage and marks the run incomplete', async () => {
    const hub = await freshOrg(2);
    const silent = org.account('acct-2');
    await pushAllMembers(emulator, hub, [org.account('acct-1')]);

    const result = await runDigestHandler(hub);

    const expected = org.activeAccounts().length;
    expect(result).toMatchObject({
      ok: true,
      email: 'sent',
      coverage: { expected, reporting: expected - 1, missing: 1, complete: false },
    });
    const outputs = await readLatestOutputs(hub);
    expect(outputs.summary.coverage.entries).toEqual([
      expect.objectContaining({ accountId: silent.id, status: 'missing', reason: 'never-reported' }),
    ]);
    expect(outputs.html).toContain(silent.id);
    expect(outputs.credentialReport.rows.filter((r) => r.account_id === silent.id)).toEqual([]);
    expect(sentEmails(emulator)[0]?.html).toContain(silent.id);
  });

  it('rejects parts another account forged, records the sender and overwrites nothing', async () => {
    const hub = await freshOrg(2);
    const victim = org.account('acct-1');
    const forger = org.account('acct-2');
    const runs = await pushAllMembers(emulator, hub, [victim]);
    const victimLatest = await readObject(hub.bucket, S3_LAYOUT.accountLatest(victim.id));
    const keysBefore = await listKeys(hub.bucket);

    // The forger's agent role replays the victim's genuine parts on the central bus.
    const victimParts = runs.get(victim.key)!.run.events;
    expect(victimParts.length).toBeGreaterThan(0);
    await putOnCentralBus(
      hub,
      forger,
      victimParts.map((e) => ({
        Source: e.source,
        DetailType: e['detail-type'],
        Detail: JSON.stringify(e.detail),
      })),
    );
    const delivered = asSentFrom(forger.id, await drainCentralBus(emulator, hub));
    expect(delivered).toHaveLength(victimParts.length);
    expect(delivered.every((e) => e.detail.accountId === victim.id)).toBe(true);

    const outcomes = await runIngest(hub, delivered);

    expect(outcomes.map((o) => (o.status === 'rejected' ? o.reason : o.status))).toEqual(
      victimParts.map(() => 'forged-account'),
    );
    expect(await readObject(hub.bucket, S3_LAYOUT.accountLatest(victim.id))).toEqual(victimLatest);
    const added = (await listKeys(hub.bucket)).filter((k) => !keysBefore.includes(k));
    expect(added).toEqual([S3_LAYOUT.accountRejected(forger.id)]);
    const record = JSON.parse(await readText(hub.bucket, S3_LAYOUT.accountRejected(forger.id))) as Record<
      string,
      unknown
    >;
    expect(record).toMatchObject({
      accountId: forger.id,
      reason: 'forged-account',
      claimedAccountId: victim.id,
    });

    const result = await runDigestHandler(hub);
    const outputs = await readLatestOutputs(hub);
    expect(outputs.summary.coverage.entries).toContainEqual(
      expect.objectContaining({ accountId: forger.id, reason: 'rejected' }),
    );
    // The forger never sent a report of its own, the victim's counts.
    expect(outputs.summary.coverage.entries.some((e) => e.accountId === victim.id)).toBe(false);
    // The victim's rows are its own report's, untouched.
    const victimRows = outputs.credentialReport.rows
      .filter((r) => r.account_id === victim.id)
      .map(rowUserKey)
      .sort();
    expect(victimRows).toEqual(victim.users.map((u) => userKey(victim.id, u.name)).sort());
    expect(result.coverage.reporting).toBe(org.activeAccounts().length - 1);
  });

  it('does not assemble a report with a part missing, keeps the previous report and says why', async () => {
    const hub = await freshOrg(1);
    const account = org.account('acct-1');
    const first = await runMemberAgent(emulator, hub, account);
    await runIngest(hub, first.events);
    const previous = JSON.parse(await readText(hub.bucket, S3_LAYOUT.accountLatest(account.id))) as {
      generatedTime: string;
    };

    // A bigger report in several parts (smallest allowed part size), one of which never arrives.
    await addBulkUsers(account, 80);
    const second = await runMemberAgent(emulator, hub, account, { maxEntryBytes: 16_384 });
    expect(second.result.parts).toBeGreaterThanOrEqual(2);
    expect(second.result.reportId).not.toBe(first.result.reportId);
    const lost = second.events.find((e) => e.detail.part === 2);
    expect(lost).toBeDefined();
    const arrived = second.events.filter((e) => e !== lost);
    const outcomes = await runIngest(hub, arrived);
    expect(outcomes.map((o) => o.status)).toEqual(arrived.map(() => 'waiting'));
    expect(outcomes).toHaveLength(second.result.parts - 1);

    const kept = JSON.parse(await readText(hub.bucket, S3_LAYOUT.accountLatest(account.id))) as {
      generatedTime: string;
    };
    expect(kept.generatedTime).toBe(previous.generatedTime);

    await runDigestHandler(hub);
    const outputs = await readLatestOutputs(hub);
    const entry = outputs.summary.coverage.entries.find((e) => e.accountId === account.id);
    expect(entry).toMatchObject({ reason: 'assembly-incomplete' });
    expect(entry?.detail).toContain(`${second.result.parts - 1} of ${second.result.parts}`);
    // The CSV still carries the previous report's users, none of the incomplete one's.
    const rows = outputs.credentialReport.rows.filter((r) => r.account_id === account.id);
    expect(rows.map(rowUserKey).sort()).toEqual(account.users.map((u) => userKey(account.id, u.name)).sort());
    expect(
      rows.every((r) => (r.report_generated_time ?? '').startsWith(previous.generatedTime.slice(0, 19))),
    ).toBe(true);

    // The part arrives late after all: the report assembles and replaces the previous one.
    const late = await runIngest(hub, [lost!]);
    expect(late).toEqual([{ status: 'stored', reportId: second.result.reportId }]);
  });

  it('writes the outputs and reports the failure when the SES sender is not verified', async () => {
    const hub = await freshOrg(1, { verifySender: false });
    await pushAllMembers(emulator, hub);

    const result = await runDigestHandler(hub);

    expect(result).toMatchObject({ ok: false, email: 'failed', coverage: { complete: true } });
    expect(result.error).toMatch(/MessageRejected/);
    const outputs = await readLatestOutputs(hub);
    expect(outputs.credentialReport.rows.map(rowUserKey).sort()).toEqual(
      expectedUsers(org)
        .map(({ account, user }) => userKey(account.id, user.name))
        .sort(),
    );
    expect(outputs.summary.coverage.complete).toBe(true);
    expect(sentEmails(emulator).map((m) => m.status)).toEqual([400]);
    expect(await motoSentMessages(emulator)).toEqual([]);
  });

  it('lists an account whose role cannot be assumed, collects the rest and exits incomplete (collect)', async () => {
    await freshOrg(2);
    const locked = org.account('acct-2');
    emulator.proxy.inject(denyAssumeRole(locked.id));
    const dir = await mkdtemp(join(tmpdir(), 'credreport-collect-'));
    try {
      const run = await runCli(cli!.entry, ['collect', '--out', dir], {
        ...emulatorEnv(emulator.endpoint),
        NODE_NO_WARNINGS: '1',
      });

      expect({ code: run.code, timedOut: run.timedOut }).toEqual({ code: EXIT.incomplete, timedOut: false });
      expect(`${run.stdout}\n${run.stderr}`).toContain(locked.id);
      expect(
        emulator.proxy.callsTo('sts', 'AssumeRole').filter((c) => c.injected).length,
      ).toBeGreaterThanOrEqual(1);
      const summary = JSON.parse(await readFile(join(dir, S3_LAYOUT.outputFiles.summary), 'utf8')) as {
        coverage: { complete: boolean; entries: { accountId: string; reason?: string }[] };
      };
      expect(summary.coverage.complete).toBe(false);
      expect(summary.coverage.entries).toEqual([
        expect.objectContaining({ accountId: locked.id, reason: 'collection-failed' }),
      ]);
      const csv = await parseCsvFile(join(dir, S3_LAYOUT.outputFiles.credentialReport));
      expect(csv.rows.map(rowUserKey).sort()).toEqual(
        expectedUsers(org)
          .filter(({ account }) => account.id !== locked.id)
          .map(({ account, user }) => userKey(account.id, user.name))
          .sort(),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
