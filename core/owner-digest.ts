/**
 * One owner's digest: the same renderers as the central digest (core/digest-html.ts, core/digest-text.ts)
 * over the owner's own summary (core/merge.ts `partitions`: only their accounts), with the title naming
 * the owner and "and N more" pointing at the security team's outputs rather than at a file they do not get.
 */
import { displayCell } from './cap-rows';
import { renderDigestHtml, renderDigestText } from './digest-html';
import type { FullListsAt } from './digest-model';
import type { Summary } from './summary';

/** Where the whole lists are, for an owner (the merged outputs stay with the security team). */
export const OWNER_FULL_LISTS_AT: FullListsAt = {
  csv: 'the credential report held by your security team',
  summary: 'summary.json held by your security team',
};

export interface OwnerDigest {
  /** The title label: `<organization> · accounts of <owner>`. */
  readonly label: string;
  readonly html: string;
  readonly text: string;
}

/** Renders one owner's digest from their own summary. */
export function renderOwnerDigest(owner: string, summary: Summary, organizationLabel: string): OwnerDigest {
  const label = `${displayCell(organizationLabel, 80)} · accounts of ${displayCell(owner, 120)}`;
  const options = { organizationLabel: label, fullListsAt: OWNER_FULL_LISTS_AT };
  return { label, html: renderDigestHtml(summary, options), text: renderDigestText(summary, options) };
}
