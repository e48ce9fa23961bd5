import * as z from 'zod';

/**
 * One threshold (docs/ARCHITECTURE.md §8): its default, its lower bound and what it means. The core
 * schema, the digest Lambda's environment schema (aggregator/env.ts) and the CLI options (cli/args.ts)
 * are all derived from these, so a default or a minimum is written once.
 */
export interface ThresholdSpec {
  readonly default: number;
  /** Lower bound of the value. */
  readonly min: number;
  /** `min` itself is not valid (the value must be greater than it). */
  readonly exclusiveMin: boolean;
  /** Whole numbers only. */
  readonly integer: boolean;
  /** The unit a value counts, as `--help` shows it after the option (`N` days, `H` hours). */
  readonly placeholder: 'N' | 'H';
  /** What the threshold decides, in `--help` words, naming the placeholder. */
  readonly description: string;
}

/** Thresholds of the findings (docs/ARCHITECTURE.md §7) and of coverage freshness. */
export const THRESHOLD_SPECS = {
  /** An active key older than this many days is `key-not-rotated` (CIS 1.14). */
  rotationDays: {
    default: 90,
    min: 0,
    exclusiveMin: true,
    integer: true,
    placeholder: 'N',
    description: 'an active key older than N days is key-not-rotated',
  },
  /** A password or active key unused for this many days is `credential-unused` (CIS 1.12). */
  unusedDays: {
    default: 45,
    min: 0,
    exclusiveMin: true,
    integer: true,
    placeholder: 'N',
    description: 'a credential unused for N days is credential-unused',
  },
  /** Keys younger than this many days are spared `credential-unused` and `key-created-at-setup`. */
  graceDays: {
    default: 7,
    min: 0,
    exclusiveMin: false,
    integer: true,
    placeholder: 'N',
    description: 'keys younger than N days are spared unused findings',
  },
  /** Root password or key use within this many days is `root-recently-used` (CIS 1.7). */
  rootUseDays: {
    default: 30,
    min: 0,
    exclusiveMin: true,
    integer: true,
    placeholder: 'N',
    description: 'root use within N days is root-recently-used',
  },
  /** A report older than this many hours counts as stale in coverage. */
  staleHours: {
    default: 26,
    min: 0,
    exclusiveMin: true,
    integer: false,
    placeholder: 'H',
    description: 'a report older than H hours counts as stale',
  },
} as const satisfies Record<string, ThresholdSpec>;

/** Name of a threshold, as in {@link Thresholds}. */
export type ThresholdName = keyof typeof THRESHOLD_SPECS;

/** Every threshold name, in the order of {@link THRESHOLD_SPECS}. */
export const THRESHOLD_NAMES = Object.keys(THRESHOLD_SPECS) as ThresholdName[];

/**
 * The schema of threshold `name` over `base` (`z.number()`, or `z.coerce.number()` for environment
 * strings): its bounds and its default.
 */
export function thresholdSchema<S extends z.ZodNumber | z.ZodCoercedNumber>(
  name: ThresholdName,
  base: S,
): z.ZodDefault<S> {
  const spec: ThresholdSpec = THRESHOLD_SPECS[name];
  const whole = spec.integer ? base.int() : base;
  const bounded = spec.exclusiveMin ? whole.gt(spec.min) : whole.min(spec.min);
  return (bounded as S).default(spec.default) as z.ZodDefault<S>;
}

export const ThresholdsSchema = z
  .object(
    Object.fromEntries(THRESHOLD_NAMES.map((name) => [name, thresholdSchema(name, z.number())])) as {
      [K in ThresholdName]: z.ZodDefault<z.ZodNumber>;
    },
  )
  .strict();

export type Thresholds = z.infer<typeof ThresholdsSchema>;

export const DEFAULT_THRESHOLDS: Thresholds = ThresholdsSchema.parse({});
