/**
 * Time charts with uPlot: counts per bucket, one line per series, bars drawn as steps. The data comes
 * from the API as bucket starts (ms) and one array of counts per series.
 */
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { el } from "./dom";

export interface ChartData {
  bucketMs: number;
  t: number[];
  series: Record<string, number[]>;
}

const COLOURS: Record<string, string> = { good: "#2f7d4f", bad: "#c0392b", ERROR: "#c0392b", WARN: "#d68910", INFO: "#2958c7", DEBUG: "#7f8c8d", TRACE: "#95a5a6" };
const PALETTE = ["#2958c7", "#8e44ad", "#16a085", "#d68910", "#7f8c8d", "#c0392b"];

export function timeChart(data: ChartData, height = 220): HTMLElement {
  const box = el("div", { className: "chart", "data-chart": Object.keys(data.series).join(",") });
  const names = Object.keys(data.series);
  const width = Math.max(320, Math.min(window.innerWidth - 80, 1400));
  const options: uPlot.Options = {
    width,
    height,
    scales: { x: { time: true } },
    series: [
      {},
      ...names.map((name, i) => ({
        label: name,
        stroke: COLOURS[name] ?? PALETTE[i % PALETTE.length],
        fill: `${COLOURS[name] ?? PALETTE[i % PALETTE.length]}22`,
        paths: uPlot.paths.stepped!({ align: 1 }),
        points: { show: false },
      })),
    ],
    axes: [{}, { size: 60 }],
  };
  const aligned: uPlot.AlignedData = [data.t.map((t) => t / 1000), ...names.map((name) => data.series[name]!)];
  // uPlot measures its container: draw once the box is in the document.
  requestAnimationFrame(() => new uPlot(options, aligned, box));
  return box;
}
