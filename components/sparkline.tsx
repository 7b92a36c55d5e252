import { SvgLines } from "../islands/_svg_lines.tsx";
import { formatCount } from "./format.ts";

/**
 * A destination's delivered and failed deliveries per bucket as a small inline SVG (no
 * JavaScript), labelled with its peaks for screen readers.
 */
export function Sparkline(
  props: { delivered: readonly number[]; failed: readonly number[]; per: "hour" | "day" },
) {
  const peak = (values: readonly number[]) => formatCount(Math.max(0, ...values));
  return (
    <SvgLines
      class="sparkline"
      height={24}
      label={`Delivered and failed per ${props.per}: at most ${
        peak(props.delivered)
      } delivered and ${peak(props.failed)} failed in one ${props.per}`}
      series={[
        { values: props.delivered, class: "line-delivered" },
        { values: props.failed, class: "line-failed" },
      ]}
    />
  );
}
