import { appendStatement } from '../core/eventstore/appendStatement';
console.log(appendStatement({ check: 'exact', batch: false, guardFirstWrite: false, recordCommand: 'new', messages: false }));
