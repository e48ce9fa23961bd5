import fc from 'fast-check';
import {
  PolicyDocumentError,
  actionMatches,
  decodePolicyDocument,
  globCovers,
  globMatches,
  globsOverlap,
  parsePolicyDocument,
  resourceCovers,
  resourcesOverlap,
  substituteVariables,
} from '../../../core/policy-engine';

const vars = {
  username: 'alice',
  principalAccount: '123456789012',
  principalArn: 'arn:aws:iam::123456789012:user/alice',
};

describe('parsePolicyDocument', () => {
  it('normalises single statements and single strings to lists', () => {
    expect(
      parsePolicyDocument('{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}'),
    ).toEqual([
      {
        effect: 'Allow',
        actions: ['s3:GetObject'],
        resources: ['*'],
        conditional: false,
        conditions: [],
        variables: false,
      },
    ]);
  });

  it('marks a statement conditional when it has a non-empty Condition', () => {
    const [s] = parsePolicyDocument(
      JSON.stringify({
        Statement: [
          {
            Effect: 'Deny',
            NotAction: 'iam:*',
            NotResource: ['a'],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
    );
    expect(s).toMatchObject({
      effect: 'Deny',
      notActions: ['iam:*'],
      notResources: ['a'],
      conditional: true,
    });
    expect(s?.conditions).toEqual([
      { operator: 'bool', ifExists: false, qualified: false, key: 'aws:securetransport', values: ['false'] },
    ]);
  });

  it('decodes a URL-encoded document when given GetAccountAuthorizationDetails output', () => {
    const raw = encodeURIComponent(
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a b/%"}]}',
    );
    expect(parsePolicyDocument(raw)[0]!.resources).toEqual(['arn:aws:s3:::a b/%']);
  });

  it.each([
    ['not JSON', '%7Bnope'],
    ['no Statement', '{"Version":"2012-10-17"}'],
    ['a bad Effect', '{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}'],
    ['no Resource', '{"Statement":[{"Effect":"Allow","Action":"*"}]}'],
    ['a non-string Action', '{"Statement":[{"Effect":"Allow","Action":[1],"Resource":"*"}]}'],
    ['a broken escape', '%E0%A4%A'],
  ])('throws PolicyDocumentError when the document has %s', (_what, raw) => {
    expect(() => parsePolicyDocument(raw)).toThrow(PolicyDocumentError);
  });

  it('keeps raw JSON as is when it is not encoded', () => {
    expect(decodePolicyDocument('  {"a":"%41"}')).toBe('  {"a":"%41"}');
  });
});

describe('matching', () => {
  it('matches actions case-insensitively with * and ?', () => {
    expect(actionMatches('s3:Get*', 'S3:GETOBJECT')).toBe(true);
    expect(actionMatches('s3:Get?bject', 's3:GetObject')).toBe(true);
    expect(actionMatches('s3:Get?bject', 's3:GetObjectAcl')).toBe(false);
    expect(actionMatches('*', 'iam:PassRole')).toBe(true);
  });

  it('matches resources case-sensitively and per ARN segment when one side is a concrete ARN', () => {
    expect(resourcesOverlap('arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket/a/b:c')).toBe(true);
    expect(resourcesOverlap('arn:aws:s3:::Bucket/*', 'arn:aws:s3:::bucket/a')).toBe(false);
    expect(resourcesOverlap('arn:aws:iam::*:user/*', 'arn:aws:iam::123456789012:user/x')).toBe(true);
    // A wildcard in the region segment does not reach into the account segment.
    expect(
      resourcesOverlap('arn:aws:dynamodb:*:table/x', 'arn:aws:dynamodb:us-east-1:123456789012:table/x'),
    ).toBe(false);
    expect(resourcesOverlap('arn:aws:s3', 'arn:aws:s3:::anything/at/all')).toBe(true);
  });

  it('decides coverage and overlap of resource patterns', () => {
    expect(resourceCovers('arn:aws:s3:::b*', 'arn:aws:s3:::bucket/*')).toBe(true);
    expect(resourceCovers('arn:aws:s3:::bucket/secret*', 'arn:aws:s3:::bucket/*')).toBe(false);
    expect(resourceCovers('*', 'anything')).toBe(true);
    expect(resourcesOverlap('arn:aws:s3:::bucket', 'arn:aws:s3:::*/*')).toBe(false);
    expect(resourcesOverlap('arn:aws:s3:::b*', 'arn:aws:s3:::*/key')).toBe(true);
  });

  it('substitutes known policy variables and widens unknown ones', () => {
    expect(substituteVariables('arn:aws:s3:::home/${aws:username}/*', vars)).toEqual({
      pattern: 'arn:aws:s3:::home/alice/*',
      exact: true,
    });
    expect(substituteVariables('arn:aws:s3:::home/${s3:prefix}/*', vars)).toEqual({
      pattern: 'arn:aws:s3:::home/*/*',
      exact: false,
    });
    expect(
      substituteVariables("arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username, 'x'}", vars).pattern,
    ).toBe('arn:aws:iam::123456789012:user/alice');
  });
});

// Exhaustive checks over a tiny alphabet: patterns over {a, b, *, ?}, strings over {a, b}.
const pattern = fc.array(fc.constantFrom('a', 'b', '*', '?'), { maxLength: 4 }).map((cs) => cs.join(''));
const STRINGS: string[] = [''];
for (let len = 1; len <= 8; len++)
  for (let n = 0; n < 2 ** len; n++)
    STRINGS.push(n.toString(2).padStart(len, '0').replace(/0/g, 'a').replace(/1/g, 'b'));

describe('glob algebra (exhaustive over short patterns)', () => {
  it('globsOverlap is true exactly when some string matches both patterns', () => {
    fc.assert(
      fc.property(pattern, pattern, (a, b) => {
        const witness = STRINGS.some((s) => globMatches(a, s) && globMatches(b, s));
        expect(globsOverlap(a, b)).toBe(witness);
      }),
      { numRuns: 2_000 },
    );
  });

  it('globCovers never claims coverage that a string disproves', () => {
    fc.assert(
      fc.property(pattern, pattern, (general, specific) => {
        if (!globCovers(general, specific)) return;
        for (const s of STRINGS) if (globMatches(specific, s)) expect(globMatches(general, s)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('globCovers recognises identical and star-generalised patterns', () => {
    fc.assert(
      fc.property(pattern, (p) => {
        expect(globCovers(p, p)).toBe(true);
        expect(globCovers('*', p)).toBe(true);
        expect(globCovers(`${p}*`, p)).toBe(true);
      }),
    );
  });
});

describe('glob matching without backtracking', () => {
  // The semantics of the regular expressions the matcher replaced: `*` any run, `?` one character.
  const reference = (pattern: string, value: string, any = '[^]'): boolean =>
    new RegExp(
      `^${[...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? any : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('')}$`,
      's',
    ).test(value);
  const text = fc.array(fc.constantFrom('a', 'b', '*', '?'), { maxLength: 7 }).map((cs) => cs.join(''));

  it('globMatches agrees with the regular-expression semantics on every short pattern and value', () => {
    fc.assert(
      fc.property(pattern, text, (p, v) => expect(globMatches(p, v)).toBe(reference(p, v))),
      { numRuns: 5_000 },
    );
  });

  it('globCovers agrees with the regular-expression semantics (its ? never stands for *)', () => {
    fc.assert(
      fc.property(pattern, text, (g, s) =>
        expect(globCovers(g, s)).toBe(/^\*+$/.test(g) || reference(g, s, '[^*]')),
      ),
      { numRuns: 5_000 },
    );
  });

  it('answers a failing many-star pattern against a long value within milliseconds', () => {
    // Ten stars against 2,000 characters: the regular expression took longer than 30 s to fail.
    const deny = `arn:aws:s3:::${'*a'.repeat(10)}b`;
    const allow = `arn:aws:s3:::${'a'.repeat(2_000)}`;
    const started = performance.now();
    expect(resourceCovers(deny, allow)).toBe(false);
    expect(globMatches(`${'*a'.repeat(10)}b`, 'a'.repeat(2_000))).toBe(false);
    expect(globCovers(`${'*a?'.repeat(10)}b`, 'a'.repeat(2_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(250);
  });
});
