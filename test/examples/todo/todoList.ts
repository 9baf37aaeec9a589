import { DomainError, defineAggregate } from '../../../core/aggregates';

export type TodoEvent =
  | { type: 'ListCreated'; data: { title: string } }
  | { type: 'ItemAdded'; data: { itemId: string; text: string; priority: Priority } }
  | { type: 'ItemCompleted'; data: { itemId: string } };

export type TodoCommand =
  | { type: 'CreateList'; data: { title: string } }
  | { type: 'AddItem'; data: { itemId: string; text: string; priority: Priority } }
  | { type: 'CompleteItem'; data: { itemId: string } };

export type Priority = 'high' | 'normal' | 'low';

type TodoState = { created: false } | { created: true; open: ReadonlySet<string>; done: ReadonlySet<string> };

const MAX_OPEN_ITEMS = 50;

/** A to-do list: created once, then items added and completed; at most 50 open at a time. */
export const todoList = defineAggregate<TodoState, TodoEvent, TodoCommand>({
  streamType: 'todo',
  initialState: () => ({ created: false }),
  evolve: {
    ListCreated: () => ({ created: true, open: new Set(), done: new Set() }),
    ItemAdded: (state, { data }) => (state.created ? { ...state, open: new Set([...state.open, data.itemId]) } : state),
    ItemCompleted: (state, { data }) =>
      state.created
        ? { created: true, open: new Set([...state.open].filter((id) => id !== data.itemId)), done: new Set([...state.done, data.itemId]) }
        : state,
  },
  decide: {
    CreateList: ({ data }, state) => {
      if (state.created) throw new DomainError('LIST_EXISTS', 'the list already exists');
      return { type: 'ListCreated', data };
    },
    AddItem: ({ data }, state) => {
      if (!state.created) throw new DomainError('LIST_NOT_FOUND', 'no list was created with this id');
      if (state.open.has(data.itemId) || state.done.has(data.itemId)) throw new DomainError('ITEM_EXISTS', 'the item is already on the list');
      if (state.open.size >= MAX_OPEN_ITEMS) throw new DomainError('LIST_FULL', `a list holds at most ${MAX_OPEN_ITEMS} open items`);
      return { type: 'ItemAdded', data };
    },
    CompleteItem: ({ data }, state) => {
      if (!state.created) throw new DomainError('LIST_NOT_FOUND', 'no list was created with this id');
      if (!state.open.has(data.itemId)) throw new DomainError('ITEM_NOT_OPEN', 'the item is not open on this list', { itemId: data.itemId });
      return { type: 'ItemCompleted', data };
    },
  },
});
