/**
 * remediation/ of the hub bucket (docs/ARCHITECTURE.md §5, staged deactivation): the plan the digest writes
 * per account (`remediation/<accountId>/plan.json`) and the audit logs the member agents write
 * (`remediation/<accountId>/log/<time>.json`, under a bucket policy that admits each agent to its own
 * account's prefix only, §11). An audit log is a member account's word about itself: parsed strictly, and
 * only believed for the account its key names.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { parseAuditLog, REMEDIATION_BOUNDS, type AuditLog, type RemediationPlan } from '../core/deactivation';
import { S3_LAYOUT } from '../core/names';
import { CONTENT_TYPES, S3Bucket, StoreError, StoreOptions, type ObjectRef } from './s3';

const PLAN_KEY = /^remediation\/(\d{12})\/plan\.json$/;
// `<date>T<HHMMSS>Z.json`; `<date>.json` from agents that named a log by its day alone.
const LOG_KEY = /^remediation\/(\d{12})\/log\/\d{4}-\d{2}-\d{2}(T\d{6}Z)?\.json$/;

/** What remediation/ holds: the accounts with a plan, and the audit logs (newest first). */
export interface RemediationListing {
  readonly planAccounts: ReadonlySet<string>;
  readonly logs: readonly (ObjectRef & { readonly accountId: string })[];
}

/** The staged deactivation's plans and audit logs. */
export class RemediationStore {
  private readonly bucket: S3Bucket;

  constructor(s3: S3Client, opts: StoreOptions) {
    this.bucket = new S3Bucket(s3, opts);
  }

  /** Lists remediation/: the accounts that have a plan, and every audit log with its time. */
  async list(): Promise<RemediationListing> {
    const planAccounts = new Set<string>();
    const logs: (ObjectRef & { accountId: string })[] = [];
    for await (const page of this.bucket.listPages({ Prefix: S3_LAYOUT.remediationPrefix })) {
      for (const ref of page.contents) {
        const plan = PLAN_KEY.exec(ref.key);
        if (plan?.[1]) planAccounts.add(plan[1]);
        const log = LOG_KEY.exec(ref.key);
        if (log?.[1]) logs.push({ ...ref, accountId: log[1] });
      }
    }
    logs.sort((a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0));
    return { planAccounts, logs };
  }

  /**
   * Reads one audit log; throws StoreError when it is too large, unreadable or malformed, or names another
   * account than its key (a member can only write its own prefix, so that is a corrupt record).
   */
  async readLog(ref: ObjectRef & { readonly accountId: string }): Promise<AuditLog> {
    if ((ref.size ?? 0) > REMEDIATION_BOUNDS.planBytes) {
      throw new StoreError(
        `${this.bucket.url(ref.key)} is larger than ${REMEDIATION_BOUNDS.planBytes} bytes`,
      );
    }
    const got = await this.bucket.getBytes(ref.key);
    if (!got) throw new StoreError(`${this.bucket.url(ref.key)} disappeared`);
    let log: AuditLog;
    try {
      log = parseAuditLog(got.body.toString('utf8'));
    } catch (error) {
      throw new StoreError(`${this.bucket.url(ref.key)}: ${(error as Error).message}`, { cause: error });
    }
    if (log.accountId !== ref.accountId) {
      throw new StoreError(`${this.bucket.url(ref.key)} names account ${log.accountId}`);
    }
    return log;
  }

  /** Replaces an account's plan. */
  async writePlan(plan: RemediationPlan): Promise<void> {
    await this.bucket.putText(
      S3_LAYOUT.remediationPlan(plan.accountId),
      `${JSON.stringify(plan)}\n`,
      CONTENT_TYPES.json,
    );
  }
}
