/**
 * Exemptions (docs/ARCHITECTURE.md §7 "Exemptions"): one JSON file of approved exceptions, read by the hub
 * from `config/exemptions.json` and by the CLI from `--exemptions FILE`. An entry selects findings by any
 * combination of account ids, OU ids, account tags, user name globs, user path globs, access key ids and
 * finding ids (every field given must match; within a field, any value), and carries who approved it, why,
 * and until when. A finding an active entry selects is exempted: not open, not counted, listed apart. A
 * finding only expired entries select is reopened with "exemption expired on …".
 *
 * The file is hostile input: {@link parseExemptionsFile} validates it strictly and bounded, and names the
 * entry (index and id) and the field of the first problems. An entry whose `expires` lies more than
 * `maxDays` ahead of the run is rejected on its own (the rest still apply), so the bound holds whatever
 * the run's date.
 *
 * Pure: no SDK, no clock; the run's `now` is an argument. {@link ExemptionMatcher} is what the merge
 * (core/merge.ts) and other deciders (per-owner digests, staged deactivation) call: `forAccount` once per
 * account, then `apply` per user or key with the findings evaluated for it.
 */
import * as z from 'zod';
import { CredreportError } from './errors';
import { globMatches } from './glob';
import { FINDING_IDS, FindingId } from './finding-ids';
import type { AccountMetadata } from './types';

/** The exemptions file could not be used at all (not JSON, wrong shape, an invalid entry). */
export class ExemptionsFileError extends CredreportError {}

/** Default of `exemptionMaxDays` (cdk.json) and of the CLI: an entry may expire at most this many days ahead. */
export const DEFAULT_EXEMPTION_MAX_DAYS = 365;
/** An exemption expiring within this many days counts as "expiring soon" in the digest. */
export const EXPIRING_SOON_DAYS = 14;
/** Bounds on the file, so a hostile or runaway file cannot exhaust the digest. */
export const EXEMPTION_BOUNDS = {
  /** Bytes of the file (UTF-8). */
  fileBytes: 1_000_000,
  entries: 1_000,
  /** Values per selector list. */
  values: 500,
  /** Exempted and reopened findings listed one by one in summary.json (all are counted). */
  listed: 1_000,
} as const;

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const ACCOUNT_ID = z.string().regex(/^\d{12}$/, 'must be a 12-digit account id');
const OU_ID = z
  .string()
  .regex(
    /^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[0-9a-z]{8,32})$/,
    'must be a root id (r-…) or an OU id (ou-…)',
  );
const USER_GLOB = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w+=,.@*?<>-]+$/, 'must be an IAM user name, with * and ? as wildcards');
const PATH_GLOB = z
  .string()
  .min(1)
  .max(512)
  .regex(/^\/[\x21-\x7e]*$/, 'must be an IAM path starting with /, with * and ? as wildcards');
const ACCESS_KEY_ID = z.string().regex(/^[A-Z0-9]{16,128}$/, 'must be an access key id (AKIA…)');
const list = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(EXEMPTION_BOUNDS.values).optional();

/** A calendar date `YYYY-MM-DD` that exists. */
const DATE = z
  .string()
  .regex(DATE_RE, 'must be a date YYYY-MM-DD')
  .refine((s) => {
    // The regex above reports a wrong shape; this reports a shape that is no calendar date.
    if (!DATE_RE.test(s)) return true;
    const ms = Date.parse(`${s}T00:00:00Z`);
    return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === s;
  }, 'is not a calendar date');

const SELECTORS = ['accounts', 'ous', 'tags', 'users', 'paths', 'accessKeys', 'findings'] as const;

/** One entry of the file, as written. */
export const ExemptionEntrySchema = z
  .strictObject({
    /** Unique in the file: what `exempted_by` and the digest name. */
    id: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
        'must be 1–64 letters, digits, . _ - (starting alphanumeric)',
      ),
    reason: z.string().trim().min(1, 'must not be empty').max(500),
    approvedBy: z.string().trim().min(1, 'must not be empty').max(200),
    /** Last day the exemption applies (UTC); from the next day on its findings reopen. */
    expires: DATE,
    accounts: list(ACCOUNT_ID),
    ous: list(OU_ID),
    /** Every tag must be on the account with this value (`*` and `?` as wildcards in the value). */
    tags: z
      .record(z.string().min(1).max(128), z.string().max(256))
      .refine((t) => Object.keys(t).length > 0 && Object.keys(t).length <= 50, 'must name 1–50 tags')
      .optional(),
    users: list(USER_GLOB),
    paths: list(PATH_GLOB),
    accessKeys: list(ACCESS_KEY_ID),
    findings: list(z.enum(FINDING_IDS)),
  })
  .refine((e) => SELECTORS.some((s) => e[s] !== undefined), {
    message: `must select something: at least one of ${SELECTORS.join(', ')}`,
  });
export type ExemptionEntry = z.infer<typeof ExemptionEntrySchema>;

const FileSchema = z.strictObject({
  version: z.literal(1),
  exemptions: z.array(z.unknown()).max(EXEMPTION_BOUNDS.entries),
});

/** A parsed, valid exemptions file. */
export interface ExemptionsFile {
  readonly version: 1;
  readonly exemptions: readonly ExemptionEntry[];
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.') || '(entry)';
}

/**
 * Parses and validates the file's text. Throws ExemptionsFileError naming, for each of the first few
 * problems, the entry (`exemptions[3] (id svc-ci)`) and the field (`expires: must be a date YYYY-MM-DD`).
 */
export function parseExemptionsFile(text: string): ExemptionsFile {
  if (Buffer.byteLength(text, 'utf8') > EXEMPTION_BOUNDS.fileBytes) {
    throw new ExemptionsFileError(`larger than ${EXEMPTION_BOUNDS.fileBytes} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ExemptionsFileError(`not JSON (${(error as Error).message})`, { cause: error });
  }
  const file = FileSchema.safeParse(json);
  if (!file.success) {
    const issue = file.error.issues[0];
    throw new ExemptionsFileError(
      `expected { "version": 1, "exemptions": [ … ] } (at most ${EXEMPTION_BOUNDS.entries} entries): ${issue ? `${issuePath(issue.path)}: ${issue.message}` : 'invalid'}`,
    );
  }
  const problems: string[] = [];
  const entries: ExemptionEntry[] = [];
  const seen = new Map<string, number>();
  file.data.exemptions.forEach((raw, index) => {
    const rawId = (raw as { id?: unknown } | null)?.id;
    const name = `exemptions[${index}]${typeof rawId === 'string' && rawId.length <= 64 ? ` (id ${JSON.stringify(rawId)})` : ''}`;
    const parsed = ExemptionEntrySchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues.slice(0, 3)) {
        problems.push(`${name}: ${issuePath(issue.path)}: ${issue.message}`);
      }
      return;
    }
    const first = seen.get(parsed.data.id);
    if (first !== undefined) problems.push(`${name}: id: duplicates exemptions[${first}]`);
    else seen.set(parsed.data.id, index);
    entries.push(parsed.data);
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 10);
    const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
    throw new ExemptionsFileError(`${shown.join('; ')}${more}`);
  }
  return { version: 1, exemptions: entries };
}

/** Whole days from the UTC date of `now` to the date `date` (negative when past). */
function daysUntil(date: string, now: Date): number {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Math.round((Date.parse(`${date}T00:00:00Z`) - today) / 86_400_000);
}

/** Where the exemptions of a run came from (summary.json `exemptions.source`). */
export type ExemptionsSource = 'file' | 'last-valid' | 'none';

/** What the run was given: the entries, where they came from, and a problem with the current file. */
export interface ExemptionsInput {
  readonly file?: ExemptionsFile;
  readonly source: ExemptionsSource;
  /** The current file could not be used (malformed): shown at the top of the digest and in coverage. */
  readonly problem?: string;
  /** When `source` is `last-valid`: when that copy was saved (ISO), if known. */
  readonly lastValidAt?: string;
  /** @default DEFAULT_EXEMPTION_MAX_DAYS */
  readonly maxDays?: number;
}

/**
 * `Exemptions file config/exemptions.json is malformed (…); using the last valid copy (saved …)`: the line at
 * the top of the digest, in its coverage section and in summary.json's warnings.
 */
export function exemptionsProblemText(
  x: Pick<ExemptionsInput, 'problem' | 'source' | 'lastValidAt'>,
): string {
  const fallback =
    x.source === 'last-valid'
      ? `using the last valid copy${x.lastValidAt ? ` (saved ${x.lastValidAt})` : ''}`
      : 'no exemptions applied';
  return `Exemptions file not used: ${x.problem ?? 'unknown problem'}; ${fallback}`;
}

/** Who a finding is on. */
export interface ExemptionSubject {
  readonly userName: string;
  /** The user's ARN (its path is read from it); empty when unknown. */
  readonly userArn: string;
  /** The key of a key's findings; undefined for a user's own findings (an `accessKeys` entry never matches those). */
  readonly accessKeyId?: string;
}

/** One exempted finding as listed in summary.json. */
export interface ExemptedFinding {
  readonly accountId: string;
  readonly userName: string;
  readonly accessKeyId?: string;
  readonly finding: FindingId;
  /** The active entries that exempt it. */
  readonly exemptedBy: readonly string[];
  /** The latest `expires` of those entries (YYYY-MM-DD). */
  readonly expires: string;
}

/** One reopened finding (only expired entries selected it). */
export interface ReopenedFinding {
  readonly accountId: string;
  readonly userName: string;
  readonly accessKeyId?: string;
  readonly finding: FindingId;
  readonly entry: string;
  /** `exemption expired on YYYY-MM-DD`. */
  readonly note: string;
}

/** summary.json `exemptions` (docs/ARCHITECTURE.md §6). */
export interface ExemptionsSummary {
  readonly source: ExemptionsSource;
  readonly problem?: string;
  readonly lastValidAt?: string;
  readonly maxDays: number;
  /** Entries in the file used. */
  readonly entries: number;
  readonly counts: {
    /** Findings exempted (not open). */
    readonly exempted: number;
    /** Of those, findings whose exemption ends within EXPIRING_SOON_DAYS. */
    readonly expiringSoon: number;
    /** Findings reopened because their exemption expired. */
    readonly reopened: number;
    readonly unmatchedEntries: number;
    readonly rejectedEntries: number;
    readonly expiredEntries: number;
  };
  /** Exempted findings, the first EXEMPTION_BOUNDS.listed in write order (all counted above). */
  readonly exempted: readonly ExemptedFinding[];
  readonly reopened: readonly ReopenedFinding[];
  /** Active entries that matched no finding this run: remove or fix them. */
  readonly unmatched: readonly { readonly id: string; readonly expires: string }[];
  /** Entries not applied: `expires` further ahead than `maxDays`. */
  readonly rejected: readonly { readonly index: number; readonly id: string; readonly detail: string }[];
  /** Entries past their date, with the findings they would have exempted (now reopened). */
  readonly expired: readonly { readonly id: string; readonly expiredOn: string; readonly reopened: number }[];
}

interface Rule {
  readonly entry: ExemptionEntry;
  readonly state: 'active' | 'expired';
  readonly expiringSoon: boolean;
  readonly findings?: ReadonlySet<FindingId>;
  readonly accessKeys?: ReadonlySet<string>;
  /** Findings this rule selected (exempted when active, reopened when expired). */
  hits: number;
}

/** What {@link AccountExemptions.apply} decided for one user or key. */
export interface ExemptionOutcome {
  /** The findings still open (reopened ones included), in the given order. */
  readonly open: readonly FindingId[];
  /** Exempted findings with the entries that exempt them and their latest expiry. */
  readonly exempted: readonly {
    readonly finding: FindingId;
    readonly by: readonly string[];
    readonly expires: string;
  }[];
  /** Open findings that only expired entries selected. */
  readonly reopened: readonly {
    readonly finding: FindingId;
    readonly entry: string;
    readonly expiredOn: string;
  }[];
}

const NOTHING: ExemptionOutcome = { open: [], exempted: [], reopened: [] };

/** The note of a reopened finding. */
export function expiredNote(expiredOn: string): string {
  return `exemption expired on ${expiredOn}`;
}

/** The `exempted_by`, `exemption_expires` and `exemption_note` cells of a row. */
export function exemptionCells(outcome: ExemptionOutcome | undefined): [string, string, string] {
  if (!outcome || (outcome.exempted.length === 0 && outcome.reopened.length === 0)) return ['', '', ''];
  const by = outcome.exempted.map((x) => `${x.finding}:${x.by.join('+')}`).join(';');
  const expires = outcome.exempted.reduce<string>(
    (min, x) => (min === '' || x.expires < min ? x.expires : min),
    '',
  );
  const note = outcome.reopened
    .map((r) => `${r.finding}: ${expiredNote(r.expiredOn)} (${r.entry})`)
    .join('; ');
  return [by, expires, note];
}

/** The IAM path of a user ARN (`arn:aws:iam::123456789012:user/ops/ci` → `/ops/`); undefined for root or unknown. */
export function userPathOf(arn: string): string | undefined {
  const resource = /^arn:aws[\w-]*:iam::\d{12}:user(\/.*)$/.exec(arn)?.[1];
  if (resource === undefined) return undefined;
  return resource.slice(0, resource.lastIndexOf('/') + 1);
}

function accountSelected(
  entry: ExemptionEntry,
  accountId: string,
  meta: AccountMetadata | undefined,
): boolean {
  if (entry.accounts && !entry.accounts.includes(accountId)) return false;
  if (entry.ous && !entry.ous.some((ou) => meta?.ouIdPath.includes(ou) === true)) return false;
  if (entry.tags) {
    for (const [key, value] of Object.entries(entry.tags)) {
      const actual = meta?.tags[key];
      if (actual === undefined || !globMatches(value, actual)) return false;
    }
  }
  return true;
}

/**
 * The entries of one run, with what each matched. Build one per run; call {@link forAccount} per account
 * written, `apply` per user and key, then {@link summary} once.
 */
export class ExemptionMatcher {
  private readonly rules: Rule[] = [];
  private readonly rejected: { index: number; id: string; detail: string }[] = [];
  private readonly exemptedList: ExemptedFinding[] = [];
  private readonly reopenedList: ReopenedFinding[] = [];
  private exempted = 0;
  private expiringSoon = 0;
  private reopened = 0;
  private readonly maxDays: number;

  constructor(
    private readonly input: ExemptionsInput,
    now: Date,
  ) {
    this.maxDays = input.maxDays ?? DEFAULT_EXEMPTION_MAX_DAYS;
    (input.file?.exemptions ?? []).forEach((entry, index) => {
      const days = daysUntil(entry.expires, now);
      if (days > this.maxDays) {
        this.rejected.push({
          index,
          id: entry.id,
          detail: `exemptions[${index}] (id ${JSON.stringify(entry.id)}): expires: ${entry.expires} is ${days} days ahead, more than exemptionMaxDays (${this.maxDays}); entry not applied`,
        });
        return;
      }
      this.rules.push({
        entry,
        state: days < 0 ? 'expired' : 'active',
        expiringSoon: days >= 0 && days <= EXPIRING_SOON_DAYS,
        ...(entry.findings ? { findings: new Set(entry.findings) } : {}),
        ...(entry.accessKeys ? { accessKeys: new Set(entry.accessKeys) } : {}),
        hits: 0,
      });
    });
  }

  /** True when no entry can apply (the merge skips the per-row work then). */
  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The entries that can apply to one account (its id, OU path and tags). */
  forAccount(accountId: string, meta: AccountMetadata | undefined): AccountExemptions {
    return new AccountExemptions(
      this,
      accountId,
      this.rules.filter((r) => accountSelected(r.entry, accountId, meta)),
    );
  }

  /** @internal Counts one decision of an account's matcher. */
  record(accountId: string, subject: ExemptionSubject, outcome: ExemptionOutcome, soon: number): void {
    const key = subject.accessKeyId ? { accessKeyId: subject.accessKeyId } : {};
    this.exempted += outcome.exempted.length;
    this.expiringSoon += soon;
    this.reopened += outcome.reopened.length;
    for (const x of outcome.exempted) {
      if (this.exemptedList.length >= EXEMPTION_BOUNDS.listed) break;
      this.exemptedList.push({
        accountId,
        userName: subject.userName,
        ...key,
        finding: x.finding,
        exemptedBy: x.by,
        expires: x.expires,
      });
    }
    for (const r of outcome.reopened) {
      if (this.reopenedList.length >= EXEMPTION_BOUNDS.listed) break;
      this.reopenedList.push({
        accountId,
        userName: subject.userName,
        ...key,
        finding: r.finding,
        entry: r.entry,
        note: expiredNote(r.expiredOn),
      });
    }
  }

  /** summary.json's `exemptions`. */
  summary(): ExemptionsSummary {
    const unmatched = this.rules
      .filter((r) => r.state === 'active' && r.hits === 0)
      .map((r) => ({ id: r.entry.id, expires: r.entry.expires }));
    const expired = this.rules
      .filter((r) => r.state === 'expired')
      .map((r) => ({ id: r.entry.id, expiredOn: r.entry.expires, reopened: r.hits }));
    return {
      source: this.input.source,
      ...(this.input.problem !== undefined ? { problem: this.input.problem } : {}),
      ...(this.input.lastValidAt !== undefined ? { lastValidAt: this.input.lastValidAt } : {}),
      maxDays: this.maxDays,
      entries: this.input.file?.exemptions.length ?? 0,
      counts: {
        exempted: this.exempted,
        expiringSoon: this.expiringSoon,
        reopened: this.reopened,
        unmatchedEntries: unmatched.length,
        rejectedEntries: this.rejected.length,
        expiredEntries: expired.length,
      },
      exempted: [...this.exemptedList],
      reopened: [...this.reopenedList],
      unmatched,
      rejected: [...this.rejected],
      expired,
    };
  }
}

/** The entries that can apply to one account. */
export class AccountExemptions {
  constructor(
    private readonly matcher: ExemptionMatcher,
    private readonly accountId: string,
    private readonly rules: readonly Rule[],
  ) {}

  /**
   * Splits the findings of one user (its own: no `accessKeyId`) or one key into open and exempted, and
   * counts what each entry matched. Pure in its answer; it only adds to the run's tallies.
   */
  apply(subject: ExemptionSubject, findings: readonly FindingId[]): ExemptionOutcome {
    if (findings.length === 0) return NOTHING;
    if (this.rules.length === 0) return { open: findings, exempted: [], reopened: [] };
    let path: string | undefined | null = null;
    const candidates = this.rules.filter((r) => {
      const e = r.entry;
      if (r.accessKeys && (subject.accessKeyId === undefined || !r.accessKeys.has(subject.accessKeyId))) {
        return false;
      }
      if (e.users && !e.users.some((u) => globMatches(u, subject.userName))) return false;
      if (e.paths) {
        if (path === null) path = userPathOf(subject.userArn);
        const p = path;
        if (p === undefined || !e.paths.some((g) => globMatches(g, p))) return false;
      }
      return true;
    });
    if (candidates.length === 0) return { open: findings, exempted: [], reopened: [] };
    const open: FindingId[] = [];
    const exempted: { finding: FindingId; by: string[]; expires: string }[] = [];
    const reopened: { finding: FindingId; entry: string; expiredOn: string }[] = [];
    let soon = 0;
    for (const finding of findings) {
      const hits = candidates.filter((r) => r.findings === undefined || r.findings.has(finding));
      for (const r of hits) r.hits++;
      const active = hits.filter((r) => r.state === 'active');
      if (active.length > 0) {
        const expires = active.reduce((max, r) => (r.entry.expires > max ? r.entry.expires : max), '');
        exempted.push({ finding, by: active.map((r) => r.entry.id), expires });
        // Expiring soon when even the latest of its exemptions ends within the window.
        if (active.every((r) => r.expiringSoon)) soon++;
        continue;
      }
      open.push(finding);
      const last = hits.reduce<Rule | undefined>(
        (best, r) => (best === undefined || r.entry.expires > best.entry.expires ? r : best),
        undefined,
      );
      if (last) reopened.push({ finding, entry: last.entry.id, expiredOn: last.entry.expires });
    }
    const outcome: ExemptionOutcome = { open, exempted, reopened };
    this.matcher.record(this.accountId, subject, outcome, soon);
    return outcome;
  }
}

/**
 * For a decider outside the merge (staged deactivation, core/deactivation.ts `ExemptionPredicate`): whether an
 * active entry exempts `finding` of a user's key. One matcher of its own for the run, so the merge's
 * matched/unmatched counts are not touched; expired entries and entries further ahead than the input's
 * `maxDays` never exempt. The caller knows the user's name, not its ARN: an entry that selects by user path
 * alone does not match here.
 */
export function exemptionPredicate(
  input: ExemptionsInput,
  now: Date,
  accounts: ReadonlyMap<string, AccountMetadata>,
  finding: FindingId,
): ((accountId: string, userName: string, accessKeyId: string) => boolean) | undefined {
  if (!input.file) return undefined;
  const matcher = new ExemptionMatcher(input, now);
  return (accountId, userName, accessKeyId) =>
    matcher
      .forAccount(accountId, accounts.get(accountId))
      .apply({ userName, userArn: '', accessKeyId }, [finding]).exempted.length > 0;
}

/** The last valid copy of the exemptions file, as the hub keeps it (config/exemptions.last-valid.json). */
export const LastValidExemptionsSchema = z.strictObject({
  kind: z.literal('credreport-exemptions-last-valid'),
  savedAt: z.iso.datetime({ offset: true }),
  /** The file's text exactly as it validated. */
  text: z.string().max(EXEMPTION_BOUNDS.fileBytes),
});
export type LastValidExemptions = z.infer<typeof LastValidExemptionsSchema>;

/**
 * The hub's choice of exemptions for a run (docs/ARCHITECTURE.md §12): the current file when it validates
 * (and whether the last-valid copy must be replaced by it), else the last valid copy with the problem,
 * else none with the problem. A missing current file means no exemptions, not a problem. `current` is
 * the file's text, or an error text when it could not be read.
 */
export function chooseExemptions(
  current: { readonly text: string } | { readonly readError: string } | undefined,
  lastValid: { readonly text: string } | { readonly readError: string } | undefined,
  now: Date,
  maxDays = DEFAULT_EXEMPTION_MAX_DAYS,
): { readonly input: ExemptionsInput; readonly save?: LastValidExemptions } {
  if (current === undefined) return { input: { source: 'none', maxDays } };
  let problem: string;
  if ('text' in current) {
    try {
      const file = parseExemptionsFile(current.text);
      const saved = lastValid && 'text' in lastValid ? lastValid.text : undefined;
      const copy: LastValidExemptions = {
        kind: 'credreport-exemptions-last-valid',
        savedAt: now.toISOString(),
        text: current.text,
      };
      return {
        input: { file, source: 'file', maxDays },
        ...(saved === undefined || parsedText(saved) !== current.text ? { save: copy } : {}),
      };
    } catch (error) {
      if (!(error instanceof ExemptionsFileError)) throw error;
      problem = `config/exemptions.json is malformed: ${error.message}`;
    }
  } else problem = `config/exemptions.json could not be read: ${current.readError}`;
  if (lastValid && 'text' in lastValid) {
    try {
      const copy = LastValidExemptionsSchema.parse(JSON.parse(lastValid.text));
      const file = parseExemptionsFile(copy.text);
      return { input: { file, source: 'last-valid', problem, lastValidAt: copy.savedAt, maxDays } };
    } catch {
      return {
        input: { source: 'none', problem: `${problem}; the last valid copy is unreadable too`, maxDays },
      };
    }
  }
  const why =
    lastValid && 'readError' in lastValid ? `could not be read: ${lastValid.readError}` : 'none kept yet';
  return { input: { source: 'none', problem: `${problem}; no last valid copy (${why})`, maxDays } };
}

/** The file text inside a stored last-valid copy, or undefined when it is not one. */
function parsedText(stored: string): string | undefined {
  try {
    return LastValidExemptionsSchema.parse(JSON.parse(stored)).text;
  } catch {
    return undefined;
  }
}
