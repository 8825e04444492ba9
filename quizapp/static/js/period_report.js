// Period report: each child unit's composite index this period beside the previous one, and its
// participation and pass rates. Horizontal bars (names down the side), as tall as the units need,
// so a phone shows them as well as a desktop; the print view draws them without animation.
const source = document.getElementById("report-data");
const data = source ? JSON.parse(source.textContent) : { names: [] };
const font = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif';
const short = (name) => name.replace(/人力资源和社会保障(局|厅)$/, "");
const printing = document.body.classList.contains("print-page");
const charts = [];

function draw(id, series) {
  const element = document.getElementById(id);
  if (!element || !window.echarts || !data.names.length) return;
  // Two bars a unit: 44 px per unit, and room for the legend.
  element.style.height = `${Math.max(220, 56 + data.names.length * 44)}px`;
  const chart = window.echarts.init(element);
  chart.setOption({
    animation: !printing,
    textStyle: { fontFamily: font },
    legend: { top: 0 },
    grid: { left: 8, right: 48, top: 32, bottom: 8, containLabel: true },
    // Drawn on the canvas: an HTML tooltip carries inline styles, which the CSP refuses.
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
    xAxis: { type: "value", splitNumber: 3, axisLabel: { formatter: "{value}" } },
    yAxis: { type: "category", inverse: true, data: data.names.map(short), axisTick: { show: false } },
    series: series.map(([name, values, color]) => ({
      type: "bar",
      name,
      data: values,
      barMaxWidth: 16,
      itemStyle: { color, borderRadius: [0, 3, 3, 0] },
      label: { show: true, position: "right", fontSize: 11 },
    })),
  });
  charts.push(chart);
  element.dataset.ready = "true";
}

draw("chart-composite", [
  [`本期（${data.current}）`, data.composite, "#c0392b"],
  [`上期（${data.previous}）`, data.composite_before, "#b9c3cc"],
]);
draw("chart-rates", [
  ["参与率 %", data.participation, "#1f6fb2"],
  ["及格率 %", data.pass_rate, "#27ae60"],
]);
const resize = () => charts.forEach((chart) => chart.resize());
window.addEventListener("resize", resize);
window.addEventListener("beforeprint", resize);
