/**
 * Anyone's text, shown in an error or a log line: cut short and escaped to plain ASCII, so it stays one
 * short line whose size in bytes is its length.
 */

/** Characters shown before the text is cut with an ellipsis. */
export const MAX_SHOWN_CHARS = 40;

export function shown(text: string): string {
  const cut = text.length > MAX_SHOWN_CHARS ? text.slice(0, MAX_SHOWN_CHARS) : text;
  const escaped = JSON.stringify(cut)
    .slice(1, -1)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return cut.length < text.length ? `${escaped}...` : escaped;
}
