import { BrowserInputError, BrowserNotFoundError } from '../core/browser';
import { configureLogging } from '../core/observability';
import { readableLog } from '../functions/local';
import { createInProcessDispatcher } from '../core/commands';
import { createDb, dbConfigFromEnv } from '../core/db';
import { assertServiceSchemaCurrent, createServiceRuntime } from '../core/service';
import { service } from '../functions/service';
import { parseArguments, USAGE, UsageError } from './cli/cliArguments';
import { COMMANDS } from './cli/cliCommands';
import { describeDatabase, migrateCommand } from './cli/migrateCommand';

// The ops CLI: `npm run es -- <command>` on the database DATABASE_URL names, for the deployment's service.

// Core's warnings and errors (a discarded message, say) go to stderr for the operator, and
// to whatever keeps the terminal's record; stdout stays the command's own answer.
const toStderr = readableLog((line) => process.stderr.write(`${line}\n`));
configureLogging((level, message, fields) => {
  if (level === 'warn' || level === 'error') toStderr(level, message, fields);
});

/** One line for any failure: what went wrong, never a stack trace. */
function failureLine(error: unknown): string {
  if (error instanceof UsageError) return `${error.message}\n${USAGE}`;
  if (error instanceof BrowserInputError || error instanceof BrowserNotFoundError) return `${error.code}: ${error.message}`;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message || error.name : String(error);
  if (typeof code === 'string' && /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|3D000|28P01)$/.test(code)) {
    return `could not reach the database at ${describeDatabase(dbConfigFromEnv())}: ${message}`;
  }
  return message.split('\n')[0] ?? message;
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const json = args.flags.has('json');
  const [first = '', second = ''] = args.words;
  if (first === '' || first === 'help' || args.flags.has('help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (first === 'migrate') {
    await migrateCommand(service, json);
    return;
  }
  const command = COMMANDS[`${first} ${second}`] ?? COMMANDS[first];
  if (!command) throw new UsageError(`unknown command: ${args.words.join(' ')}`);
  const db = createDb({ ...dbConfigFromEnv(), DB_POOL_MAX: 2 });
  try {
    await assertServiceSchemaCurrent(db, service);
    const runtime = createServiceRuntime(service, { db, dispatcher: (run) => createInProcessDispatcher(run) });
    await command({ runtime, args, json });
  } finally {
    await db.close().catch(() => undefined);
  }
}

await main().catch((error: unknown) => {
  process.stderr.write(`es: ${failureLine(error)}\n`);
  process.exitCode = 1;
});
