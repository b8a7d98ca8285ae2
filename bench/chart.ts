/**
 * Draws the sweep as an SVG line chart — p99 latency against offered load, one line per
 * server, both axes logarithmic, the p99 limit dashed — by hand, with no library.
 *
 * @module
 */
import type { SweepResult } from "./results.ts";
import { stepHeld } from "./scenarios/sweep.ts";

const WIDTH = 760;
const HEIGHT = 440;
const MARGIN = { left: 70, right: 170, top: 40, bottom: 60 };
const COLORS: Record<string, string> = {
  parley: "#d9480f",
  "parley-1w": "#f59f00",
  "parley-2w": "#2f9e44",
  ceiling: "#1971c2",
  "ceiling-kv": "#7048e8",
  "ceiling-kv-log": "#c2255c",
};

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 1, 2, 5, 10, 20, 50, … between `low` and `high`. */
function niceTicks(low: number, high: number): number[] {
  const ticks: number[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(low)); decade <= high; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const tick = step * decade;
      if (tick >= low && tick <= high) ticks.push(tick);
    }
  }
  return ticks;
}

function label(value: number): string {
  if (value >= 1000) return `${value / 1000}k`;
  return value >= 1 ? String(value) : value.toString();
}

/** The SVG document for the sweeps, with `p99LimitMs` drawn as a dashed line. */
export function sweepChart(sweeps: SweepResult[], p99LimitMs: number): string {
  const points = sweeps.flatMap((sweep) => sweep.steps);
  const rates = points.map((step) => step.offeredRate);
  const p99s = points.map((step) => step.latency.p99).filter((ms) => ms > 0 && Number.isFinite(ms));
  const xLow = 10 ** Math.floor(Math.log10(Math.min(...rates, 10)));
  const xHigh = 10 ** Math.ceil(Math.log10(Math.max(...rates, 100)));
  const yLow = 10 ** Math.floor(Math.log10(Math.min(...p99s, 1)));
  const yHigh = 10 ** Math.ceil(Math.log10(Math.max(...p99s, p99LimitMs * 2)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (rate: number) =>
    MARGIN.left + (plotW * Math.log10(rate / xLow)) / Math.log10(xHigh / xLow);
  const y = (ms: number) =>
    MARGIN.top + plotH - (plotH * Math.log10(Math.max(ms, yLow) / yLow)) / Math.log10(yHigh / yLow);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">p99 delivery latency vs offered load</text>`,
  );
  for (const tick of niceTicks(xLow, xHigh)) {
    parts.push(
      `<line x1="${x(tick).toFixed(1)}" y1="${MARGIN.top}" x2="${x(tick).toFixed(1)}" y2="${
        MARGIN.top + plotH
      }" stroke="#eee"/>`,
      `<text x="${x(tick).toFixed(1)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${
        label(tick)
      }</text>`,
    );
  }
  for (const tick of niceTicks(yLow, yHigh)) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${y(tick).toFixed(1)}" x2="${MARGIN.left + plotW}" y2="${
        y(tick).toFixed(1)
      }" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 8}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${
        label(tick)
      }</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${
      HEIGHT - 18
    }" text-anchor="middle">offered load, messages/s sent over all clients (log)</text>`,
    `<text transform="translate(20 ${
      MARGIN.top + plotH / 2
    }) rotate(-90)" text-anchor="middle">p99 latency, ms (log)</text>`,
    `<line x1="${MARGIN.left}" y1="${y(p99LimitMs).toFixed(1)}" x2="${MARGIN.left + plotW}" y2="${
      y(p99LimitMs).toFixed(1)
    }" stroke="#c92a2a" stroke-dasharray="6 4"/>`,
    `<text x="${MARGIN.left + plotW - 4}" y="${
      (y(p99LimitMs) - 6).toFixed(1)
    }" text-anchor="end" fill="#c92a2a">p99 limit ${p99LimitMs} ms</text>`,
  );
  sweeps.forEach((sweep, index) => {
    const color = COLORS[sweep.server] ?? "#333";
    // A rate tried more than once (a retried step) is drawn with its last attempt.
    const last = new Map(sweep.steps.map((step) => [step.offeredRate, step]));
    const steps = [...last.values()]
      .filter((step) => Number.isFinite(step.latency.p99))
      .sort((a, b) => a.offeredRate - b.offeredRate);
    const coords = steps.map((step) => [x(step.offeredRate), y(step.latency.p99)]);
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${
        coords.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ")
      }"/>`,
      ...steps.map((step, i) => {
        const [a, b] = coords[i];
        // Filled: the step held; hollow: it failed (refused sends, lost deliveries or p99).
        const fill = stepHeld(step, p99LimitMs) === undefined ? color : "#fff";
        return `<circle cx="${a.toFixed(1)}" cy="${
          b.toFixed(1)
        }" r="4" fill="${fill}" stroke="${color}" stroke-width="2"/>`;
      }),
    );
    const legendY = MARGIN.top + 10 + index * 40;
    const legendX = MARGIN.left + plotW + 16;
    parts.push(
      `<line x1="${legendX}" y1="${legendY}" x2="${
        legendX + 22
      }" y2="${legendY}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${legendX + 28}" y="${legendY + 4}">${escapeXml(sweep.server)}</text>`,
      `<text x="${legendX + 28}" y="${legendY + 19}" fill="#555">held ${
        sweep.heldEveryRate ? "≥ " : ""
      }${Math.round(sweep.heldRate)} msg/s</text>`,
    );
  });
  const noteY = MARGIN.top + 10 + sweeps.length * 40 + 10;
  const noteX = MARGIN.left + plotW + 16;
  parts.push(
    `<circle cx="${noteX + 4}" cy="${noteY}" r="4" fill="#888" stroke="#888" stroke-width="2"/>`,
    `<text x="${noteX + 14}" y="${noteY + 4}" fill="#555">step held</text>`,
    `<circle cx="${noteX + 4}" cy="${
      noteY + 18
    }" r="4" fill="#fff" stroke="#888" stroke-width="2"/>`,
    `<text x="${noteX + 14}" y="${noteY + 22}" fill="#555">step failed</text>`,
    `<text x="${noteX}" y="${noteY + 40}" fill="#555">(refused, lost or</text>`,
    `<text x="${noteX}" y="${noteY + 54}" fill="#555">p99 over the limit)</text>`,
    "</svg>",
  );
  return parts.join("\n") + "\n";
}
