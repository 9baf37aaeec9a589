/**
 * Whether text is at most `max` characters long, counted as PostgreSQL's
 * length() and zod count them (code points), not as a string's length counts
 * them (UTF-16 units, two for a character outside the BMP, an emoji). Only
 * text longer in units is counted again in characters.
 */
export const isAtMostCharacters = (text: string, max: number): boolean => text.length <= max || Array.from(text).length <= max;
