/**
 * findings.ocsf.json (docs/ARCHITECTURE.md §6): one OCSF Compliance Finding (class_uid 2003) per open
 * finding, as NDJSON, for an Amazon Security Lake custom source or a SIEM. Written beside findings.csv from
 * the same records (core/findings-csv.ts `OpenFinding`), so the two files always hold the same findings.
 *
 * Schema: OCSF 1.3.0 (ocsf/ocsf-schema tag 1.3.0, version.json "1.3.0"). What that version requires, read
 * from the schema's own files: base_event `metadata`, `severity_id`; includes/classification.json
 * `activity_id`, `category_uid`, `class_uid`, `type_uid`; includes/occurrence.json `time`; profiles/cloud.json
 * `cloud` (object `cloud`: `provider`); events/findings/finding.json `finding_info` (`uid`, `title`);
 * events/findings/compliance_finding.json (uid 3 in category findings, uid 2: class_uid 2003) `compliance`
 * (object `compliance`: `standards`); object `metadata`: `product` (`vendor_name`), `version`. `resources`
 * (recommended since 1.3.0, which deprecated `resource`) names the IAM user and key. `type_uid` is
 * class_uid × 100 + activity_id: 200301 (Create).
 */
import type { FindingControls } from './finding-ids';
import type { OpenFinding } from './findings-csv';
import { writable } from './stream-wait';

/** The OCSF schema version every record states in `metadata.version`. */
export const OCSF_VERSION = '1.3.0';
/** Findings category. */
export const OCSF_CATEGORY_UID = 2;
/** Compliance Finding. */
export const OCSF_CLASS_UID = 2003;
/** Create: each run states the findings open at that run. */
export const OCSF_ACTIVITY_ID = 1;

/** OCSF severity_id of each credreport severity (dictionary.json: 2 Low, 3 Medium, 4 High, 5 Critical). */
const SEVERITY_ID = { low: 2, medium: 3, high: 4, critical: 5 } as const;
const SEVERITY_NAME = { low: 'Low', medium: 'Medium', high: 'High', critical: 'Critical' } as const;

/** The product block of every record. */
export interface OcsfProduct {
  readonly name: string;
  readonly vendorName: string;
  /** credreport's version, when known. */
  readonly version?: string;
}

export const DEFAULT_OCSF_PRODUCT: OcsfProduct = { name: 'credreport', vendorName: 'credreport' };

/** The standards and control of a finding: every CIS numbering it has, then Security Hub's. */
function standardsOf(controls: FindingControls): { standards: string[]; control?: string } {
  const standards: string[] = [];
  const ids: string[] = [];
  const cis: [keyof FindingControls, string][] = [
    ['cisV4', 'CIS AWS Foundations Benchmark v4.0.1'],
    ['cisV5', 'CIS AWS Foundations Benchmark v5.0.0'],
    ['cisV6', 'CIS AWS Foundations Benchmark v6.0.0'],
    ['cisV7', 'CIS AWS Foundations Benchmark v7.0.0'],
  ];
  for (const [field, name] of cis) {
    const id = controls[field];
    if (id === undefined) continue;
    standards.push(name);
    ids.push(`${name} ${id}`);
  }
  if (controls.securityHub !== undefined) {
    standards.push('AWS Foundational Security Best Practices');
    ids.push(`Security Hub ${controls.securityHub}`);
  }
  // `standards` is required: a finding outside every benchmark still names credreport's own checks.
  if (standards.length === 0) standards.push('credreport');
  return ids.length > 0 ? { standards, control: ids.join('; ') } : { standards };
}

/** The stable id of a finding: the same account, user, key and finding give the same uid every run. */
export function findingUid(finding: OpenFinding): string {
  const subject = finding.accessKeyId || (finding.slot !== undefined ? `slot-${finding.slot}` : '');
  return ['credreport', finding.accountId, finding.userName ?? '', subject, finding.findingId].join('/');
}

/** One OCSF Compliance Finding for `finding`, open at `now`. */
export function ocsfFinding(
  finding: OpenFinding,
  now: Date,
  product: OcsfProduct = DEFAULT_OCSF_PRODUCT,
): Record<string, unknown> {
  const { standards, control } = standardsOf(finding.controls);
  const firstSeenMs = Date.parse(finding.firstSeen);
  const resources: Record<string, unknown>[] = [];
  if (finding.userArn) {
    resources.push({
      type: 'AwsIamUser',
      uid: finding.userArn,
      ...(finding.userName ? { name: finding.userName } : {}),
    });
  }
  if (finding.accessKeyId) {
    resources.push({
      type: 'AwsIamAccessKey',
      uid: finding.accessKeyId,
      ...(finding.userName ? { name: finding.userName } : {}),
    });
  }
  if (resources.length === 0) {
    resources.push(
      finding.organization
        ? { type: 'AwsOrganizationsOrganization', uid: finding.accountId }
        : { type: 'AwsAccount', uid: finding.accountId },
    );
  }
  return {
    class_uid: OCSF_CLASS_UID,
    class_name: 'Compliance Finding',
    category_uid: OCSF_CATEGORY_UID,
    category_name: 'Findings',
    activity_id: OCSF_ACTIVITY_ID,
    activity_name: 'Create',
    type_uid: OCSF_CLASS_UID * 100 + OCSF_ACTIVITY_ID,
    time: now.getTime(),
    severity_id: SEVERITY_ID[finding.severity],
    severity: SEVERITY_NAME[finding.severity],
    status_id: 1,
    status: 'New',
    message: finding.detail,
    metadata: {
      version: OCSF_VERSION,
      product: {
        name: product.name,
        vendor_name: product.vendorName,
        ...(product.version ? { version: product.version } : {}),
      },
    },
    finding_info: {
      uid: findingUid(finding),
      title: finding.findingId,
      desc: finding.detail,
      types: [finding.findingId],
      ...(Number.isNaN(firstSeenMs) ? {} : { first_seen_time: firstSeenMs }),
      last_seen_time: now.getTime(),
    },
    compliance: {
      standards,
      ...(control !== undefined ? { control } : {}),
      status_id: 3,
      status: 'Fail',
    },
    cloud: {
      provider: 'AWS',
      ...(finding.organization
        ? { org: { uid: finding.accountId } }
        : {
            account: {
              uid: finding.accountId,
              type: 'AWS Account',
              type_id: 10,
              ...(finding.accountName ? { name: finding.accountName } : {}),
            },
          }),
    },
    resources,
    ...(finding.path ? { unmapped: { path: finding.path } } : {}),
  };
}

/**
 * Writes findings.ocsf.json: one JSON record per line, with backpressure (`write` returns a promise only
 * when the sink is full), ended once with `end`, destroyed with `abort` when the run fails.
 */
export class OcsfWriter {
  private readonly done: Promise<void>;
  private records = 0;

  constructor(
    private readonly sink: NodeJS.WritableStream,
    private readonly now: Date,
    private readonly product: OcsfProduct = DEFAULT_OCSF_PRODUCT,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      sink.on('finish', () => resolve());
      sink.on('error', reject);
    });
    // Handled here so an aborted run (nobody awaits end()) is no unhandled rejection; end() still sees it.
    this.done.catch(() => undefined);
  }

  /** One open finding's record. */
  write(finding: OpenFinding): Promise<void> | undefined {
    this.records++;
    const line = `${JSON.stringify(ocsfFinding(finding, this.now, this.product))}\n`;
    if (this.sink.write(line)) return undefined;
    return writable(this.sink);
  }

  /** Records written so far. */
  get count(): number {
    return this.records;
  }

  /** Ends the file and waits until the sink has flushed. */
  async end(): Promise<void> {
    this.sink.end();
    await this.done;
  }

  /** Gives up (the run failed): destroys the sink. */
  abort(error: Error): void {
    const destroyable = this.sink as NodeJS.WritableStream & { destroy?: (error?: Error) => void };
    destroyable.destroy?.(error);
  }
}
