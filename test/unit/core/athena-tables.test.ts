import { accessKeysHeader } from '../../../core/merge';
import {
  AthenaColumnError,
  athenaTableColumns,
  athenaTableCopies,
  glueColumnName,
  tagColumnName,
} from '../../../core/athena-tables';
import { athenaQueries } from '../../../core/athena-queries';

describe('athena tables', () => {
  it('names tag columns in lower case with _ and keeps the other headers', () => {
    expect(glueColumnName('tag:Cost-Center')).toBe('tag_cost_center');
    expect(tagColumnName('Owner')).toBe('tag_owner');
    expect(glueColumnName('access_key_id')).toBe('access_key_id');
  });

  it('maps every CSV header position to one column, tag columns in the configured order', () => {
    const columns = athenaTableColumns(['Owner', 'CostCenter']);
    expect(columns.access_keys).toEqual(accessKeysHeader(['Owner', 'CostCenter']).map(glueColumnName));
    expect(columns.access_keys.slice(4, 9)).toEqual([
      'ou_path',
      'report_status',
      'tag_owner',
      'tag_costcenter',
      'user',
    ]);
    expect(columns.findings).toContain('first_seen');
    expect(columns.credential_report).toContain('access_key_1_last_used_date');
  });

  it('refuses tag keys that would share a column', () => {
    expect(() => athenaTableColumns(['Cost-Center', 'cost_center'])).toThrow(AthenaColumnError);
    expect(() => athenaTableColumns(['Cost-Center', 'cost_center'])).toThrow(
      /"tag:Cost-Center" and "tag:cost_center"/,
    );
    expect(() => athenaTableColumns(['Owner', 'owner'])).toThrow(/tag_owner/);
  });

  it('copies each CSV to its table folder under the run day', () => {
    expect(athenaTableCopies('2026-06-05')).toEqual([
      {
        file: 'credential-report.csv',
        key: 'tables/credential_report/date=2026-06-05/credential-report.csv',
      },
      { file: 'access-keys.csv', key: 'tables/access_keys/date=2026-06-05/access-keys.csv' },
      { file: 'findings.csv', key: 'tables/findings/date=2026-06-05/findings.csv' },
    ]);
  });
});

describe('athena queries', () => {
  it('compares the production value as the CSV holds it (neutralised, quotes doubled)', () => {
    const [unused] = athenaQueries({ environmentTag: 'env', productionValue: "=prod's", ownerTag: 'Owner' });
    expect(unused?.sql).toContain(`tag_env = '''=prod''s'`);
  });

  it('names four queries, each reading only a bounded window of partitions', () => {
    const queries = athenaQueries({
      environmentTag: 'Environment',
      productionValue: 'Production',
      ownerTag: 'Owner',
    });
    expect(queries.map((q) => q.name)).toEqual([
      'credreport-unused-production-keys',
      'credreport-admin-keys-by-ou',
      'credreport-findings-open-30-days-by-owner',
      'credreport-open-critical-high-trend',
    ]);
    for (const q of queries)
      expect(q.sql).toMatch(/"date" BETWEEN CAST\(CAST\(current_date - INTERVAL '\d+' DAY/);
  });
});
