/**
 * The observability benchmark's rounds, each in a fresh Node process
 * (depositRoundProcess.ts): OpenTelemetry's API keeps its tracer provider and
 * context manager in the process's global state, and core takes its tracer
 * once, at module load (a proxy that binds to the first SDK provider it sees
 * and stays bound, even after `trace.disable()`). In one process, a round with
 * tracing "off" after a traced round would still record and export every span.
 * A process of its own sets tracing up, or leaves it out, before it imports the
 * app, so each round is what it says.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const DepositRoundJobSchema = z.object({
  traced: z.boolean(),
  accounts: z.array(z.string()),
  concurrency: z.number().int().positive(),
  warmupMs: z.number(),
  durationMs: z.number(),
});

export type DepositRoundJob = z.infer<typeof DepositRoundJobSchema>;

const DepositRoundReportSchema = z.object({
  rate: z.number(),
  cpu: z.object({ processUs: z.number(), restOfMachineUs: z.number() }).optional(),
  /** Deposits the bus answered in the round, the warm-up's too. */
  acknowledged: z.number(),
  /** Spans the SDK handed to the exporter (0 where no SDK is installed). */
  spansExported: z.number(),
  /** Whether a span of a tracer taken from the API's global provider after the round was recording. */
  globalTracerRecording: z.boolean(),
  /** A span started through core's own tracer after the round: recording, and with a valid context? */
  probe: z.object({ recording: z.boolean(), valid: z.boolean() }),
});

export type DepositRoundReport = z.infer<typeof DepositRoundReportSchema>;

export const DepositRoundAnswerSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), report: DepositRoundReportSchema }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

export type DepositRoundAnswer = z.infer<typeof DepositRoundAnswerSchema>;

const ROUND_PROCESS = fileURLToPath(new URL('./depositRoundProcess.ts', import.meta.url));
// The round's process runs its TypeScript as this one does: compiled by esbuild, nothing added.
const LOADER = new URL('../support/loadTypeScript.mjs', import.meta.url).href;

/**
 * Runs one round in a fresh process, whose environment (DATABASE_URL,
 * DB_POOL_MAX, ...) is this one's, and resolves to what it measured.
 */
export function runDepositRound(job: DepositRoundJob): Promise<DepositRoundReport> {
  return new Promise((resolve, reject) => {
    const child = fork(ROUND_PROCESS, [JSON.stringify(job)], { execArgv: ['--import', LOADER] });
    let answer: DepositRoundAnswer | undefined;
    child.once('message', (message) => {
      try {
        answer = DepositRoundAnswerSchema.parse(message);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    child.once('error', reject);
    // 'close', not 'exit': it comes after the IPC channel has closed, so the answer has been read.
    child.once('close', (code, signal) => {
      if (answer === undefined) reject(new Error(`the round's process ended (${String(signal ?? code)}) without an answer`));
      else if (!answer.ok) reject(new Error(`the round's process failed: ${answer.error}`));
      else resolve(answer.report);
    });
  });
}
