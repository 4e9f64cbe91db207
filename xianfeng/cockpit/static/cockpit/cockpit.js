/* The cockpit's ECharts: monthly trends (#cockpit-trend) and the lower organisations (#cockpit-dist) from
   #cockpit-data, and the funnel plot (#cockpit-funnel, data in #cockpit-funnel-data) that htmx swaps in with the
   rates panel. The trend series' labels come with the data (the apps register the series); the others' from the
   elements' data-label-* attributes; every name put into a tooltip passes
   XF.escapeHtml, because ECharts inserts a formatter's result as HTML. */
(function () {
  "use strict";
  var esc = window.XF.escapeHtml;

  function camel(key) {
    return key.split("_").map(function (w) { return w.charAt(0).toUpperCase() + w.slice(1); }).join("");
  }

  function trendAndDistribution() {
    var trendEl = document.getElementById("cockpit-trend"), distEl = document.getElementById("cockpit-dist");
    var d = window.XF.data("cockpit-data");
    if (!trendEl || !distEl || !d) { return; }
    var trend = echarts.init(trendEl);
    trend.setOption({
      tooltip: {trigger: "axis"}, legend: {bottom: 0, type: "scroll"}, grid: {left: 48, right: 16, top: 16, bottom: 48},
      xAxis: {type: "category", data: d.months}, yAxis: {type: "value"},
      series: Object.keys(d.series).map(function (k) {
        return {name: (d.labels && d.labels[k]) || trendEl.dataset["label" + camel(k)] || k, type: "line",
                data: d.series[k]};
      })
    });
    var dist = echarts.init(distEl);
    var rate = function (cell) { return cell[1] ? Math.round(cell[0] / cell[1] * 1000) / 10 : null; };
    var L = distEl.dataset;
    dist.setOption({
      tooltip: {trigger: "axis"}, legend: {bottom: 0}, grid: {left: 48, right: 48, top: 16, bottom: 72},
      xAxis: {type: "category", data: d.children.map(function (c) { return c.name; }), axisLabel: {rotate: 30}},
      yAxis: [{type: "value", name: L.labelMembers}, {type: "value", name: "%", max: 100}],
      series: [
        {name: L.labelMembers, type: "bar", data: d.children.map(function (c) { return c.cells[0][0]; })},
        {name: L.labelFulfilled + " %", type: "line", yAxisIndex: 1, data: d.children.map(function (c) { return rate(c.cells[1]); })},
        {name: L.labelOnTime + " %", type: "line", yAxisIndex: 1, data: d.children.map(function (c) { return rate(c.cells[5]); })}
      ]
    });
    window.addEventListener("resize", function () { trend.resize(); dist.resize(); });
  }

  function funnel() {
    var el = document.getElementById("cockpit-funnel");
    if (!el || el.dataset.drawn) { return; }
    var f = window.XF.data("cockpit-funnel-data");
    if (!f) { return; }
    el.dataset.drawn = "1";
    var chart = echarts.init(el);
    var line = function (name, data, dash) { return {name: name, type: "line", showSymbol: false, data: data, lineStyle: {type: dash}}; };
    chart.setOption({
      tooltip: {trigger: "item", formatter: function (p) {
        return p.data && p.data.name ? esc(p.data.name) + ": " + esc(p.data.x) + "/" + esc(p.data.n) : "";
      }},
      legend: {bottom: 0}, grid: {left: 56, right: 16, top: 16, bottom: 56},
      xAxis: {type: "log", name: "n", min: 1},
      yAxis: {type: "value", min: 0, max: 1, axisLabel: {formatter: function (v) { return Math.round(v * 100) + "%"; }}},
      series: [
        {name: el.dataset.labelUnits, type: "scatter", data: f.points.map(function (p) {
          return {value: [p.n, p.rate], name: p.name, x: p.x, n: p.n,
                  itemStyle: {color: p.below998 ? "#c00" : (p.below95 ? "#e69500" : "#2a6fdb")}};
        })},
        line("95%", f.curves.l95, "dashed"), line("95% ", f.curves.u95, "dashed"),
        line("99.8%", f.curves.l998, "solid"), line("99.8% ", f.curves.u998, "solid"),
        {name: el.dataset.labelPooled, type: "line", showSymbol: false,
         data: f.curves.l95.map(function (p) { return [p[0], f.target]; }), lineStyle: {color: "#555"}}
      ]
    });
  }

  function start() {
    if (!window.echarts) { return; }
    trendAndDistribution();
    funnel();
    // the rates panel (with the funnel plot) arrives later through htmx
    document.body.addEventListener("htmx:afterSettle", funnel);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
