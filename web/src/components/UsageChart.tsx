import { useEffect, useId, useRef, useState } from "react";
import type { MetricName, UsageHistory } from "../api/types";
import { METRICS, day, number } from "../lib/format";

const CHART_METRICS: MetricName[] = ["images_generated", "tts_seconds", "render_minutes", "scripts_generated"];

/** Rounds up to 1, 2 or 5 times a power of ten. */
export function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * power) return step * power;
  }
  return 10 * power;
}

/** Daily usage of the last days as an SVG bar chart (no chart library). */
export function UsageChart({ history }: { history: UsageHistory }) {
  const [metric, setMetric] = useState<MetricName>("images_generated");
  const id = useId();
  const info = METRICS[metric];
  const points = (history.series[metric] ?? []).map((p) => ({ date: p.date, value: info.toUnit(p.amount) }));
  const total = points.reduce((sum, p) => sum + p.value, 0);
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry && entry.contentRect.width > 0) setWidth(Math.round(entry.contentRect.width));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const height = 200;
  const pad = { left: 44, right: 8, top: 10, bottom: 26 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const slot = points.length ? plotW / points.length : plotW;
  const barW = Math.max(2, slot * 0.7);
  const digits = info.unit === "images" ? 0 : 1;
  const first = points[0];
  const last = points[points.length - 1];

  return (
    <figure className="usage-chart">
      <fieldset className="segmented">
        <legend className="sr-only">Metric shown in the chart</legend>
        {CHART_METRICS.map((m) => (
          <label key={m} className={m === metric ? "segment segment-on" : "segment"}>
            <input type="radio" name={`${id}-metric`} value={m} checked={m === metric} onChange={() => setMetric(m)} />
            {METRICS[m].label}
          </label>
        ))}
      </fieldset>
      <div ref={box} className="usage-chart-box">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width={width}
        height={height}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        className="usage-chart-svg"
      >
        <title id={`${id}-title`}>{`${info.label} per day, last ${history.days} days`}</title>
        <desc id={`${id}-desc`}>{`In total ${number(total, digits)} ${info.unit}; the busiest day had ${number(
          Math.max(0, ...points.map((p) => p.value)),
          digits,
        )} ${info.unit}.`}</desc>
        {[0, 0.5, 1].map((f) => {
          const y = pad.top + plotH * (1 - f);
          return (
            <g key={f}>
              <line x1={pad.left} x2={width - pad.right} y1={y} y2={y} className="chart-grid" />
              <text x={pad.left - 6} y={y + 4} textAnchor="end" className="chart-axis">
                {number(max * f, max < 10 ? 1 : 0)}
              </text>
            </g>
          );
        })}
        {points.map((p, i) => {
          const h = (p.value / max) * plotH;
          return (
            <rect
              key={p.date}
              x={pad.left + i * slot + (slot - barW) / 2}
              y={pad.top + plotH - h}
              width={barW}
              height={Math.max(h, p.value > 0 ? 1 : 0)}
              rx={2}
              className="chart-bar"
            >
              <title>{`${day(p.date)}: ${number(p.value, digits)} ${info.unit}`}</title>
            </rect>
          );
        })}
        {first && width >= 260 ? (
          <text x={pad.left} y={height - 6} className="chart-axis">
            {day(first.date)}
          </text>
        ) : null}
        {last ? (
          <text x={width - pad.right} y={height - 6} textAnchor="end" className="chart-axis">
            {day(last.date)}
          </text>
        ) : null}
      </svg>
      </div>
      <figcaption>
        {info.label}: {number(total, digits)} {info.unit} in the last {history.days} days
        {info.unit !== "images" ? ` (axis in ${info.unit})` : ""}.
      </figcaption>
    </figure>
  );
}
