/**
 * The HTML report of a cluster run: a timeline of lease ownership per contender (fences, takeovers,
 * pauses, crashes, fenced-out writes) and of charges over time, in the spirit of Jepsen's timeline, plus
 * the run's summary tables and invariant verdict. One self-contained file: inline SVG, CSS and a little
 * JS, no network, opens in any browser.
 *
 * SVG elements carry stable classes and data attributes for tests and tooling:
 *   g.lane[data-contender][data-round]                          one row per contender process
 *   rect.lease[data-contender][data-shard][data-fence][data-end] a tenure (end: released-complete, lost, killed, ...)
 *   g.takeover[data-contender][data-fence][data-from-contender][data-from-fence]
 *   rect.pause[data-contender], g.crash[data-contender][data-signal], rect.orphaned[data-shard]
 *   circle.fenced-out[data-contender][data-fence][data-step], path.lease-lost[data-contender]
 *   line.charge[data-contender][data-outcome], polyline.cumulative[data-outcome], polyline.due-left
 *   g.continuation[data-contender][data-link][data-sent]         an Invoke of the run's next link
 * and the recorded timeline is embedded as JSON in script#timeline-data.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { ChargeOutcomeKind } from "../../functions/core/billing-run/events";
import { esc, niceStep } from "../drawing";
import type { Timeline } from "./timeline";

export interface ReportTable {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
}

export interface ReportInput {
  readonly title: string;
  readonly timeline: Timeline;
  readonly verdict: { readonly ok: boolean; readonly headline: string };
  /** Key/value facts shown at the top (options, durations, counts). */
  readonly facts: readonly (readonly [string, string])[];
  readonly tables?: readonly ReportTable[];
  readonly violations?: readonly string[];
  readonly notes?: readonly string[];
  /** Lease duration, to draw how long a dead holder's lease kept the shard. */
  readonly leaseMs?: number;
  readonly generatedAt?: Date;
}

export const OUTCOME_COLORS: Record<ChargeOutcomeKind, string> = {
  succeeded: "#2e7d32",
  declined: "#c62828",
  needs_customer_action: "#ef6c00",
  in_doubt: "#6a1b9a",
  quarantined: "#546e7a",
  rate_limited: "#f9a825",
};

export function fenceColor(fence: number): string {
  return `hsl(${(fence * 67 + 200) % 360} 62% 52%)`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

const WIDTH = 1200;
const LEFT = 150;
const RIGHT = 24;
const LANE = 48;
/** Bands of a lane, from its top: takeover markers, the lease bar, charge ticks and refused writes. */
const BAR_TOP = 15;
const BAR_HEIGHT = 20;
const MID = BAR_TOP + BAR_HEIGHT / 2;
const TICKS_TOP = 38;
const TOP = 34;

export function renderTimelineSvg(timeline: Timeline, leaseMs?: number): string {
  const contenders = timeline.contenders();
  const intervals = timeline.leaseIntervals();
  const takeovers = timeline.takeovers();
  const pauses = timeline.pauses();
  const charges = timeline.charges();
  const signals = timeline.signals();
  const firstActivity = timeline.firstActivity();
  const end = Math.max(timeline.end(), 1000) * 1.02;
  const x = (ms: number) => LEFT + (Math.max(0, ms) / end) * (WIDTH - LEFT - RIGHT);
  const laneIndex = new Map(contenders.map((c, i) => [c.label, i]));
  const laneY = (label: string) => TOP + (laneIndex.get(label) ?? 0) * LANE;
  const lanesHeight = Math.max(1, contenders.length) * LANE;
  const chartTop = TOP + lanesHeight + 40;
  const chartHeight = 170;
  const height = chartTop + chartHeight + 40;
  const parts: string[] = [];

  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" id="timeline" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-label="Lease ownership and charges over time">`,
    `<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#90a4ae" stroke-width="3"/></pattern>` +
      `<pattern id="pause-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#37474f" stroke-width="2" opacity="0.55"/></pattern></defs>`,
  );

  // Time axis.
  const step = niceStep(end, 14, TIME_STEPS);
  parts.push(`<g class="axis">`);
  for (let t = 0; t <= end; t += step) {
    parts.push(
      `<line x1="${x(t).toFixed(1)}" y1="${TOP - 6}" x2="${x(t).toFixed(1)}" y2="${chartTop + chartHeight}" class="grid"/>`,
      `<text x="${x(t).toFixed(1)}" y="${TOP - 12}" text-anchor="middle">${esc(seconds(t))}</text>`,
    );
  }
  parts.push(`</g>`);

  // Rounds (schedule ticks).
  for (const r of timeline.rounds()) {
    parts.push(
      `<g class="round-marker" data-round="${r.round}" data-tip="${esc(`round ${r.round}: scheduled event at ${r.asOf}`)}">` +
        `<line x1="${x(r.at).toFixed(1)}" y1="${TOP - 4}" x2="${x(r.at).toFixed(1)}" y2="${TOP + lanesHeight}"/>` +
        `<text x="${(x(r.at) + 3).toFixed(1)}" y="${TOP + lanesHeight + 14}">round ${r.round}</text></g>`,
    );
  }

  // Lanes.
  for (const [index, c] of contenders.entries()) {
    const y = laneY(c.label);
    const mid = y + MID;
    const lifeEnd = c.exitedAt ?? timeline.end();
    const ready = Math.min(lifeEnd, firstActivity.get(c.label) ?? lifeEnd);
    const exitText = c.exit
      ? c.exit.signal
        ? `${c.exit.signal}${c.exit.timedOut ? " (timeout)" : ""}`
        : `exit ${c.exit.code}`
      : "running";
    parts.push(
      `<g class="lane" data-contender="${esc(c.label)}" data-round="${c.round}" data-pid="${c.pid}">`,
      `<rect class="lane-bg${index % 2 === 1 ? " alt" : ""}" x="0" y="${y}" width="${WIDTH}" height="${LANE}"/>`,
      `<text class="lane-label" x="8" y="${mid + 4}">${esc(c.label)}<tspan class="pid"> pid ${c.pid}${c.clockOffsetMs ? ` skew ${c.clockOffsetMs} ms` : ""}</tspan></text>`,
      `<line class="cold-start" x1="${x(c.spawnedAt).toFixed(1)}" y1="${mid}" x2="${x(ready).toFixed(1)}" y2="${mid}" data-tip="${esc(`${c.label}: process start and cold start (imports, clients), ${seconds(ready - c.spawnedAt)}`)}"/>`,
      `<line class="life" x1="${x(ready).toFixed(1)}" y1="${mid}" x2="${x(lifeEnd).toFixed(1)}" y2="${mid}" data-tip="${esc(`${c.label}: spawned at ${seconds(c.spawnedAt)}, handler running from ${seconds(ready)}, ${exitText} at ${seconds(lifeEnd)}`)}"/>`,
      `<text class="exit-label" x="${(x(lifeEnd) + 4).toFixed(1)}" y="${mid + 4}">${esc(exitText)}</text>`,
      `</g>`,
    );
  }

  // A dead holder's lease keeps the shard until it expires and someone takes over: draw that wait.
  for (const i of intervals) {
    if (i.end !== "killed" || i.to === null) continue;
    const next = intervals.find((n) => n.shard === i.shard && n.from > i.to! && n.fence > i.fence);
    const until = next?.from ?? (leaseMs ? i.to + leaseMs : i.to);
    if (until <= i.to) continue;
    const y = laneY(i.contender);
    parts.push(
      `<rect class="orphaned" data-contender="${esc(i.contender)}" data-shard="${i.shard}" data-fence="${i.fence}" x="${x(i.to).toFixed(1)}" y="${y + BAR_TOP + 3}" width="${Math.max(1, x(until) - x(i.to)).toFixed(1)}" height="${BAR_HEIGHT - 6}" fill="url(#hatch)" data-tip="${esc(`shard ${i.shard}: fence ${i.fence} still on the lease of a dead holder until it expired (${seconds(until - i.to)})`)}"/>`,
    );
  }

  // Tenures.
  for (const i of intervals) {
    const y = laneY(i.contender);
    const to = i.to ?? timeline.end();
    const w = Math.max(2, x(to) - x(i.from));
    const tip = `${i.contender} held shard ${i.shard} with fence ${i.fence} from ${seconds(i.from)} to ${seconds(to)}: ${i.end}${i.tookOverFrom ? ` (took over from ${i.tookOverFrom})` : ""}`;
    parts.push(
      `<rect class="lease end-${esc(i.end)}" data-contender="${esc(i.contender)}" data-shard="${i.shard}" data-fence="${i.fence}" data-end="${esc(i.end)}" data-from="${i.from}" data-to="${to}" x="${x(i.from).toFixed(1)}" y="${y + BAR_TOP}" width="${w.toFixed(1)}" height="${BAR_HEIGHT}" rx="3" fill="${fenceColor(i.fence)}" data-tip="${esc(tip)}"/>`,
    );
    // Still "holding" past the lease's expiry: the holder only believed it led (a pause, a stall).
    if (i.expiredAt !== null && to - i.expiredAt > 250) {
      const from = Math.max(i.from, i.expiredAt);
      parts.push(
        `<rect class="stale" data-contender="${esc(i.contender)}" data-shard="${i.shard}" data-fence="${i.fence}" x="${x(from).toFixed(1)}" y="${y + BAR_TOP}" width="${Math.max(1, x(to) - x(from)).toFixed(1)}" height="${BAR_HEIGHT}" data-tip="${esc(`${i.contender}'s lease (fence ${i.fence}) expired at ${seconds(i.expiredAt)}: after that it only believed it held shard ${i.shard}`)}"/>`,
      );
    }
    const label = w > 115 ? `shard ${i.shard} · fence ${i.fence}` : w > 30 ? `f${i.fence}` : "";
    if (label) {
      parts.push(
        `<text class="lease-label" x="${(x(i.from) + 5).toFixed(1)}" y="${y + MID + 4}">${label}</text>`,
      );
    }
  }

  // Pauses (SIGSTOP..SIGCONT).
  for (const p of pauses) {
    const y = laneY(p.contender);
    const to = p.to ?? timeline.end();
    parts.push(
      `<rect class="pause" data-contender="${esc(p.contender)}" data-from="${p.from}" data-to="${to}" x="${x(p.from).toFixed(1)}" y="${y + BAR_TOP - 4}" width="${Math.max(2, x(to) - x(p.from)).toFixed(1)}" height="${BAR_HEIGHT + 8}" fill="url(#pause-hatch)" data-tip="${esc(`${p.contender} paused (SIGSTOP) for ${seconds(to - p.from)}`)}"/>`,
    );
  }

  // Charges, as ticks in the lane of the contender that settled them.
  for (const c of charges) {
    const y = laneY(c.contender);
    parts.push(
      `<line class="charge" data-contender="${esc(c.contender)}" data-outcome="${c.outcome}" data-fence="${c.fence}" x1="${x(c.at).toFixed(1)}" y1="${y + TICKS_TOP}" x2="${x(c.at).toFixed(1)}" y2="${y + LANE - 2}" stroke="${OUTCOME_COLORS[c.outcome]}" data-tip="${esc(`${c.subscriptionId} ${c.periodStart.slice(0, 10)}: ${c.outcome}, ${c.amount} ${c.currency} (fence ${c.fence})`)}"/>`,
    );
  }

  // Takeovers.
  for (const t of takeovers) {
    const y = laneY(t.to);
    const px = x(t.at);
    const nearEnd = px > WIDTH - 260;
    parts.push(
      `<g class="takeover" data-contender="${esc(t.to)}" data-shard="${t.shard}" data-fence="${t.toFence}" data-from-contender="${esc(t.from ?? "")}" data-from-fence="${t.fromFence ?? ""}" data-tip="${esc(`${t.to} took over shard ${t.shard} from ${t.from ?? "?"}: fence ${t.fromFence ?? "?"} → ${t.toFence}`)}">` +
        `<path d="M ${(px - 7).toFixed(1)} ${y + 1} L ${(px + 7).toFixed(1)} ${y + 1} L ${px.toFixed(1)} ${y + BAR_TOP - 2} Z"/>` +
        `<text x="${(nearEnd ? px - 9 : px + 9).toFixed(1)}" y="${y + 11}"${nearEnd ? ' text-anchor="end"' : ""}>takeover ← ${esc(t.from ?? "?")} (fence ${t.fromFence ?? "?"} → ${t.toFence})</text></g>`,
    );
  }

  // Fenced-out writes and lost leases.
  for (const f of timeline.eventsOf("fenced-out")) {
    const y = laneY(f.contender);
    parts.push(
      `<circle class="fenced-out" data-contender="${esc(f.contender)}" data-fence="${f.event.fence}" data-step="${esc(f.event.step)}" data-subscription="${esc(f.event.subscriptionId)}" cx="${x(f.at).toFixed(1)}" cy="${y + TICKS_TOP + 4}" r="3.5" data-tip="${esc(`${f.contender}: write refused by DynamoDB (stale fence ${f.event.fence}) at ${f.event.step} of ${f.event.subscriptionId}`)}"/>`,
    );
  }
  for (const l of timeline.eventsOf("lease-lost")) {
    const y = laneY(l.contender);
    const px = x(l.at);
    parts.push(
      `<path class="lease-lost" data-contender="${esc(l.contender)}" data-fence="${l.event.fence}" data-during="${esc(l.event.during)}" d="M ${(px - 6).toFixed(1)} ${y + LANE - 1} L ${(px + 6).toFixed(1)} ${y + LANE - 1} L ${px.toFixed(1)} ${y + TICKS_TOP} Z" data-tip="${esc(`${l.contender} lost the lease (fence ${l.event.fence}) during ${l.event.during}`)}"/>`,
    );
  }

  // Continuation links: the invocation that ran out of time invoked the next one (its own lane, link<n>).
  for (const c of timeline.continuations()) {
    if (!laneIndex.has(c.contender)) continue;
    const y = laneY(c.contender) + MID;
    const px = x(c.at);
    const what = c.sent
      ? `invoked continuation link ${c.link}`
      : `continuation link ${c.link} failed: ${c.error}`;
    parts.push(
      `<g class="continuation${c.sent ? "" : " failed"}" data-contender="${esc(c.contender)}" data-link="${c.link}" data-sent="${c.sent}" data-tip="${esc(`${c.contender} ${what} at ${seconds(c.at)}`)}">` +
        `<path d="M ${px.toFixed(1)} ${y - 9} L ${(px + 9).toFixed(1)} ${y} L ${px.toFixed(1)} ${y + 9} Z"/>` +
        `<text x="${(px + 11).toFixed(1)}" y="${y - 6}">${c.sent ? "→" : "✕"} link ${c.link}</text></g>`,
    );
  }

  // Signals.
  for (const s of signals) {
    if (!laneIndex.has(s.contender)) continue;
    const y = laneY(s.contender) + MID;
    const px = x(s.at);
    if (s.signal === "SIGKILL") {
      parts.push(
        `<g class="crash" data-contender="${esc(s.contender)}" data-signal="SIGKILL" data-tip="${esc(`${s.contender}: SIGKILL at ${seconds(s.at)} (${s.reason})`)}">` +
          `<path d="M ${px - 6} ${y - 6} L ${px + 6} ${y + 6} M ${px + 6} ${y - 6} L ${px - 6} ${y + 6}"/></g>`,
      );
    } else {
      parts.push(
        `<g class="signal" data-contender="${esc(s.contender)}" data-signal="${s.signal}" data-tip="${esc(`${s.contender}: ${s.signal} at ${seconds(s.at)} (${s.reason})`)}">` +
          `<line x1="${px.toFixed(1)}" y1="${y - 13}" x2="${px.toFixed(1)}" y2="${y + 13}"/></g>`,
      );
    }
  }

  // Charges over time: cumulative per outcome, and due subscriptions left.
  parts.push(
    `<g class="chart" transform="translate(0 ${chartTop})">`,
    `<text class="chart-title" x="8" y="12">charges over time</text>`,
    `<line class="chart-axis" x1="${LEFT}" y1="${chartHeight}" x2="${WIDTH - RIGHT}" y2="${chartHeight}"/>`,
  );
  const byOutcome = new Map<ChargeOutcomeKind, { at: number }[]>();
  for (const c of charges) byOutcome.set(c.outcome, [...(byOutcome.get(c.outcome) ?? []), c]);
  const due = timeline.dueSamples();
  const maxY = Math.max(1, ...[...byOutcome.values()].map((l) => l.length), ...due.map((d) => d.left));
  const yOf = (n: number) => chartHeight - (n / maxY) * (chartHeight - 20);
  parts.push(
    `<text class="chart-scale" x="${LEFT - 6}" y="${yOf(maxY) + 4}" text-anchor="end">${maxY}</text>`,
    `<text class="chart-scale" x="${LEFT - 6}" y="${chartHeight}" text-anchor="end">0</text>`,
  );
  if (due.length > 0) {
    const points = due.map((d) => `${x(d.at).toFixed(1)},${yOf(d.left).toFixed(1)}`).join(" ");
    parts.push(
      `<polyline class="due-left" points="${points}" data-tip="due subscriptions left (polled from the due index)"/>`,
    );
  }
  let legendX = LEFT;
  for (const [outcome, list] of byOutcome) {
    const points = [`${x(0).toFixed(1)},${yOf(0).toFixed(1)}`];
    list.forEach((c, i) => {
      points.push(
        `${x(c.at).toFixed(1)},${yOf(i).toFixed(1)}`,
        `${x(c.at).toFixed(1)},${yOf(i + 1).toFixed(1)}`,
      );
    });
    points.push(`${x(timeline.end()).toFixed(1)},${yOf(list.length).toFixed(1)}`);
    parts.push(
      `<polyline class="cumulative" data-outcome="${outcome}" data-count="${list.length}" points="${points.join(" ")}" stroke="${OUTCOME_COLORS[outcome]}" data-tip="${esc(`${outcome}: ${list.length}`)}"/>`,
      `<text class="legend" x="${legendX}" y="${chartHeight + 22}" fill="${OUTCOME_COLORS[outcome]}">■ ${esc(outcome)} ${list.length}</text>`,
    );
    legendX += 40 + (outcome.length + String(list.length).length) * 7;
  }
  if (due.length > 0) {
    parts.push(`<text class="legend due" x="${legendX}" y="${chartHeight + 22}">— due left</text>`);
  }
  parts.push(`</g>`, `</svg>`);
  return parts.join("\n");
}

/** Time-axis steps a reader counts in: half seconds up to ten minutes. */
const TIME_STEPS = [500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000];

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1b1f23;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
.verdict{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:600;color:#fff}
.verdict.ok{background:#2e7d32}.verdict.fail{background:#c62828}
table{border-collapse:collapse;margin:4px 0 12px;background:#fff}
td,th{border:1px solid #dde1e4;padding:3px 8px;text-align:left;font-variant-numeric:tabular-nums}
th{background:#eef1f3}
.facts td:first-child{color:#57606a}
.violations li{color:#c62828}
#timeline{background:#fff;border:1px solid #dde1e4;font-size:11px}
#timeline .grid{stroke:#eceff1}
#timeline .axis text{fill:#57606a}
#timeline .lane-bg{fill:transparent}
#timeline .lane-bg.alt{fill:#f6f8fa}
#timeline .lane-label{font-weight:600;fill:#24292f}
#timeline .pid{font-weight:400;fill:#8c959f}
#timeline .life{stroke:#8c959f;stroke-width:2}
#timeline .cold-start{stroke:#c4cbd2;stroke-width:2;stroke-dasharray:2 3}
#timeline .exit-label{fill:#57606a;paint-order:stroke;stroke:#fff;stroke-width:3px}
#timeline .continuation path{fill:#0969da}#timeline .continuation text{fill:#0969da;font-weight:600}
#timeline .continuation.failed path{fill:#c62828}#timeline .continuation.failed text{fill:#c62828}
#timeline .lease{stroke:#1b1f23;stroke-width:.6;opacity:.9}
#timeline .lease.end-lost,#timeline .lease.end-killed{stroke:#c62828;stroke-width:1.5}
#timeline .stale{fill:#fff;fill-opacity:.55;stroke:#c62828;stroke-width:1;stroke-dasharray:4 2}
#timeline .lease-label{fill:#fff;font-weight:600;pointer-events:none}
#timeline .takeover path{fill:#0969da}
#timeline .takeover text{fill:#0969da;font-weight:600}
#timeline .crash path{stroke:#c62828;stroke-width:3}
#timeline .signal line{stroke:#37474f;stroke-width:2;stroke-dasharray:3 2}
#timeline .fenced-out{fill:#c62828;stroke:#fff;stroke-width:.8}
#timeline .lease-lost{fill:#ef6c00}
#timeline .round-marker line{stroke:#0969da;stroke-dasharray:4 3}
#timeline .round-marker text{fill:#0969da}
#timeline .chart-axis{stroke:#8c959f}
#timeline .cumulative{fill:none;stroke-width:2}
#timeline .due-left{fill:none;stroke:#24292f;stroke-width:1.5;stroke-dasharray:5 3}
#timeline .legend.due{fill:#24292f}
#timeline .chart-title{font-weight:600}
#timeline.hide-charges .charge{display:none}
#tip{position:fixed;pointer-events:none;background:#24292f;color:#fff;padding:4px 8px;border-radius:4px;font-size:12px;max-width:460px;display:none}
.controls{margin:6px 0}
.legend-box span{display:inline-block;margin-right:14px}
`;

const SCRIPT = `
(function(){
  var tip=document.getElementById('tip');
  document.querySelectorAll('[data-tip]').forEach(function(el){
    el.addEventListener('mousemove',function(ev){tip.textContent=el.getAttribute('data-tip');tip.style.display='block';
      tip.style.left=(ev.clientX+12)+'px';tip.style.top=(ev.clientY+12)+'px';});
    el.addEventListener('mouseleave',function(){tip.style.display='none';});
  });
  var box=document.getElementById('show-charges');
  if(box){box.addEventListener('change',function(){document.getElementById('timeline').classList.toggle('hide-charges',!box.checked);});}
  var svg=document.getElementById('timeline');
  if(svg){svg.setAttribute('data-rendered','true');}
})();
`;

function table(t: ReportTable): string {
  const head = t.columns.map((c) => `<th>${esc(c)}</th>`).join("");
  const body = t.rows.map((r) => `<tr>${r.map((v) => `<td>${esc(v)}</td>`).join("")}</tr>`).join("\n");
  return `<h2>${esc(t.title)}</h2>\n<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function renderReport(input: ReportInput): string {
  const generatedAt = input.generatedAt ?? new Date();
  const facts = input.facts.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("\n");
  const violations = input.violations ?? [];
  const data = JSON.stringify(input.timeline.toJSON()).replaceAll("<", "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(input.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(input.title)}</h1>
<p><span class="verdict ${input.verdict.ok ? "ok" : "fail"}" id="verdict" data-ok="${input.verdict.ok}">${esc(input.verdict.headline)}</span>
 <small>generated ${esc(generatedAt.toISOString())}</small></p>
<table class="facts">${facts}</table>
${violations.length > 0 ? `<h2>Invariant violations</h2><ul class="violations">${violations.map((v) => `<li>${esc(v)}</li>`).join("")}</ul>` : ""}
<h2>Timeline</h2>
<div class="legend-box"><span>▬ a lease held (colour = fence)</span><span style="color:#0969da">▼ takeover</span><span style="color:#c62828">✕ SIGKILL</span><span>▨ paused (SIGSTOP→SIGCONT)</span><span style="color:#c62828">● write refused by the fence</span><span style="color:#ef6c00">▲ lease lost</span><span>▧ dead holder's lease until expiry</span><span style="color:#c62828">┅ held past expiry (a zombie)</span><span>ticks: charges (colour = outcome)</span></div>
<div class="controls"><label><input type="checkbox" id="show-charges" checked> show charge ticks</label></div>
${renderTimelineSvg(input.timeline, input.leaseMs)}
${(input.tables ?? [])
  .filter((t) => t.rows.length > 0)
  .map(table)
  .join("\n")}
${(input.notes ?? []).length > 0 ? `<h2>Notes</h2><ul>${(input.notes ?? []).map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : ""}
<div id="tip"></div>
<script type="application/json" id="timeline-data">${data}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

export async function writeReport(path: string, html: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, html, "utf8");
}
