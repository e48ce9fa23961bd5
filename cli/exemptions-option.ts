/**
 * `--exemptions FILE` and `--exemption-max-days N` of the commands that compute findings (collect, merge,
 * demo): the same file format as the hub's config/exemptions.json (core/exemptions.ts). A file that cannot
 * be read or does not validate stops the command before any work, with the entry and field named (exit 1);
 * the hub instead keeps its last valid copy, since a digest must not stop.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CredreportError } from '../core/errors';
import {
  DEFAULT_EXEMPTION_MAX_DAYS,
  ExemptionsFileError,
  ExemptionsInput,
  parseExemptionsFile,
} from '../core/exemptions';
import { optionHelp, parseIntegerOption } from './args';

/** The exemptions file given to the CLI cannot be used. */
export class ExemptionsOptionError extends CredreportError {}

export const EXEMPTIONS_OPTIONS = {
  exemptions: { type: 'string' },
  'exemption-max-days': { type: 'string' },
} as const;

export const EXEMPTIONS_HELP = [
  optionHelp(
    '--exemptions FILE',
    "exemptions (the format of the hub's config/exemptions.json): exempted findings are not open, not counted by --fail-on, and listed in summary.json",
  ),
  optionHelp(
    '--exemption-max-days N',
    `entries that expire more than N days ahead are rejected (default ${DEFAULT_EXEMPTION_MAX_DAYS})`,
  ),
].join('\n');

/** Reads `--exemptions` (undefined when not given); throws ExemptionsOptionError naming the file, entry and field. */
export async function readExemptionsOption(
  values: { readonly exemptions?: string; readonly 'exemption-max-days'?: string },
  cwd: string,
): Promise<ExemptionsInput | undefined> {
  const maxDays =
    values['exemption-max-days'] !== undefined
      ? parseIntegerOption('exemption-max-days', values['exemption-max-days'], { min: 1, max: 3_650 })
      : DEFAULT_EXEMPTION_MAX_DAYS;
  if (values.exemptions === undefined) return undefined;
  const shown = values.exemptions;
  let text: string;
  try {
    text = await readFile(resolve(cwd, shown), 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new ExemptionsOptionError(`--exemptions ${shown}: cannot read it (${code ?? String(error)})`, {
      cause: error,
    });
  }
  try {
    return { file: parseExemptionsFile(text), source: 'file', maxDays };
  } catch (error) {
    if (!(error instanceof ExemptionsFileError)) throw error;
    throw new ExemptionsOptionError(`--exemptions ${shown}: ${error.message}`, { cause: error });
  }
}
