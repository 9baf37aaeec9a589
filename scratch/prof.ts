import { createPgDb } from '../core/db';
import { createEventStore } from '../core/eventstore';
const url = 'postgres://postgres@127.0.0.1:5432/wpreal';
const data = { amount: 125, currency: 'EUR', note: 'bench deposit' };
const meta = { correlationId: 'c', causationId: 'd', commandId: 'e' };
const conc = 32; let stop = false; let count = 0;
const db = createPgDb({ connectionString: url, max: conc }); const store = createEventStore(db);
const ws = Array.from({ length: conc }, async (_, w) => { const streams: { id: string; v: number }[] = []; let n = 0; while (!stop) { let s = streams[Math.floor(Math.random() * streams.length)]; if (!s || Math.random() < 0.1) { s = { id: `prof-${process.pid}-${w}-${n++}`, v: 0 }; streams.push(s); } await store.appendToStream({ streamId: s.id, streamType: 'account', expectedVersion: s.v, events: [{ type: 'MoneyDeposited', data, metadata: meta }] }); s.v++; count++; } });
await new Promise(r => setTimeout(r, 4000)); stop = true; await Promise.all(ws); await db.close(); console.log(count);
