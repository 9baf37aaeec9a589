/** A bad command line: said in one line, with the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CliArguments {
  words: string[];
  flags: Map<string, string | true>;
}

/** `es streams ls --type account --json`: the words, then `--name value` and `--switch` flags (`-f` is `--follow`). */
export function parseArguments(argv: readonly string[]): CliArguments {
  const words: string[] = [];
  const flags = new Map<string, string | true>();
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index] ?? '';
    if (argument === '-f') flags.set('follow', true);
    else if (argument.startsWith('--')) {
      const [name, inline] = argument.slice(2).split('=', 2);
      const next = argv[index + 1];
      if (inline !== undefined) flags.set(name ?? '', inline);
      else if (next !== undefined && !next.startsWith('-') && VALUED.has(name ?? '')) {
        flags.set(name ?? '', next);
        index += 1;
      } else flags.set(name ?? '', true);
    } else if (argument.startsWith('-')) throw new UsageError(`unknown option ${argument}`);
    else words.push(argument);
  }
  return { words, flags };
}

const VALUED = new Set(['type', 'prefix', 'limit', 'status', 'from', 'to', 'cursor', 'source']);

/** `--limit`, a whole number from 1 to `max`; `fallback` when not given. */
export function limitFlag(args: CliArguments, fallback: number, max = 200): number {
  const text = flag(args, 'limit');
  if (text === undefined) return fallback;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) throw new UsageError(`--limit must be a whole number from 1 to ${String(max)}, not ${text}`);
  return limit;
}

/** A flag's text value, if given. */
export function flag(args: CliArguments, name: string): string | undefined {
  const value = args.flags.get(name);
  if (value === true) throw new UsageError(`--${name} needs a value`);
  return value;
}

export const USAGE = `usage: npm run es -- <command> [--json] [--limit N] [--cursor C]
  (lists are paged: --limit per page, and --cursor the nextCursor a page gave)
  migrate                              apply pending migrations, saying where
  streams ls [--type T] [--prefix P]   list streams
  streams show <streamId> [--from V] [--to V]   a stream's events
  events show <eventId>                one event and its links
  feed tail [--type T] [-f]            the last --limit events (20) of the feed; -f follows it
  correlation <correlationId>          a request's story, as a tree
  projections status                   projections, their generations and lag
  projections rebuild <name>           rebuild one, with progress, until it serves
  publishing status | parked           backlog and parked messages
  publishing requeue <messageId> [--source events|outbox]   send a parked message again
  publishing discard <messageId> [--source events|outbox]   take a parked message off the list, never to be sent
  sagas ls [--status S] | show <id>    saga instances
  restore-check [--fix]                events from another cluster's transaction ids`;
