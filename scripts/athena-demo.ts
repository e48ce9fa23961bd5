/**
 * `npm run athena:demo`: writes the two simulated days with the real pipeline into a temporary folder laid
 * out like the hub bucket, then prints each saved Athena query and its DuckDB answer on each day
 * (scripts/athena-duckdb.ts; the same SQL the hub stack saves as AWS::Athena::NamedQuery).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAnswer, runSavedQueries, writeSimulatedDay } from './athena-duckdb';

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'credreport-athena-'));
  try {
    const days = [await writeSimulatedDay(root, 0)];
    const answers = [await runSavedQueries(root, days[0] ?? '')];
    days.push(await writeSimulatedDay(root, 1));
    answers.push(await runSavedQueries(root, days[1] ?? ''));
    const [first] = answers;
    (first ?? []).forEach((query, i) => {
      process.stdout.write(`== ${query.name}\n${query.sql}\n\n`);
      days.forEach((day, d) => {
        const answer = answers[d]?.[i];
        if (answer) process.stdout.write(`-- DuckDB answer on ${day}:\n${formatAnswer(answer)}\n\n`);
      });
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`athena:demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
