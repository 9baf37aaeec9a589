import type { Queryable } from '../../../core/db';
import { createProjectionReader, type ProjectionReader } from '../../../core/projections';
import { found, notFound, type QueryRoute } from '../../../core/service';
import { openItems } from './openItems';

/** What the queries share, built once per process: where the open items are read from. */
export interface TodoReads {
  db: Queryable;
  items: ProjectionReader<'items'>;
}

export const todoReads = ({ db }: { db: Queryable }): TodoReads => ({ db, items: createProjectionReader(db, openItems) });

/** `GET /lists/{id}/open`: the list's open items, most pressing first (ranks from the service's own table). */
const openItemsOfList: QueryRoute<TodoReads> = {
  path: '/lists/{id}/open',
  async handle({ pathParameters }, { db, items }) {
    const listId = pathParameters.id ?? '';
    const tables = await items.tables();
    if (!tables) return notFound('LIST_NOT_FOUND', `No open items on list ${listId}`, { listId });
    const { rows } = await db.query<{ itemId: string; text: string; priority: string }>(
      `SELECT i.item_id AS "itemId", i.text, i.priority
         FROM ${tables.items} i JOIN todo_priorities p ON p.name = i.priority
        WHERE i.list_id = $1
        ORDER BY p.rank, i.added_at, i.item_id`,
      [listId],
    );
    return rows.length > 0 ? found({ listId, open: rows }) : notFound('LIST_NOT_FOUND', `No open items on list ${listId}`, { listId });
  },
};

export const todoQueries = [openItemsOfList];
