/**
 * What every hand-drawn SVG and HTML page here needs (the run report of dev/cluster, the benchmark's
 * charts): text made safe for markup, and a round step between axis ticks. No charting dependency.
 */

/** Text for an element's content or a quoted attribute value. */
export function esc(value: string | number): string {
  return String(value)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/**
 * The smallest round step that puts at most `maxTicks` ticks up to `top`: 1, 2 or 5 times a power of ten,
 * or, given `steps` (ascending), the first of them that does, else the last.
 */
export function niceStep(top: number, maxTicks: number, steps?: readonly number[]): number {
  const raw = top / maxTicks;
  if (steps) return steps.find((step) => step >= raw) ?? steps[steps.length - 1]!;
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const n = raw / magnitude;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * magnitude;
}
