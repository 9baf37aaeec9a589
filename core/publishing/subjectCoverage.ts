/**
 * Whether every subject `subject` stands for (itself a subject or a pattern)
 * is also matched by `pattern`, by NATS's wildcards: `*` matches one token,
 * a final `>` one or more. JetStream refuses a stream whose subjects overlap,
 * so a subject another already covers is left out rather than added.
 */
export function subjectCovers(pattern: string, subject: string): boolean {
  const patternTokens = pattern.split('.');
  const subjectTokens = subject.split('.');
  for (const [index, token] of patternTokens.entries()) {
    if (token === '>') return subjectTokens.length > index;
    const other = subjectTokens[index];
    if (other === undefined) return false;
    if (token === '*' ? other === '>' : token !== other) return false;
  }
  return patternTokens.length === subjectTokens.length;
}

/** The subjects, less each one another of them covers (the first of equal ones stays). */
export function withoutCoveredSubjects(subjects: readonly string[]): string[] {
  const distinct = [...new Set(subjects)];
  return distinct.filter((subject) => !distinct.some((other) => other !== subject && subjectCovers(other, subject)));
}
