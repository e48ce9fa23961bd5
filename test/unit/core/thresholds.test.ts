import { z } from 'zod';
import { DigestEnvSchema } from '../../../aggregator/env';
import { parseThresholdOptions, THRESHOLD_HELP, THRESHOLD_OPTIONS, thresholdOption } from '../../../cli/args';
import {
  DEFAULT_THRESHOLDS,
  THRESHOLD_NAMES,
  THRESHOLD_SPECS,
  ThresholdsSchema,
  thresholdSchema,
} from '../../../core/thresholds';

// core/thresholds.ts is the one source of the thresholds' defaults and bounds: the Lambda environment
// and the CLI options must agree with it for every threshold.
const ENV_NAME = {
  rotationDays: 'ROTATION_DAYS',
  unusedDays: 'UNUSED_DAYS',
  graceDays: 'GRACE_DAYS',
  rootUseDays: 'ROOT_USE_DAYS',
  staleHours: 'STALE_HOURS',
} as const;
const digestEnv = { REPORT_BUCKET: 'hub-reports', ORGANIZATION_ID: 'o-abcdefghij' };

describe('threshold specs', () => {
  it('give the defaults of the core schema, of the digest environment and of the CLI', () => {
    const env = DigestEnvSchema.parse(digestEnv);
    const cli = parseThresholdOptions({});
    for (const name of THRESHOLD_NAMES) {
      expect(DEFAULT_THRESHOLDS[name]).toBe(THRESHOLD_SPECS[name].default);
      expect(env[ENV_NAME[name]]).toBe(THRESHOLD_SPECS[name].default);
      expect(cli[name]).toBe(THRESHOLD_SPECS[name].default);
    }
  });

  it.each(THRESHOLD_NAMES)('hold %s to the same lower bound everywhere', (name) => {
    const spec = THRESHOLD_SPECS[name];
    const lowest = spec.exclusiveMin ? (spec.integer ? spec.min + 1 : spec.min + 0.5) : spec.min;
    const below = spec.exclusiveMin ? spec.min : spec.min - 1;
    expect(ThresholdsSchema.safeParse({ [name]: lowest }).success).toBe(true);
    expect(ThresholdsSchema.safeParse({ [name]: below }).success).toBe(false);
    expect(DigestEnvSchema.safeParse({ ...digestEnv, [ENV_NAME[name]]: String(lowest) }).success).toBe(true);
    expect(DigestEnvSchema.safeParse({ ...digestEnv, [ENV_NAME[name]]: String(below) }).success).toBe(false);
    const option = thresholdOption(name);
    expect(parseThresholdOptions({ [option]: String(lowest) })[name]).toBe(lowest);
    expect(() => parseThresholdOptions({ [option]: String(below) })).toThrow(`--${option}`);
  });

  it('reject fractions of whole-number thresholds and accept them for the others', () => {
    for (const name of THRESHOLD_NAMES) {
      const accepted = thresholdSchema(name, z.number()).safeParse(
        THRESHOLD_SPECS[name].default + 0.5,
      ).success;
      expect(accepted).toBe(!THRESHOLD_SPECS[name].integer);
    }
  });

  it('give every threshold a CLI option and a help line with its default', () => {
    expect(Object.keys(THRESHOLD_OPTIONS)).toEqual(THRESHOLD_NAMES.map(thresholdOption));
    // One entry per threshold, its description wrapped onto continuation lines where long.
    const entries = THRESHOLD_HELP.split(/\n(?= {2}--)/).map((entry) => entry.replace(/\s+/g, ' '));
    expect(entries).toHaveLength(THRESHOLD_NAMES.length);
    THRESHOLD_NAMES.forEach((name, i) => {
      expect(entries[i]).toContain(`--${thresholdOption(name)} `);
      expect(entries[i]).toContain(`(default ${THRESHOLD_SPECS[name].default})`);
    });
  });
});
