import type { LogSink } from '../../core/observability';

const IDS = ['correlationId', 'causationId', 'commandId', 'traceId'] as const;
const SHORT: Record<(typeof IDS)[number], string> = { correlationId: 'corr', causationId: 'cause', commandId: 'cmd', traceId: 'trace' };

/**
 * Log lines for a person at a terminal: time, level, message, the ids of the
 * work in progress, then the other fields as JSON.
 */
export function readableLog(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): LogSink {
  return (level, message, fields) => {
    const ids = IDS.flatMap((name) => (typeof fields[name] === 'string' ? [`${SHORT[name]}=${fields[name]}`] : []));
    const rest = Object.fromEntries(Object.entries(fields).filter(([name]) => !(IDS as readonly string[]).includes(name) && name !== 'spanId'));
    const time = new Date().toISOString().slice(11, 23);
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest, (_key, value: unknown) => (value instanceof Error ? value.message : value))}` : '';
    write(`${time} ${level.toUpperCase().padEnd(5)} ${message}${ids.length > 0 ? ` [${ids.join(' ')}]` : ''}${extra}`);
  };
}
