/**
 * Series as SVG lines on a common scale, drawn without JavaScript: the overview's sparklines
 * (server) and the volume chart before uPlot takes over (island). Colours come from CSS
 * classes, so both themes apply.
 *
 * @module
 */

/** One series: its values in bucket order and the CSS class of its line. */
export interface LineSeries {
  values: readonly number[];
  class: string;
}

/** The box the lines are drawn in (the SVG stretches it to its element's size). */
const WIDTH = 100;

/** The polyline points of `values` scaled so that `max` reaches the top of a `height` box. */
function linePoints(values: readonly number[], max: number, height: number): string {
  const n = values.length;
  const top = Math.max(1, max);
  return values.map((value, i) => {
    const x = n === 1 ? WIDTH / 2 : (i * WIDTH) / (n - 1);
    const y = height - 1 - (Math.max(0, value) / top) * (height - 2);
    return `${round(x)},${round(y)}`;
  }).join(" ");
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * Lines of several series on one scale (the largest value of any), in an image labelled
 * `label`. `height` sets the box's aspect; CSS gives the element its size.
 */
export function SvgLines(
  props: { series: readonly LineSeries[]; label: string; class: string; height: number },
) {
  const max = Math.max(0, ...props.series.flatMap((s) => s.values));
  const h = props.height;
  return (
    <svg
      class={props.class}
      viewBox={`0 0 ${WIDTH} ${h}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={props.label}
      focusable="false"
    >
      <line
        class="svg-base"
        x1="0"
        y1={h - 0.5}
        x2={WIDTH}
        y2={h - 0.5}
        vector-effect="non-scaling-stroke"
      />
      {props.series.map((s) => (
        <polyline
          key={s.class}
          class={s.class}
          points={linePoints(s.values, max, h)}
          fill="none"
          vector-effect="non-scaling-stroke"
        />
      ))}
    </svg>
  );
}
