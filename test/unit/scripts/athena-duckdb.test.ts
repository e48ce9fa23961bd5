import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  athenaTableColumns,
  athenaTableKey,
  ATHENA_TABLES,
  type AthenaTableName,
} from '../../../core/athena-tables';
import { athenaQueries, unneutraliseSql } from '../../../core/athena-queries';
import {
  DEMO_QUERY_OPTIONS,
  DEMO_TAG_KEYS,
  duckDbView,
  formatAnswer,
  runSavedQueries,
  toDuckDbSql,
  writeSimulatedDay,
  type QueryAnswer,
} from '../../../scripts/athena-duckdb';

// The saved Athena queries, run with DuckDB over two days written by the real pipeline
// (docs/ARCHITECTURE.md §6 "Athena"). The answers are printed so they can be quoted.
jest.setTimeout(120_000);

let root: string;
const days: string[] = [];
const answers: QueryAnswer[][] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'credreport-athena-test-'));
  days.push(await writeSimulatedDay(root, 0));
  answers.push(await runSavedQueries(root, days[0] ?? ''));
  days.push(await writeSimulatedDay(root, 1));
  answers.push(await runSavedQueries(root, days[1] ?? ''));
  const names = athenaQueries(DEMO_QUERY_OPTIONS).map((q) => q.name);
  const text = names.flatMap((name, i) =>
    days.map((day, d) => `${name} on ${day}:\n${formatAnswer(answers[d]?.[i] as QueryAnswer)}`),
  );
  console.log(text.join('\n\n'));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const answer = (day: 0 | 1, name: string): QueryAnswer => {
  const found = answers[day]?.find((a) => a.name === name);
  if (!found) throw new Error(`no answer for ${name} on day ${day + 1}`);
  return found;
};

describe('saved Athena queries over two simulated days (DuckDB)', () => {
  it('writes each table copy with the header the Glue columns map by position', async () => {
    const columns = athenaTableColumns(DEMO_TAG_KEYS);
    for (const table of Object.keys(ATHENA_TABLES) as AthenaTableName[]) {
      const text = await readFile(join(root, athenaTableKey(table, days[1] ?? '')), 'utf8');
      const header = (text.split('\n')[0] ?? '').split(',');
      expect(header.map((h) => h.replace(/^tag:(.*)$/, (_, k: string) => `tag_${k.toLowerCase()}`))).toEqual(
        columns[table],
      );
      // The table's copy is the run's file, byte for byte.
      expect(text).toBe(await readFile(join(root, `runs/date=${days[1]}/${ATHENA_TABLES[table]}`), 'utf8'));
    }
  });

  it('finds the never-used Production key unused for more than 90 days, not the Development one', () => {
    const day1 = answer(0, 'credreport-unused-production-keys');
    expect(day1.columns).toEqual([
      'account_id',
      'account_name',
      'user',
      'access_key_id',
      'created',
      'last_used_date',
      'unused_days',
    ]);
    expect(day1.rows).toEqual([
      [
        '222222222222',
        'prod-payments',
        'reporting-etl',
        'AKIAU5PWZNFGYUS3GGZ4',
        '2026-01-21T05:00:00+00:00',
        'never used',
        '100',
      ],
    ]);
    expect(answer(1, 'credreport-unused-production-keys').rows).toEqual([
      [
        '222222222222',
        'prod-payments',
        'reporting-etl',
        'AKIAU5PWZNFGYUS3GGZ4',
        '2026-02-25T05:00:00+00:00',
        'never used',
        '100',
      ],
    ]);
  });

  it('counts active admin keys per OU path, root keys included', () => {
    const expected = [
      ['Root', '2', '1', '1'],
      ['Root/Workloads/Prod', '1', '1', '0'],
    ];
    expect(answer(0, 'credreport-admin-keys-by-ou').columns).toEqual([
      'ou_path',
      'admin_keys',
      'accounts',
      'root_keys',
    ]);
    expect(answer(0, 'credreport-admin-keys-by-ou').rows).toEqual(expected);
    expect(answer(1, 'credreport-admin-keys-by-ou').rows).toEqual(expected);
  });

  it('groups findings open more than 30 days by owner tag only once first-seen times were carried over', () => {
    expect(answer(0, 'credreport-findings-open-30-days-by-owner').rows).toEqual([]);
    const day2 = answer(1, 'credreport-findings-open-30-days-by-owner');
    expect(day2.columns).toEqual(['owner', 'findings', 'critical_or_high', 'oldest_days']);
    // old-service's findings are gone on day 2; new-hire's is new (0 days); the owner cells are as the CSV
    // holds them, formula-neutralised.
    expect(day2.rows).toEqual([
      [`'=HYPERLINK("http://x")`, '7', '1', '35'],
      ['payments-team', '6', '2', '35'],
      ['platform-team', '6', '4', '35'],
      ['data-team', '3', '0', '35'],
      ['security-team', '2', '0', '35'],
      ['<script>alert("owner")</script>', '1', '0', '35'],
    ]);
  });

  it('shows the trend of open critical and high findings per run day', () => {
    expect(answer(0, 'credreport-open-critical-high-trend').rows).toEqual([['2026-05-01', '2', '9']]);
    // Day 2: prod-payments' new console user without MFA is one more high finding.
    expect(answer(1, 'credreport-open-critical-high-trend').rows).toEqual([
      ['2026-05-01', '2', '9'],
      ['2026-06-05', '2', '10'],
    ]);
  });

  it('strips the formula-neutralising prefix with the documented SQL expression', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const columns = athenaTableColumns(DEMO_TAG_KEYS);
      await connection.run(duckDbView(root, 'findings', columns.findings));
      await connection.run(duckDbView(root, 'credential_report', columns.credential_report));
      const owner = await connection.runAndReadAll(
        `SELECT DISTINCT tag_owner, ${unneutraliseSql('tag_owner')} FROM findings WHERE account_id = '333333333333'`,
      );
      expect(owner.getRowsJS()).toEqual([[`'=HYPERLINK("http://x")`, '=HYPERLINK("http://x")']]);
      const user = await connection.runAndReadAll(
        `SELECT DISTINCT "user", ${unneutraliseSql('"user"')} FROM credential_report WHERE "user" LIKE '%weird%'`,
      );
      expect(user.getRowsJS()).toEqual([[`'+weird=name@corp`, '+weird=name@corp']]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('translates only current_date to the simulated day', () => {
    expect(toDuckDbSql('SELECT current_date, "current_date_x" FROM t', '2026-06-05')).toBe(
      `SELECT DATE '2026-06-05', "current_date_x" FROM t`,
    );
  });
});
