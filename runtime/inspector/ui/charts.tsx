// Small hand-drawn SVG charts over the 5-minute metric series: an area
// chart for one series, a line chart with a legend for several.
import { formatNumber } from './format.js';

const WIDTH = 400;
const HEIGHT = 120;
const LEFT = 36;
const RIGHT = 6;
const TOP = 8;
const BOTTOM = 16;
const PLOT_W = WIDTH - LEFT - RIGHT;
const PLOT_H = HEIGHT - TOP - BOTTOM;
const WINDOW_MS = 5 * 60_000;
const MAX_LINES = 8;
const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#d97706',
  '#7c3aed',
  '#0891b2',
  '#db2777',
  '#4b5563',
];

interface AreaProps {
  chart: string;
  title: string;
  unit: string;
  values: number[] | undefined;
  intervalMs: number | undefined;
}

export function AreaChart({
  chart,
  title,
  unit,
  values,
  intervalMs,
}: AreaProps) {
  const points = clean(values);
  const max = niceMax(Math.max(0, ...points));
  const slots = slotCount(points.length, intervalMs);
  const line = path(points, slots, max);
  const latest = points.at(-1);

  return (
    <figure class="chart card">
      <figcaption>
        <span>{title}</span>
        <span class="chart-latest">
          {latest === undefined ? '—' : `${formatNumber(latest)} ${unit}`}
        </span>
      </figcaption>
      <svg data-chart={chart} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img">
        <Axes max={max} />
        {line && (
          <>
            <path
              class="chart-area"
              d={`${line} L${xAt(slots - 1, slots)},${
                TOP + PLOT_H
              } L${xAt(slots - points.length, slots)},${TOP + PLOT_H} Z`}
            />
            <path class="chart-line" d={line} />
          </>
        )}
        {!line && <NoData />}
      </svg>
    </figure>
  );
}

interface LinesProps {
  chart: string;
  title: string;
  series: Record<string, number[]> | undefined;
  intervalMs: number | undefined;
}

export function LinesChart({ chart, title, series, intervalMs }: LinesProps) {
  const all = Object.entries(series ?? {}).map(([name, values]) => ({
    name,
    values: clean(values),
  }));
  // The busiest mailboxes are the ones worth a line of their own.
  all.sort(
    (a, b) => peak(b.values) - peak(a.values) || (a.name < b.name ? -1 : 1),
  );
  const shown = all.slice(0, MAX_LINES);
  const max = niceMax(Math.max(0, ...shown.map((s) => peak(s.values))));
  const longest = Math.max(0, ...shown.map((s) => s.values.length));
  const slots = slotCount(longest, intervalMs);

  return (
    <figure class="chart card">
      <figcaption>
        <span>{title}</span>
        <span class="chart-latest">max {formatNumber(max)}</span>
      </figcaption>
      <svg data-chart={chart} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img">
        <Axes max={max} />
        {shown.map((s, i) => (
          <path
            key={s.name}
            class="chart-line"
            style={{ stroke: PALETTE[i % PALETTE.length] }}
            d={path(s.values, slots, max)}
          />
        ))}
        {shown.length === 0 && <NoData />}
      </svg>
      <ul class="legend">
        {shown.map((s, i) => (
          <li key={s.name}>
            <i style={{ background: PALETTE[i % PALETTE.length] }} />
            <span class="legend-name" title={s.name}>
              {s.name}
            </span>
            <span class="num">{formatNumber(s.values.at(-1) ?? 0)}</span>
          </li>
        ))}
        {all.length > shown.length && (
          <li class="muted">+{all.length - shown.length} more, all quieter</li>
        )}
      </ul>
    </figure>
  );
}

function Axes({ max }: { max: number }) {
  const bottom = TOP + PLOT_H;
  return (
    <g class="chart-axes">
      <line x1={LEFT} x2={WIDTH - RIGHT} y1={TOP} y2={TOP} class="grid" />
      <line x1={LEFT} x2={WIDTH - RIGHT} y1={bottom} y2={bottom} />
      <text x={LEFT - 4} y={TOP + 4} text-anchor="end">
        {formatNumber(max)}
      </text>
      <text x={LEFT - 4} y={bottom} text-anchor="end">
        0
      </text>
      <text x={LEFT} y={HEIGHT - 3}>
        −5 min
      </text>
      <text x={WIDTH - RIGHT} y={HEIGHT - 3} text-anchor="end">
        now
      </text>
    </g>
  );
}

function NoData() {
  return (
    <text
      x={LEFT + PLOT_W / 2}
      y={TOP + PLOT_H / 2}
      text-anchor="middle"
      class="muted"
    >
      no data yet
    </text>
  );
}

/** A path through the points, right-aligned so the last point is "now". */
function path(values: number[], slots: number, max: number): string {
  if (values.length === 0) return '';

  const first = slots - values.length;
  return values
    .map((v, i) => {
      const y = TOP + PLOT_H - (Math.min(v, max) / max) * PLOT_H;
      return `${i === 0 ? 'M' : 'L'}${xAt(first + i, slots)},${y.toFixed(1)}`;
    })
    .join(' ');
}

function xAt(slot: number, slots: number): string {
  return (LEFT + (slots <= 1 ? PLOT_W : (slot / (slots - 1)) * PLOT_W)).toFixed(
    1,
  );
}

/** How many points the 5-minute window holds (at least the ones we have). */
function slotCount(length: number, intervalMs: number | undefined): number {
  const step = intervalMs && intervalMs > 0 ? intervalMs : 1000;
  return Math.max(length, Math.round(WINDOW_MS / step));
}

/** Round up to 1, 2 or 5 times a power of ten, so the axis reads well. */
function niceMax(value: number): number {
  if (!(value > 0)) return 1;

  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((m) => m * power >= value) ?? 10;
  return step * power;
}

function clean(values: number[] | undefined): number[] {
  if (!Array.isArray(values)) return [];
  return values.map((v) =>
    typeof v === 'number' && Number.isFinite(v) ? Math.max(0, v) : 0,
  );
}

function peak(values: number[]): number {
  return values.reduce((a, b) => Math.max(a, b), 0);
}
