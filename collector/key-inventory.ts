import {
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  type AccessKeyMetadata,
} from '@aws-sdk/client-iam';
import type { CredentialReportRow } from '../core/columns';
import { mapLimit } from '../core/concurrency';
import { parseReportTimeMs } from '../core/time';
import type { AccessKeyRecord } from '../core/types';
import { isNotFound } from '../core/aws-errors';
import { CallContext } from './iam-calls';

/** Every IAM user name of the account (ListUsers, all pages). Used when privileges are not collected. */
export async function listUserNames(iam: IAMClient, ctx: CallContext): Promise<string[]> {
  const names: string[] = [];
  let marker: string | undefined;
  do {
    const page = await ctx.call('ListUsers', () =>
      iam.send(new ListUsersCommand({ Marker: marker, MaxItems: 1000 })),
    );
    for (const user of page.Users ?? []) if (user.UserName) names.push(user.UserName);
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return names;
}

export interface KeyInventory {
  readonly keys: AccessKeyRecord[];
  readonly warnings: string[];
  /** Users whose keys were listed (the others had no key when the credential report was generated). */
  readonly listedUsers: number;
}

/**
 * Whether a user's keys must be listed: the credential report shows a key in slot 1 or 2
 * (`access_key_N_last_rotated` is the key's creation time, `N/A` when the slot is empty), or the user is
 * not in the report at all (created after it was generated).
 *
 * Trade-off: a key created after the report's GeneratedTime on a user that had none is not listed in this
 * run; it shows up in the next one. That is consistent with the rest of the payload, which is the report's
 * snapshot (the hub evaluates that user from a row saying "no keys" either way), and it saves one
 * ListAccessKeys call per user without keys (console-only people, users whose keys were removed): in a
 * 5,000-user account where 40 % have no key, 2,000 calls.
 */
export function needsKeyListing(row: CredentialReportRow | undefined): boolean {
  return (
    row === undefined || row.access_key_1_last_rotated !== 'N/A' || row.access_key_2_last_rotated !== 'N/A'
  );
}

const second = (ms: number): number => Math.floor(ms / 1000);

/**
 * Which keys need GetAccessKeyLastUsed. The credential report already carries last-used date, region and
 * service per key slot, and a slot's `access_key_N_last_rotated` is its key's creation time, so a key
 * whose creation second matches exactly one slot of its user's report row is looked up there by the hub
 * — one call per key would be 5,000-10,000 calls in a large account for data we already have. Keys the
 * report does not show (created after it was generated, or users newer than it), and keys that cannot
 * be told apart (two keys created in the same second) are looked up.
 */
export function keysNeedingLastUsed(
  keys: readonly { readonly createDate: string }[],
  row: CredentialReportRow | undefined,
): boolean[] {
  if (row === undefined) return keys.map(() => true);
  const slotSeconds = [row.access_key_1_last_rotated, row.access_key_2_last_rotated]
    .map((cell) => parseReportTimeMs(cell))
    .filter((ms): ms is number => ms !== undefined)
    .map(second);
  const keySeconds = keys.map((k) => second(Date.parse(k.createDate)));
  return keySeconds.map((s) => {
    const sameSecondKeys = keySeconds.filter((other) => other === s).length;
    return !slotSeconds.includes(s) || sameSecondKeys > 1;
  });
}

function toRecord(userName: string, meta: AccessKeyMetadata): AccessKeyRecord | undefined {
  if (!meta.AccessKeyId || !meta.Status || !(meta.CreateDate instanceof Date)) return undefined;
  return {
    userName,
    accessKeyId: meta.AccessKeyId,
    status: meta.Status,
    createDate: meta.CreateDate.toISOString(),
  };
}

/**
 * ListAccessKeys (all pages) for every user that needsKeyListing, GetAccessKeyLastUsed where needed (see
 * keysNeedingLastUsed), at most `concurrency` users in flight. A user or key deleted between listing and
 * reading is skipped with a warning; any other failure fails the collection (a partial inventory is never
 * passed as whole).
 */
export async function collectKeyInventory(
  iam: IAMClient,
  ctx: CallContext,
  userNames: readonly string[],
  reportRows: ReadonlyMap<string, CredentialReportRow>,
  concurrency: number,
): Promise<KeyInventory> {
  const warnings: string[] = [];
  const toList = userNames.filter((userName) => needsKeyListing(reportRows.get(userName)));
  const perUser = await mapLimit(toList, concurrency, async (userName): Promise<AccessKeyRecord[]> => {
    const metas: AccessKeyMetadata[] = [];
    let marker: string | undefined;
    try {
      do {
        const page = await ctx.call('ListAccessKeys', () =>
          iam.send(new ListAccessKeysCommand({ UserName: userName, Marker: marker })),
        );
        metas.push(...(page.AccessKeyMetadata ?? []));
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      warnings.push(`user ${userName} was deleted during collection; its access keys are not listed`);
      return [];
    }

    const records: AccessKeyRecord[] = [];
    for (const meta of metas) {
      const record = toRecord(userName, meta);
      if (record) records.push(record);
      else
        warnings.push(
          `an access key of user ${userName} was listed without id, status or creation date; skipped`,
        );
    }
    const lookups = keysNeedingLastUsed(records, reportRows.get(userName));
    const out: AccessKeyRecord[] = [];
    for (const [i, record] of records.entries()) {
      if (!lookups[i]) {
        out.push(record);
        continue;
      }
      try {
        const used = await ctx.call('GetAccessKeyLastUsed', () =>
          iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: record.accessKeyId })),
        );
        const last = used.AccessKeyLastUsed;
        const known = (v: string | undefined): v is string => v !== undefined && v !== '' && v !== 'N/A';
        out.push({
          ...record,
          ...(last?.LastUsedDate instanceof Date ? { lastUsedDate: last.LastUsedDate.toISOString() } : {}),
          ...(known(last?.ServiceName) ? { lastUsedService: last.ServiceName } : {}),
          ...(known(last?.Region) ? { lastUsedRegion: last.Region } : {}),
        });
      } catch (error) {
        if (!isNotFound(error)) throw error;
        warnings.push(
          `access key ${record.accessKeyId} of user ${userName} was deleted during collection; skipped`,
        );
      }
    }
    return out;
  });
  return { keys: perUser.flat(), warnings: warnings.sort(), listedUsers: toList.length };
}
