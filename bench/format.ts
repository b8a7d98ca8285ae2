/** Milliseconds for a table: more decimals for small values, "–" for none. */
export function fmtMs(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return "–";
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return Math.round(ms).toString();
}

/** A count with thousands separators, "–" for none. */
export function fmtCount(n: number | undefined): string {
  return n === undefined ? "–" : Math.round(n).toLocaleString("en-US");
}

/** KiB as MiB with one decimal. */
export function fmtMiB(kib: number): string {
  return (kib / 1024).toFixed(1);
}

/** A Markdown table; `|` and line breaks in cells are escaped. */
export function markdownTable(header: string[], rows: string[][]): string {
  const cell = (text: string) => text.replaceAll("|", "\\|").replace(/\s*\n\s*/g, " ");
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
