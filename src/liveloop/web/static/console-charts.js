// The console's charts (vendored Apache ECharts): CCU over time (per-minute buckets plus the
// per-second samples this page has seen), interactions per minute, and the UV -> paid funnel.
// console.js calls liveloopConsole.charts.render(metrics, totals) on every snapshot.
"use strict";

(() => {
  const { T, fmt } = window.liveloopConsole;
  const LIVE_WINDOW_MS = 15 * 60 * 1000; // how much of the per-second CCU the chart keeps
  const FONT =
    'system-ui, -apple-system, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", ' +
    '"WenQuanYi Micro Hei", "Segoe UI", Roboto, Arial, sans-serif';
  const COLORS = ["#2563eb", "#f43f5e", "#f59e0b", "#10b981", "#8b5cf6"];

  const charts = {};
  const liveCcu = [];

  function chart(id) {
    if (!charts[id] && window.echarts) {
      charts[id] = window.echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    }
    return charts[id] || null;
  }

  const axisLine = { lineStyle: { color: "#d1d5db" } };
  // Whole minutes as 20:05; ticks inside a minute (a show's first minutes) as 20:05:30.
  const tickLabel = (v) => (new Date(v).getSeconds() ? fmt.clockSeconds(v) : fmt.clock(v));
  const axisTime = (min, max) => ({
    type: "time",
    min,
    max,
    axisLabel: { formatter: tickLabel, hideOverlap: true, color: "#6b7280" },
    axisLine,
    splitLine: { show: false },
  });
  const axisValue = {
    type: "value",
    minInterval: 1,
    axisLabel: { color: "#6b7280" },
    splitLine: { lineStyle: { color: "#eef0f4" } },
  };
  const base = {
    color: COLORS,
    textStyle: { fontFamily: FONT },
    animationDurationUpdate: 300,
    grid: { left: 44, right: 16, top: 36, bottom: 28 },
    tooltip: { trigger: "axis" },
    legend: { top: 0, right: 0, itemWidth: 14, textStyle: { color: "#374151" } },
  };

  function renderCharts(m, t) {
    const minutes = Array.isArray(m.minutes) ? m.minutes : [];
    const at = (row) => Date.parse(row.minute);
    if (m.as_of && typeof t.ccu === "number") {
      const now = Date.parse(m.as_of);
      if (!liveCcu.length || liveCcu[liveCcu.length - 1][0] < now) liveCcu.push([now, t.ccu]);
      while (liveCcu.length && liveCcu[0][0] < now - LIVE_WINDOW_MS) liveCcu.shift();
    }
    const ccu = chart("chart-ccu");
    if (ccu) {
      // From the show's first minute (or the first sample seen) to now, never a guessed range.
      const starts = [minutes.length ? at(minutes[0]) : null, liveCcu.length ? liveCcu[0][0] : null];
      const known = starts.filter((v) => v !== null);
      const min = known.length ? Math.min(...known) : undefined;
      const end = m.as_of ? Date.parse(m.as_of) : undefined;
      ccu.setOption({
        ...base,
        xAxis: axisTime(min, min !== undefined && end !== undefined ? Math.max(end, min + 60000) : undefined),
        yAxis: axisValue,
        series: [
          { name: T.series_ccu_minute, type: "line", data: minutes.map((r) => [at(r), r.ccu]), showSymbol: true, symbolSize: 6 },
          { name: T.series_ccu_live, type: "line", data: liveCcu, showSymbol: liveCcu.length < 3, areaStyle: { opacity: 0.08 } },
        ],
      });
      document.getElementById("chart-ccu").dataset.points = String(minutes.length + liveCcu.length);
    }
    const inter = chart("chart-interactions");
    if (inter) {
      // One category per minute of the show: bars stay a minute wide however few minutes there are.
      const series = (key, name, extra) => ({
        name,
        type: "bar",
        barMaxWidth: 28,
        data: minutes.map((r) => r[key] || 0),
        ...extra,
      });
      inter.setOption({
        ...base,
        color: [COLORS[0], COLORS[1], COLORS[3]],
        xAxis: {
          type: "category",
          data: minutes.map((r) => fmt.clock(at(r))),
          axisLabel: { hideOverlap: true, color: "#6b7280" },
          axisLine,
        },
        yAxis: [axisValue, { ...axisValue, splitLine: { show: false } }],
        series: [
          series("comments", T.series_comments, {}),
          series("shares", T.series_shares, {}),
          { ...series("likes", T.series_likes, {}), type: "line", yAxisIndex: 1, showSymbol: true, symbolSize: 5 },
        ],
      });
      document.getElementById("chart-interactions").dataset.points = String(minutes.length);
    }
    const funnel = chart("chart-funnel");
    if (funnel) {
      const steps = [
        [T.funnel_uv, t.uv],
        [T.funnel_exposure, t.exposure_uv],
        [T.funnel_click, t.click_uv],
        [T.funnel_order, t.order_uv],
        [T.funnel_paid, t.paid_uv],
      ].map(([name, v]) => ({ name, value: typeof v === "number" ? v : 0 }));
      funnel.setOption({
        color: COLORS.concat(["#0ea5e9"]),
        textStyle: { fontFamily: FONT },
        animationDurationUpdate: 300,
        tooltip: { trigger: "item", formatter: (p) => `${p.name}: ${fmt.int(p.value)}` },
        series: [
          {
            type: "funnel",
            sort: "none",
            min: 0,
            max: Math.max(1, steps[0].value),
            minSize: "6%",
            left: 4,
            width: "52%",
            top: 8,
            bottom: 8,
            gap: 2,
            label: {
              show: true,
              position: "right",
              color: "#374151",
              formatter: (p) => `${p.name}  ${fmt.int(p.value)}`,
            },
            labelLine: { show: true, length: 8, lineStyle: { color: "#d1d5db" } },
            data: steps,
          },
        ],
      });
      document.getElementById("chart-funnel").dataset.points = String(steps[0].value);
    }
  }

  window.addEventListener("resize", () => Object.values(charts).forEach((c) => c.resize()));

  window.liveloopConsole.charts = { render: renderCharts };
  renderCharts({}, {}); // empty axes until the first snapshot
})();
