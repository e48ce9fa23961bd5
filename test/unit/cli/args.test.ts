import {
  parseCisVersionOption,
  parseAccountIdsOption,
  parseChoiceOption,
  parseCommandLine,
  parseDateOption,
  parseIntegerOption,
  parseListOption,
  parseNumberOption,
  parseThresholdOptions,
  THRESHOLD_OPTIONS,
} from '../../../cli/args';
import { UsageError } from '../../../cli/command';
import { DEFAULT_THRESHOLDS } from '../../../core/thresholds';

const SPEC = {
  out: { type: 'string', short: 'o' },
  force: { type: 'boolean' },
  tag: { type: 'string', multiple: true },
} as const;

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseCommandLine', () => {
  it('returns typed values and positionals when the command line is right', () => {
    const { values, positionals } = parseCommandLine(
      ['a', '-o', 'dir', '--force', '--tag', 'x', '--tag=y', 'b'],
      SPEC,
      { min: 1, max: 5 },
    );
    expect(values).toEqual({ out: 'dir', force: true, tag: ['x', 'y'] });
    expect(positionals).toEqual(['a', 'b']);
  });

  it.each([
    [['--outt', 'x'], "unknown option '--outt' (did you mean --out?)"],
    [['--zzzzzzzz'], "unknown option '--zzzzzzzz'"],
    [['--out'], 'option --out needs a value'],
    [['-o'], 'option --out needs a value'],
    [['-x'], "unknown option '-x'"],
    [['--out', '--force'], 'option --out needs a value'],
    [['--out='], 'option --out needs a value'],
    [['--force=yes'], 'option --force takes no value'],
    [['--out', 'a', '--out', 'b'], 'option --out given more than once'],
    [['stray'], "unexpected argument 'stray'"],
  ])('throws a UsageError for %j', (argv, message) => {
    expect(usage(() => parseCommandLine(argv, SPEC))).toBe(message);
  });

  it('checks the number of positionals', () => {
    expect(usage(() => parseCommandLine([], SPEC, { name: 'input', min: 1, max: 3 }))).toBe('missing input');
    expect(usage(() => parseCommandLine(['a', 'b', 'c'], SPEC, { name: 'input', max: 2 }))).toBe(
      'too many inputs: at most 2, got 3',
    );
  });
});

describe('negative numbers after an option', () => {
  const NUMERIC = { 'rotation-days': { type: 'string' }, flag: { type: 'boolean' } } as const;
  it('takes -5 as the value of the option before it, not as a missing value', () => {
    expect(parseCommandLine(['--rotation-days', '-5'], NUMERIC).values['rotation-days']).toBe('-5');
    expect(parseCommandLine(['--rotation-days', '-.5'], NUMERIC).values['rotation-days']).toBe('-.5');
  });
  it('still refuses an option name where a value belongs', () => {
    expect(usage(() => parseCommandLine(['--rotation-days', '--flag'], NUMERIC))).toBe(
      'option --rotation-days needs a value',
    );
  });
  it('leaves arguments after -- alone', () => {
    expect(parseCommandLine(['--', '--rotation-days', '-5'], NUMERIC, { max: 2 }).positionals).toEqual([
      '--rotation-days',
      '-5',
    ]);
  });
});

describe('value options', () => {
  it('parses whole numbers within bounds', () => {
    expect(parseIntegerOption('n', '42', { min: 1 })).toBe(42);
    expect(usage(() => parseIntegerOption('n', '4.2'))).toBe("option --n must be a whole number, got '4.2'");
    expect(usage(() => parseIntegerOption('n', 'ten'))).toMatch(/whole number/);
    expect(usage(() => parseIntegerOption('n', '0', { min: 1 }))).toBe(
      "option --n must be a positive whole number, got '0'",
    );
    expect(usage(() => parseIntegerOption('n', '1', { min: 2 }))).toBe(
      'option --n must be at least 2, got 1',
    );
    expect(usage(() => parseIntegerOption('n', '11', { max: 10 }))).toBe(
      'option --n must be at most 10, got 11',
    );
  });

  it('parses decimal numbers', () => {
    expect(parseNumberOption('h', '1.5')).toBe(1.5);
    expect(usage(() => parseNumberOption('h', ''))).toMatch(/must be a number/);
    expect(usage(() => parseNumberOption('h', 'Infinity'))).toMatch(/must be a number/);
  });

  it('parses ISO 8601 times as UTC when no offset is given', () => {
    expect(parseDateOption('now', '2024-05-01').toISOString()).toBe('2024-05-01T00:00:00.000Z');
    expect(parseDateOption('now', '2024-05-01T06:30').toISOString()).toBe('2024-05-01T06:30:00.000Z');
    expect(parseDateOption('now', '2024-05-01T06:30:00+02:00').toISOString()).toBe(
      '2024-05-01T04:30:00.000Z',
    );
    expect(parseDateOption('now', ' 2024-05-01 06:30:00.25-01:30 ').toISOString()).toBe(
      '2024-05-01T08:00:00.250Z',
    );
    expect(parseDateOption('now', '2024-02-29t23:59:59z').toISOString()).toBe('2024-02-29T23:59:59.000Z');
  });

  it.each([
    ['a word', 'tomorrow'],
    ['a date without zero padding', '2024-5-1'],
    ['an hour without minutes', '2024-05-01T06Z'],
    ['a time zone name', '2024-05-01T06:00:00 UTC'],
    ['an empty value', ' '],
  ])('rejects %s as --now with an example of the format', (_label, raw) => {
    expect(usage(() => parseDateOption('now', raw))).toBe(
      `option --now must be an ISO 8601 time such as 2024-05-01T06:00:00Z, got '${raw}'`,
    );
  });

  it.each([
    ['a month 13', '2024-13-01'],
    ['30 February', '2024-02-30'],
    ['29 February of a common year', '2023-02-29'],
    ['31 April', '2024-04-31T00:00'],
    ['hour 24', '2024-05-01T24:00:00Z'],
    ['minute 60', '2024-05-01T23:60Z'],
    ['second 60', '2024-05-01T23:59:60Z'],
    ['an offset of 25 hours', '2024-05-01T06:00:00+25:00'],
  ])('rejects %s as --now rather than rolling it over to another day', (_label, raw) => {
    expect(usage(() => parseDateOption('now', raw))).toBe(
      `option --now is not a real date and time (a day, hour, minute, second or offset out of range), got '${raw}'`,
    );
  });

  it('parses lists, account ids and choices', () => {
    expect(parseListOption('tag-keys', ' a, b,,a ')).toEqual(['a', 'b']);
    expect(usage(() => parseListOption('tag-keys', ' , '))).toMatch(/needs at least one value/);
    expect(parseAccountIdsOption('accounts', '111122223333,444455556666')).toEqual([
      '111122223333',
      '444455556666',
    ]);
    expect(usage(() => parseAccountIdsOption('accounts', '1234,111122223333'))).toBe(
      'option --accounts: not a 12-digit account id: 1234',
    );
    expect(parseChoiceOption('format', 'json', ['json', 'table'])).toBe('json');
    expect(usage(() => parseChoiceOption('format', 'xml', ['json', 'table']))).toBe(
      "option --format must be one of json, table, got 'xml'",
    );
  });

  it('parses --cis-version as v4.0.1, v5.0.0, v6.0.0 or v7.0.0 (with or without the v) and refuses other versions', () => {
    expect(parseCisVersionOption(undefined)).toBeUndefined();
    expect(parseCisVersionOption('v4.0.1')).toBe('v4.0.1');
    expect(parseCisVersionOption('5.0.0')).toBe('v5.0.0');
    expect(parseCisVersionOption('v6.0.0')).toBe('v6.0.0');
    expect(parseCisVersionOption('7.0.0')).toBe('v7.0.0');
    expect(usage(() => parseCisVersionOption('1.4'))).toMatch(
      /--cis-version must be one of v4\.0\.1, v5\.0\.0, v6\.0\.0, v7\.0\.0, got '1\.4'/,
    );
  });

  it('builds thresholds from the threshold options with defaults for the rest', () => {
    const { values } = parseCommandLine(
      ['--rotation-days', '30', '--stale-hours', '12.5'],
      THRESHOLD_OPTIONS,
    );
    expect(parseThresholdOptions(values)).toEqual({
      ...DEFAULT_THRESHOLDS,
      rotationDays: 30,
      staleHours: 12.5,
    });
    expect(parseThresholdOptions({})).toEqual(DEFAULT_THRESHOLDS);
    expect(parseThresholdOptions({ 'grace-days': '0' }).graceDays).toBe(0);
    expect(usage(() => parseThresholdOptions({ 'unused-days': '0' }))).toBe(
      "option --unused-days must be a positive whole number, got '0'",
    );
    expect(usage(() => parseThresholdOptions({ 'stale-hours': '-1' }))).toBe(
      'option --stale-hours must be greater than 0, got -1',
    );
  });
});
