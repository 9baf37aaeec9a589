import { fileURLToPath } from 'node:url';
import { defineService } from '../../../core/service';
import { openItems } from './openItems';
import { todoCommands } from './todoCommands';
import { todoQueries, todoReads } from './todoQueries';

/** The to-do service: one aggregate, one projection, one query, and migrations of its own. */
export const todoService = defineService({
  name: 'todo',
  commands: [todoCommands],
  context: todoReads,
  queries: todoQueries,
  projections: [openItems],
  migrations: fileURLToPath(new URL('migrations', import.meta.url)),
  access: { kind: 'jwt', issuer: 'https://auth.example.com/', audiences: ['todo-api'] },
});
