/* The campaign pages' ECharts: the contact-point map (#cp-map, data in #cp-data) and a venture's figures
   (#venture-chart, data in #venture-data). Data comes through json_script; every name that goes into a tooltip
   passes XF.escapeHtml, because ECharts puts a formatter's result into the page as HTML. */
(function () {
  "use strict";
  var esc = window.XF.escapeHtml;

  // One colour per kind of contact unit (department, town, village or community, non-public enterprise), in a legend
  // that also switches a kind on and off.
  var KIND_COLOURS = ["#c8161d", "#1f6feb", "#2da44e", "#bf8700", "#8250df", "#57606a"];

  function contactMap(el) {
    var data = window.XF.data("cp-data");
    var kinds = [];
    data.forEach(function (d) { if (kinds.indexOf(d.kind) < 0) { kinds.push(d.kind); } });
    var chart = echarts.init(el);
    chart.setOption({
      color: KIND_COLOURS,
      tooltip: {formatter: function (p) {
        return esc(p.data.name) + "<br>" + esc(p.data.leader) + " " + esc(p.data.title) + "<br>" + esc(p.data.kind);
      }},
      legend: {bottom: 0, data: kinds, itemWidth: 12, itemHeight: 12},
      xAxis: {type: "value", scale: true, name: el.dataset.labelEast}, yAxis: {type: "value", scale: true, name: el.dataset.labelNorth},
      grid: {left: 56, right: 16, top: 28, bottom: 56},
      series: kinds.map(function (kind) {
        return {name: kind, type: "scatter", symbolSize: 11,
                data: data.filter(function (d) { return d.kind === kind; })};
      })
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
