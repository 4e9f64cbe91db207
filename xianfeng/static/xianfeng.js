/* Behaviour every page shares, kept in a static file so that the Content-Security-Policy can forbid inline script
   (no <script> blocks, no onclick=… attributes in the templates).

   XF.escapeHtml(value) is the one way to put data (names of organisations and people, anything a user typed) into
   HTML built in JavaScript, e.g. an ECharts tooltip formatter, which ECharts inserts with innerHTML.
   XF.data(id) reads a {{ value|json_script:id }} block.

   Declarative hooks that replace inline event handlers (delegated from the document, so they also work on content
   htmx swaps in):
     <form data-confirm="question">            asks before submitting
     <select|input data-xf-autosubmit>          submits its form on change
     <input data-xf-select>                     selects its text on click
     <button data-xf-toggle="class">            toggles that class on its form and mirrors it in aria-expanded
     <button data-xf-formset-add="template-id"  adds one Django formset form from a <template>
             data-xf-total="TOTAL_FORMS input id" data-xf-into="container id" data-xf-max="10">  */
(function () {
  "use strict";
  var ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};

  function escapeHtml(value) {
    if (value === null || value === undefined) { return ""; }
    return String(value).replace(/[&<>"']/g, function (c) { return ESCAPES[c]; });
  }

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  window.XF = {escapeHtml: escapeHtml, data: data};

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm !== undefined && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
    }
  });

  document.addEventListener("change", function (e) {
    var field = e.target;
    if (field.dataset && field.dataset.xfAutosubmit !== undefined && field.form) { field.form.submit(); }
  });

  document.addEventListener("click", function (e) {
    var target = e.target instanceof Element ? e.target : null;
    if (!target) { return; }
    if (target.dataset.xfSelect !== undefined && typeof target.select === "function") { target.select(); }
    var toggle = target.closest("[data-xf-toggle]");
    if (toggle && toggle.form) {
      var on = toggle.form.classList.toggle(toggle.dataset.xfToggle);
      toggle.setAttribute("aria-expanded", on ? "true" : "false");
    }
    var add = target.closest("[data-xf-formset-add]");
    if (add) {
      var total = document.getElementById(add.dataset.xfTotal);
      var n = parseInt(total.value, 10);
      if (n >= parseInt(add.dataset.xfMax || "1000", 10)) { return; }
      // The template is server-rendered (already escaped); only the form index, a number, is put into it.
      var html = document.getElementById(add.dataset.xfFormsetAdd).innerHTML
        .replace(/__prefix__/g, String(n)).replace(/__n__/g, String(n + 1));
      document.getElementById(add.dataset.xfInto).insertAdjacentHTML("beforeend", html);
      total.value = n + 1;
    }
  });
})();
