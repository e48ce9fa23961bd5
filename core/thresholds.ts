import { z } from 'zod';

/** Thresholds of the findings (ARCHITECTURE §7) and of coverage freshness. */
export const ThresholdsSchema = z
  .object({
    /** An active key older than this many days is `key-not-rotated` (CIS 1.14). */
    rotationDays: z.number().int().positive().default(90),
    /** A password or active key unused for this many days is `credential-unused` (CIS 1.12). */
    unusedDays: z.number().int().positive().default(45),
    /** Keys younger than this many days are spared `credential-unused` and `key-created-at-setup`. */
    graceDays: z.number().int().nonnegative().default(7),
    /** Root password or key use within this many days is `root-recently-used` (CIS 1.7). */
    rootUseDays: z.number().int().positive().default(30),
    /** A report older than this many hours counts as stale in coverage. */
    staleHours: z.number().positive().default(26),
  })
  .strict();

export type Thresholds = z.infer<typeof ThresholdsSchema>;

export const DEFAULT_THRESHOLDS: Thresholds = ThresholdsSchema.parse({});
