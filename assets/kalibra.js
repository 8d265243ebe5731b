// Kalibra's own small behaviours. No inline handlers: the CSP allows scripts from 'self'.
(function () {
  "use strict";
  // Copy a shown-once secret: <button data-copy="#id">.
  document.addEventListener("click", function (ev) {
    var sel = ev.target.getAttribute && ev.target.getAttribute("data-copy");
    if (!sel) { return; }
    var el = document.querySelector(sel);
    if (el && navigator.clipboard) { navigator.clipboard.writeText(el.textContent.trim()); }
  });

  // Charts: <div data-chart="service"> with a sibling <script type="application/json" class="chart-data">
  // holding {labels, offered, sl}. Drawn on load and after htmx swaps.
  // The x axis of a chart over report groups: the group labels, shortened to the time of day
  // when every group is a quarter hour or hour of one day.
  function labelAxis(data) {
    var sameDay = data.labels.length > 0 && data.labels[0].length > 10 &&
      data.labels[0].slice(0, 10) === data.labels[data.labels.length - 1].slice(0, 10);
    return { space: 70, incrs: [1, 2, 4, 8, 12, 24, 48, 96, 168, 336], values: function (u, ticks) {
      return ticks.map(function (i) {
        var l = data.labels[i] || "";
        return sameDay ? l.slice(11) : l;
      });
    } };
  }

  function drawCharts(root) {
    if (!window.uPlot || !root.querySelectorAll) { return; }
    root.querySelectorAll('[data-chart="service"]').forEach(function (el) {
      if (el.getAttribute("data-drawn")) { return; }
      el.setAttribute("data-drawn", "1");
      var source = el.parentNode.querySelector(".chart-data");
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      var xs = data.labels.map(function (_, i) { return i; });
      var opts = {
        width: el.clientWidth || 800,
        height: 260,
        scales: { x: { time: false }, sl: { range: [0, 100] } },
        axes: [
          labelAxis(data),
          { label: el.getAttribute("data-offered") },
          { scale: "sl", side: 1, label: el.getAttribute("data-sl") + " %", grid: { show: false } }
        ],
        series: [
          { label: el.getAttribute("data-group") },
          { label: el.getAttribute("data-offered"), stroke: "#0b6874", fill: "rgba(11,104,116,0.12)", width: 2 },
          { label: el.getAttribute("data-sl") + " %", scale: "sl", stroke: "#b45309", width: 2 }
        ]
      };
      new window.uPlot(opts, [xs, data.offered, data.sl], el);
    });
    root.querySelectorAll('[data-chart="customer"]').forEach(function (el) {
      if (el.getAttribute("data-drawn")) { return; }
      el.setAttribute("data-drawn", "1");
      var source = el.parentNode.querySelector(".chart-data");
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      var xs = data.labels.map(function (_, i) { return i; });
      var attr = function (n) { return el.getAttribute(n); };
      new window.uPlot({
        width: el.clientWidth || 800,
        height: 240,
        scales: { x: { time: false }, y: { range: [-100, 100] } },
        axes: [labelAxis(data), {}],
        series: [
          { label: attr("data-group") },
          { label: attr("data-csat"), stroke: "#0b6874", width: 2, spanGaps: true },
          { label: attr("data-rq"), stroke: "#7c3aed", width: 2, spanGaps: true },
          { label: attr("data-fcr"), stroke: "#1e7d4f", width: 2, spanGaps: true },
          { label: attr("data-nps"), stroke: "#b45309", width: 2, dash: [6, 4], spanGaps: true }
        ]
      }, [xs, data.csat, data.rq, data.fcr, data.nps], el);
    });
    root.querySelectorAll('[data-chart="quality"]').forEach(function (el) {
      if (el.getAttribute("data-drawn")) { return; }
      el.setAttribute("data-drawn", "1");
      var source = el.parentNode.querySelector(".chart-data");
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      var xs = data.labels.map(function (_, i) { return i; });
      var attr = function (n) { return el.getAttribute(n); };
      new window.uPlot({
        width: el.clientWidth || 800,
        height: 240,
        scales: { x: { time: false }, y: { range: [0, 100] } },
        axes: [labelAxis(data), {}],
        series: [
          { label: attr("data-group") },
          { label: attr("data-iqs"), stroke: "#0b6874", width: 2, spanGaps: true },
          { label: attr("data-rq"), stroke: "#7c3aed", width: 2, spanGaps: true }
        ]
      }, [xs, data.iqs, data.rq], el);
    });
  }
  // Upload progress for forms marked data-upload (htmx reports the bytes sent).
  document.addEventListener("htmx:xhr:progress", function (ev) {
    var form = ev.target.closest && ev.target.closest("form[data-upload]");
    var bar = form && form.querySelector(".upload-progress");
    if (bar && ev.detail.lengthComputable) {
      bar.hidden = false;
      bar.value = Math.round(100 * ev.detail.loaded / ev.detail.total);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (ev) { drawCharts(ev.target || document); });
})();
