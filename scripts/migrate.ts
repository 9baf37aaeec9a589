import { service } from '../functions/service';
import { migrateCommand } from './cli/migrateCommand';

// One line on failure: the reason, not a stack trace (the connection refused, a checksum changed...).
await migrateCommand(service, false).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
