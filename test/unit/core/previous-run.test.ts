import { Readable } from 'node:stream';
import { parsePreviousSummary, PreviousRunError, readPreviousRun } from '../../../core/previous-run';

const SUMMARY = {
  schemaVersion: 1,
  generatedAt: '2024-06-01T06:00:00.000Z',
  byAccount: [
    { accountId: '100000000001', status: 'reporting', users: 3 },
    { accountId: '100000000002', status: 'stale' },
  ],
  coverage: { expected: 2 },
};
const CSV = 'account_id,user,findings\n100000000001,u,\n100000000002,v,\n';

describe('readPreviousRun', () => {
  it('rejects a CSV that lacks a needed column, naming it', async () => {
    await expect(
      readPreviousRun({ credentialReport: Readable.from(['account_id,name\n1,2\n']) }),
    ).rejects.toThrow(/credential-report\.csv has no 'user' column/);
    await expect(
      readPreviousRun({ credentialReport: Readable.from(['account_id,name\n1,2\n']) }),
    ).rejects.toBeInstanceOf(PreviousRunError);
  });

  it('rejects an empty file and a file that is not CSV', async () => {
    await expect(readPreviousRun({ credentialReport: Readable.from(['']) })).rejects.toThrow(/empty/);
    await expect(
      readPreviousRun({ credentialReport: Readable.from(['account_id,user,findings\n"unclosed,x,y\n']) }),
    ).rejects.toThrow(/not valid CSV \(CSV_QUOTE_NOT_CLOSED, line \d+\)$/);
  });

  it('names the line but never quotes the cell when the CSV is malformed', async () => {
    const error = await readPreviousRun({
      credentialReport: Readable.from(['account_id,user,findings\n1,SECRET"VALUE,x\n']),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreviousRunError);
    expect((error as Error).message).toMatch(
      /^previous credential-report\.csv is not valid CSV \(\w+, line 2\)$/,
    );
    expect((error as Error).message).not.toContain('SECRET');
  });

  it('rejects when the stream fails', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk gone'));
      },
    });
    await expect(readPreviousRun({ credentialReport: failing })).rejects.toThrow(
      /reading credential-report\.csv failed: disk gone/,
    );
  });

  it('reads finding masks, ignoring finding ids it does not know', async () => {
    const prev = await readPreviousRun({
      credentialReport: Readable.from([
        'account_id,user,findings\n100000000001,u,console-without-mfa;future-finding\n',
      ]),
    });
    expect(prev.users.get('100000000001\tu')).toBe(1 << 3);
  });

  it('takes the reporting accounts and the time from summary.json given as bytes, validated', async () => {
    const prev = await readPreviousRun({
      credentialReport: Readable.from([CSV]),
      summary: Buffer.from(JSON.stringify(SUMMARY)),
    });
    expect(prev.generatedAt).toBe(SUMMARY.generatedAt);
    expect([...prev.reportingAccounts]).toEqual(['100000000001']);
    expect([...prev.accounts].sort()).toEqual(['100000000001', '100000000002']);
  });

  it('refuses summary.json bytes that are not a credreport summary before reading the CSVs', async () => {
    const csv = Readable.from([CSV]);
    await expect(
      readPreviousRun({ credentialReport: csv, summary: JSON.stringify({ schemaVersion: 1 }) }),
    ).rejects.toThrow(/summary\.json is not a credreport summary at generatedAt/);
  });
});

describe('parsePreviousSummary', () => {
  it('accepts a version 1 summary and keeps the fields it does not check', () => {
    const parsed = parsePreviousSummary(JSON.stringify(SUMMARY));
    expect(parsed).toEqual(SUMMARY);
  });

  it('refuses another schema version, naming it', () => {
    const error = (() => {
      try {
        parsePreviousSummary(JSON.stringify({ ...SUMMARY, schemaVersion: 2 }));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(PreviousRunError);
    expect((error as Error).message).toBe('previous summary.json has schemaVersion 2; this version reads 1');
  });

  it.each([
    ['not JSON', '{', /is not JSON/],
    [
      'no version',
      JSON.stringify({ generatedAt: 'x', byAccount: [] }),
      /not a credreport summary at schemaVersion/,
    ],
    ['byAccount not an array', JSON.stringify({ ...SUMMARY, byAccount: {} }), /at byAccount/],
    [
      'an unknown account status',
      JSON.stringify({ ...SUMMARY, byAccount: [{ accountId: '1', status: 'gone' }] }),
      /at byAccount\.0\.status/,
    ],
    ['an array', '[]', /not a credreport summary/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parsePreviousSummary(text)).toThrow(PreviousRunError);
    expect(() => parsePreviousSummary(text)).toThrow(message);
  });
});
