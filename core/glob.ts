/**
 * Glob matching for IAM patterns: `*` (any run, possibly empty) and `?` (one character). Linear-time,
 * no regular expressions built from policy text (docs/ARCHITECTURE.md §12: a member account's policy
 * must not stall the agent).
 */
/** The pattern is only `*`s: it matches everything. */
export const isAllStars = (pattern: string): boolean => /^\*+$/.test(pattern);

/**
 * Glob match without backtracking (docs/ARCHITECTURE.md §12: a member account's policy must not stall
 * the agent). The pattern is split at `*` into chunks of literals and `?`: the first chunk must match
 * the start, the last the end, and the middle ones are placed left to right at their earliest position
 * — placing a chunk later can only leave less room for the rest, so the first placement that fails is
 * final. A chunk of literals is found with `indexOf`; one with `?` by a scan. Worst case
 * O(|pattern| × |value|) with no exponential or polynomial blow-up from the number of `*`s (a regular
 * expression `^.*a.*a…$` backtracks in O(|value|^stars) when it fails).
 *
 * `anyOk(c)` says which value characters `?` may stand for.
 */
function wildcardMatch(pattern: string, value: string, anyOk: (c: string) => boolean): boolean {
  const chunks = pattern.split('*');
  const first = chunks[0] as string;
  if (chunks.length === 1) return first.length === value.length && chunkAt(first, value, 0, anyOk);
  const last = chunks[chunks.length - 1] as string;
  if (first.length + last.length > value.length) return false;
  if (!chunkAt(first, value, 0, anyOk)) return false;
  const end = value.length - last.length;
  if (!chunkAt(last, value, end, anyOk)) return false;
  let from = first.length;
  for (let k = 1; k < chunks.length - 1; k++) {
    const chunk = chunks[k] as string;
    if (chunk.length === 0) continue;
    const at = findChunk(chunk, value, from, end, anyOk);
    if (at < 0) return false;
    from = at + chunk.length;
  }
  return true;
}

/** `chunk` (literals and `?`) matches `value` at `at`. */
function chunkAt(chunk: string, value: string, at: number, anyOk: (c: string) => boolean): boolean {
  for (let i = 0; i < chunk.length; i++) {
    const p = chunk.charCodeAt(i);
    const c = value.charCodeAt(at + i);
    if (p === QUESTION ? !anyOk(value[at + i] as string) : p !== c) return false;
  }
  return true;
}

/** Earliest position ≥ `from` where `chunk` matches and ends by `end`, or -1. */
function findChunk(
  chunk: string,
  value: string,
  from: number,
  end: number,
  anyOk: (c: string) => boolean,
): number {
  if (!chunk.includes('?')) {
    const at = value.indexOf(chunk, from);
    return at >= 0 && at + chunk.length <= end ? at : -1;
  }
  for (let at = from; at + chunk.length <= end; at++) if (chunkAt(chunk, value, at, anyOk)) return at;
  return -1;
}

const QUESTION = '?'.charCodeAt(0);
const anyChar = (): boolean => true;
const notStar = (c: string): boolean => c !== '*';

/** `value` (a concrete string) is matched by glob `pattern`. */
export function globMatches(pattern: string, value: string, caseInsensitive = false): boolean {
  if (pattern === '*') return true;
  return caseInsensitive
    ? wildcardMatch(pattern.toLowerCase(), value.toLowerCase(), anyChar)
    : wildcardMatch(pattern, value, anyChar);
}

/**
 * Sound test that every string matched by glob `specific` is matched by glob `general` (L(specific) ⊆
 * L(general)). May answer false for some true inclusions; never answers true for a false one. Used to
 * decide that a Deny takes away everything an Allow gives, so a false "no" only over-reports.
 *
 * `specific` is read as text in which its own `*` must be matched by a `*` of `general` and a `?` by a
 * `?` or `*`: `general`'s `?` stands for any character but `*`.
 */
export function globCovers(general: string, specific: string, caseInsensitive = false): boolean {
  if (isAllStars(general)) return true;
  return caseInsensitive
    ? wildcardMatch(general.toLowerCase(), specific.toLowerCase(), notStar)
    : wildcardMatch(general, specific, notStar);
}

/** Exact test that two globs match at least one common string (L(a) ∩ L(b) ≠ ∅). */
export function globsOverlap(a: string, b: string): boolean {
  if (a === b || isAllStars(a) || isAllStars(b)) return true;
  const la = a.length;
  const lb = b.length;
  const seen = new Uint8Array((la + 1) * (lb + 1));
  const stack: [number, number][] = [[0, 0]];
  while (stack.length > 0) {
    const [i, j] = stack.pop() as [number, number];
    const index = i * (lb + 1) + j;
    if (seen[index] === 1) continue;
    seen[index] = 1;
    if (i === la && j === lb) return true;
    const ca = i < la ? a[i] : undefined;
    const cb = j < lb ? b[j] : undefined;
    if (ca === '*') {
      stack.push([i + 1, j]);
      if (cb !== undefined) stack.push([i, j + 1]);
    }
    if (cb === '*') {
      stack.push([i, j + 1]);
      if (ca !== undefined) stack.push([i + 1, j]);
    }
    if (ca !== undefined && cb !== undefined && ca !== '*' && cb !== '*') {
      if (ca === cb || ca === '?' || cb === '?') stack.push([i + 1, j + 1]);
    }
  }
  return false;
}
