/* The campaign pages' ECharts: the contact-point map (#cp-map, data in #cp-data) and a venture's figures
   (#venture-chart, data in #venture-data). Data comes through json_script; every name that goes into a tooltip
   passes XF.escapeHtml, because ECharts puts a formatter's result into the page as HTML. */
(function () {
  "use strict";
  var esc = window.XF.escapeHtml;

  function contactMap(el) {
    var data = window.XF.data("cp-data");
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: {formatter: function (p) {
        return esc(p.data.name) + "<br>" + esc(p.data.leader) + " " + esc(p.data.title) + "<br>" + esc(p.data.kind);
      }},
      xAxis: {type: "value", scale: true, name: "E"}, yAxis: {type: "value", scale: true, name: "N"},
      grid: {left: 48, right: 16, top: 24, bottom: 32},
      series: [{type: "scatter", symbolSize: 10, data: data, itemStyle: {color: "#c8161d"}}]
    });
    chart.on("click", function (p) { window.location = el.dataset.detailPrefix + encodeURIComponent(p.data.id) + "/"; });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function ventureChart(el) {
    var d = window.XF.data("venture-data");
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: {trigger: "axis"}, legend: {bottom: 0, itemWidth: 14, itemGap: 6},
      grid: {left: 48, right: 48, top: 32, bottom: 56},
      xAxis: {type: "category", data: d.dates},
      yAxis: [{type: "value", name: el.dataset.labelMu}, {type: "value", name: el.dataset.labelHouseholds}],
      series: [
        {name: el.dataset.labelArea, type: "bar", data: d.area},
        {name: el.dataset.labelHouseholdsReached, type: "line", yAxisIndex: 1, data: d.households},
        {name: el.dataset.labelMembers, type: "line", yAxisIndex: 1, data: d.members}
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    [["cp-map", contactMap], ["venture-chart", ventureChart]].forEach(function (pair) {
      var el = document.getElementById(pair[0]);
      if (!el) { return; }
      if (!window.echarts) { el.style.display = "none"; return; }
      pair[1](el);
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
