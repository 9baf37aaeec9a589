import { toRecordedEvent, type EventTuple } from '../eventstore';
import { BrowserInputError, BrowserNotFoundError } from './browserErrors';
import type { BrowserSources } from './BrowserSources';
import { eventView, type EventView } from './eventView';
import { CORRELATIONS_BY_TRACE_SQL, EVENTS_BY_CORRELATION_SQL, storyCheckpoint, type StoryCheckpoint } from './storyQueries';

/** A command or an event of a story, with what it caused under it. */
export interface StoryNode {
  kind: 'command' | 'event';
  id: string;
  label: string;
  at: string | null;
  children: StoryNode[];
}

interface CommandRow {
  command_id: string;
  command_type: string;
  status: string;
  causation_id: string | null;
  created_at: Date;
}

// A story is bounded: a request that set off more than this is shown in part, and says so.
const STORY_LIMIT = 1_000;

const COMMANDS_BY_CORRELATION_SQL = `SELECT command_id, command_type, status, causation_id, created_at FROM commands WHERE correlation_id = $1 ORDER BY created_at LIMIT $2`;

/**
 * The causation tree: an event hangs under the command that stored it; a
 * command under what caused it (an event, or another command) when that is in
 * the story; the rest are roots.
 */
function causationTree(commands: readonly CommandRow[], events: readonly EventView[]): StoryNode[] {
  const nodes = new Map<string, StoryNode>();
  const parents = new Map<string, string>();
  for (const command of commands) {
    nodes.set(command.command_id, { kind: 'command', id: command.command_id, label: `${command.command_type} (${command.status})`, at: command.created_at.toISOString(), children: [] });
    if (command.causation_id && command.causation_id !== command.command_id) parents.set(command.command_id, command.causation_id);
  }
  for (const event of events) {
    const { commandId, causationId } = event.metadata as { commandId?: string; causationId?: string };
    if (commandId && !nodes.has(commandId)) nodes.set(commandId, { kind: 'command', id: commandId, label: 'command', at: null, children: [] });
    // A command's cause is on its events when its record does not keep it (a command run synchronously).
    if (commandId && causationId && causationId !== commandId && !parents.has(commandId)) parents.set(commandId, causationId);
    nodes.set(event.eventId, { kind: 'event', id: event.eventId, label: `${event.type} ${event.streamId}@${String(event.version)}`, at: event.recordedAt, children: [] });
    const parent = commandId ?? causationId;
    if (parent) parents.set(event.eventId, parent);
  }
  const roots: StoryNode[] = [];
  for (const [id, node] of nodes) {
    const parent = parents.get(id);
    const parentNode = parent === undefined ? undefined : nodes.get(parent);
    if (parentNode && parentNode !== node) parentNode.children.push(node);
    else roots.push(node);
  }
  return roots;
}

/** `GET /browser/api/correlations/{correlationId}`: every command and event of one request, in order, and as a causation tree. */
export function correlationStory(sources: BrowserSources, correlationId: string) {
  return storyOf(sources, correlationId, storyCheckpoint(sources.db));
}

/** A correlation's story, past a checkpoint already read (a trace's) or being read. */
async function storyOf(sources: BrowserSources, correlationId: string, checkpoint: Promise<StoryCheckpoint>) {
  const [{ rows: eventRows }, { rows: commands }] = await Promise.all([
    checkpoint.then((values) =>
      sources.db.query<EventTuple>(EVENTS_BY_CORRELATION_SQL, [correlationId, STORY_LIMIT + 1, ...values], { rowMode: 'array' }),
    ),
    sources.db.query<CommandRow>(COMMANDS_BY_CORRELATION_SQL, [correlationId, STORY_LIMIT + 1], { name: 'browser_correlation_commands' }),
  ]);
  if (eventRows.length === 0 && commands.length === 0) throw new BrowserNotFoundError('CORRELATION_NOT_FOUND', `Nothing carries the correlation id ${correlationId}`, { correlationId });
  const events = eventRows.slice(0, STORY_LIMIT).map((row) => eventView(toRecordedEvent(row), sources.upcaster, false));
  const shownCommands = commands.slice(0, STORY_LIMIT);
  return {
    correlationId,
    truncated: eventRows.length > STORY_LIMIT || commands.length > STORY_LIMIT,
    commands: shownCommands.map((command) => ({ commandId: command.command_id, commandType: command.command_type, status: command.status, causationId: command.causation_id, createdAt: command.created_at.toISOString() })),
    events,
    tree: causationTree(shownCommands, events),
  };
}

/** `GET /browser/api/traces/{traceId}`: the correlations whose events belong to a W3C trace, and the first one's story. */
export async function traceStory(sources: BrowserSources, traceId: string) {
  if (!/^[0-9a-f]{32}$/.test(traceId)) throw new BrowserInputError('INVALID_TRACE_ID', 'A trace id is 32 lower-case hexadecimal digits', { traceId });
  const checkpoint = await storyCheckpoint(sources.db);
  const { rows } = await sources.db.query<{ correlation_id: string | null }>(CORRELATIONS_BY_TRACE_SQL, [traceId, ...checkpoint]);
  const correlations = rows.flatMap((row) => (row.correlation_id ? [row.correlation_id] : []));
  const [first] = correlations;
  if (!first) throw new BrowserNotFoundError('TRACE_NOT_FOUND', `No event belongs to trace ${traceId}`, { traceId });
  return { traceId, correlations, story: await storyOf(sources, first, Promise.resolve(checkpoint)) };
}
