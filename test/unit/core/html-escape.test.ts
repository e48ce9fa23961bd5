import fc from 'fast-check';
import { escapeHtml } from '../../../core/html-escape';

function unescapeHtml(value: string): string {
  return value
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');
}

describe('escapeHtml', () => {
  it('escapes every HTML special character when they are present', () => {
    expect(escapeHtml(`<a href="x" title='y'>Tom & Jerry</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;',
    );
  });

  it('escapes an ampersand again when the text already looks escaped', () => {
    expect(escapeHtml('&lt;')).toBe('&amp;lt;');
  });

  it('returns the same string when there is nothing to escape', () => {
    expect(escapeHtml('arn:aws:iam::111122223333:user/alice')).toBe('arn:aws:iam::111122223333:user/alice');
  });

  const htmlText = fc.oneof(
    fc.string(),
    fc.string({ unit: fc.constantFrom('<', '>', '"', "'", '&', 'a', ';', '#', 'l', 't') }),
  );

  it('never leaves a raw < > " \' or a bare & in its output', () => {
    fc.assert(
      fc.property(htmlText, (s) => {
        const out = escapeHtml(s);
        return !/[<>"']/.test(out) && !/&(?!(?:amp|lt|gt|quot|#39);)/.test(out);
      }),
      { numRuns: 2000 },
    );
  });

  it('unescapes back to its input for any string', () => {
    fc.assert(
      fc.property(htmlText, (s) => unescapeHtml(escapeHtml(s)) === s),
      { numRuns: 2000 },
    );
  });
});
