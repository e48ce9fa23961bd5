import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { CREDENTIAL_REPORT_COLUMNS, ROOT_USER } from '../../../core/columns';
import {
  ReportParseError,
  accountIdFromArn,
  detectReportAccountId,
  parseBool,
  parseCredentialReport,
  parseOptionsFor,
} from '../../../core/credential-report';
import { CredreportError } from '../../../core/errors';

const ACCOUNT = '111122223333';
const fixture = (name: string): string =>
  readFileSync(join(__dirname, '../../fixtures/reports', name), 'utf8');
const NORMAL = fixture('normal.csv');
const LINES = NORMAL.split('\n');

/** `base` (default NORMAL) with one cell of one physical line replaced (lines are 1-based, header = 1). */
function withCell(
  line: number,
  column: (typeof CREDENTIAL_REPORT_COLUMNS)[number],
  value: string,
  base: string = NORMAL,
): string {
  const lines = base.split('\n');
  const cells = lines[line - 1]!.split(',');
  cells[CREDENTIAL_REPORT_COLUMNS.indexOf(column)] = value;
  lines[line - 1] = cells.join(',');
  return lines.join('\n');
}

function parseError(text: string, accountId = ACCOUNT): ReportParseError {
  try {
    parseCredentialReport(text, accountId);
  } catch (err) {
    if (err instanceof ReportParseError) return err;
    throw err;
  }
  throw new Error('expected a ReportParseError');
}

describe('parseCredentialReport', () => {
  it('parses every row with the cells kept verbatim when given a report as AWS writes it', () => {
    const report = parseCredentialReport(NORMAL, ACCOUNT);
    expect(report.accountId).toBe(ACCOUNT);
    expect(report.rows.map((r) => r.user)).toEqual([
      ROOT_USER,
      'alice',
      'bob',
      'carol',
      'deploy-bot',
      '=erin',
    ]);
    const [root, alice, bob, carol] = report.rows;
    expect(root).toMatchObject({
      arn: `arn:aws:iam::${ACCOUNT}:root`,
      user_creation_time: '2019-03-01T10:00:00+00:00',
      password_enabled: 'not_supported',
      password_last_changed: 'not_supported',
      password_next_rotation: 'not_supported',
      mfa_active: 'true',
    });
    expect(alice).toMatchObject({
      password_next_rotation: '2024-08-29T09:00:00+00:00',
      access_key_1_last_used_region: 'us-east-1',
      access_key_1_last_used_service: 's3',
    });
    expect(bob!.password_last_used).toBe('no_information');
    expect(carol!.password_last_used).toBe('N/A');
    expect(Object.keys(alice!)).toEqual([...CREDENTIAL_REPORT_COLUMNS]);
  });

  it('returns the same rows when the report has a UTF-8 BOM and CRLF line endings', () => {
    const crlf = fixture('normal-crlf-bom.csv');
    expect(crlf.charCodeAt(0)).toBe(0xfeff);
    expect(crlf).toContain('\r\n');
    expect(parseCredentialReport(crlf, ACCOUNT)).toEqual(parseCredentialReport(NORMAL, ACCOUNT));
  });

  it('reads quoted cells when a user name contains a comma', () => {
    const report = parseCredentialReport(fixture('quoted-cells.csv'), ACCOUNT);
    expect(report.rows.map((r) => r.user)).toEqual([ROOT_USER, 'alice', 'svc,legacy']);
    expect(report.rows[2]!.arn).toBe(`arn:aws:iam::${ACCOUNT}:user/svc,legacy`);
  });

  it('returns no rows when the report has only its header', () => {
    expect(parseCredentialReport(`${LINES[0]}\n`, ACCOUNT).rows).toEqual([]);
  });

  it('accepts the report when the last line has no line break or blank lines follow it', () => {
    expect(parseCredentialReport(NORMAL.trimEnd(), ACCOUNT).rows).toHaveLength(6);
    expect(parseCredentialReport(`${NORMAL}\n\n`, ACCOUNT).rows).toHaveLength(6);
  });

  it('keeps booleans verbatim when they are written in any case', () => {
    const text = withCell(3, 'password_enabled', 'True', withCell(3, 'mfa_active', 'TRUE'));
    const alice = parseCredentialReport(text, ACCOUNT).rows[1]!;
    expect(alice.mfa_active).toBe('TRUE');
    expect(alice.password_enabled).toBe('True');
    expect(
      parseCredentialReport(withCell(4, 'access_key_2_active', 'False'), ACCOUNT).rows[2]!
        .access_key_2_active,
    ).toBe('False');
  });

  it('accepts timestamps when they use Z or fractional seconds', () => {
    const text = withCell(3, 'password_last_used', '2024-05-30T17:45:12.123Z');
    expect(parseCredentialReport(text, ACCOUNT).rows[1]!.password_last_used).toBe('2024-05-30T17:45:12.123Z');
  });

  it('accepts not_supported and no_information in time columns when an emulator writes them', () => {
    const text = withCell(5, 'password_last_used', 'not_supported');
    expect(
      parseCredentialReport(withCell(5, 'cert_1_last_rotated', 'no_information'), ACCOUNT).rows,
    ).toHaveLength(6);
    expect(parseCredentialReport(text, ACCOUNT).rows[3]!.password_last_used).toBe('not_supported');
  });

  it('parses the report when its ARNs are in the aws-cn or aws-us-gov partition', () => {
    for (const partition of ['aws-cn', 'aws-us-gov']) {
      const text = NORMAL.replaceAll('arn:aws:iam::', `arn:${partition}:iam::`);
      expect(parseCredentialReport(text, ACCOUNT).rows[0]!.arn).toBe(`arn:${partition}:iam::${ACCOUNT}:root`);
    }
  });

  describe('rejects with the account, line and column named', () => {
    it('rejects an empty body', () => {
      expect(() => parseCredentialReport('', ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 1: empty report/,
      );
      expect(() => parseCredentialReport('\uFEFF \r\n\n', ACCOUNT)).toThrow(
        /account 111122223333.*line 1: empty/,
      );
    });

    it('rejects a body that is not a credential report when given an HTML error page', () => {
      expect(() => parseCredentialReport(fixture('not-csv.html'), ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 1: not a credential report/,
      );
    });

    it('rejects a body that is not CSV when given JSON', () => {
      expect(() =>
        parseCredentialReport('{"Content": "dXNlcg==", "ReportFormat": "text/csv"}', ACCOUNT),
      ).toThrow(/account 111122223333 rejected: line 1: not valid CSV \(INVALID_OPENING_QUOTE\)/);
    });

    it('rejects a quote that is never closed', () => {
      const text = `${NORMAL}"carol,arn:aws:iam::111122223333:user/carol2\n`;
      expect(() => parseCredentialReport(text, ACCOUNT)).toThrow(
        /account 111122223333 rejected: line \d+: not valid CSV/,
      );
    });

    it('rejects a header with a missing column', () => {
      expect(() => parseCredentialReport(fixture('missing-column.csv'), ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 1, column password_next_rotation: missing column/,
      );
    });

    it('rejects a header with an extra column', () => {
      expect(() => parseCredentialReport(fixture('extra-column.csv'), ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 1, column tags: unknown column/,
      );
    });

    it('rejects a header with reordered columns', () => {
      expect(() => parseCredentialReport(fixture('reordered-columns.csv'), ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 1, column access_key_1_active: column out of order: found at position 8, AWS writes mfa_active there/,
      );
    });

    it('rejects a header with a duplicate column', () => {
      const text = NORMAL.replace('cert_2_active', 'cert_1_active');
      expect(() => parseCredentialReport(text, ACCOUNT)).toThrow(
        /line 1, column cert_1_active: duplicate column/,
      );
    });

    it('does not echo a header cell when it does not look like a column name', () => {
      const text = NORMAL.replace(',cert_2_last_rotated\n', ',<script>x</script>\n');
      const err = parseError(text);
      expect(err.message).toMatch(/line 1, column \(unrecognised\): unknown column/);
      expect(err.message).not.toContain('script');
    });

    it('rejects a truncated line', () => {
      const err = parseError(fixture('truncated-line.csv'));
      expect(err.message).toMatch(
        /account 111122223333 rejected: line 4, column access_key_1_active: truncated line: 8 of 22 cells/,
      );
      expect(err).toMatchObject({ accountId: ACCOUNT, line: 4, column: 'access_key_1_active' });
    });

    it('rejects a report whose download stopped in the middle of a row', () => {
      expect(() => parseCredentialReport(fixture('truncated-body.csv'), ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 6, column user_creation_time: truncated line: 2 of 22 cells/,
      );
    });

    it('rejects a line with more cells than columns', () => {
      const lines = [...LINES];
      lines[2] += ',extra';
      expect(() => parseCredentialReport(lines.join('\n'), ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 3, column cert_2_last_rotated: 23 cells, expected 22/,
      );
    });

    it('rejects a bad timestamp', () => {
      const err = parseError(fixture('bad-timestamp.csv'));
      expect(err.message).toMatch(
        /account 111122223333 rejected: line 5, column access_key_1_last_rotated: not an ISO 8601 timestamp/,
      );
      expect(err.message).not.toContain('2024/05/28');
    });

    it.each([
      ['a day that does not exist', 'password_last_used', '2023-02-29T10:00:00+00:00'],
      ['an hour out of range', 'password_last_used', '2024-05-30T24:00:00+00:00'],
      ['a date without time', 'access_key_1_last_used_date', '2024-05-30'],
      ['an unknown token', 'access_key_1_last_used_date', 'never'],
      ['an empty cell', 'password_last_changed', ''],
      ['N/A where AWS always writes a time', 'user_creation_time', 'N/A'],
    ] as const)('rejects %s in a time column', (_label, column, value) => {
      expect(() => parseCredentialReport(withCell(3, column, value), ACCOUNT)).toThrow(
        new RegExp(`account 111122223333 rejected: line 3, column ${column}: not an ISO 8601 timestamp`),
      );
    });

    it.each([
      ['mfa_active', 'yes'],
      ['access_key_1_active', '1'],
      ['cert_2_active', 'N/A'],
      ['mfa_active', 'not_supported'],
      ['password_enabled', 'maybe'],
    ] as const)('rejects %s = %s when a boolean column is not true or false', (column, value) => {
      expect(() => parseCredentialReport(withCell(4, column, value), ACCOUNT)).toThrow(
        new RegExp(`account 111122223333 rejected: line 4, column ${column}: not true(, false)? or`),
      );
    });

    it.each([
      ['an S3 ARN', 'arn:aws:s3:::my-bucket'],
      ['an IAM role ARN', 'arn:aws:iam::111122223333:role/admin'],
      ['a non-ARN', 'bob'],
      ['an ARN with an 11-digit account', 'arn:aws:iam::11112222333:user/bob'],
    ])('rejects %s in the arn column', (_label, value) => {
      expect(() => parseCredentialReport(withCell(4, 'arn', value), ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 4, column arn: not the ARN of an IAM user or root user/,
      );
    });

    it('rejects an empty user cell', () => {
      expect(() => parseCredentialReport(withCell(5, 'user', ''), ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 5, column user: empty user name/,
      );
    });

    it('rejects a duplicate user', () => {
      expect(() => parseCredentialReport(withCell(5, 'user', 'bob'), ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 5, column user: duplicate user/,
      );
    });

    it('rejects a root ARN on a user row and a root row without a root ARN', () => {
      expect(() =>
        parseCredentialReport(withCell(3, 'arn', `arn:aws:iam::${ACCOUNT}:root`), ACCOUNT),
      ).toThrow(/line 3, column arn: a root ARN on a row that is not <root_account>/);
      expect(() =>
        parseCredentialReport(withCell(2, 'arn', `arn:aws:iam::${ACCOUNT}:user/root`), ACCOUNT),
      ).toThrow(/line 2, column arn: <root_account> without a root ARN/);
    });

    it('rejects the report when the account id given disagrees with its ARNs', () => {
      const err = parseError(NORMAL, '444455556666');
      expect(err.message).toMatch(
        /account 444455556666 rejected: line 2, column arn: the ARN belongs to account 111122223333, not 444455556666/,
      );
      expect(err.accountId).toBe('444455556666');
    });

    it('rejects the report when one row belongs to another account', () => {
      const text = withCell(6, 'arn', 'arn:aws:iam::999999999999:user/service/deploy-bot');
      expect(() => parseCredentialReport(text, ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 6, column arn: the ARN belongs to account 999999999999/,
      );
    });

    it('rejects an account id that is not 12 digits', () => {
      expect(() => parseCredentialReport(NORMAL, '1234')).toThrow(
        /account "1234" rejected: the account id is not 12 digits/,
      );
    });

    it('rejects an empty line inside the report', () => {
      const lines = [...LINES];
      lines.splice(3, 0, '');
      expect(() => parseCredentialReport(lines.join('\n'), ACCOUNT)).toThrow(
        /account 111122223333 rejected: line 4: empty line inside the report/,
      );
      expect(() => parseCredentialReport(`\uFEFF${lines.join('\r\n')}`, ACCOUNT)).toThrow(
        /line 4: empty line/,
      );
    });

    it('counts physical lines when a BOM, CRLF or multi-line quoted cells come first', () => {
      const crlf = withCell(4, 'mfa_active', 'nope').split('\n').join('\r\n');
      expect(() => parseCredentialReport(`\uFEFF${crlf}`, ACCOUNT)).toThrow(/line 4, column mfa_active/);
      const quoted = [...LINES];
      quoted[2] = quoted[2]!.replace(',us-east-1,', ',"us-east-1\nsecond line",');
      quoted[3] = quoted[3]!.replace(',N/A,false,true,', ',N/A,nope,true,');
      // alice spans lines 3-4, so bob starts on line 5.
      expect(() => parseCredentialReport(quoted.join('\n'), ACCOUNT)).toThrow(/line 5, column mfa_active/);
    });

    it('raises a ReportParseError that keeps account, line and column and never quotes the cell', () => {
      const err = parseError(withCell(3, 'mfa_active', 'SECRETVALUE'));
      expect(err).toBeInstanceOf(CredreportError);
      expect(err.name).toBe('ReportParseError');
      expect(err).toMatchObject({ accountId: ACCOUNT, line: 3, column: 'mfa_active' });
      expect(err.message).not.toContain('SECRETVALUE');
    });
  });

  describe('on arbitrary input', () => {
    const isParseErrorOrResult = (text: string): boolean => {
      try {
        const report = parseCredentialReport(text, ACCOUNT);
        return Array.isArray(report.rows);
      } catch (err) {
        if (err instanceof ReportParseError) return err.accountId === ACCOUNT;
        throw err;
      }
    };

    it('returns a result or throws ReportParseError when given any string', () => {
      fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), isParseErrorOrResult), {
        numRuns: 500,
      });
    });

    it('returns a result or throws ReportParseError when a real report is damaged anywhere', () => {
      const damage = fc.record({
        at: fc.nat({ max: NORMAL.length }),
        cut: fc.nat({ max: 40 }),
        insert: fc.string({
          unit: fc.constantFrom(',', '"', '\n', '\r', 'a', '1', ':', '-', 'T', '\uFEFF', '\u0000'),
          maxLength: 6,
        }),
      });
      fc.assert(
        fc.property(damage, ({ at, cut, insert }) =>
          isParseErrorOrResult(NORMAL.slice(0, at) + insert + NORMAL.slice(at + cut)),
        ),
        { numRuns: 1000 },
      );
    });

    it('rejects the report when any of its lines is cut short, never half-reading it', () => {
      const lineStarts = [0, ...[...NORMAL.matchAll(/\n/g)].map((m) => m.index + 1).slice(0, -1)];
      fc.assert(
        fc.property(
          fc.constantFrom(...lineStarts),
          fc.double({ min: 0, max: 1, noNaN: true }),
          (start, share) => {
            const end = NORMAL.indexOf('\n', start);
            const keep = 1 + Math.floor(share * (end - start - 2)); // 1 .. line length - 1 characters
            const text = NORMAL.slice(0, start + keep) + NORMAL.slice(end);
            try {
              parseCredentialReport(text, ACCOUNT);
              return false;
            } catch (err) {
              return (
                err instanceof ReportParseError && err.line === NORMAL.slice(0, start).split('\n').length
              );
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});

describe('parseOptionsFor', () => {
  const autoDiscovered = { bom: true, relax_column_count: true } as const;
  const outcome = (text: string, options: object): unknown => {
    try {
      return parse(text, options) as unknown;
    } catch (err) {
      return { code: (err as { code?: string }).code, lines: (err as { lines?: number }).lines };
    }
  };

  it('parses any text exactly as csv-parse does when it discovers the line ending itself', () => {
    const text = fc.string({
      unit: fc.constantFrom('a', ',', '"', '\n', '\r\n', '\r', '\uFEFF', ' '),
      maxLength: 40,
    });
    fc.assert(
      fc.property(text, (t) => {
        expect(outcome(t, parseOptionsFor(t))).toEqual(outcome(t, autoDiscovered));
      }),
      { numRuns: 3000 },
    );
  });

  it('sets the line ending of a report from its header line', () => {
    expect(parseOptionsFor(NORMAL)).toMatchObject({ record_delimiter: '\n' });
    expect(parseOptionsFor(fixture('normal-crlf-bom.csv'))).toMatchObject({ record_delimiter: '\r\n' });
    expect(parseOptionsFor('"a\nb",c\n')).not.toHaveProperty('record_delimiter');
  });
});

describe('accountIdFromArn', () => {
  it.each([
    ['arn:aws:iam::123456789012:user/x', '123456789012'],
    ['arn:aws:iam::123456789012:user/path/to/x', '123456789012'],
    ['arn:aws:iam::123456789012:root', '123456789012'],
    ['arn:aws-cn:iam::210987654321:user/x', '210987654321'],
    ['arn:aws-us-gov:iam::123456789012:user/x', '123456789012'],
    ['arn:aws-iso-b:iam::123456789012:role/x', '123456789012'],
  ])('returns the account when given %s', (arn, id) => {
    expect(accountIdFromArn(arn)).toBe(id);
  });

  it.each([
    ['an S3 ARN', 'arn:aws:s3:::bucket'],
    ['an STS ARN', 'arn:aws:sts::123456789012:assumed-role/r/s'],
    ['a short account', 'arn:aws:iam::12345:user/x'],
    ['no resource', 'arn:aws:iam::123456789012:'],
    ['an unknown partition', 'arn:azure:iam::123456789012:user/x'],
    ['plain text', 'not an arn'],
    ['an empty string', ''],
  ])('returns undefined when given %s', (_label, arn) => {
    expect(accountIdFromArn(arn)).toBeUndefined();
  });
});

describe('detectReportAccountId', () => {
  it('returns the account of the first ARN when given a report', () => {
    expect(detectReportAccountId(NORMAL)).toBe(ACCOUNT);
    expect(detectReportAccountId(fixture('normal-crlf-bom.csv'))).toBe(ACCOUNT);
  });

  it('returns undefined when the text has no IAM ARN', () => {
    expect(detectReportAccountId(fixture('not-csv.html'))).toBeUndefined();
    expect(detectReportAccountId(`${LINES[0]}\n`)).toBeUndefined();
  });
});

describe('parseBool', () => {
  it.each(['true', 'TRUE', 'True', 'tRuE'])('returns true when given %s', (cell) => {
    expect(parseBool(cell)).toBe(true);
  });

  it.each(['false', 'FALSE', 'False', 'not_supported', 'N/A', '', 'yes', '1', ' true'])(
    'returns false when given %j',
    (cell) => {
      expect(parseBool(cell)).toBe(false);
    },
  );
});

describe('parseCredentialReport bounds', () => {
  it("rejects a user name, ARN or free cell longer than IAM's limits, naming the column", () => {
    const long = 'u'.repeat(65);
    const byName = parseError(withCell(3, 'user', long));
    expect(byName.message).toMatch(/user name longer than IAM's 64 characters/);
    expect(byName.column).toBe('user');
    const arn = `arn:aws:iam::${ACCOUNT}:user/${'p/'.repeat(1_100)}alice`;
    expect(parseError(withCell(3, 'arn', arn)).message).toMatch(/ARN longer than IAM's 2048 characters/);
    expect(parseError(withCell(3, 'access_key_1_last_used_service', 's'.repeat(129))).column).toBe(
      'access_key_1_last_used_service',
    );
  });

  it('rejects a report with more rows than an account can have users', () => {
    const [header, , alice] = LINES;
    const rows = Array.from({ length: 10_002 }, (_, i) =>
      alice!.replace(/^alice,/, `user${i},`).replace('user/alice', `user/user${i}`),
    );
    expect(parseError([header, ...rows].join('\n')).message).toMatch(
      /more than IAM's users per account allow/,
    );
  });
});
