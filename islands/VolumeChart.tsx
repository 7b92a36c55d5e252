import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { SvgLines } from "./_svg_lines.tsx";

/** Props of {@linkcode VolumeChart}: one value per bucket in each series. */
export interface VolumeChartProps {
  /** Bucket starts, epoch ms. */
  starts: number[];
  events: number[];
  duplicates: number[];
  rejected: number[];
  /** The bucket width. */
  per: "hour" | "day";
  /** The IANA zone the axis shows times in. */
  tz: string;
  /** What the chart shows, for screen readers ("Events per hour, …"). */
  label: string;
}

/** The series: prop, legend label, the CSS variable of its colour, its line's class. */
const SERIES = [
  ["events", "Accepted", "--chart-events", "line-events"],
  ["duplicates", "Duplicates", "--chart-duplicates", "line-duplicates"],
  ["rejected", "Rejected", "--chart-rejected", "line-rejected"],
] as const;

const HEIGHT = 220;

/** Whole numbers only on the count axis. */
const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6];

/** Formats bucket starts (unix seconds) in the zone: the axis's ticks and the legend's time. */
function timeFormats(props: VolumeChartProps) {
  const format = (options: Intl.DateTimeFormatOptions) => {
    const f = new Intl.DateTimeFormat("en-GB", { timeZone: props.tz, ...options });
    return (seconds: number) => f.format(new Date(seconds * 1000));
  };
  const day = format({ day: "numeric", month: "short" });
  const time = format({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const midnight = (seconds: number) => time(seconds) === "00:00";
  return props.per === "day" ? { tick: day, legend: day } : {
    tick: (seconds: number) => midnight(seconds) ? day(seconds) : time(seconds),
    legend: (seconds: number) => `${day(seconds)}, ${time(seconds)}`,
  };
}

function options(
  props: VolumeChartProps,
  width: number,
  color: (name: string) => string,
): uPlot.Options {
  const axis = {
    stroke: color("--muted"),
    grid: { stroke: color("--border"), width: 1 },
    ticks: { stroke: color("--border"), width: 1 },
  };
  const formats = timeFormats(props);
  const total = (values: number[]) => values.reduce((sum, n) => sum + n, 0);
  return {
    width,
    height: HEIGHT,
    scales: { y: { range: (_u, _min, max) => uPlot.rangeNum(0, Math.max(1, max), 0.1, true) } },
    axes: [
      { ...axis, values: (_u, splits) => splits.map(formats.tick) },
      { ...axis, incrs: COUNT_STEPS, size: 48 },
    ],
    cursor: { points: { size: 6 } },
    series: [
      {
        label: "Time",
        value: (_u, seconds) => seconds === null ? "the whole span" : formats.legend(seconds),
      },
      ...SERIES.map(([key, label, variable]) => ({
        label,
        stroke: color(variable),
        width: 2,
        points: { show: false },
        // Without a cursor on the chart the legend shows the span's totals.
        value: (_u: uPlot, n: number | null) =>
          (n === null ? total(props[key]) : n).toLocaleString("en-US"),
      })),
    ],
  };
}

/**
 * Events accepted, duplicates and rejected per bucket. The server renders the series as SVG
 * lines with a legend, which is what a page without JavaScript shows; in the browser uPlot
 * draws them on a canvas with axes in the zone and a legend with the span's totals, or the
 * values under the cursor, in the theme's colours, redrawn when the theme changes and resized
 * with its box.
 */
export default function VolumeChart(props: VolumeChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const [drawn, setDrawn] = useState(false);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const data: uPlot.AlignedData = [
      props.starts.map((ms) => ms / 1000),
      ...SERIES.map(([key]) => props[key]),
    ];
    let plot: uPlot | undefined;
    const draw = () => {
      plot?.destroy();
      const style = getComputedStyle(element);
      const color = (name: string) => style.getPropertyValue(name).trim();
      plot = new uPlot(options(props, element.clientWidth, color), data, element);
      setDrawn(true);
    };
    draw();
    const theme = matchMedia("(prefers-color-scheme: dark)");
    theme.addEventListener("change", draw);
    const resize = new ResizeObserver(() => {
      if (plot && plot.width !== element.clientWidth) {
        plot.setSize({ width: element.clientWidth, height: HEIGHT });
      }
    });
    resize.observe(element);
    return () => {
      theme.removeEventListener("change", draw);
      resize.disconnect();
      plot?.destroy();
    };
  }, []);

  return (
    <div class="volume-chart">
      <div ref={box} class="volume-plot" aria-hidden="true" />
      {!drawn && (
        <>
          <SvgLines
            class="volume-svg"
            height={40}
            label={props.label}
            series={SERIES.map(([key, , , line]) => ({ values: props[key], class: line }))}
          />
          <ul class="chart-legend" aria-hidden="true">
            {SERIES.map(([, label, , line]) => (
              <li key={line}>
                <span class={`swatch ${line}`} />
                {label}
              </li>
            ))}
          </ul>
        </>
      )}
      {drawn && <p class="visually-hidden">{props.label}</p>}
    </div>
  );
}
