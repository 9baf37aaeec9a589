import { defineProjection } from '../../../core/projections';
import { todoList, type TodoEvent } from './todoList';

const listIdOf = (streamId: string) => streamId.slice(`${todoList.streamType}-`.length);

/** The open items of every list, one row each; completing an item removes its row. */
export const openItems = defineProjection<TodoEvent>()({
  name: 'todo_open_items',
  version: 1,
  streamTypes: [todoList.streamType],
  tables: ['items'],
  setup: async (tx, { items }) => {
    await tx.query(`CREATE TABLE ${items} (
      list_id  text NOT NULL,
      item_id  text NOT NULL,
      text     text NOT NULL,
      priority text NOT NULL,
      added_at timestamptz NOT NULL,
      PRIMARY KEY (list_id, item_id))`);
  },
  handlers: {
    ItemAdded: async (event, { tx, tables }) => {
      await tx.query(`INSERT INTO ${tables.items} (list_id, item_id, text, priority, added_at) VALUES ($1, $2, $3, $4, $5)`, [
        listIdOf(event.streamId),
        event.data.itemId,
        event.data.text,
        event.data.priority,
        event.recordedAt,
      ]);
    },
    ItemCompleted: async (event, { tx, tables }) => {
      await tx.query(`DELETE FROM ${tables.items} WHERE list_id = $1 AND item_id = $2`, [listIdOf(event.streamId), event.data.itemId]);
    },
  },
});
