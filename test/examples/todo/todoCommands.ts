import { z } from 'zod';
import { aggregateCommands } from '../../../core/service';
import { todoList, type TodoCommand } from './todoList';

const listId = z.string().regex(/^[a-z0-9-]{1,40}$/);
const itemId = z.string().regex(/^[a-z0-9-]{1,40}$/);

/** Each command's payload: the list's id beside the command's own fields, checked at the edge. */
export const todoCommands = aggregateCommands(todoList, (command) => [
  command({
    type: 'CreateList',
    visibility: 'public',
    schema: z.strictObject({ listId, title: z.string().min(1).max(200) }),
    aggregateId: (payload) => payload.listId,
    toCommand: ({ title }): TodoCommand => ({ type: 'CreateList', data: { title } }),
  }),
  command({
    type: 'AddItem',
    visibility: 'public',
    schema: z.strictObject({ listId, itemId, text: z.string().min(1).max(500), priority: z.enum(['high', 'normal', 'low']).default('normal') }),
    aggregateId: (payload) => payload.listId,
    toCommand: ({ itemId, text, priority }): TodoCommand => ({ type: 'AddItem', data: { itemId, text, priority } }),
  }),
  command({
    type: 'CompleteItem',
    visibility: 'public',
    schema: z.strictObject({ listId, itemId }),
    aggregateId: (payload) => payload.listId,
    toCommand: ({ itemId }): TodoCommand => ({ type: 'CompleteItem', data: { itemId } }),
  }),
]);
