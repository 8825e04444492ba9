// Unit rankings: a bar chart of the chosen indicator and a unit's rank over recent periods.
// A unit without child units (its people are listed instead) has no chart data.
const source = document.getElementById("rank-data");
const data = source ? JSON.parse(source.textContent) : { names: [], values: [], trend: [] };
const font = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif';
// "成都市人力资源和社会保障局" → "成都市": the bureau suffix adds nothing to a chart label.
const short = (name) => name.replace(/人力资源和社会保障(局|厅)$/, "");
const scale = (value) => (data.percent ? Math.round(value * 1000) / 10 : Math.round(value * 100) / 100);

function init(id, option) {
  const element = document.getElementById(id);
  if (!element) return;
  const chart = window.echarts.init(element);
  chart.setOption({ textStyle: { fontFamily: font }, ...option });
  window.addEventListener("resize", () => chart.resize());
  element.dataset.ready = "true";
}

init("chart-units", {
  grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
  // Drawn on the canvas: an HTML tooltip carries inline styles, which the CSP (rightly) refuses.
  tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
  xAxis: { type: "value", splitNumber: 3, axisLabel: { formatter: data.percent ? "{value}%" : "{value}" } },
  yAxis: { type: "category", inverse: true, data: data.names.map(short), axisTick: { show: false } },
  series: [{ type: "bar", name: data.label, data: data.values.map(scale), barMaxWidth: 22,
    itemStyle: { color: "#c0392b", borderRadius: [0, 4, 4, 0] }, label: { show: true, position: "right" } }],
});

init("chart-trend", {
  grid: { left: 8, right: 24, top: 24, bottom: 8, containLabel: true },
  tooltip: { trigger: "axis", renderMode: "richText" },
  xAxis: { type: "category", data: data.trend.map((point) => point.starts_on.slice(5)) },
  yAxis: { type: "value", inverse: true, minInterval: 1, name: "名次" },
  series: [{ type: "line", name: data.focus, data: data.trend.map((point) => point.rank), symbolSize: 8,
    itemStyle: { color: "#1f6fb2" }, label: { show: true } }],
});
