// 学习记录: accuracy by category and by ability (Apache ECharts, vendored).
const data = JSON.parse(document.getElementById("accuracy-data").textContent);
const font = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif';

// The tooltip is HTML: names go in escaped.
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function chart(elementId, rows) {
  const element = document.getElementById(elementId);
  const instance = window.echarts.init(element, null, { renderer: "canvas" });
  instance.setOption({
    textStyle: { fontFamily: font },
    grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
    tooltip: {
      trigger: "axis",
      axisPointer: { type: "shadow" },
      formatter: (params) => {
        const row = rows[params[0].dataIndex];
        const name = escapeHtml(row.name);
        return row.answered ? `${name}<br>答对 ${row.correct} / ${row.answered} 题` : `${name}<br>还没有答题`;
      },
    },
    xAxis: { type: "value", min: 0, max: 100, interval: 25, axisLabel: { formatter: "{value}%" } }, // 100% labelled too
    yAxis: { type: "category", inverse: true, data: rows.map((row) => row.name), axisTick: { show: false } },
    series: [{
      type: "bar",
      data: rows.map((row) => (row.rate === null ? 0 : Math.round(row.rate * 100))),
      itemStyle: { color: "#c0392b", borderRadius: [0, 4, 4, 0] },
      label: { show: true, position: "right", formatter: (p) => (rows[p.dataIndex].answered ? `${p.value}%` : "—") },
      barMaxWidth: 22,
    }],
  });
  window.addEventListener("resize", () => instance.resize());
  element.dataset.ready = "true";
}

chart("chart-category", data.category);
chart("chart-ability", data.ability);
