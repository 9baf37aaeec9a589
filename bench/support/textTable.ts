/** Pads every column to its widest cell, right-aligning the named numeric ones, with a rule under the header. */
export function alignColumns(header: readonly string[], rows: readonly string[][], rightAligned: ReadonlySet<string>): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  const pad = (cell: string, column: number) => {
    const width = widths[column] ?? 0;
    return rightAligned.has(header[column] ?? '') ? cell.padStart(width) : cell.padEnd(width);
  };
  const lines = all.map((row) => row.map(pad).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('  '));
  return lines;
}

// Above this, a side's two rounds disagree more than the effect being measured.
const NOISY_SPREAD = 0.15;

/** A warning line when any measurement's rounds disagreed too much to trust, else nothing. */
export function noiseWarning(spreads: readonly number[]): string[] {
  return spreads.some((spread) => spread > NOISY_SPREAD)
    ? [
        `Some rounds disagree by more than ${NOISY_SPREAD * 100}% (spread): something else was using the CPU or disk; rerun on a quiet machine.`,
      ]
    : [];
}
