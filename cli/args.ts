/**
 * Small typed command-line parser shared by every `credreport` command: node:util `parseArgs` in strict
 * mode, with every failure turned into a {@link UsageError} whose message names the option and what is
 * wrong with it, plus converters for the value kinds the commands take (whole numbers, ISO times,
 * comma-separated lists, account ids, thresholds).
 */
import { parseArgs } from 'node:util';
import {
  THRESHOLD_NAMES,
  THRESHOLD_SPECS,
  type ThresholdName,
  type Thresholds,
  type ThresholdSpec,
} from '../core/thresholds';
import { EXIT, UsageError } from './command';
import {
  CIS_VERSIONS,
  DEFAULT_CIS_VERSION,
  SEVERITIES,
  type CisVersion,
  type Severity,
} from '../core/finding-ids';

/** One option of a command. Long name is the key of the spec object. */
export type OptionSpec =
  | { readonly type: 'string'; readonly short?: string; readonly multiple?: boolean }
  | { readonly type: 'boolean'; readonly short?: string };

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed value of each option: absent when not given. */
export type OptionValues<O extends OptionSpecs> = {
  readonly [K in keyof O]?: O[K] extends { readonly type: 'boolean' }
    ? boolean
    : O[K] extends { readonly multiple: true }
      ? string[]
      : string;
};

export interface ParsedCommandLine<O extends OptionSpecs> {
  readonly values: OptionValues<O>;
  readonly positionals: readonly string[];
}

export interface PositionalSpec {
  /** How positionals are called in messages, e.g. `input file or directory`. @default 'argument' */
  readonly name?: string;
  /** @default 0 */
  readonly min?: number;
  /** @default 0 (no positionals accepted) */
  readonly max?: number;
}

/** Edit distance, for "did you mean" hints on unknown options. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function suggestion(unknown: string, options: OptionSpecs): string {
  const bare = unknown.replace(/^-+/, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of Object.keys(options)) {
    const d = distance(bare, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(bare.length / 3))
    ? ` (did you mean --${best}?)`
    : '';
}

/** The option a node:util parseArgs message is about, as `--long` when the spec knows it. */
function optionIn(message: string, options: OptionSpecs): string | undefined {
  const long = /'(?:-\w, )?--([^' <=]+)/.exec(message)?.[1];
  if (long !== undefined) return `--${long}`;
  const short = /'-([^-' ])/.exec(message)?.[1];
  if (short === undefined) return undefined;
  const name = Object.entries(options).find(([, spec]) => spec.short === short)?.[0];
  return name !== undefined ? `--${name}` : `-${short}`;
}

function translate(error: unknown, options: OptionSpecs): UsageError {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const option = optionIn(message, options);
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(
        `unknown option '${option ?? message}'${option ? suggestion(option, options) : ''}`,
      );
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(message))
        return new UsageError(`option ${option ?? '?'} takes no value`);
      return new UsageError(`option ${option ?? '?'} needs a value`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument '${/'([^']*)'/.exec(message)?.[1] ?? message}'`);
    default:
      return new UsageError(message);
  }
}

/** `-5`, `-0.5`: after an option that takes a value, a value (a negative number), not another option. */
const NEGATIVE_NUMBER = /^-(?:\d|\.\d)/;

/**
 * `--rotation-days -5` → `--rotation-days=-5`, so that the value reaches its converter and is refused there
 * for what it is (out of range) rather than taken by node:util for a missing value.
 */
function joinNegativeValues(argv: readonly string[], options: OptionSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const long = /^--([^=]+)$/.exec(arg)?.[1];
    if (
      long !== undefined &&
      options[long]?.type === 'string' &&
      next !== undefined &&
      NEGATIVE_NUMBER.test(next)
    ) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * Parses `argv` (the arguments after the command name) against `options`. Throws UsageError for an
 * unknown option, a missing or empty value, a value given to a flag, a repeated single-valued option,
 * or too few / too many positionals.
 */
export function parseCommandLine<const O extends OptionSpecs>(
  argv: readonly string[],
  options: O,
  positionals: PositionalSpec = {},
): ParsedCommandLine<O> {
  const { name = 'argument', min = 0, max = 0 } = positionals;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, options),
      options: options as Record<string, OptionSpec>,
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (error) {
    throw translate(error, options);
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    if (spec?.type === 'string' && (token.value === undefined || token.value === '')) {
      throw new UsageError(`option --${token.name} needs a value`);
    }
    if (spec && !(spec.type === 'string' && spec.multiple) && seen.has(token.name)) {
      throw new UsageError(`option --${token.name} given more than once`);
    }
    seen.add(token.name);
  }
  const given = parsed.positionals;
  if (given.length > max) {
    const extra = given[max] ?? '';
    throw new UsageError(
      max === 0 ? `unexpected argument '${extra}'` : `too many ${name}s: at most ${max}, got ${given.length}`,
    );
  }
  if (given.length < min) {
    throw new UsageError(
      min === 1 ? `missing ${name}` : `expected at least ${min} ${name}s, got ${given.length}`,
    );
  }
  return { values: parsed.values as OptionValues<O>, positionals: given };
}

/** A whole number option (`--stale-hours 26`). */
export function parseIntegerOption(
  name: string,
  raw: string,
  bounds: { readonly min?: number; readonly max?: number } = {},
): number {
  const trimmed = raw.trim();
  const value = Number(trimmed);
  if (!/^[-+]?\d+$/.test(trimmed) || !Number.isSafeInteger(value)) {
    throw new UsageError(`option --${name} must be a whole number, got '${raw}'`);
  }
  if (bounds.min === 1 && value < 1) {
    throw new UsageError(`option --${name} must be a positive whole number, got '${raw}'`);
  }
  return checkBounds(name, value, bounds);
}

/** A decimal number option (`--stale-hours 1.5`). */
export function parseNumberOption(
  name: string,
  raw: string,
  bounds: { readonly min?: number; readonly max?: number } = {},
): number {
  const trimmed = raw.trim();
  const value = Number(trimmed);
  if (trimmed === '' || !Number.isFinite(value)) {
    throw new UsageError(`option --${name} must be a number, got '${raw}'`);
  }
  return checkBounds(name, value, bounds);
}

function checkBounds(
  name: string,
  value: number,
  bounds: { readonly min?: number; readonly max?: number },
): number {
  if (bounds.min !== undefined && value < bounds.min) {
    throw new UsageError(`option --${name} must be at least ${bounds.min}, got ${value}`);
  }
  if (bounds.max !== undefined && value > bounds.max) {
    throw new UsageError(`option --${name} must be at most ${bounds.max}, got ${value}`);
  }
  return value;
}

/** `2024-05-01`, `2024-05-01T06:30`, `2024-05-01 06:30:00.5+02:00`, `2024-05-01T06:30:00Z` (T and Z any case). */
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))?)?$/i;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * An ISO 8601 date or time option (`--now 2024-05-01T06:00:00Z`, or `2024-05-01` = midnight UTC).
 * A time without an offset is read as UTC so that results do not depend on the machine's time zone.
 * Fields are range-checked: `2024-02-30` or `24:00` is an error, not silently the next day.
 */
export function parseDateOption(name: string, raw: string): Date {
  const match = ISO_DATE.exec(raw.trim());
  if (!match) {
    throw new UsageError(
      `option --${name} must be an ISO 8601 time such as 2024-05-01T06:00:00Z, got '${raw}'`,
    );
  }
  const field = (group: number): number => Number(match[group] ?? 0);
  const year = field(1);
  const month = field(2);
  const day = field(3);
  const hour = field(4);
  const minute = field(5);
  const second = field(6);
  const offsetHour = field(10);
  const offsetMinute = field(11);
  const fraction = match[7] ?? '';
  const sign = match[9] === '-' ? -1 : 1;
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHour > 23 ||
    offsetMinute > 59
  ) {
    throw new UsageError(
      `option --${name} is not a real date and time (a day, hour, minute, second or offset out of range), got '${raw}'`,
    );
  }
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number(fraction.padEnd(3, '0').slice(0, 3)));
  return new Date(date.getTime() - sign * (offsetHour * 60 + offsetMinute) * 60_000);
}

/** A comma-separated list option (`--tag-keys Environment,Owner`); blanks dropped, duplicates removed. */
export function parseListOption(name: string, raw: string): string[] {
  const items = [...new Set(raw.split(',').map((s) => s.trim()))].filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`option --${name} needs at least one value, got '${raw}'`);
  return items;
}

/** A comma-separated list of 12-digit AWS account ids. */
export function parseAccountIdsOption(name: string, raw: string): string[] {
  const ids = parseListOption(name, raw);
  const bad = ids.filter((id) => !/^\d{12}$/.test(id));
  if (bad.length > 0) throw new UsageError(`option --${name}: not a 12-digit account id: ${bad.join(', ')}`);
  return ids;
}

/** One of a fixed set of values. */
export function parseChoiceOption<const T extends string>(
  name: string,
  raw: string,
  choices: readonly T[],
): T {
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  throw new UsageError(`option --${name} must be one of ${choices.join(', ')}, got '${raw}'`);
}

/** `rotationDays` → `rotation-days`. */
type Kebab<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `-${Lowercase<Head>}`}${Kebab<Tail>}`
  : S;

/** The CLI option of each threshold, e.g. `rotationDays` → `--rotation-days`. */
export type ThresholdOption = Kebab<ThresholdName>;

/** The option name of threshold `name`. */
export function thresholdOption<K extends ThresholdName>(name: K): Kebab<K> {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) as Kebab<K>;
}

/**
 * The finding/coverage threshold options every report-producing command accepts (docs/ARCHITECTURE.md §7),
 * one per threshold of core/thresholds.ts (docs/ARCHITECTURE.md §8).
 */
export const THRESHOLD_OPTIONS = Object.fromEntries(
  THRESHOLD_NAMES.map((name) => [thresholdOption(name), { type: 'string' }]),
) as { readonly [K in ThresholdOption]: { readonly type: 'string' } };

/** Width every help text fits in (a test holds them to it). */
export const HELP_WIDTH = 80;
/** Column where option descriptions start in the help texts. */
const HELP_COLUMN = 23;

/**
 * One option's help: `  --name ARG` and its description from column 23, wrapped at {@link HELP_WIDTH}
 * (an option too long for the column gets its description on the next line).
 */
export function optionHelp(option: string, description: string): string {
  const lines: string[] = [];
  let line = `  ${option}`;
  if (line.length >= HELP_COLUMN - 1) {
    lines.push(line);
    line = '';
  }
  line = line.padEnd(HELP_COLUMN);
  let empty = true;
  for (const word of description.split(' ')) {
    if (!empty && line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(line);
      line = ' '.repeat(HELP_COLUMN);
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines.join('\n');
}

/** Help lines for {@link THRESHOLD_OPTIONS}, to paste into a command's `--help`. */
export const THRESHOLD_HELP = THRESHOLD_NAMES.map((name) => {
  const spec = THRESHOLD_SPECS[name];
  return optionHelp(
    `--${thresholdOption(name)} ${spec.placeholder}`,
    `${spec.description} (default ${spec.default})`,
  );
}).join('\n');

/**
 * Thresholds from the {@link THRESHOLD_OPTIONS} values, defaults for the ones not given; each value is
 * held to the bounds of its {@link THRESHOLD_SPECS} entry.
 */
export function parseThresholdOptions(values: { readonly [K in ThresholdOption]?: string }): Thresholds {
  const parse = (name: ThresholdName): number => {
    const spec: ThresholdSpec = THRESHOLD_SPECS[name];
    const option = thresholdOption(name);
    const raw = values[option];
    if (raw === undefined) return spec.default;
    if (spec.integer) {
      // For whole numbers "greater than m" is "at least m + 1", the message users are shown.
      return parseIntegerOption(option, raw, { min: spec.exclusiveMin ? spec.min + 1 : spec.min });
    }
    if (!spec.exclusiveMin) return parseNumberOption(option, raw, { min: spec.min });
    const value = parseNumberOption(option, raw);
    if (value <= spec.min) {
      throw new UsageError(`option --${option} must be greater than ${spec.min}, got ${value}`);
    }
    return value;
  };
  return Object.fromEntries(THRESHOLD_NAMES.map((name) => [name, parse(name)])) as Thresholds;
}

/** `--cis-version` of merge, collect and demo: the CIS numbering summary.json and the digest show. */
export const CIS_VERSION_OPTION = { 'cis-version': { type: 'string' } } as const;

/** The help line of `--cis-version`. */
export const CIS_VERSION_HELP = optionHelp(
  '--cis-version V',
  `CIS AWS Foundations numbering shown: ${CIS_VERSIONS.join(' or ')} (default ${DEFAULT_CIS_VERSION})`,
);

/** Parses `--cis-version` (undefined when not given); throws UsageError naming the versions known. */
export function parseCisVersionOption(raw: string | undefined): CisVersion | undefined {
  if (raw === undefined) return undefined;
  const known = CIS_VERSIONS.find((v) => v === raw || v === `v${raw}`);
  if (!known)
    throw new UsageError(`option --cis-version must be one of ${CIS_VERSIONS.join(', ')}, got '${raw}'`);
  return known;
}

/** The output options of every command: `--json`, `--quiet`, `--verbose` (README, "The CLI"). */
export const OUTPUT_OPTIONS = {
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

/** The help lines of {@link OUTPUT_OPTIONS}. */
export const OUTPUT_HELP = [
  optionHelp('--json', 'the result as one JSON object on stdout; everything else goes to stderr'),
  optionHelp('--quiet, -q', 'print only errors and coverage problems (stderr)'),
  optionHelp('--verbose, -v', 'also print details: API call counts, every warning'),
].join('\n');

/** How much a command prints, and whether its result is JSON. */
export interface OutputMode {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
}

/** Parses {@link OUTPUT_OPTIONS}; `--quiet` with `--verbose` is a usage error. */
export function parseOutputOptions(values: {
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
}): OutputMode {
  if (values.quiet && values.verbose) throw new UsageError('--quiet and --verbose cannot be used together');
  return { json: values.json === true, quiet: values.quiet === true, verbose: values.verbose === true };
}

/** `--fail-on SEVERITY` of the commands that produce a summary (merge, collect, demo). */
export const FAIL_ON_OPTION = { 'fail-on': { type: 'string' } } as const;

/** The help lines of {@link FAIL_ON_OPTION}. */
export const FAIL_ON_HELP = optionHelp(
  '--fail-on SEVERITY',
  `exit ${EXIT.findings} when open findings at or above SEVERITY exist: ${SEVERITIES.join(', ')}`,
);

/** Parses `--fail-on` (undefined when not given). */
export function parseFailOnOption(raw: string | undefined): Severity | undefined {
  return raw === undefined ? undefined : parseChoiceOption('fail-on', raw.toLowerCase(), SEVERITIES);
}
