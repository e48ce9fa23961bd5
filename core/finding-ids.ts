/**
 * The finding ids and their bit positions: the one definition that evaluation (core/findings.ts), the
 * delta (core/delta.ts, previous-run masks) and the summary counters (core/summary.ts) share. Bit i is
 * FINDING_IDS[i]; a finding's position is also its index in FINDING_IDS-ordered lists and counters.
 */

/** Every finding of docs/ARCHITECTURE.md §7, in output order (CSV cells, summary.json, digest tables). */
export const FINDING_IDS = [
  'root-access-key',
  'root-mfa-disabled',
  'root-recently-used',
  'console-without-mfa',
  'key-created-at-setup',
  'credential-unused',
  'multiple-active-keys',
  'key-not-rotated',
  'privileged-key',
  'data-read-key',
  'key-quarantined',
] as const;
export type FindingId = (typeof FINDING_IDS)[number];

/** The CIS AWS Foundations control each finding maps to (`undefined`: no CIS control). */
export const FINDING_CIS: Readonly<Record<FindingId, string | undefined>> = {
  'root-access-key': '1.4',
  'root-mfa-disabled': '1.5',
  'root-recently-used': '1.7',
  'console-without-mfa': '1.10',
  'key-created-at-setup': '1.11',
  'credential-unused': '1.12',
  'multiple-active-keys': '1.13',
  'key-not-rotated': '1.14',
  'privileged-key': undefined,
  'data-read-key': undefined,
  'key-quarantined': undefined,
};

/** Index of each finding in FINDING_IDS (its bit position, its slot in per-finding counters). */
export const FINDING_INDEX: Readonly<Record<FindingId, number>> = Object.fromEntries(
  FINDING_IDS.map((id, i) => [id, i]),
) as Record<FindingId, number>;

/** Bit of each finding in a finding mask. */
export const FINDING_BIT: Readonly<Record<FindingId, number>> = Object.fromEntries(
  FINDING_IDS.map((id, i) => [id, 1 << i]),
) as Record<FindingId, number>;

const BIT_BY_NAME = new Map<string, number>(FINDING_IDS.map((id, i) => [id, 1 << i]));

/** Finding ids → bitmask; unknown ids (e.g. in a CSV written by a newer version) are ignored. */
export function findingMask(findings: Iterable<string>): number {
  let mask = 0;
  for (const id of findings) mask |= BIT_BY_NAME.get(id) ?? 0;
  return mask;
}

/** Every mask → its frozen FINDING_IDS-ordered list, built once (2^10 entries). */
const LISTS: readonly (readonly FindingId[])[] = Array.from({ length: 1 << FINDING_IDS.length }, (_, mask) =>
  Object.freeze(FINDING_IDS.filter((_id, i) => (mask & (1 << i)) !== 0)),
);

/**
 * The findings of a mask in FINDING_IDS order, as a shared frozen array (no allocation: this runs once
 * per user of the whole organization). Bits above the known findings are ignored.
 */
export function findingsOfMask(mask: number): readonly FindingId[] {
  return LISTS[mask & (LISTS.length - 1)]!;
}
