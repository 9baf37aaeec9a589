import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { DEFAULT_DATABASE_URL } from '../core/db';
import { natsAddressToShow, natsConnectOptionsOf, whyNotANatsServer } from '../core/publishing';

/**
 * The first step of `npm test`: checks that the PostgreSQL and the NATS (with
 * JetStream) the suites need answer, and says so in one line if not, within
 * seconds instead of after the type check and the linter. Exits 1 then, 0
 * otherwise.
 */

const TIMEOUT_MS = 2_500;
const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** Host and port only: a URL may carry a password. */
function whereOf(url: string, defaultPort: number): string {
  try {
    const { hostname, port } = new URL(url);
    return `${hostname}:${port || String(defaultPort)}`;
  } catch {
    return 'an unparseable URL';
  }
}

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

/** Why PostgreSQL did not answer a query, or undefined if it did. */
async function postgresProblem(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: TIMEOUT_MS, query_timeout: TIMEOUT_MS });
  // A client that failed to connect reports its error here too; the rejection carries it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL is not reachable at ${whereOf(url, 5432)} (${reasonOf(error)})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why NATS did not answer a JetStream request, or undefined if it did. */
async function natsProblem(url: string): Promise<string | undefined> {
  let connection;
  try {
    connection = await connect({ ...natsConnectOptionsOf(url), timeout: TIMEOUT_MS, reconnect: false });
  } catch (error) {
    return `NATS is not reachable at ${natsAddressToShow(url)} (${reasonOf(error)})`;
  }
  try {
    await (await jetstreamManager(connection, { timeout: TIMEOUT_MS })).getAccountInfo();
    return undefined;
  } catch (error) {
    return `NATS at ${natsAddressToShow(url)} has no JetStream (${reasonOf(error)})`;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

const natsUrl = process.env.NATS_URL ?? DEFAULT_NATS_URL;
// A setting no start could fix: said as such, not as a service to start.
const unreadable = whyNotANatsServer(natsUrl);
if (unreadable !== null) {
  console.error(`NATS_URL ${unreadable}: fix it (or unset it for ${DEFAULT_NATS_URL}) and run npm test again`);
  process.exit(1);
}

const problems = (
  await Promise.all([postgresProblem(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL), natsProblem(natsUrl)])
).filter((problem) => problem !== undefined);

if (problems.length > 0) {
  console.error(`${problems.join('; ')} — start ${problems.length > 1 ? 'them' : 'it'} (docker compose up -d) and run npm test again`);
  process.exit(1);
}
