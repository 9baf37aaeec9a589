import { newEventId } from '../core/eventstore/eventIds';
const id = newEventId(Date.UTC(2026, 11, 1));
console.log(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id));
