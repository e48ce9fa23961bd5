import {
  CIS_VERSIONS,
  cisIdOf,
  FINDING_CONTROLS,
  FINDING_IDS,
  type FindingId,
} from '../../../core/finding-ids';

/**
 * Every CIS cell, written out from the benchmarks as Prowler maps them (prowler-cloud/prowler at 3e000fa,
 * prowler/compliance/aws/cis_{4.0,5.0,6.0,7.0}_aws.json); `undefined` where the version has no such control.
 */
const EXPECTED: Readonly<Record<FindingId, readonly [string?, string?, string?, string?]>> = {
  'root-access-key': ['1.4', '1.3', '2.3', '2.4'],
  'root-mfa-disabled': ['1.5', '1.4', '2.4', '2.5'],
  'root-recently-used': ['1.7', '1.6', '2.6', '2.7'],
  'console-without-mfa': ['1.10', '1.9', '2.9', '2.10'],
  'key-created-at-setup': ['1.11', '1.10', '2.10', undefined],
  'credential-unused': ['1.12', '1.11', '2.11', '2.11'],
  'multiple-active-keys': ['1.13', '1.12', '2.12', undefined],
  'key-not-rotated': ['1.14', '1.13', '2.13', '2.12'],
  'privileged-key': [undefined, undefined, undefined, undefined],
  'data-read-key': [undefined, undefined, undefined, undefined],
  'key-quarantined': [undefined, undefined, undefined, undefined],
  'root-hardware-mfa-missing': ['1.6', '1.5', '2.5', '2.6'],
  'password-policy-weak-length': ['1.8', '1.7', '2.7', '2.8'],
  'password-policy-no-reuse-prevention': ['1.9', '1.8', '2.8', '2.9'],
  'user-direct-policies': ['1.15', '1.14', '2.14', '2.13'],
};

describe('cisIdOf', () => {
  it('knows CIS v4.0.1, v5.0.0, v6.0.0 and v7.0.0', () => {
    expect([...CIS_VERSIONS]).toEqual(['v4.0.1', 'v5.0.0', 'v6.0.0', 'v7.0.0']);
  });

  for (const id of FINDING_IDS) {
    CIS_VERSIONS.forEach((version, i) => {
      const want = EXPECTED[id][i];
      it(`maps ${id} to ${want ?? 'no control'} in CIS ${version}`, () => {
        expect(cisIdOf(id, version)).toBe(want);
      });
    });
  }

  it('gives no v7.0.0 id to the two controls v7.0.0 dropped, and keeps their earlier ids', () => {
    for (const id of ['key-created-at-setup', 'multiple-active-keys'] as const) {
      expect(FINDING_CONTROLS[id]).not.toHaveProperty('cisV7');
      expect(FINDING_CONTROLS[id].cisV6).toBeDefined();
    }
  });
});
