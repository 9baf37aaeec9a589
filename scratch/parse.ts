import pg from 'pg';
import { createTestDatabase } from '../test/support/testDatabase';
import { createPgDb } from '../core/db';
import { createEventStore, type NewEvent } from '../core/eventstore';
const database = await createTestDatabase();
const db = createPgDb({ connectionString: database.url, max: 1 });
const store = createEventStore(db);
for (let index = 0; index < 1000; index += 1) {
  const events: NewEvent[] = [{ type: 'AccountOpened', data: { owner: `owner ${index}`, currency: 'EUR' } }];
  for (let n = 1; n < 100; n += 1) events.push({ type: 'MoneyDeposited', data: { amount: 25 } });
  await store.appendToStream({ streamId: `account-${index}`, streamType: 'account', expectedVersion: 0, events, metadata: { correlationId: 'c-' + index, causationId: 'x', commandId: 'y' } });
}
await db.query('VACUUM ANALYZE events');
await db.close();
const pool = new pg.Pool({ connectionString: database.url, max: 1 });
const COLS = "e.global_position, e.tx_id, e.stream_id, e.stream_type, e.version, e.event_id, e.type, e.schema_version, e.data, e.metadata, floor(date_part('epoch', e.recorded_at) * 1000 + 0.0005) AS recorded_at_ms";
const variants: Record<string, string> = {
  cols: `SELECT ${COLS} FROM events e WHERE (e.tx_id, e.global_position) > ($1::xid8, $2::bigint) ORDER BY e.tx_id, e.global_position LIMIT 500`,
  json: `SELECT json_build_array(e.global_position::text, e.tx_id::text, e.stream_id, e.stream_type, e.version, e.event_id, e.type, e.schema_version, e.data, e.metadata, floor(date_part('epoch', e.recorded_at) * 1000 + 0.0005))::text AS r, e.tx_id, e.global_position FROM events e WHERE (e.tx_id, e.global_position) > ($1::xid8, $2::bigint) ORDER BY e.tx_id, e.global_position LIMIT 500`,
  base: `SELECT tx_id, global_position, stream_id, type, data, version, recorded_at FROM events WHERE (tx_id, global_position) > ($1::xid8, $2::bigint) ORDER BY tx_id, global_position LIMIT 500`,
  arr: `SELECT ${COLS} FROM events e WHERE (e.tx_id, e.global_position) > ($1::xid8, $2::bigint) ORDER BY e.tx_id, e.global_position LIMIT 500`,
};
for (let r = 0; r < 3; r++) for (const [name, text] of Object.entries(variants)) {
  const t = performance.now(); const cpu0 = process.cpuUsage(); let n = 0; let after = ['0', '0'];
  for (;;) {
    const res = await pool.query(name === 'arr' ? { text, values: after, rowMode: 'array', name } : { text, values: after, name });
    const rows = res.rows as unknown[];
    if (name === 'json') for (const row of rows as { r: string }[]) JSON.parse(row.r);
    n += rows.length;
    if (rows.length < 500) break;
    const last = rows[rows.length - 1] as Record<string, string> & string[];
    after = name === 'arr' ? [last[1] as string, last[0] as string] : [last.tx_id, last.global_position];
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(name, n, 'wall', Math.round(performance.now() - t), 'node cpu', Math.round((cpu.user + cpu.system) / 1000));
}
await pool.end(); await database.drop();
