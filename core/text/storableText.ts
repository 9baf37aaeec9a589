/**
 * PostgreSQL's text and jsonb hold UTF-8 without NUL. So they refuse the NUL
 * character, and a UTF-16 surrogate that is not half of a pair, which has no
 * UTF-8 form at all. JavaScript strings hold both happily (`JSON.parse` makes
 * one from the six characters `\ud800`), so input has to be checked before it
 * reaches the database, or the database's refusal looks like our failure.
 */

const NUL_MESSAGE = 'must not contain the NUL character (\\u0000)';
const LONE_SURROGATE_MESSAGE = 'must not contain a lone UTF-16 surrogate (\\ud800-\\udfff outside a pair)';

// With the `u` flag a well-formed pair is one code point, so only a lone half is in category Cs.
const LONE_SURROGATE = /\p{Cs}/u;

/** Whether text holds a UTF-16 surrogate that is not half of a pair. */
export const hasLoneSurrogate = (text: string): boolean => LONE_SURROGATE.test(text);

// JSON.stringify writes both as \u escapes. An escape starts at a backslash that follows an even
// run of them (or none): `\\u0000` is a backslash and the text "u0000", which is harmless.
// The run is kept ($1) where an escape is replaced; `search` ignores the `g` flag's position.
const NUL_ESCAPES = /(?<!\\)((?:\\\\)*)\\u0000/g;
const LONE_SURROGATE_ESCAPES = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

/** Why PostgreSQL could not store this text, or undefined if it can. */
export function whyUnstorable(text: string): string | undefined {
  if (text.includes('\0')) return NUL_MESSAGE;
  if (hasLoneSurrogate(text)) return LONE_SURROGATE_MESSAGE;
  return undefined;
}

/**
 * Text that reports on something (an error, a name it quotes) as PostgreSQL
 * can store it: a NUL written as U+FFFD. Refused, the statement recording the
 * report would fail in its place. (A lone surrogate the driver writes as U+FFFD itself.)
 */
export const storableText = (text: string): string => text.replaceAll('\u0000', '\uFFFD');

/**
 * JSON as `JSON.stringify` wrote it, with what PostgreSQL cannot store (a NUL,
 * a lone surrogate) written as U+FFFD: for text that reports on bad input, and
 * so may quote it, where the report must be stored all the same.
 */
export function storableJson(json: string): string {
  if (!json.includes('\\u')) return json;
  return json.replace(NUL_ESCAPES, '$1\\ufffd').replace(LONE_SURROGATE_ESCAPES, '$1\\ufffd');
}

/** Why PostgreSQL could not store this JSON, as `JSON.stringify` wrote it, as jsonb; undefined if it can. */
export function whyUnstorableJson(json: string): string | undefined {
  // Both are written as \u escapes; most JSON has none at all.
  if (!json.includes('\\u')) return undefined;
  if (json.search(NUL_ESCAPES) !== -1) return NUL_MESSAGE;
  if (json.search(LONE_SURROGATE_ESCAPES) !== -1) return LONE_SURROGATE_MESSAGE;
  return undefined;
}

export interface UnstorableText {
  /** Where the text is, e.g. `body.lines.2.sku`; `path` itself for a string given alone. */
  path: string;
  message: string;
}

const joinPath = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/**
 * How many objects and arrays deep a value may be. PostgreSQL's JSON parser
 * gives up some thousands of levels down, and these walks, which recurse, would
 * overflow the stack before that: JSON.parse takes a 40 KB body nested 20,000 deep.
 */
export const MAX_NESTING_DEPTH = 256;
const TOO_DEEP_MESSAGE = `is nested more than ${MAX_NESTING_DEPTH} objects or arrays deep`;

/** Whether a JSON-like value is nested more than MAX_NESTING_DEPTH objects or arrays deep; the walk stops there. */
export function nestedTooDeep(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= MAX_NESTING_DEPTH) return true;
  for (const child of Array.isArray(value) ? (value as unknown[]) : Object.values(value)) {
    if (nestedTooDeep(child, depth + 1)) return true;
  }
  return false;
}

/** Whether any string in a JSON-like value (object keys too) is one PostgreSQL could not store, or the value is too deep. */
function holdsUnstorableText(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return whyUnstorable(value) !== undefined;
  if (typeof value !== 'object' || value === null) return false;
  if (depth >= MAX_NESTING_DEPTH) return true;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) if (holdsUnstorableText(item, depth + 1)) return true;
    return false;
  }
  for (const key of Object.keys(value)) {
    if (whyUnstorable(key) !== undefined || holdsUnstorableText((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/**
 * Every string in a JSON-like value (objects, arrays, strings; object keys too)
 * that PostgreSQL could not store, each with its path below `path`, and the
 * first object or array deeper than MAX_NESTING_DEPTH on each branch. Every
 * command's payload and ids are checked: the paths are only built once a
 * first pass, which builds nothing, has found something to report.
 */
export function findUnstorableText(value: unknown, path = ''): UnstorableText[] {
  return holdsUnstorableText(value, 0) ? unstorableTextIn(value, path, 0) : [];
}

function unstorableTextIn(value: unknown, path: string, depth: number): UnstorableText[] {
  if (typeof value === 'string') {
    const message = whyUnstorable(value);
    return message ? [{ path: path || '(value)', message }] : [];
  }
  if (typeof value !== 'object' || value === null) return [];
  if (depth >= MAX_NESTING_DEPTH) return [{ path: path || '(value)', message: TOO_DEEP_MESSAGE }];
  if (Array.isArray(value)) return value.flatMap((item: unknown, index) => unstorableTextIn(item, joinPath(path, String(index)), depth + 1));
  return Object.entries(value).flatMap(([key, field]: [string, unknown]) => {
    const keyMessage = whyUnstorable(key);
    const keyIssues = keyMessage ? [{ path: joinPath(path, key), message: `name ${keyMessage}` }] : [];
    return [...keyIssues, ...unstorableTextIn(field, joinPath(path, key), depth + 1)];
  });
}
