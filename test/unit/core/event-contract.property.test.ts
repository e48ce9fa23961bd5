import fc from 'fast-check';
import {
  ContractError,
  PartDetail,
  assembleParts,
  entryBytes,
  splitReport,
} from '../../../core/event-contract';
import type { AccessKeyRecord, AccountReport } from '../../../core/types';

const iso = fc
  .date({ min: new Date('2015-01-01T00:00:00Z'), max: new Date('2035-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const text = fc.string({ unit: 'grapheme', maxLength: 40 });

const keyArb: fc.Arbitrary<AccessKeyRecord> = fc.record(
  {
    userName: fc.string({ minLength: 1, maxLength: 64, unit: 'grapheme' }),
    accessKeyId: fc.stringMatching(/^AKIA[A-Z0-9]{16}$/),
    status: fc.constantFrom('Active' as const, 'Inactive' as const, 'Expired' as const),
    createDate: iso,
    lastUsedDate: iso,
    lastUsedService: text,
    lastUsedRegion: text,
  },
  { requiredKeys: ['userName', 'accessKeyId', 'status', 'createDate'] },
);

const reportArb: fc.Arbitrary<AccountReport> = fc.record(
  {
    schemaVersion: fc.constant(1 as const),
    accountId: fc.stringMatching(/^\d{12}$/),
    generatedTime: iso,
    collectedTime: iso,
    credentialReportCsv: fc.string({ minLength: 1, maxLength: 3_000, unit: 'binary' }),
    accessKeys: fc.array(keyArb, { maxLength: 30 }),
    privileges: fc.array(
      fc.record({
        userName: fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }),
        admin: fc.boolean(),
        s3Read: fc.boolean(),
        rdsRead: fc.boolean(),
        dynamodbRead: fc.boolean(),
        grantingPolicies: fc.record(
          {
            admin: fc.array(fc.string({ minLength: 1, maxLength: 80 }), { maxLength: 3 }),
            s3Read: fc.array(fc.string({ minLength: 1 }), { maxLength: 2 }),
          },
          { requiredKeys: [] },
        ),
      }),
      { maxLength: 20 },
    ),
    warnings: fc.array(text, { maxLength: 3 }),
  },
  {
    requiredKeys: [
      'schemaVersion',
      'accountId',
      'generatedTime',
      'collectedTime',
      'credentialReportCsv',
      'accessKeys',
    ],
  },
);

const maxEntryArb = fc.integer({ min: 800, max: 300_000 });

describe('splitReport + assembleParts', () => {
  it('round-trips any report when the entry limit varies', () => {
    fc.assert(
      fc.property(reportArb, maxEntryArb, (report, maxEntryBytes) => {
        const parts = splitReport(report, { maxEntryBytes });
        for (const part of parts) expect(entryBytes(part)).toBeLessThanOrEqual(maxEntryBytes);
        expect(
          assembleParts(fc.sample(fc.shuffledSubarray(parts, { minLength: parts.length }), 1)[0]!),
        ).toEqual(report);
      }),
      { numRuns: 150 },
    );
  });

  // sha256 covers the decoded JSON, so a flipped bit that cannot change it (the gzip header's mtime/OS
  // bytes, unused low bits of the last base64 character) is harmless: the property is that a faulty set
  // never assembles into a report other than the one sent.
  it('rejects the set, or yields exactly the sent report, when any one part is missing, duplicated or corrupted', () => {
    const faultArb = fc.constantFrom('missing', 'duplicated', 'corrupted', 'swapped-payloads');
    fc.assert(
      fc.property(
        reportArb,
        fc.integer({ min: 800, max: 4_000 }),
        faultArb,
        fc.nat(),
        fc.nat(),
        (report, max, fault, seed, pos) => {
          const parts = splitReport(report, { maxEntryBytes: max });
          const i = seed % parts.length;
          let broken: PartDetail[];
          switch (fault) {
            case 'missing':
              fc.pre(parts.length > 1);
              broken = parts.filter((_, j) => j !== i);
              break;
            case 'duplicated':
              broken = [...parts, parts[i]!];
              break;
            case 'corrupted': {
              const p = parts[i]!;
              const at = pos % p.payload.length;
              const replacement = p.payload[at] === 'Q' ? 'R' : 'Q';
              broken = parts.map((q, j) =>
                j === i
                  ? { ...q, payload: q.payload.slice(0, at) + replacement + q.payload.slice(at + 1) }
                  : q,
              );
              break;
            }
            case 'swapped-payloads': {
              fc.pre(parts.length > 1);
              const k = (i + 1) % parts.length;
              fc.pre(parts[i]!.payload !== parts[k]!.payload);
              broken = parts.map((q, j) =>
                j === i
                  ? { ...q, payload: parts[k]!.payload }
                  : j === k
                    ? { ...q, payload: parts[i]!.payload }
                    : q,
              );
              break;
            }
            default:
              throw new Error(fault);
          }
          if (fault !== 'corrupted') {
            expect(() => assembleParts(broken)).toThrow(ContractError);
            return;
          }
          let assembled: AccountReport | undefined;
          try {
            assembled = assembleParts(broken);
          } catch (error) {
            expect(error).toBeInstanceOf(ContractError);
            return;
          }
          expect(assembled).toEqual(report);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never reassembles a different report when one character past the gzip header is corrupted', () => {
    // Most flips break the deflate stream, its CRC or the sha256. A flip confined to bits the decoder
    // ignores (the final block's padding) leaves the decoded payload, and so the sha256, unchanged: that
    // part set still reassembles, and must give back exactly the report that was sent.
    let rejected = 0;
    fc.assert(
      fc.property(reportArb, fc.nat(), (report, pos) => {
        const [single] = splitReport(report, { maxEntryBytes: 1_000_000 });
        const payload = single!.payload;
        // Characters 0-15 encode the 10-byte gzip header (+2 bytes); the last 4 may hold padding bits.
        fc.pre(payload.length > 24);
        const at = 16 + (pos % (payload.length - 20));
        const replacement = payload[at] === 'Q' ? 'w' : 'Q';
        const broken = { ...single!, payload: payload.slice(0, at) + replacement + payload.slice(at + 1) };
        let assembled: unknown;
        try {
          assembled = assembleParts([broken]);
        } catch (error) {
          expect(error).toBeInstanceOf(ContractError);
          rejected++;
          return;
        }
        expect(assembled).toEqual(report);
      }),
      { numRuns: 200 },
    );
    // Almost every flip must be caught; only the rare padding-bit flip may pass (and then unchanged).
    expect(rejected).toBeGreaterThan(150);
  });
});
