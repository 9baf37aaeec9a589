import { validateAppend } from '../core/eventstore/validateAppend';
import { NO_UPCASTING } from '../core/eventstore';
import { newEventId } from '../core/eventstore/eventIds';
import { randomUUID } from 'node:crypto';
import { appendStatement } from '../core/eventstore/appendStatement';
const ev = { type: 'PaymentReceived', data: { amount: 100, currency: 'EUR', note: 'Invoice 1 for x, paid by bank transfer' }, metadata: { correlationId: 'a', causationId: 'b' } };
const req = { streamId: 'account-123', streamType: 'Account', expectedVersion: 5, events: [ev] };
function time(name: string, f: () => unknown, n = 200000) { for (let i = 0; i < 20000; i++) f(); const t = performance.now(); for (let i = 0; i < n; i++) f(); console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'µs'); }
time('validateAppend', () => validateAppend(req, NO_UPCASTING));
time('JSON x2', () => { JSON.stringify(ev.data); JSON.stringify(ev.metadata); });
time('newEventId', () => newEventId());
time('randomUUID', () => randomUUID());
