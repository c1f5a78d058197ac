// The review page's charts, redrawn with ECharts when the vendored copy loaded; without it the
// server-rendered SVG and the tables stay (nothing here is needed to read the review).
(function () {
  "use strict";
  var echarts = window.echarts;
  var block = document.getElementById("rv-data");
  if (!echarts || !block) return;
  var data;
  try {
    data = JSON.parse(block.textContent || "{}");
  } catch (e) {
    return;
  }
  var hot = "#f97316";

  function mount(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    el.hidden = false;
    var svg = el.parentNode.querySelector("svg.rv-svg");
    if (svg) svg.style.display = "none";
    var chart = echarts.init(el, null, { renderer: "canvas" });
    window.addEventListener("resize", function () {
      chart.resize();
    });
    return chart;
  }

  var minutes = data.minutes || [];
  var ccu = mount("rv-chart-ccu");
  if (ccu) {
    ccu.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      grid: { left: 48, right: 48, top: 16, bottom: 28 },
      xAxis: { type: "category", data: minutes.map(function (m) { return m[0]; }) },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", splitLine: { show: false } }],
      series: [
        { type: "line", name: "CCU", showSymbol: false, data: minutes.map(function (m) { return m[2]; }) },
        {
          type: "bar",
          name: "I(t)",
          yAxisIndex: 1,
          data: minutes.map(function (m) {
            return { value: m[3], itemStyle: m[4] ? { color: hot } : undefined };
          }),
        },
      ],
    });
  }
  var retention = mount("rv-chart-retention");
  if (retention) {
    var points = data.retention || [];
    retention.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      grid: { left: 48, right: 16, top: 16, bottom: 28 },
      xAxis: { type: "category", data: points.map(function (p) { return p[0]; }) },
      yAxis: { type: "value", max: 1, axisLabel: { formatter: function (v) { return Math.round(v * 100) + "%"; } } },
      series: [{ type: "line", showSymbol: false, areaStyle: {}, data: points.map(function (p) { return p[1]; }) }],
    });
  }
})();
