import * as fs from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { athenaQueries } from '../../core/athena-queries';
import { athenaTableColumns } from '../../core/athena-tables';
import { ReportAthena } from '../../stacks/constructs/report-athena';
import {
  ACCEPTED_CFN_LINT_WARNINGS,
  cfnLint,
  resource,
  resourcesOfType,
  roleStatements,
  statement,
  templateFiles,
  type CfnResource,
  type CfnTemplate,
  type Synthesized,
  synthesize,
} from './helpers';

// The Glue tables, workgroup and saved queries of the `athena` key (docs/ARCHITECTURE.md §6 "Athena"):
// off (the shipped default), on with SSE-S3, and on with the customer managed key. Bundling is skipped
// (the Lambda code is the same in every configuration).
jest.setTimeout(600_000);

const TAG_KEYS = ['Environment', 'Owner', 'CostCenter'];
const ON = { 'aws:cdk:bundling-stacks': [], athena: true, tagKeys: TAG_KEYS };
let off: Synthesized;
let on: Synthesized;
let onKms: Synthesized;
beforeAll(() => {
  off = synthesize({ 'aws:cdk:bundling-stacks': [] });
  on = synthesize(ON);
  onKms = synthesize({ ...ON, reportBucketKms: true, athenaDatabase: 'security_reports' });
});
afterAll(() => {
  for (const s of [off, on, onKms]) if (s) fs.rmSync(s.assemblyDir, { recursive: true, force: true });
});

const reportBucketId = (t: CfnTemplate): string => {
  const found = resourcesOfType(t, 'AWS::S3::Bucket').filter(
    ([, b]) => b.Properties?.VersioningConfiguration,
  );
  if (found.length !== 1) throw new Error(`expected one versioned bucket, found ${found.length}`);
  return found[0]?.[0] ?? '';
};
const s3Url = (t: CfnTemplate, key: string) => ({
  'Fn::Join': ['', ['s3://', { Ref: reportBucketId(t) }, `/${key}`]],
});
/** A Glue TableInput as synthesized (the fields these tests read). */
interface TableInput {
  readonly TableType: string;
  readonly PartitionKeys: unknown;
  readonly Parameters: unknown;
  readonly StorageDescriptor: { readonly Columns: unknown[] } & Record<string, unknown>;
}
/** The first resource of `type` (there is exactly one in these templates). */
const only = (t: CfnTemplate, type: string): CfnResource => {
  const found = resourcesOfType(t, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return (found[0] as [string, CfnResource])[1];
};
const tableInput = (t: CfnTemplate, name: string): TableInput => {
  const found = resourcesOfType(t, 'AWS::Glue::Table').find(
    ([, r]) => (r.Properties?.TableInput as { Name?: string }).Name === name,
  );
  if (!found) throw new Error(`no table ${name}`);
  return found[1].Properties?.TableInput as TableInput;
};

describe('athena off (the default)', () => {
  it('creates no Glue, Athena or results resources and no tables/ write', () => {
    for (const type of [
      'AWS::Glue::Database',
      'AWS::Glue::Table',
      'AWS::Athena::WorkGroup',
      'AWS::Athena::NamedQuery',
    ]) {
      expect(resourcesOfType(off.hubJson, type)).toEqual([]);
    }
    expect(resourcesOfType(off.hubJson, 'AWS::S3::Bucket')).toHaveLength(2);
    const [, digest] = resource(off.hubJson, 'AWS::Lambda::Function', 'DigestFunction');
    expect(
      (digest.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.ATHENA_TABLES,
    ).toBe('false');
  });
});

describe('athena on', () => {
  it('creates the Glue database in the account catalog', () => {
    expect(only(on.hubJson, 'AWS::Glue::Database').Properties).toEqual({
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseInput: expect.objectContaining({ Name: 'credreport' }),
    });
    expect(
      (
        resourcesOfType(onKms.hubJson, 'AWS::Glue::Database')[0]?.[1].Properties?.DatabaseInput as {
          Name: string;
        }
      ).Name,
    ).toBe('security_reports');
  });

  it('defines one table per CSV: its columns by position, OpenCSVSerde skipping the header, over its own folder', () => {
    const columns = athenaTableColumns(TAG_KEYS);
    for (const table of ['credential_report', 'access_keys', 'findings'] as const) {
      const input = tableInput(on.hubJson, table);
      expect(input.TableType).toBe('EXTERNAL_TABLE');
      expect(input.PartitionKeys).toEqual([expect.objectContaining({ Name: 'date', Type: 'string' })]);
      expect(input.StorageDescriptor).toEqual({
        Location: s3Url(on.hubJson, `tables/${table}/`),
        Columns: columns[table].map((name) => ({ Name: name, Type: 'string' })),
        InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        SerdeInfo: {
          SerializationLibrary: 'org.apache.hadoop.hive.serde2.OpenCSVSerde',
          Parameters: { separatorChar: ',', quoteChar: '"', escapeChar: '\\' },
        },
      });
      expect(input.Parameters).toEqual({
        classification: 'csv',
        'skip.header.line.count': '1',
        'projection.enabled': 'true',
        'projection.date.type': 'date',
        'projection.date.format': 'yyyy-MM-dd',
        'projection.date.range': 'NOW-400DAYS,NOW',
        'projection.date.interval': '1',
        'projection.date.interval.unit': 'DAYS',
        'storage.location.template': s3Url(on.hubJson, `tables/${table}/date=\${date}/`),
      });
    }
    expect(tableInput(on.hubJson, 'findings').StorageDescriptor.Columns.slice(4, 9)).toEqual([
      { Name: 'ou_path', Type: 'string' },
      { Name: 'report_status', Type: 'string' },
      { Name: 'tag_environment', Type: 'string' },
      { Name: 'tag_owner', Type: 'string' },
      { Name: 'tag_costcenter', Type: 'string' },
    ]);
  });

  it('saves the four queries of core/athena-queries.ts, word for word, in the workgroup and database', () => {
    const expected = athenaQueries({
      environmentTag: 'Environment',
      productionValue: 'Production',
      ownerTag: 'Owner',
    });
    const named = resourcesOfType(on.hubJson, 'AWS::Athena::NamedQuery').map(([, r]) => r.Properties);
    expect(named).toEqual(
      expected.map((q) => ({
        Name: q.name,
        Description: q.description,
        Database: 'credreport',
        WorkGroup: 'credreport',
        QueryString: q.sql,
      })),
    );
  });

  it('enforces a workgroup whose results are encrypted in a bucket of their own', () => {
    const wg = only(on.hubJson, 'AWS::Athena::WorkGroup');
    const results = resourcesOfType(on.hubJson, 'AWS::S3::Bucket').find(([, b]) =>
      JSON.stringify(b.Properties?.LifecycleConfiguration ?? '').includes('expire-query-results'),
    );
    expect(results).toBeDefined();
    expect(wg.Properties).toEqual(
      expect.objectContaining({
        Name: 'credreport',
        RecursiveDeleteOption: true,
        WorkGroupConfiguration: {
          EnforceWorkGroupConfiguration: true,
          PublishCloudWatchMetricsEnabled: true,
          EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
          ResultConfiguration: {
            OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: results?.[0] }, '/results/']] },
            EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
          },
        },
      }),
    );
    expect(results?.[1].Properties).toEqual(
      expect.objectContaining({
        PublicAccessBlockConfiguration: expect.objectContaining({
          BlockPublicAcls: true,
          RestrictPublicBuckets: true,
        }),
        LifecycleConfiguration: {
          Rules: [expect.objectContaining({ ExpirationInDays: 30, Status: 'Enabled' })],
        },
      }),
    );
    const kmsWg = only(onKms.hubJson, 'AWS::Athena::WorkGroup').Properties as {
      WorkGroupConfiguration: { ResultConfiguration: { EncryptionConfiguration: unknown } };
    };
    const [keyId] = resourcesOfType(onKms.hubJson, 'AWS::KMS::Key')[0] ?? [''];
    expect(kmsWg.WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration).toEqual({
      EncryptionOption: 'SSE_KMS',
      KmsKey: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
  });

  it("lets the digest write the tables' copies, and tells it to", () => {
    const [, digest] = resource(on.hubJson, 'AWS::Lambda::Function', 'DigestFunction');
    expect(
      (digest.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.ATHENA_TABLES,
    ).toBe('true');
    const role = (digest.Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const arn = (prefix: string) => ({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [reportBucketId(on.hubJson), 'Arn'] }, `/${prefix}*`]],
    });
    expect(statement(roleStatements(on.hubJson, role), 'WriteOutputs').Resource).toEqual([
      arn('latest/'),
      arn('runs/'),
      arn('org/'),
      arn('tables/'),
    ]);
  });

  it('outputs the workgroup, database and results bucket', () => {
    expect(Object.keys(on.hubJson.Outputs ?? {})).toEqual(
      expect.arrayContaining(['AthenaWorkGroup', 'AthenaDatabase', 'AthenaResultsBucketName']),
    );
    expect(Object.keys(off.hubJson.Outputs ?? {})).not.toContain('AthenaWorkGroup');
  });

  it('reports no unacknowledged cdk-nag finding', () => {
    for (const s of [on, onKms]) {
      const report = new AwsSolutionsChecks().validateScope(s.app);
      expect(
        report.violations.map(
          (v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(',')}`,
        ),
      ).toEqual([]);
    }
  });

  it('passes cfn-lint', () => {
    for (const s of [on, onKms]) {
      const findings = cfnLint(templateFiles(s.assemblyDir));
      const unexplained = findings.filter(
        (f) => f.Level !== 'Warning' || !(f.Rule.Id in ACCEPTED_CFN_LINT_WARNINGS),
      );
      expect(unexplained.map((f) => `${f.Level} ${f.Rule.Id} ${f.Filename}: ${f.Message}`)).toEqual([]);
    }
  });
});

describe('ReportAthena props', () => {
  const make = (over: Partial<ConstructorParameters<typeof ReportAthena>[2]>) => () => {
    const stack = new Stack(new App(), 'Probe');
    const bucket = new s3.Bucket(stack, 'B');
    new ReportAthena(stack, 'Athena', {
      bucket,
      accessLogsBucket: bucket,
      database: 'credreport',
      tagKeys: ['Environment', 'Owner'],
      queries: { environmentTag: 'Environment', productionValue: 'Production', ownerTag: 'Owner' },
      retentionDays: 400,
      ...over,
    });
  };
  it('throws naming the prop that cannot make a table or a query', () => {
    expect(make({})).not.toThrow();
    expect(make({ tagKeys: [] })).toThrow(/ReportAthena Athena: tagKeys must not be empty/);
    expect(make({ tagKeys: ['Environment'] })).toThrow(/queries.ownerTag "Owner" must be one of tagKeys/);
    expect(make({ database: 'Bad-Name' })).toThrow(/database must be 1-255 lower-case/);
    expect(make({ retentionDays: 0 })).toThrow(/retentionDays must be a whole number/);
  });
});
