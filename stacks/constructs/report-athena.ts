import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  ATHENA_PARTITION_COLUMN,
  ATHENA_TABLES,
  athenaTableColumns,
  type AthenaTableName,
} from '../../core/athena-tables';
import { athenaQueries, type AthenaQueryOptions } from '../../core/athena-queries';
import { S3_LAYOUT } from '../../core/names';

/** The CSV SerDe: honours quoted cells (the CSV writer quotes a cell holding `,`, `"` or a line break). */
export const ATHENA_CSV_SERDE = 'org.apache.hadoop.hive.serde2.OpenCSVSerde';
/** Athena's engine the saved queries are written for. */
export const ATHENA_ENGINE_VERSION = 'Athena engine version 3';
/** Days query results are kept in the results bucket. */
export const ATHENA_RESULTS_DAYS = 30;

/** Properties of {@link ReportAthena}. */
export interface ReportAthenaProps {
  /** The report bucket, whose `tables/` folders the tables read. */
  readonly bucket: s3.IBucket;
  /** The report bucket's key when it is SSE-KMS: query results are then encrypted with it too. @default - SSE-S3 */
  readonly encryptionKey?: kms.IKey;
  /** Where the results bucket's server access logs go (the report bucket's log bucket). */
  readonly accessLogsBucket: s3.IBucket;
  /** Glue database (and workgroup) name. */
  readonly database: string;
  /** The digest's `tagKeys`, in order: the tables' tag columns (must not be empty). */
  readonly tagKeys: readonly string[];
  /** The tags the saved queries read (both must be among `tagKeys`). */
  readonly queries: AthenaQueryOptions;
  /** Days of runs kept (`retentionDays`): the partition projection's range. */
  readonly retentionDays: number;
}

/**
 * The Athena view of the dated CSVs (docs/ARCHITECTURE.md §6 "Athena"): a Glue database with one table per
 * CSV over `tables/<table>/date=…/` (OpenCSVSerde, header skipped, partition projection on `date`), a
 * workgroup whose results go, encrypted, to a bucket of their own (enforced, so a query cannot send them
 * elsewhere), and the saved queries of core/athena-queries.ts. No Lambda and no role: analysts query with
 * their own permissions (README "Athena").
 */
export class ReportAthena extends Construct {
  /** The Glue database. */
  readonly database: glue.CfnDatabase;
  /** The tables, by name. */
  readonly tables: Record<AthenaTableName, glue.CfnTable>;
  /** The workgroup the saved queries belong to. */
  readonly workGroup: athena.CfnWorkGroup;
  /** Where query results go. */
  readonly resultsBucket: s3.Bucket;
  /** The saved queries. */
  readonly namedQueries: athena.CfnNamedQuery[];

  constructor(scope: Construct, id: string, props: ReportAthenaProps) {
    super(scope, id);
    if (props.tagKeys.length === 0) {
      throw new Error(
        `ReportAthena ${id}: tagKeys must not be empty (the CSV SerDe maps columns by position, so the tag columns must be fixed)`,
      );
    }
    for (const [name, tag] of [
      ['queries.environmentTag', props.queries.environmentTag],
      ['queries.ownerTag', props.queries.ownerTag],
    ] as const) {
      if (!props.tagKeys.includes(tag)) {
        throw new Error(`ReportAthena ${id}: ${name} ${JSON.stringify(tag)} must be one of tagKeys`);
      }
    }
    if (!/^[a-z0-9_]{1,255}$/.test(props.database)) {
      throw new Error(
        `ReportAthena ${id}: database must be 1-255 lower-case letters, digits or _ (got ${props.database})`,
      );
    }
    if (!Number.isInteger(props.retentionDays) || props.retentionDays < 1) {
      throw new Error(
        `ReportAthena ${id}: retentionDays must be a whole number of days >= 1 (got ${props.retentionDays})`,
      );
    }
    const columns = athenaTableColumns(props.tagKeys);

    this.resultsBucket = new s3.Bucket(this, 'Results', {
      ...(props.encryptionKey !== undefined
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'athena-results/',
      lifecycleRules: [
        {
          id: 'expire-query-results',
          expiration: Duration.days(ATHENA_RESULTS_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: props.database,
      description: 'credreport: saved queries over the dated credential report CSVs',
      // Deleting the stack deletes the workgroup with its saved queries and query history.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        engineVersion: { selectedEngineVersion: ATHENA_ENGINE_VERSION },
        resultConfiguration: {
          outputLocation: this.resultsBucket.s3UrlForObject('results/'),
          encryptionConfiguration:
            props.encryptionKey !== undefined
              ? { encryptionOption: 'SSE_KMS', kmsKey: props.encryptionKey.keyArn }
              : { encryptionOption: 'SSE_S3' },
        },
      },
    });

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: {
        name: props.database,
        description:
          'credreport: one table per dated CSV of the report bucket (tables/<table>/date=YYYY-MM-DD/)',
      },
    });

    const tables = {} as Record<AthenaTableName, glue.CfnTable>;
    for (const table of Object.keys(ATHENA_TABLES) as AthenaTableName[]) {
      const folder = this.bucketUrl(props.bucket, `${S3_LAYOUT.tablesPrefix}${table}/`);
      const cfn = new glue.CfnTable(this, tableConstructId(table), {
        catalogId: Aws.ACCOUNT_ID,
        databaseName: props.database,
        tableInput: {
          name: table,
          description: `credreport ${ATHENA_TABLES[table]}, one partition per digest run day (UTC)`,
          tableType: 'EXTERNAL_TABLE',
          parameters: {
            classification: 'csv',
            'skip.header.line.count': '1',
            'projection.enabled': 'true',
            [`projection.${ATHENA_PARTITION_COLUMN}.type`]: 'date',
            [`projection.${ATHENA_PARTITION_COLUMN}.format`]: 'yyyy-MM-dd',
            [`projection.${ATHENA_PARTITION_COLUMN}.range`]: `NOW-${props.retentionDays}DAYS,NOW`,
            [`projection.${ATHENA_PARTITION_COLUMN}.interval`]: '1',
            [`projection.${ATHENA_PARTITION_COLUMN}.interval.unit`]: 'DAYS',
            'storage.location.template': `${folder}${ATHENA_PARTITION_COLUMN}=\${${ATHENA_PARTITION_COLUMN}}/`,
          },
          partitionKeys: [
            { name: ATHENA_PARTITION_COLUMN, type: 'string', comment: 'run day, YYYY-MM-DD (UTC)' },
          ],
          storageDescriptor: {
            location: folder,
            columns: columns[table].map((name) => ({ name, type: 'string' })),
            inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
            serdeInfo: {
              serializationLibrary: ATHENA_CSV_SERDE,
              parameters: { separatorChar: ',', quoteChar: '"', escapeChar: '\\' },
            },
          },
        },
      });
      cfn.addDependency(this.database);
      tables[table] = cfn;
    }
    this.tables = tables;

    this.namedQueries = athenaQueries(props.queries).map((query, i) => {
      const named = new athena.CfnNamedQuery(this, `Query${i + 1}`, {
        name: query.name,
        description: query.description.slice(0, 1024),
        database: props.database,
        workGroup: props.database,
        queryString: query.sql,
      });
      named.addDependency(this.workGroup);
      named.addDependency(this.database);
      return named;
    });
  }

  /** `s3://<bucket>/<key>` of the report bucket. */
  private bucketUrl(bucket: s3.IBucket, key: string): string {
    return `s3://${bucket.bucketName}/${key}`;
  }
}

/** `credential_report` → `CredentialReportTable`. */
function tableConstructId(table: AthenaTableName): string {
  return `${table
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')}Table`;
}
