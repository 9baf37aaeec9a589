import pg from 'pg';
import { createPgDb } from '../core/db';
import { createEventStore } from '../core/eventstore';
import { appendStatement } from '../core/eventstore/appendStatement';
import { newEventId } from '../core/eventstore/eventIds';
const url = 'postgres://postgres@127.0.0.1:5432/wpreal';
const text = appendStatement({ check: 'exact', batch: false, guardFirstWrite: false, recordCommand: false, messages: false });
const data = { amount: 125, currency: 'EUR', note: 'bench deposit' };
const meta = { correlationId: 'c', causationId: 'd', commandId: 'e' };
async function loop(conc: number, ms: number, step: (s: { id: string; v: number }) => Promise<void>, tag: string) {
  let count = 0; let stop = false;
  const ws = Array.from({ length: conc }, async (_, w) => { const streams: { id: string; v: number }[] = []; let n = 0; while (!stop) { let s = streams[Math.floor(Math.random() * streams.length)]; if (!s || Math.random() < 0.1) { s = { id: `js-${tag}-${process.pid}-${w}-${n++}`, v: 0 }; streams.push(s); } await step(s); s.v++; count++; } });
  await new Promise(r => setTimeout(r, 500)); count = 0; const t = performance.now(); const cpu0 = process.cpuUsage(); await new Promise(r => setTimeout(r, ms)); const el = performance.now() - t; const cpu = process.cpuUsage(cpu0); const rate = count / (el / 1000); console.log(tag, 'node cpu %', Math.round((cpu.user + cpu.system) / 10 / el), 'µs/op', Math.round((cpu.user + cpu.system) / count)); stop = true; await Promise.all(ws); return Math.round(rate);
}
const conc = Number(process.argv[2] ?? 32);
for (let round = 0; round < 2; round++) {
  const db = createPgDb({ connectionString: url, max: conc }); const store = createEventStore(db);
  const a = await loop(conc, 3000, async (s) => { await store.appendToStream({ streamId: s.id, streamType: 'account', expectedVersion: s.v, events: [{ type: 'MoneyDeposited', data, metadata: meta }] }); }, 'store' + round);
  await db.close();
  const pool = new pg.Pool({ connectionString: url, max: conc });
  const b = await loop(conc, 3000, async (s) => { await pool.query({ name: 'x', text, values: [s.id, 'account', s.v, newEventId(), 'MoneyDeposited', 1, JSON.stringify(data), JSON.stringify(meta)] }); }, 'raw' + round);
  await pool.end();
  const db2 = createPgDb({ connectionString: url, max: conc });
  const c = await loop(conc, 3000, async (s) => { await db2.query(text, [s.id, 'account', s.v, newEventId(), 'MoneyDeposited', 1, JSON.stringify(data), JSON.stringify(meta)], { name: 'x' }); }, 'pooldb' + round);
  await db2.close();
  console.log({ store: a, raw: b, poolDb: c });
}
