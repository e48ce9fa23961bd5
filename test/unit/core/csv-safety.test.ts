import fc from 'fast-check';
import { neutraliseCell } from '../../../core/csv-safety';

const DANGEROUS = ['=', '+', '-', '@', '\t', '\r', '\uff1d', '\uff0b', '\uff0d', '\uff20'];

/** Strings that often start with a dangerous character. */
const cellText = fc.oneof(
  fc.string(),
  fc.tuple(fc.constantFrom(...DANGEROUS), fc.string()).map(([c, s]) => c + s),
  fc.string({ unit: fc.constantFrom(...DANGEROUS, "'", 'a', ' ', '\n', '1', '\uff1e') }),
);

describe('neutraliseCell', () => {
  it.each([
    ['=SUM(A1:A2)', "'=SUM(A1:A2)"],
    ['+1-555', "'+1-555"],
    ['-2+3', "'-2+3"],
    ['@cmd', "'@cmd"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ['=erin', "'=erin"],
    ['\uff1dHYPERLINK("http://x")', '\'\uff1dHYPERLINK("http://x")'],
    ['\uff0b1', "'\uff0b1"],
    ['\uff0d1', "'\uff0d1"],
    ['\uff20SUM(A1)', "'\uff20SUM(A1)"],
  ])('prefixes a quote when the cell starts with a formula character (%j)', (input, output) => {
    expect(neutraliseCell(input)).toBe(output);
  });

  it.each(['alice', '', 'N/A', '2024-01-15T10:20:30+00:00', "'=already", ' =x', 'a=b', '\n=x', '123'])(
    'leaves %j unchanged when it does not start with a formula character',
    (input) => {
      expect(neutraliseCell(input)).toBe(input);
    },
  );

  it('never returns a cell that starts with a formula character', () => {
    fc.assert(
      fc.property(cellText, (s) => {
        const out = neutraliseCell(s);
        return out === '' || !DANGEROUS.includes(out[0]!);
      }),
      { numRuns: 2000 },
    );
  });

  it('changes a cell only by a leading quote, and only when it starts with a formula character', () => {
    fc.assert(
      fc.property(cellText, (s) => {
        const out = neutraliseCell(s);
        const dangerous = s !== '' && DANGEROUS.includes(s[0]!);
        return dangerous ? out === `'${s}` : out === s;
      }),
      { numRuns: 2000 },
    );
  });
});
