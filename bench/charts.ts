/**
 * The benchmark's charts as plain SVG strings, drawn here (no charting dependency): throughput over time
 * for the designed and the naive run, and throughput and CPU by shard count.
 */
import { esc, niceStep } from "../dev/drawing";

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly { x: number; y: number }[];
  readonly dashed?: boolean;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

export function lineChart(options: {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Horizontal reference lines (a limit). */
  rules?: readonly { y: number; label: string; color: string }[];
  /** Shaded spans of x (a measurement window). */
  bands?: readonly { from: number; to: number; label: string; color: string }[];
  width?: number;
  height?: number;
}): string {
  const width = options.width ?? 860;
  const height = options.height ?? 420;
  const m = { top: 64, right: 230, bottom: 52, left: 64 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const xs = options.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = [
    ...options.series.flatMap((s) => s.points.map((p) => p.y)),
    ...(options.rules ?? []).map((r) => r.y),
  ];
  const xMax = Math.max(1, ...xs);
  const yStep = niceStep(Math.max(1, ...ys) * 1.1, 5);
  const yMax = Math.ceil((Math.max(1, ...ys) * 1.1) / yStep) * yStep;
  const px = (x: number) => m.left + (x / xMax) * w;
  const py = (y: number) => m.top + h - (y / yMax) * h;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${m.left}" y="24" font-size="16" font-weight="600">${esc(options.title)}</text>`,
  );
  if (options.subtitle) out.push(`<text x="${m.left}" y="44" fill="#555">${esc(options.subtitle)}</text>`);
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + w}" y1="${py(y)}" y2="${py(y)}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 8}" y="${py(y) + 4}" text-anchor="end" fill="#555">${+y.toFixed(6)}</text>`,
    );
  }
  const xStep = niceStep(xMax, 8);
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    out.push(
      `<text x="${px(x)}" y="${m.top + h + 18}" text-anchor="middle" fill="#555">${+x.toFixed(6)}</text>`,
    );
  }
  out.push(
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + h}" stroke="#333"/>`,
    `<line x1="${m.left}" x2="${m.left + w}" y1="${m.top + h}" y2="${m.top + h}" stroke="#333"/>`,
    `<text x="${m.left + w / 2}" y="${height - 12}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    `<text transform="translate(18 ${m.top + h / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`,
  );
  for (const band of options.bands ?? []) {
    out.push(
      `<rect x="${px(band.from)}" y="${m.top}" width="${Math.max(0, px(band.to) - px(band.from))}" height="${h}" fill="${band.color}" opacity="0.12"/>`,
      `<text x="${px(band.from) + 4}" y="${m.top + 12}" fill="#555" font-size="11">${esc(band.label)}</text>`,
    );
  }
  for (const rule of options.rules ?? []) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + w}" y1="${py(rule.y)}" y2="${py(rule.y)}" stroke="${rule.color}" stroke-dasharray="6 4"/>`,
      `<text x="${m.left + w - 4}" y="${py(rule.y) - 5}" text-anchor="end" fill="${rule.color}">${esc(rule.label)}</text>`,
    );
  }
  for (const s of options.series) {
    if (s.points.length === 0) continue;
    const d = s.points
      .map((p, i) => `${i === 0 ? "M" : "L"}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`)
      .join(" ");
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ""}/>`,
    );
  }
  options.series.forEach((s, i) => {
    const y = m.top + 14 + i * 20;
    out.push(
      `<line x1="${m.left + w + 12}" x2="${m.left + w + 36}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ""}/>`,
      `<text x="${m.left + w + 42}" y="${y + 4}">${esc(s.name)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

export interface BarGroup {
  readonly label: string;
  /** The bar's height; drawn with its value. */
  readonly value: number;
  /** Stacked parts for the second panel (cores busy), in the order of `stackNames`. */
  readonly stack: readonly number[];
  readonly note?: string;
}

/** Two panels: bars of `value` per group, and stacked bars of `stack` per group under a ceiling line. */
export function barsWithStack(options: {
  title: string;
  subtitle?: string;
  valueLabel: string;
  stackLabel: string;
  stackNames: readonly string[];
  stackColors: readonly string[];
  stackCeiling?: { value: number; label: string };
  groups: readonly BarGroup[];
  width?: number;
}): string {
  const width = options.width ?? 820;
  const panelH = 200;
  const m = { top: 64, left: 64, right: 190, gap: 70 };
  const height = m.top + panelH * 2 + m.gap + 56;
  const w = width - m.left - m.right;
  const slot = w / Math.max(1, options.groups.length);
  const barW = Math.min(70, slot * 0.5);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${m.left}" y="24" font-size="16" font-weight="600">${esc(options.title)}</text>`,
  ];
  if (options.subtitle) out.push(`<text x="${m.left}" y="44" fill="#555">${esc(options.subtitle)}</text>`);

  const panel = (top: number, yMaxRaw: number, label: string) => {
    const step = niceStep(yMaxRaw * 1.15 || 1, 4);
    const yMax = Math.ceil((yMaxRaw * 1.15 || 1) / step) * step;
    const py = (y: number) => top + panelH - (y / yMax) * panelH;
    for (let y = 0; y <= yMax + 1e-9; y += step) {
      out.push(
        `<line x1="${m.left}" x2="${m.left + w}" y1="${py(y)}" y2="${py(y)}" stroke="#e5e5e5"/>`,
        `<text x="${m.left - 8}" y="${py(y) + 4}" text-anchor="end" fill="#555">${+y.toFixed(6)}</text>`,
      );
    }
    out.push(
      `<line x1="${m.left}" x2="${m.left + w}" y1="${top + panelH}" y2="${top + panelH}" stroke="#333"/>`,
      `<text transform="translate(18 ${top + panelH / 2}) rotate(-90)" text-anchor="middle">${esc(label)}</text>`,
    );
    return py;
  };

  const valueTop = m.top;
  const pv = panel(valueTop, Math.max(...options.groups.map((g) => g.value), 1), options.valueLabel);
  options.groups.forEach((g, i) => {
    const x = m.left + slot * i + (slot - barW) / 2;
    out.push(
      `<rect x="${x}" y="${pv(g.value)}" width="${barW}" height="${valueTop + panelH - pv(g.value)}" fill="#3b6fb6"/>`,
      `<text x="${x + barW / 2}" y="${pv(g.value) - 6}" text-anchor="middle">${g.value.toFixed(0)}</text>`,
      `<text x="${x + barW / 2}" y="${valueTop + panelH + 18}" text-anchor="middle">${esc(g.label)}</text>`,
    );
    if (g.note) {
      out.push(
        `<text x="${x + barW / 2}" y="${valueTop + panelH + 32}" text-anchor="middle" fill="#a33" font-size="10">${esc(g.note)}</text>`,
      );
    }
  });

  const stackTop = m.top + panelH + m.gap;
  const stackMax = Math.max(
    options.stackCeiling?.value ?? 0,
    ...options.groups.map((g) => g.stack.reduce((a, b) => a + b, 0)),
  );
  const ps = panel(stackTop, stackMax, options.stackLabel);
  options.groups.forEach((g, i) => {
    const x = m.left + slot * i + (slot - barW) / 2;
    let base = 0;
    g.stack.forEach((part, j) => {
      out.push(
        `<rect x="${x}" y="${ps(base + part)}" width="${barW}" height="${Math.max(0, ps(base) - ps(base + part))}" fill="${options.stackColors[j] ?? "#999"}"/>`,
      );
      base += part;
    });
    out.push(
      `<text x="${x + barW / 2}" y="${stackTop + panelH + 18}" text-anchor="middle">${esc(g.label)}</text>`,
    );
  });
  if (options.stackCeiling) {
    const y = ps(options.stackCeiling.value);
    out.push(
      `<line x1="${m.left}" x2="${m.left + w}" y1="${y}" y2="${y}" stroke="#c0392b" stroke-dasharray="6 4"/>`,
      `<text x="${m.left + 4}" y="${y - 5}" fill="#c0392b">${esc(options.stackCeiling.label)}</text>`,
    );
  }
  options.stackNames.forEach((name, j) => {
    const y = stackTop + 10 + j * 20;
    out.push(
      `<rect x="${m.left + w + 12}" y="${y - 8}" width="14" height="12" fill="${options.stackColors[j] ?? "#999"}"/>`,
      `<text x="${m.left + w + 32}" y="${y + 2}">${esc(name)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
