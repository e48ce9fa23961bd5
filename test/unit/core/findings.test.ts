import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ROOT_USER } from '../../../core/columns';
import type { CredentialReportRow } from '../../../core/columns';
import { parseCredentialReport } from '../../../core/credential-report';
import { evaluateKey, evaluateUser } from '../../../core/findings';
import type { KeyFacts } from '../../../core/findings';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';
import type { Thresholds } from '../../../core/thresholds';
import { FINDING_IDS } from '../../../core/types';
import { FINDING_CONTROLS, FINDING_SEVERITY } from '../../../core/finding-ids';
import type { AccountFacts, FindingId, UserPrivileges } from '../../../core/types';

const ACCOUNT = '111122223333';
const NOW = new Date('2024-06-01T12:00:00Z');
const DAY = 86_400_000;
const HOUR = 3_600_000;
const T = DEFAULT_THRESHOLDS; // rotation 90, unused 45, grace 7, root use 30

/** A report timestamp `days` whole days (plus `hours`) before NOW, as IAM writes it. */
function ago(days: number, hours = 1): string {
  return new Date(NOW.getTime() - days * DAY - hours * HOUR).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

type Row = Record<keyof CredentialReportRow, string>;

/** An IAM user with no password, no MFA and no keys, with `over` applied. */
function user(over: Partial<Row> = {}): CredentialReportRow {
  return {
    user: 'u',
    arn: `arn:aws:iam::${ACCOUNT}:user/u`,
    user_creation_time: ago(1000),
    password_enabled: 'false',
    password_last_used: 'N/A',
    password_last_changed: 'N/A',
    password_next_rotation: 'N/A',
    mfa_active: 'false',
    access_key_1_active: 'false',
    access_key_1_last_rotated: 'N/A',
    access_key_1_last_used_date: 'N/A',
    access_key_1_last_used_region: 'N/A',
    access_key_1_last_used_service: 'N/A',
    access_key_2_active: 'false',
    access_key_2_last_rotated: 'N/A',
    access_key_2_last_used_date: 'N/A',
    access_key_2_last_used_region: 'N/A',
    access_key_2_last_used_service: 'N/A',
    cert_1_active: 'false',
    cert_1_last_rotated: 'N/A',
    cert_2_active: 'false',
    cert_2_last_rotated: 'N/A',
    ...over,
  };
}

/** The root row as AWS writes it (password columns not_supported), MFA on, no keys, never used. */
function root(over: Partial<Row> = {}): CredentialReportRow {
  return user({
    user: ROOT_USER,
    arn: `arn:aws:iam::${ACCOUNT}:root`,
    password_enabled: 'not_supported',
    password_last_used: 'no_information',
    password_last_changed: 'not_supported',
    password_next_rotation: 'not_supported',
    mfa_active: 'true',
    ...over,
  });
}

/** A console user (password enabled, MFA on, password used yesterday). */
function consoleUser(over: Partial<Row> = {}): CredentialReportRow {
  return user({
    password_enabled: 'true',
    password_last_used: ago(1),
    password_last_changed: ago(200),
    mfa_active: 'true',
    ...over,
  });
}

function key(slot: 1 | 2, k: { active?: boolean; rotated?: string; used?: string }): Partial<Row> {
  const used = k.used ?? 'N/A';
  return {
    [`access_key_${slot}_active`]: String(k.active ?? true),
    [`access_key_${slot}_last_rotated`]: k.rotated ?? ago(10),
    [`access_key_${slot}_last_used_date`]: used,
    [`access_key_${slot}_last_used_region`]: used === 'N/A' ? 'N/A' : 'us-east-1',
    [`access_key_${slot}_last_used_service`]: used === 'N/A' ? 'N/A' : 's3',
  };
}

function privileges(over: Partial<UserPrivileges> = {}): UserPrivileges {
  return {
    userName: 'u',
    admin: false,
    s3Read: false,
    rdsRead: false,
    dynamodbRead: false,
    grantingPolicies: {},
    ...over,
  };
}

function findingsOf(row: CredentialReportRow, p?: UserPrivileges, t: Thresholds = T): readonly FindingId[] {
  return evaluateUser(row, p, NOW, t).findings;
}

function keyFindingsOf(
  row: CredentialReportRow,
  slot: 1 | 2,
  p?: UserPrivileges,
  t: Thresholds = T,
): readonly FindingId[] {
  const found = evaluateUser(row, p, NOW, t).keys.find((k) => k.slot === slot);
  if (found === undefined) throw new Error(`no key in slot ${slot}`);
  return found.findings;
}

describe('evaluateUser', () => {
  describe('root-access-key (CIS 1.4)', () => {
    it.each([1, 2] as const)(
      'is raised on the user and the key when root has an active key in slot %i',
      (slot) => {
        const row = root(key(slot, { used: ago(100) }));
        expect(findingsOf(row)).toContain('root-access-key');
        expect(keyFindingsOf(row, slot)).toContain('root-access-key');
      },
    );

    it('is not raised when the root key is inactive', () => {
      const row = root(key(1, { active: false }));
      expect(findingsOf(row)).not.toContain('root-access-key');
      expect(keyFindingsOf(row, 1)).toEqual([]);
    });

    it('is not raised when an IAM user has an active key', () => {
      expect(findingsOf(user(key(1, { used: ago(1) })))).not.toContain('root-access-key');
    });
  });

  describe('root-mfa-disabled (CIS 1.5)', () => {
    it('is raised when root mfa_active is false', () => {
      expect(findingsOf(root({ mfa_active: 'false' }))).toEqual(['root-mfa-disabled']);
    });

    it('is not raised when root mfa_active is true in any case', () => {
      expect(findingsOf(root({ mfa_active: 'TRUE' }))).toEqual([]);
    });

    describe('per root state, as CIS v5.0.0 audits it (GetAccountSummary)', () => {
      const facts = (rootCredentials: NonNullable<AccountFacts['rootCredentials']>): AccountFacts => ({
        rootCredentials,
      });
      const NONE = facts({ mfaEnabled: false, passwordPresent: false, accessKeysPresent: false });
      const rootOf = (row: CredentialReportRow, f: AccountFacts | undefined) =>
        evaluateUser(row, undefined, NOW, T, f);

      it('raises no MFA finding and says "none" when the root has no password and no keys', () => {
        const evaluation = rootOf(root({ mfa_active: 'false' }), NONE);
        expect(evaluation.findings).toEqual([]);
        expect(evaluation.rootCredentials).toBe('none');
      });

      it('raises root-mfa-disabled when the root has a password without MFA', () => {
        const evaluation = rootOf(
          root({ mfa_active: 'false' }),
          facts({ mfaEnabled: false, passwordPresent: true, accessKeysPresent: false }),
        );
        expect(evaluation.findings).toEqual(['root-mfa-disabled']);
        expect(evaluation.rootCredentials).toBe('present');
      });

      it('raises nothing when the root has a password with MFA', () => {
        const evaluation = rootOf(
          root(),
          facts({ mfaEnabled: true, passwordPresent: true, accessKeysPresent: false }),
        );
        expect(evaluation.findings).toEqual([]);
        expect(evaluation.rootCredentials).toBe('present');
      });

      it('raises root-mfa-disabled and root-access-key when the root has only access keys', () => {
        const row = root({ mfa_active: 'false', ...key(1, { used: ago(40) }) });
        const evaluation = rootOf(
          row,
          facts({ mfaEnabled: false, passwordPresent: false, accessKeysPresent: true }),
        );
        expect(evaluation.findings).toEqual(['root-access-key', 'root-mfa-disabled']);
        expect(evaluation.rootCredentials).toBe('present');
      });

      it('keeps the credential report alone when the facts are unknown or lack the password key', () => {
        expect(rootOf(root({ mfa_active: 'false' }), undefined).findings).toEqual(['root-mfa-disabled']);
        expect(rootOf(root({ mfa_active: 'false' }), {}).rootCredentials).toBe('unknown');
        // moto omits AccountPasswordPresent: no keys, password unknown → today's behaviour.
        const moto = rootOf(
          root({ mfa_active: 'false' }),
          facts({ mfaEnabled: false, accessKeysPresent: false }),
        );
        expect(moto.findings).toEqual(['root-mfa-disabled']);
        expect(moto.rootCredentials).toBe('unknown');
      });

      it('keeps root-access-key and root-recently-used whatever the facts say', () => {
        const row = root({ password_last_used: ago(3), ...key(1, { used: ago(2) }) });
        expect(rootOf(row, NONE).findings).toEqual(['root-access-key', 'root-recently-used']);
      });

      it('gives an IAM user no root state', () => {
        expect(evaluateUser(user(), undefined, NOW, T, NONE).rootCredentials).toBe('unknown');
      });
    });

    it('is not raised for an IAM user without MFA', () => {
      expect(findingsOf(user())).not.toContain('root-mfa-disabled');
    });
  });

  describe('root-recently-used (CIS 1.7)', () => {
    it('is raised when the root password was used 30 days ago and not when 31', () => {
      expect(findingsOf(root({ password_last_used: ago(30) }))).toEqual(['root-recently-used']);
      expect(findingsOf(root({ password_last_used: ago(31) }))).toEqual([]);
    });

    it('is raised when a root key was used 30 days ago and not when 31', () => {
      const recent = root(key(1, { rotated: ago(400), used: ago(30) }));
      expect(findingsOf(recent)).toContain('root-recently-used');
      expect(keyFindingsOf(recent, 1)).toContain('root-recently-used');
      expect(findingsOf(root(key(2, { rotated: ago(400), used: ago(31) })))).not.toContain(
        'root-recently-used',
      );
    });

    it('is raised when the root key used lately has been deactivated since', () => {
      const row = root(key(2, { active: false, rotated: ago(400), used: ago(3) }));
      expect(findingsOf(row)).toEqual(['root-recently-used']);
      expect(keyFindingsOf(row, 2)).toEqual(['root-recently-used']);
    });

    it('is not raised when the root password was never used (no_information)', () => {
      expect(findingsOf(root({ password_last_used: 'no_information' }))).toEqual([]);
    });

    it('follows rootUseDays when it is configured', () => {
      const row = root({ password_last_used: ago(10) });
      expect(findingsOf(row, undefined, { ...T, rootUseDays: 9 })).toEqual([]);
      expect(findingsOf(row, undefined, { ...T, rootUseDays: 10 })).toEqual(['root-recently-used']);
    });

    it('is not raised for an IAM user used yesterday', () => {
      expect(findingsOf(consoleUser())).toEqual([]);
    });
  });

  describe('console-without-mfa (CIS 1.10)', () => {
    it('is raised when the password is enabled and MFA is not active', () => {
      expect(findingsOf(consoleUser({ mfa_active: 'false' }))).toEqual(['console-without-mfa']);
      expect(findingsOf(consoleUser({ password_enabled: 'TRUE', mfa_active: 'False' }))).toEqual([
        'console-without-mfa',
      ]);
    });

    it('is not raised when MFA is active', () => {
      expect(findingsOf(consoleUser({ mfa_active: 'true' }))).toEqual([]);
    });

    it('is not raised when the user has no password', () => {
      expect(findingsOf(user({ mfa_active: 'false' }))).toEqual([]);
    });

    it('is not raised for root, whose password_enabled is not_supported', () => {
      expect(findingsOf(root({ mfa_active: 'false', password_last_used: ago(100) }))).toEqual([
        'root-mfa-disabled',
      ]);
    });
  });

  describe('key-created-at-setup (CIS 1.11)', () => {
    it('is raised when a console user has an active key never used, 7 days old (grace 7)', () => {
      const row = consoleUser(key(1, { rotated: ago(7) }));
      expect(findingsOf(row)).toEqual(['key-created-at-setup']);
      expect(keyFindingsOf(row, 1)).toEqual(['key-created-at-setup']);
    });

    it('is not raised when the never-used key is 6 days old (inside the grace period)', () => {
      expect(findingsOf(consoleUser(key(1, { rotated: ago(6) })))).toEqual([]);
    });

    it('is not raised when the key has been used', () => {
      expect(findingsOf(consoleUser(key(1, { rotated: ago(20), used: ago(2) })))).toEqual([]);
    });

    it('is not raised when the user has no console password', () => {
      expect(findingsOf(user(key(1, { rotated: ago(20) })))).toEqual([]);
    });

    it('is not raised when the never-used key is inactive', () => {
      expect(findingsOf(consoleUser(key(2, { active: false, rotated: ago(20) })))).toEqual([]);
    });

    it('is raised on the never-used key only when the other key is used', () => {
      const row = consoleUser({
        ...key(1, { rotated: ago(20), used: ago(1) }),
        ...key(2, { rotated: ago(20) }),
      });
      expect(keyFindingsOf(row, 1)).toEqual(['multiple-active-keys']);
      expect(keyFindingsOf(row, 2)).toEqual(['key-created-at-setup', 'multiple-active-keys']);
    });
  });

  describe('credential-unused (CIS 1.12)', () => {
    it('is raised when the password was last used 46 days ago and not when 45', () => {
      expect(findingsOf(consoleUser({ password_last_used: ago(46) }))).toEqual(['credential-unused']);
      expect(findingsOf(consoleUser({ password_last_used: ago(45) }))).toEqual([]);
    });

    it.each(['no_information', 'N/A'])(
      'counts a never-used password (%s) from its last change: 46 days raised, 45 not',
      (token) => {
        expect(
          findingsOf(consoleUser({ password_last_used: token, password_last_changed: ago(46) })),
        ).toEqual(['credential-unused']);
        expect(
          findingsOf(consoleUser({ password_last_used: token, password_last_changed: ago(45) })),
        ).toEqual([]);
      },
    );

    it('counts a never-used password from the user creation when its last change is unknown', () => {
      const never = { password_last_used: 'no_information', password_last_changed: 'N/A' };
      expect(findingsOf(consoleUser({ ...never, user_creation_time: ago(46) }))).toEqual([
        'credential-unused',
      ]);
      expect(findingsOf(consoleUser({ ...never, user_creation_time: ago(45) }))).toEqual([]);
    });

    it('counts a never-used password from its last change even when the user is much older', () => {
      const row = consoleUser({
        user_creation_time: ago(900),
        password_last_used: 'no_information',
        password_last_changed: ago(3),
      });
      expect(findingsOf(row)).toEqual([]);
    });

    it('is not raised for a disabled password however old its last use', () => {
      expect(findingsOf(user({ password_last_used: ago(400), password_last_changed: ago(500) }))).toEqual([]);
    });

    it('is raised on an active key last used 46 days ago and not 45', () => {
      const stale = user(key(1, { rotated: ago(80), used: ago(46) }));
      expect(findingsOf(stale)).toEqual(['credential-unused']);
      expect(keyFindingsOf(stale, 1)).toEqual(['credential-unused']);
      expect(findingsOf(user(key(1, { rotated: ago(80), used: ago(45) })))).toEqual([]);
    });

    it('counts a never-used key from its rotation date: 46 days raised, 45 not', () => {
      const stale = user(key(2, { rotated: ago(46) }));
      expect(findingsOf(stale)).toEqual(['credential-unused']);
      expect(keyFindingsOf(stale, 2)).toEqual(['credential-unused']);
      expect(findingsOf(user(key(2, { rotated: ago(45) })))).toEqual([]);
    });

    it('spares a never-used key younger than graceDays, and not one exactly graceDays old', () => {
      const t = { ...T, unusedDays: 3, graceDays: 7 };
      expect(findingsOf(user(key(1, { rotated: ago(6) })), undefined, t)).toEqual([]);
      expect(findingsOf(user(key(1, { rotated: ago(7) })), undefined, t)).toEqual(['credential-unused']);
    });

    it('is not raised on an inactive key however long unused', () => {
      expect(findingsOf(user(key(1, { active: false, rotated: ago(300), used: ago(200) })))).toEqual([]);
    });

    it('is raised on the unused key only when the other key is in use', () => {
      const row = user({ ...key(1, { rotated: ago(60), used: ago(1) }), ...key(2, { rotated: ago(60) }) });
      expect(findingsOf(row)).toEqual(['credential-unused', 'multiple-active-keys']);
      expect(keyFindingsOf(row, 1)).toEqual(['multiple-active-keys']);
      expect(keyFindingsOf(row, 2)).toEqual(['credential-unused', 'multiple-active-keys']);
    });

    it('is raised on the user but on no key when only the password is unused', () => {
      const row = consoleUser({
        password_last_used: ago(100),
        ...key(1, { rotated: ago(20), used: ago(1) }),
      });
      expect(findingsOf(row)).toEqual(['credential-unused']);
      expect(keyFindingsOf(row, 1)).toEqual([]);
    });

    it('follows unusedDays when it is configured', () => {
      const row = user(key(1, { rotated: ago(80), used: ago(31) }));
      expect(findingsOf(row, undefined, { ...T, unusedDays: 31 })).toEqual([]);
      expect(findingsOf(row, undefined, { ...T, unusedDays: 30 })).toEqual(['credential-unused']);
    });
  });

  describe('multiple-active-keys (CIS 1.13)', () => {
    it('is raised on the user and both keys when both keys are active', () => {
      const row = user({ ...key(1, { used: ago(1) }), ...key(2, { used: ago(2) }) });
      const ev = evaluateUser(row, undefined, NOW, T);
      expect(ev.findings).toEqual(['multiple-active-keys']);
      expect(ev.keys.map((k) => k.findings)).toEqual([['multiple-active-keys'], ['multiple-active-keys']]);
    });

    it('is not raised when one of the two keys is inactive', () => {
      const row = user({ ...key(1, { used: ago(1) }), ...key(2, { active: false, used: ago(2) }) });
      expect(findingsOf(row)).toEqual([]);
    });
  });

  describe('key-not-rotated (CIS 1.14)', () => {
    it('is raised when an active key is 91 days old and not when 90', () => {
      const old = user(key(1, { rotated: ago(91), used: ago(1) }));
      expect(findingsOf(old)).toEqual(['key-not-rotated']);
      expect(keyFindingsOf(old, 1)).toEqual(['key-not-rotated']);
      expect(findingsOf(user(key(1, { rotated: ago(90, 23), used: ago(1) })))).toEqual([]);
    });

    it('is not raised when the old key is inactive', () => {
      expect(findingsOf(user(key(2, { active: false, rotated: ago(400), used: ago(1) })))).toEqual([]);
    });

    it('follows rotationDays when it is configured', () => {
      const row = user(key(1, { rotated: ago(31), used: ago(1) }));
      expect(findingsOf(row, undefined, { ...T, rotationDays: 31 })).toEqual([]);
      expect(findingsOf(row, undefined, { ...T, rotationDays: 30 })).toEqual(['key-not-rotated']);
    });
  });

  describe('privileged-key and data-read-key', () => {
    const row = user(key(1, { used: ago(1) }));

    it('raises privileged-key when the user with an active key is an admin', () => {
      expect(findingsOf(row, privileges({ admin: true }))).toEqual(['privileged-key']);
      expect(keyFindingsOf(row, 1, privileges({ admin: true }))).toEqual(['privileged-key']);
    });

    it.each(['s3Read', 'rdsRead', 'dynamodbRead'] as const)(
      'raises data-read-key when the user with an active key has %s',
      (kind) => {
        expect(findingsOf(row, privileges({ [kind]: true }))).toEqual(['data-read-key']);
      },
    );

    it('raises both when the user is an admin that reads data', () => {
      expect(findingsOf(row, privileges({ admin: true, s3Read: true }))).toEqual([
        'privileged-key',
        'data-read-key',
      ]);
    });

    it('raises neither when the user has no such privilege', () => {
      expect(findingsOf(row, privileges())).toEqual([]);
    });

    it('raises neither when privileges are unknown', () => {
      expect(findingsOf(row, undefined)).toEqual([]);
    });

    it('raises key-quarantined on an active key when AWS attached a quarantine policy', () => {
      const quarantined = {
        ...privileges(),
        quarantinePolicies: ['arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3'],
      };
      expect(keyFindingsOf(row, 1, quarantined)).toEqual(['key-quarantined']);
      expect(keyFindingsOf(user(key(1, { active: false, used: ago(1) })), 1, quarantined)).toEqual([]);
    });

    it('raises neither when the admin has no active key', () => {
      const p = privileges({ admin: true, s3Read: true });
      expect(findingsOf(user(key(1, { active: false, used: ago(1) })), p)).toEqual([]);
      expect(findingsOf(consoleUser(), p)).toEqual([]);
    });
  });

  describe('facts', () => {
    it('reports slots, key facts, active count, oldest active key age and last activity', () => {
      const row = consoleUser({
        password_last_used: ago(12),
        ...key(1, { rotated: ago(40), used: ago(3) }),
        ...key(2, { rotated: ago(20), used: 'N/A' }),
      });
      const ev = evaluateUser(row, undefined, NOW, T);
      expect(ev).toMatchObject({
        isRoot: false,
        activeKeys: 2,
        oldestActiveKeyAgeDays: 40,
        daysSinceLastActivity: 3,
      });
      expect(ev.keys.map((k) => k.slot)).toEqual([1, 2]);
      expect(ev.keys[0]!.facts).toEqual({
        slot: 1,
        active: true,
        lastRotated: new Date(row.access_key_1_last_rotated),
        lastUsed: new Date(row.access_key_1_last_used_date),
      });
      expect(ev.keys[1]!.facts.lastUsed).toBeUndefined();
    });

    it('takes the oldest age from active keys only and activity from every key', () => {
      const row = user({
        ...key(1, { active: false, rotated: ago(300), used: ago(2) }),
        ...key(2, { rotated: ago(50) }),
      });
      const ev = evaluateUser(row, undefined, NOW, T);
      expect(ev).toMatchObject({ activeKeys: 1, oldestActiveKeyAgeDays: 50, daysSinceLastActivity: 2 });
    });

    it('leaves ages undefined and lists no keys when the user has no key and never signed in', () => {
      const ev = evaluateUser(user(), undefined, NOW, T);
      expect(ev.keys).toEqual([]);
      expect(ev.activeKeys).toBe(0);
      expect(ev.oldestActiveKeyAgeDays).toBeUndefined();
      expect(ev.daysSinceLastActivity).toBeUndefined();
    });

    it('lists only slot 2 when slot 1 is empty', () => {
      expect(evaluateUser(user(key(2, { used: ago(1) })), undefined, NOW, T).keys.map((k) => k.slot)).toEqual(
        [2],
      );
    });

    it('marks the root row as root', () => {
      expect(evaluateUser(root(), undefined, NOW, T).isRoot).toBe(true);
    });
  });

  describe('account facts findings (report schema v3)', () => {
    const PASSWORD = { mfaEnabled: true, passwordPresent: true, accessKeysPresent: false };
    const own = (row: CredentialReportRow, facts: AccountFacts) =>
      evaluateUser(row, undefined, NOW, T, facts).ownFindings;
    const policy = (minimumPasswordLength: number, passwordReusePrevention?: number): AccountFacts => ({
      passwordPolicy: {
        present: true,
        minimumPasswordLength,
        ...(passwordReusePrevention === undefined ? {} : { passwordReusePrevention }),
      },
    });

    it('raises root-hardware-mfa-missing when root MFA is on and its device is virtual', () => {
      expect(own(root(), { rootCredentials: PASSWORD, rootMfaVirtual: true })).toEqual([
        'root-hardware-mfa-missing',
      ]);
      expect(own(root(), { rootCredentials: PASSWORD, rootMfaVirtual: false })).toEqual([]);
    });

    it('raises no hardware MFA finding when MFA is off (root-mfa-disabled says it), the device type is unknown, or the root has no credentials', () => {
      const noMfa = { ...PASSWORD, mfaEnabled: false };
      expect(own(root({ mfa_active: 'false' }), { rootCredentials: noMfa, rootMfaVirtual: false })).toEqual([
        'root-mfa-disabled',
      ]);
      expect(own(root(), { rootCredentials: PASSWORD })).toEqual([]);
      const none = { mfaEnabled: true, passwordPresent: false, accessKeysPresent: false };
      expect(own(root(), { rootCredentials: none, rootMfaVirtual: true })).toEqual([]);
    });

    it('raises both password policy findings on the root row when the account has no policy', () => {
      expect(own(root(), { passwordPolicy: { present: false } })).toEqual([
        'password-policy-weak-length',
        'password-policy-no-reuse-prevention',
      ]);
    });

    it('raises password-policy-weak-length below 14 characters and not at 14', () => {
      expect(own(root(), policy(13, 24))).toEqual(['password-policy-weak-length']);
      expect(own(root(), policy(14, 24))).toEqual([]);
    });

    it('raises password-policy-no-reuse-prevention below 24 remembered passwords or without reuse prevention', () => {
      expect(own(root(), policy(14, 23))).toEqual(['password-policy-no-reuse-prevention']);
      expect(own(root(), policy(14))).toEqual(['password-policy-no-reuse-prevention']);
      expect(own(root(), policy(20, 24))).toEqual([]);
    });

    it('raises no password policy finding when the policy is unknown, nor on an IAM user row', () => {
      expect(own(root(), {})).toEqual([]);
      expect(own(user(), { passwordPolicy: { present: false } })).toEqual([]);
    });

    it('raises user-direct-policies on the users the facts list, and not on others or on root', () => {
      const facts: AccountFacts = { usersWithDirectPolicies: ['u'] };
      expect(own(user(), facts)).toEqual(['user-direct-policies']);
      expect(own(user({ user: 'grouped' }), facts)).toEqual([]);
      expect(own(root({ user: 'u' }), facts)).toEqual([]);
      expect(own(user(), {})).toEqual([]);
    });

    it('keeps console-without-mfa beside user-direct-policies', () => {
      const row = consoleUser({ mfa_active: 'false' });
      expect(own(row, { usersWithDirectPolicies: ['u'] })).toEqual([
        'console-without-mfa',
        'user-direct-policies',
      ]);
    });

    it('maps each new finding to its severity, CIS v4.0.1 / v5.0.0 / v6.0.0 / v7.0.0 ids and Security Hub control', () => {
      expect(
        (
          [
            'root-hardware-mfa-missing',
            'password-policy-weak-length',
            'password-policy-no-reuse-prevention',
            'user-direct-policies',
          ] as const
        ).map((id) => [id, FINDING_SEVERITY[id], FINDING_CONTROLS[id]]),
      ).toEqual([
        [
          'root-hardware-mfa-missing',
          'critical',
          { cisV4: '1.6', cisV5: '1.5', cisV6: '2.5', cisV7: '2.6', securityHub: 'IAM.6' },
        ],
        [
          'password-policy-weak-length',
          'medium',
          { cisV4: '1.8', cisV5: '1.7', cisV6: '2.7', cisV7: '2.8', securityHub: 'IAM.15' },
        ],
        [
          'password-policy-no-reuse-prevention',
          'medium',
          { cisV4: '1.9', cisV5: '1.8', cisV6: '2.8', cisV7: '2.9', securityHub: 'IAM.16' },
        ],
        [
          'user-direct-policies',
          'low',
          { cisV4: '1.15', cisV5: '1.14', cisV6: '2.14', cisV7: '2.13', securityHub: 'IAM.2' },
        ],
      ]);
    });
  });

  it('lists every finding once in FINDING_IDS order when a user has many', () => {
    const row = consoleUser({
      mfa_active: 'false',
      password_last_used: ago(100),
      ...key(1, { rotated: ago(400) }),
      ...key(2, { rotated: ago(200), used: ago(60) }),
    });
    expect(findingsOf(row, privileges({ admin: true, rdsRead: true }))).toEqual([
      'console-without-mfa',
      'key-created-at-setup',
      'credential-unused',
      'multiple-active-keys',
      'key-not-rotated',
      'privileged-key',
      'data-read-key',
    ]);
  });

  it('finds what is expected in every row when given the real-format fixture report', () => {
    const text = readFileSync(join(__dirname, '../../fixtures/reports/normal.csv'), 'utf8');
    const { rows } = parseCredentialReport(text, ACCOUNT);
    const p = (name: string): UserPrivileges | undefined =>
      name === 'deploy-bot' ? privileges({ userName: name, admin: true, dynamodbRead: true }) : undefined;
    const byUser = Object.fromEntries(
      rows.map((r) => {
        const ev = evaluateUser(r, p(r.user), NOW, T);
        return [
          r.user,
          { findings: ev.findings, keys: ev.keys.map((k) => [k.slot, k.findings]), active: ev.activeKeys },
        ];
      }),
    );
    expect(byUser).toEqual({
      [ROOT_USER]: { findings: ['root-recently-used'], keys: [], active: 0 },
      alice: { findings: [], keys: [[1, []]], active: 1 },
      bob: {
        findings: [
          'console-without-mfa',
          'key-created-at-setup',
          'credential-unused',
          'multiple-active-keys',
          'key-not-rotated',
        ],
        keys: [
          [1, ['multiple-active-keys', 'key-not-rotated']],
          [2, ['key-created-at-setup', 'credential-unused', 'multiple-active-keys', 'key-not-rotated']],
        ],
        active: 2,
      },
      carol: {
        findings: [],
        keys: [
          [1, []],
          [2, []],
        ],
        active: 1,
      },
      'deploy-bot': {
        findings: ['key-not-rotated', 'privileged-key', 'data-read-key'],
        keys: [
          [1, []],
          [2, ['key-not-rotated', 'privileged-key', 'data-read-key']],
        ],
        active: 1,
      },
      '=erin': { findings: [], keys: [], active: 0 },
    });
    const carol = evaluateUser(rows[3]!, undefined, NOW, T);
    expect(carol.daysSinceLastActivity).toBe(274);
  });

  describe('on generated rows', () => {
    const cellTime = fc.oneof(
      fc.constant('N/A'),
      fc.integer({ min: 0, max: 500 }).map((d) => ago(d)),
    );
    const bool = fc.constantFrom('true', 'false', 'TRUE', 'False');
    const generatedRow = fc
      .record({
        isRoot: fc.boolean(),
        password_enabled: bool,
        password_last_used: fc.oneof(cellTime, fc.constant('no_information')),
        password_last_changed: cellTime,
        mfa_active: bool,
        access_key_1_active: bool,
        access_key_1_last_rotated: cellTime,
        access_key_1_last_used_date: cellTime,
        access_key_2_active: bool,
        access_key_2_last_rotated: cellTime,
        access_key_2_last_used_date: cellTime,
      })
      .map(({ isRoot, ...cells }) =>
        isRoot
          ? root({ ...cells, password_enabled: 'not_supported', password_last_changed: 'not_supported' })
          : user(cells),
      );
    const generatedPrivileges = fc.option(
      fc
        .record({
          admin: fc.boolean(),
          s3Read: fc.boolean(),
          rdsRead: fc.boolean(),
          dynamodbRead: fc.boolean(),
        })
        .map(privileges),
      { nil: undefined },
    );

    it('orders findings as FINDING_IDS without duplicates and includes every key finding', () => {
      fc.assert(
        fc.property(generatedRow, generatedPrivileges, (row, p) => {
          const ev = evaluateUser(row, p, NOW, T);
          const order = ev.findings.map((f) => FINDING_IDS.indexOf(f));
          const sorted = order.every((v, i) => i === 0 || v > order[i - 1]!);
          const keyOk = ev.keys.every((k) => {
            const ko = k.findings.map((f) => FINDING_IDS.indexOf(f));
            return (
              ko.every((v, i) => i === 0 || v > ko[i - 1]!) &&
              k.findings.every((f) => ev.findings.includes(f))
            );
          });
          return sorted && keyOk;
        }),
        { numRuns: 1000 },
      );
    });

    it('gives each key the findings evaluateKey gives for the same facts', () => {
      fc.assert(
        fc.property(generatedRow, generatedPrivileges, (row, p) => {
          const ev = evaluateUser(row, p, NOW, T);
          const ctx = {
            isRoot: ev.isRoot,
            passwordEnabled: !ev.isRoot && row.password_enabled.toLowerCase() === 'true',
            bothActive: ev.keys.filter((k) => k.facts.active).length === 2,
            ...(p === undefined ? {} : { privileges: p }),
          };
          return ev.keys.every(
            (k) => JSON.stringify(evaluateKey(k.facts, ctx, NOW, T)) === JSON.stringify(k.findings),
          );
        }),
        { numRuns: 1000 },
      );
    });
  });
});

describe('evaluateKey', () => {
  const facts = (over: Partial<KeyFacts> = {}): KeyFacts => ({
    slot: 1,
    active: true,
    lastRotated: new Date(NOW.getTime() - 100 * DAY),
    lastUsed: new Date(NOW.getTime() - 50 * DAY),
    ...over,
  });
  const ctx = { isRoot: false, passwordEnabled: false, bothActive: false };

  it('returns the key findings when given a key the report does not show', () => {
    expect(evaluateKey(facts(), ctx, NOW, T)).toEqual(['credential-unused', 'key-not-rotated']);
  });

  it('returns root, setup, multiple and privilege findings when the context says so', () => {
    const k = facts({ lastRotated: new Date(NOW.getTime() - 8 * DAY) });
    delete (k as { lastUsed?: Date }).lastUsed;
    const p = privileges({ admin: true, s3Read: true });
    expect(
      evaluateKey(k, { isRoot: true, passwordEnabled: true, bothActive: true, privileges: p }, NOW, T),
    ).toEqual([
      'root-access-key',
      'key-created-at-setup',
      'multiple-active-keys',
      'privileged-key',
      'data-read-key',
    ]);
  });

  it('returns nothing when the key is inactive', () => {
    expect(evaluateKey(facts({ active: false }), { ...ctx, bothActive: true }, NOW, T)).toEqual([]);
  });

  it('returns a fresh array the caller may change', () => {
    const first = evaluateKey(facts(), ctx, NOW, T);
    first.push('privileged-key');
    expect(evaluateKey(facts(), ctx, NOW, T)).toEqual(['credential-unused', 'key-not-rotated']);
  });

  it('raises no age finding when the key has no rotation date and was used lately', () => {
    const k: KeyFacts = { slot: 2, active: true, lastUsed: new Date(NOW.getTime() - DAY) };
    expect(evaluateKey(k, ctx, NOW, T)).toEqual([]);
  });
});
