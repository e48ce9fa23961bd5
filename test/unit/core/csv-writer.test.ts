import { PassThrough, Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { neutraliseCell } from '../../../core/csv-safety';
import { createCsvWriter, CsvWriteError } from '../../../core/csv-writer';

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function writeAll(header: string[], rows: string[][]): Promise<string> {
  const sink = collect();
  const writer = createCsvWriter(sink.stream, header);
  for (const row of rows) {
    const wait = writer.write(row);
    if (wait) await wait;
  }
  await writer.end();
  expect(writer.rows).toBe(rows.length);
  return sink.text();
}

/** Cells with everything CSV and spreadsheets care about: quotes, delimiters, line breaks, formula leads. */
const cell = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc
    .tuple(fc.constantFrom('=', '+', '-', '@', '\t', '\r', '"', ',', '\n', "'"), fc.string({ maxLength: 8 }))
    .map(([a, b]) => a + b),
);

describe('createCsvWriter', () => {
  it('round-trips any cells through csv-parse, neutralised cells differing only by a leading quote', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 2, max: 5 })
          .chain((width) =>
            fc.tuple(
              fc.array(cell, { minLength: width, maxLength: width }),
              fc.array(fc.array(cell, { minLength: width, maxLength: width }), { maxLength: 20 }),
            ),
          ),
        async ([header, rows]) => {
          const text = await writeAll(header, rows);
          const parsed = parse(text, { relax_quotes: false }) as string[][];
          expect(parsed).toHaveLength(rows.length + 1);
          [header, ...rows].forEach((row, r) => {
            row.forEach((original, c) => {
              const read = parsed[r]?.[c];
              expect(read).toBe(neutraliseCell(original));
              if (read !== original) expect(read).toBe(`'${original}`);
              expect(read).not.toMatch(/^[=+\-@\t\r]/);
            });
          });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('quotes a cell holding a lone carriage return, a line feed, a comma or a quote', async () => {
    const text = await writeAll(['a', 'b', 'c', 'd', 'e'], [['x\ry', 'x\ny', 'x,y', 'x"y', 'plain']]);
    expect(text).toBe('a,b,c,d,e\n"x\ry","x\ny","x,y","x""y",plain\n');
  });

  it('neutralises the header like any other cell when a column name is hostile', async () => {
    const text = await writeAll(['=cmd|calc', 'tag:=x', '@sum'], [['a', 'b', 'c']]);
    expect(parse(text)).toEqual([
      ["'=cmd|calc", 'tag:=x', "'@sum"],
      ['a', 'b', 'c'],
    ]);
  });

  it('waits for the sink when it is slow and delivers every row in order', async () => {
    const received: string[] = [];
    const slow = new Writable({
      highWaterMark: 64,
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk.toString('utf8'));
        setImmediate(callback);
      },
    });
    const writer = createCsvWriter(slow, ['n', 'text']);
    let waits = 0;
    for (let i = 0; i < 2000; i++) {
      const wait = writer.write([String(i), 'x'.repeat(50)]);
      if (wait) {
        waits++;
        await wait;
      }
    }
    await writer.end();
    expect(waits).toBeGreaterThan(0);
    const rows = parse(received.join('')) as string[][];
    expect(rows).toHaveLength(2001);
    expect(rows.slice(1).map((r) => Number(r[0]))).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('ends the sink and resolves after it finished', async () => {
    const sink = collect();
    let finished = false;
    sink.stream.on('finish', () => (finished = true));
    const writer = createCsvWriter(sink.stream, ['a']);
    await writer.write(['1']);
    await writer.end();
    expect(finished).toBe(true);
    expect(sink.text()).toBe('a\n1\n');
  });

  it('rejects with CsvWriteError keeping the cause when the sink fails', async () => {
    const failing = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    const writer = createCsvWriter(failing, ['a']);
    await writer.write(['1']);
    const error = await writer.end().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CsvWriteError);
    expect((error as CsvWriteError).cause).toEqual(expect.objectContaining({ message: 'disk full' }));
  });

  it('rejects a pending backpressure wait when the sink fails mid-stream', async () => {
    let chunks = 0;
    const failing = new Writable({
      highWaterMark: 16,
      write(_chunk, _encoding, callback) {
        chunks++;
        setImmediate(() => callback(chunks > 3 ? new Error('connection reset') : null));
      },
    });
    const writer = createCsvWriter(failing, ['n']);
    const writeMany = async (): Promise<void> => {
      for (let i = 0; i < 100_000; i++) {
        const wait = writer.write([String(i)]);
        if (wait) await wait;
      }
    };
    await expect(writeMany()).rejects.toBeInstanceOf(CsvWriteError);
    await expect(writer.end()).rejects.toThrow('writing CSV failed: connection reset');
  });

  it('rejects the next write instead of waiting forever when the sink failed between writes', async () => {
    const failing = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    const writer = createCsvWriter(failing, ['n']);
    const writeSlowly = async (): Promise<void> => {
      for (let i = 0; i < 10; i++) {
        const wait = writer.write([String(i)]);
        if (wait) await wait;
        // Let the sink's failure reach the CSV stream before the next row.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const error = await writeSlowly().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CsvWriteError);
    expect((error as CsvWriteError).cause).toEqual(expect.objectContaining({ message: 'disk full' }));
  });

  it('refuses a row whose width differs from the header and writes after end', async () => {
    const writer = createCsvWriter(collect().stream, ['a', 'b']);
    expect(() => writer.write(['only one'])).toThrow(/row has 1 cells, header has 2/);
    await writer.end();
    expect(() => writer.write(['1', '2'])).toThrow(CsvWriteError);
  });
});
