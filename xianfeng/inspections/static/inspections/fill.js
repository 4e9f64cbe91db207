/* Filling a questionnaire on a phone: a section per screen, skip logic and checks as on the server (expr.py),
   the draft kept in localStorage on every change, and a submission that cannot reach the server kept in an outbox
   and resent when the connection returns. The client key makes a resend change nothing on the server. */
(function () {
  "use strict";
  var root = document.getElementById("xf-fill");
  if (!root) return;
  var FORM = JSON.parse(document.getElementById("xf-form").textContent);
  var CONF = JSON.parse(document.getElementById("xf-conf").textContent);
  var T = JSON.parse(document.getElementById("xf-text").textContent);
  var DRAFT_KEY = "xf-draft-q" + CONF.questionnaire;
  var OUTBOX_KEY = "xf-outbox";
  var lang = CONF.lang;

  // ---- expressions: the same tree and rules as xianfeng/inspections/expr.py ----
  function text(v) {
    if (v === null || v === undefined) return "";
    if (Array.isArray(v)) return v.join(" ");
    if (typeof v === "boolean") return v ? "true" : "false";
    return String(v);
  }
  function num(v) {
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return v;
    var s = text(v).trim();
    return s === "" ? NaN : Number(s);
  }
  function truth(v) {
    if (typeof v === "boolean") return v;
    if (typeof v === "number") return v !== 0 && !isNaN(v);
    if (Array.isArray(v)) return v.length > 0;
    return text(v) !== "";
  }
  var DATE = /^\d{4}-\d{2}-\d{2}$/;
  function compare(op, a, b) {
    if (op === "=" || op === "!=") {
      var eq;
      if (typeof a === "number" || typeof b === "number") {
        var na = num(a), nb = num(b);
        eq = (!isNaN(na) && !isNaN(nb)) ? na === nb : text(a) === text(b);
      } else if (typeof a === "boolean" || typeof b === "boolean") {
        eq = truth(a) === truth(b);
      } else {
        eq = text(a) === text(b);
      }
      return op === "=" ? eq : !eq;
    }
    if (DATE.test(text(a)) && DATE.test(text(b))) {
      var ta = text(a), tb = text(b);
      return {"<": ta < tb, "<=": ta <= tb, ">": ta > tb, ">=": ta >= tb}[op];
    }
    var x = num(a), y = num(b);
    if (isNaN(x) || isNaN(y)) return false;
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op];
  }
  function evaluate(t, env) {
    if (t === null || t === undefined) return true;
    switch (t[0]) {
      case "num": case "str": return t[1];
      case "ref": return env.answers.hasOwnProperty(t[1]) ? env.answers[t[1]] : "";
      case "self": return env.current === undefined || env.current === null ? "" : env.current;
      case "col": return env.row && env.row.hasOwnProperty(t[1]) ? env.row[t[1]] : "";
      case "neg": return -num(evaluate(t[1], env));
      case "op": {
        var op = t[1];
        if (op === "or") return truth(evaluate(t[2], env)) || truth(evaluate(t[3], env));
        if (op === "and") return truth(evaluate(t[2], env)) && truth(evaluate(t[3], env));
        var a = evaluate(t[2], env), b = evaluate(t[3], env);
        if (["=", "!=", "<", "<=", ">", ">="].indexOf(op) >= 0) return compare(op, a, b);
        var x = num(a), y = num(b);
        if (op === "+") return x + y;
        if (op === "-") return x - y;
        if (op === "*") return x * y;
        if (op === "div") return y ? x / y : NaN;
        if (op === "mod") return y ? x % y : NaN;
        return NaN;
      }
      case "fn": {
        var v = t[2].map(function (n) { return evaluate(n, env); });
        switch (t[1]) {
          case "selected": return (Array.isArray(v[0]) ? v[0] : text(v[0]).split(/\s+/)).map(String).indexOf(text(v[1])) >= 0;
          case "count-selected": return Array.isArray(v[0]) ? v[0].length : text(v[0]).split(/\s+/).filter(Boolean).length;
          case "string-length": return text(v[0]).length;
          case "not": return !truth(v[0]);
          case "regex": try { return new RegExp(text(v[1])).test(text(v[0])); } catch (e) { return false; }
          case "contains": return text(v[0]).indexOf(text(v[1])) >= 0;
          case "starts-with": return text(v[0]).indexOf(text(v[1])) === 0;
          case "if": return truth(v[0]) ? v[1] : v[2];
          case "number": return num(v[0]);
          case "int": return Math.trunc(num(v[0]));
          case "string": return text(v[0]);
          case "concat": return v.map(text).join("");
          case "today": return new Date().toISOString().slice(0, 10);
          case "true": return true;
          case "false": return false;
        }
      }
    }
    return false;
  }
  function isTrue(t, env) { return truth(evaluate(t, env)); }
  function label(map) { return (map && (map[lang] || map[FORM.default_language] || Object.values(map)[0])) || ""; }

  // ---- state ----
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  function load(key, fallback) { try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; } }
  function store(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ } }
  var state = load(DRAFT_KEY, null) || {key: newKey(), answers: {}, meta: {respondent_type: "", method: "", unit: ""},
                                        page: 0, started_at: new Date().toISOString()};
  function save() { store(DRAFT_KEY, state); }

  var pages = [{meta: true}].concat(FORM.sections);
  var body = root.querySelector("[data-role=page]");
  var status = root.querySelector("[data-role=status]");
  var progress = root.querySelector("[data-role=progress]");
  var prevBtn = root.querySelector("[data-role=prev]");
  var nextBtn = root.querySelector("[data-role=next]");

  function answersSoFar() {
    // only answers to questions that are relevant, in form order (what the server keeps)
    var out = {};
    FORM.sections.forEach(function (s) {
      s.questions.forEach(function (q) {
        if (q.type === "note") return;
        if (!relevant(q, out)) return;
        var v = state.answers[q.name];
        if (v !== undefined && v !== "" && !(Array.isArray(v) && !v.length)) out[q.name] = v;
      });
    });
    return out;
  }
  function relevant(q, answers) {
    return isTrue(q.section_relevant, {answers: answers}) && isTrue(q.relevant, {answers: answers});
  }
  function pageRelevant(i) {
    if (i === 0) return true;
    var answers = answersSoFar();
    return pages[i].questions.some(function (q) { return relevant(q, answers); });
  }
  function choicesFor(q, answers) {
    var items = FORM.choices[q.list] || [];
    if (!q.choice_filter) return items;
    return items.filter(function (c) { return isTrue(q.choice_filter, {answers: answers, row: c}); });
  }
  function coerce(q, raw) {
    if (q.type === "integer") return raw === "" ? "" : (/^-?\d+$/.test(raw.trim()) ? parseInt(raw, 10) : raw);
    if (q.type === "decimal") return raw === "" ? "" : (isNaN(Number(raw)) ? raw : Number(raw));
    return raw;
  }
  function check(q, answers) {
    var v = state.answers[q.name];
    var empty = v === undefined || v === "" || (Array.isArray(v) && !v.length);
    if (empty) return q.required ? T.required : "";
    if (q.type === "integer" && (typeof v !== "number" || !Number.isInteger(v))) return T.integer;
    if (q.type === "decimal" && typeof v !== "number") return T.number;
    if (q.constraint && !isTrue(q.constraint, {answers: answers, current: v})) {
      return label(q.constraint_message) || T.constraint;
    }
    return "";
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function renderMeta() {
    var wrap = el("div");
    function radios(name, title, options) {
      var fs = el("fieldset", {"class": "mb-3"}, [el("legend", {"class": "form-label fw-semibold fs-6", text: title})]);
      options.forEach(function (o, i) {
        var id = "meta-" + name + "-" + i;
        var input = el("input", {type: "radio", name: name, value: o[0], id: id, "class": "form-check-input"});
        if (state.meta[name] === o[0]) input.checked = true;
        input.addEventListener("change", function () { state.meta[name] = o[0]; save(); });
        fs.appendChild(el("div", {"class": "form-check py-1"}, [input, el("label", {"class": "form-check-label", "for": id, text: o[1]})]));
      });
      fs.appendChild(el("div", {"class": "invalid-feedback d-block", "data-error": name}));
      return fs;
    }
    wrap.appendChild(radios("respondent_type", T.respondent, CONF.respondent_types));
    wrap.appendChild(radios("method", T.method, CONF.methods));
    var select = el("select", {"class": "form-select", id: "meta-unit", name: "unit"});
    select.appendChild(el("option", {value: "", text: T.no_unit}));
    CONF.units.forEach(function (u) {
      var o = el("option", {value: String(u.id), text: u.name});
      if (String(state.meta.unit) === String(u.id)) o.selected = true;
      select.appendChild(o);
    });
    select.addEventListener("change", function () { state.meta.unit = select.value; save(); });
    wrap.appendChild(el("div", {"class": "mb-3"}, [el("label", {"class": "form-label fw-semibold", "for": "meta-unit", text: T.unit}), select]));
    return wrap;
  }

  function renderQuestion(q, answers) {
    var box = el("div", {"class": "mb-3 xf-q", "data-q": q.name});
    var title = label(q.label) + (q.required ? " *" : "");
    if (q.type === "note") { box.appendChild(el("p", {"class": "alert alert-light py-2", text: label(q.label)})); return box; }
    var id = "q-" + q.name;
    var value = state.answers[q.name];
    if (q.type === "select_one" || q.type === "select_multiple") {
      var fs = el("fieldset", {}, [el("legend", {"class": "form-label fw-semibold fs-6", text: title})]);
      choicesFor(q, answers).forEach(function (c, i) {
        var cid = id + "-" + i;
        var input = el("input", {type: q.type === "select_one" ? "radio" : "checkbox", name: q.name, value: c.name,
                                 id: cid, "class": "form-check-input"});
        if (q.type === "select_one" ? value === c.name : (Array.isArray(value) && value.indexOf(c.name) >= 0)) input.checked = true;
        input.addEventListener("change", function () {
          if (q.type === "select_one") state.answers[q.name] = c.name;
          else {
            var list = Array.isArray(state.answers[q.name]) ? state.answers[q.name].slice() : [];
            if (input.checked) { if (list.indexOf(c.name) < 0) list.push(c.name); } else list = list.filter(function (x) { return x !== c.name; });
            state.answers[q.name] = list;
          }
          save(); refresh();
        });
        fs.appendChild(el("div", {"class": "form-check py-1"}, [input, el("label", {"class": "form-check-label", "for": cid, text: label(c.label)})]));
      });
      box.appendChild(fs);
    } else {
      box.appendChild(el("label", {"class": "form-label fw-semibold", "for": id, text: title}));
      var input;
      if (q.type === "text") input = el("textarea", {"class": "form-control", rows: "2", id: id, name: q.name});
      else input = el("input", {"class": "form-control", id: id, name: q.name,
                                type: q.type === "date" ? "date" : "text",
                                inputmode: q.type === "integer" ? "numeric" : (q.type === "decimal" ? "decimal" : "text")});
      input.value = value === undefined ? "" : String(value);
      input.addEventListener("input", function () { state.answers[q.name] = coerce(q, input.value); save(); });
      input.addEventListener("change", function () { refresh(); });
      box.appendChild(input);
    }
    if (q.hint && label(q.hint)) box.appendChild(el("div", {"class": "form-text", text: label(q.hint)}));
    box.appendChild(el("div", {"class": "invalid-feedback d-block", "data-error": q.name}));
    return box;
  }

  function render() {
    body.innerHTML = "";
    var page = pages[state.page];
    progress.textContent = (state.page + 1) + " / " + pages.length;
    if (page.meta) {
      body.appendChild(el("h2", {"class": "h6", text: T.respondent_section}));
      body.appendChild(renderMeta());
    } else {
      if (label(page.label)) body.appendChild(el("h2", {"class": "h6", text: label(page.label)}));
      var answers = answersSoFar();
      page.questions.forEach(function (q) { if (relevant(q, answers)) body.appendChild(renderQuestion(q, answers)); });
    }
    prevBtn.disabled = state.page === 0;
    nextBtn.textContent = isLast() ? T.submit : T.next;
    window.scrollTo(0, 0);
  }
  function refresh() {
    // skip logic and choice filters change as answers change: redraw the page, keeping focus simple
    var active = document.activeElement && document.activeElement.id;
    render();
    if (active && document.getElementById(active)) document.getElementById(active).focus();
  }
  function isLast() {
    for (var i = state.page + 1; i < pages.length; i++) if (pageRelevant(i)) return false;
    return true;
  }
  function showErrors(errors) {
    root.querySelectorAll("[data-error]").forEach(function (n) { n.textContent = ""; });
    Object.keys(errors).forEach(function (k) {
      var n = root.querySelector("[data-error='" + k + "']");
      if (n) n.textContent = errors[k];
    });
  }
  function pageErrors() {
    var errors = {};
    var page = pages[state.page];
    if (page.meta) {
      if (!state.meta.respondent_type) errors.respondent_type = T.required;
      if (!state.meta.method) errors.method = T.required;
      return errors;
    }
    var answers = answersSoFar();
    page.questions.forEach(function (q) {
      if (q.type === "note" || !relevant(q, answers)) return;
      var e = check(q, answers);
      if (e) errors[q.name] = e;
    });
    return errors;
  }

  function payload() {
    return {questionnaire: CONF.questionnaire, client_key: state.key, respondent_type: state.meta.respondent_type,
            method: state.meta.method, unit: state.meta.unit ? parseInt(state.meta.unit, 10) : null,
            answers: answersSoFar(), started_at: state.started_at, lang: lang};
  }
  function setStatus(kind, message) {
    status.className = "alert py-2 alert-" + kind;
    status.textContent = message;
    status.hidden = !message;
  }
  function outbox() { return load(OUTBOX_KEY, []); }
  function send(item) {
    return fetch(CONF.submit_url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": CONF.csrf, "Accept": "application/json"},
      body: JSON.stringify(item)
    });
  }
  function flush() {
    var items = outbox();
    if (!items.length || !navigator.onLine) return Promise.resolve();
    var item = items[0];
    return send(item).then(function (r) {
      if (r.status === 200 || r.status === 201) {
        store(OUTBOX_KEY, outbox().filter(function (x) { return x.client_key !== item.client_key; }));
        setStatus("success", T.sent_later);
        document.dispatchEvent(new CustomEvent("xf:sent", {detail: item.client_key}));
        return flush();
      }
      if (r.status === 400) {  // the server refuses it: give it back to the form to correct
        store(OUTBOX_KEY, outbox().filter(function (x) { return x.client_key !== item.client_key; }));
        setStatus("danger", T.rejected);
      }
    }).catch(function () { /* still offline */ });
  }
  function submit() {
    var item = payload();
    nextBtn.disabled = true;
    send(item).then(function (r) {
      nextBtn.disabled = false;
      if (r.status === 200 || r.status === 201) { done(T.sent); return; }
      if (r.status === 400) {
        return r.json().then(function (errors) {
          var first = null;
          for (var i = 0; i < pages.length && first === null; i++) {
            var names = pages[i].meta ? ["respondent_type", "method", "unit"] : pages[i].questions.map(function (q) { return q.name; });
            if (names.some(function (n) { return errors.hasOwnProperty(n); })) first = i;
          }
          if (first !== null) { state.page = first; save(); render(); }
          var flat = {};
          Object.keys(errors).forEach(function (k) { flat[k] = [].concat(errors[k]).join(" "); });
          showErrors(flat);
          setStatus("danger", T.fix_errors);
        });
      }
      setStatus("danger", T.server_error);
    }).catch(function () {
      nextBtn.disabled = false;
      var items = outbox().filter(function (x) { return x.client_key !== item.client_key; });
      items.push(item);
      store(OUTBOX_KEY, items);
      done(T.queued);
    });
  }
  function done(message) {
    localStorage.removeItem(DRAFT_KEY);
    state = {key: newKey(), answers: {}, meta: {respondent_type: state.meta.respondent_type, method: state.meta.method,
             unit: state.meta.unit}, page: 0, started_at: new Date().toISOString()};
    save();
    render();
    setStatus(message === T.queued ? "warning" : "success", message);
  }

  prevBtn.addEventListener("click", function () {
    for (var i = state.page - 1; i >= 0; i--) if (pageRelevant(i)) { state.page = i; break; }
    save(); render();
  });
  nextBtn.addEventListener("click", function () {
    var errors = pageErrors();
    showErrors(errors);
    if (Object.keys(errors).length) { setStatus("danger", T.fix_errors); return; }
    setStatus("", "");
    if (isLast()) { submit(); return; }
    for (var i = state.page + 1; i < pages.length; i++) if (pageRelevant(i)) { state.page = i; break; }
    save(); render();
  });
  window.addEventListener("online", function () { flush(); });
  setInterval(flush, 5000);
  if (Object.keys(state.answers).length || state.page) setStatus("info", T.draft_restored);
  render();
  flush();
})();
