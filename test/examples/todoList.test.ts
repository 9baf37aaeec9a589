import { describe, it } from 'vitest';
import { specification } from '../../core/aggregates';
import { todoList, type TodoEvent } from './todo/todoList';

const spec = specification(todoList);
const created: TodoEvent = { type: 'ListCreated', data: { title: 'Groceries' } };
const milk: TodoEvent = { type: 'ItemAdded', data: { itemId: 'milk', text: 'Milk', priority: 'low' } };

describe('a to-do list', () => {
  it('given a list, when an item is added, then it is on the list', () => {
    spec.given([created]).when({ type: 'AddItem', data: milk.data }).thenEvents([milk]);
  });

  it('given an open item, when it is completed, then it is done; completing it again is refused', () => {
    spec.given([created, milk]).when({ type: 'CompleteItem', data: { itemId: 'milk' } }).thenEvents([{ type: 'ItemCompleted', data: { itemId: 'milk' } }]);
    spec.given([created, milk, { type: 'ItemCompleted', data: { itemId: 'milk' } }]).when({ type: 'CompleteItem', data: { itemId: 'milk' } }).thenRejects('ITEM_NOT_OPEN');
  });

  it('given no list, adding an item is refused', () => {
    spec.given([]).when({ type: 'AddItem', data: milk.data }).thenRejects('LIST_NOT_FOUND');
  });
});
