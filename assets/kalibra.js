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
    // Any number of lines over report groups: {labels, series: [{label, values}]}; the y range
    // from data-min and data-max.
    root.querySelectorAll('[data-chart="series"]').forEach(function (el) {
      if (el.getAttribute("data-drawn")) { return; }
      el.setAttribute("data-drawn", "1");
      var source = el.parentNode.querySelector(".chart-data");
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      var xs = data.labels.map(function (_, i) { return i; });
      var palette = ["#0b6874", "#7c3aed", "#b45309", "#1e7d4f", "#be123c", "#1d4ed8", "#a16207", "#4b5563"];
      var min = parseFloat(el.getAttribute("data-min"));
      var max = parseFloat(el.getAttribute("data-max"));
      var y = isNaN(min) || isNaN(max) ? {} : { range: [min, max] };
      var series = [{ label: el.getAttribute("data-group") }].concat(data.series.map(function (s, i) {
        return { label: s.label, stroke: palette[i % palette.length], width: 2, spanGaps: true, points: { show: true } };
      }));
      new window.uPlot({
        width: el.clientWidth || 800,
        height: 240,
        scales: { x: { time: false }, y: y },
        axes: [labelAxis(data), {}],
        series: series
      }, [xs].concat(data.series.map(function (s) { return s.values; })), el);
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

  // ---- The form builder ----
  // A draft form's definition edited as sections and criteria. <form data-form-builder> holds the
  // definition as JSON in its textarea: what the page posts, and all there is without scripts.
  // The builder is drawn from that JSON and writes it back on every change. Its settings (texts,
  // principles, KPIs, channels, the keys to keep, a refused save's path) come from
  // <script type="application/json" id="form-builder-config">.

  var builderUid = 0;
  var liveBuilders = new WeakSet();

  function nextUid() {
    builderUid += 1;
    return "fb" + builderUid;
  }

  function listOf(v) { return Array.isArray(v) ? v : []; }

  function textOf(v) { return v === undefined || v === null ? "" : String(v); }

  // An element with attributes (properties for value, checked, hidden, readOnly; nothing for
  // null and false) and children (strings become text, null is skipped).
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var v = attrs[name];
      if (v === null || v === undefined || v === false) { return; }
      if (name === "class") {
        e.className = v;
      } else if (name === "value" || name === "checked" || name === "hidden" || name === "readOnly") {
        e[name] = v;
      } else {
        e.setAttribute(name, v === true ? "" : String(v));
      }
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  // An interface text: `key` of the form_builder section, or a whole key such as "quality.why",
  // with {placeholders} filled in.
  function say(b, key, args) {
    var full = key.indexOf(".") < 0 ? "form_builder." + key : key;
    var s = b.texts[full] || full;
    Object.keys(args || {}).forEach(function (name) {
      s = s.split("{" + name + "}").join(String(args[name]));
    });
    return s;
  }

  // ---- Keys ----

  // A key made from a name: lower-case letters, digits and '-', as the server accepts.
  function keyFrom(name, fallback) {
    var s = textOf(name).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/ß/g, "ss").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
    s = s.slice(0, 56).replace(/-+$/, "");
    return s || fallback;
  }

  // `base`, or `base-2`, `base-3`… when another item has it.
  function uniqueKey(base, taken) {
    var key = base;
    for (var n = 2; taken.indexOf(key) >= 0; n += 1) { key = base + "-" + n; }
    return key;
  }

  function sectionKeysBut(b, except) {
    return b.model.sections.filter(function (s) { return s !== except; })
      .map(function (s) { return s.key; });
  }

  function criterionKeysBut(b, except) {
    var keys = [];
    b.model.sections.forEach(function (s) {
      s.criteria.forEach(function (c) { if (c !== except) { keys.push(c.key); } });
    });
    return keys;
  }

  // ---- The definition as a model and back ----
  // Numbers are kept as typed, so a wrong one stays visible until it is corrected.

  function pointModel(p) {
    return { uid: nextUid(), label: textOf(p.label), percent: textOf(p.percent) };
  }

  function criterionModel(c, keptKeys) {
    return {
      uid: nextUid(),
      key: textOf(c.key),
      keyKept: keptKeys.indexOf(c.key) >= 0,
      name: textOf(c.name),
      definition: textOf(c.definition),
      rationale: textOf(c.rationale),
      scale: c.scale || "yes_no",
      points: listOf(c.points).map(pointModel),
      na_allowed: !!c.na_allowed,
      weight: c.weight === undefined ? "1" : textOf(c.weight),
      critical: !!c.critical,
      kpi: textOf(c.kpi),
      channels: listOf(c.channels).slice(),
      kind: c.kind || "standard",
      examples: listOf(c.examples).map(textOf).join("\n")
    };
  }

  function sectionModel(s, kept) {
    return {
      uid: nextUid(),
      key: textOf(s.key),
      keyKept: kept.sections.indexOf(s.key) >= 0,
      title: textOf(s.title),
      description: textOf(s.description),
      principle: textOf(s.principle),
      criteria: listOf(s.criteria).map(function (c) { return criterionModel(c, kept.criteria); })
    };
  }

  function formModel(spec, kept) {
    return {
      name: textOf(spec.name),
      description: textOf(spec.description),
      channels: listOf(spec.channels).slice(),
      critical_mode: spec.critical_mode || "zero",
      pass_mark: spec.pass_mark === undefined ? "80" : textOf(spec.pass_mark),
      sections: listOf(spec.sections).map(function (s) { return sectionModel(s, kept); })
    };
  }

  function wholeNumber(v) {
    var s = textOf(v).trim();
    return /^[0-9]+$/.test(s) ? parseInt(s, 10) : s;
  }

  function exampleLines(text) {
    return textOf(text).split("\n").map(function (l) { return l.trim(); })
      .filter(function (l) { return l !== ""; });
  }

  function criterionSpec(c) {
    var out = { key: c.key, name: c.name, definition: c.definition, rationale: c.rationale, scale: c.scale };
    if (c.scale === "custom") {
      out.points = c.points.map(function (p) { return { label: p.label, percent: wholeNumber(p.percent) }; });
    }
    out.na_allowed = c.na_allowed;
    out.weight = wholeNumber(c.weight);
    out.critical = c.critical;
    if (c.kpi) { out.kpi = c.kpi; }
    out.channels = c.channels.slice();
    out.kind = c.kind;
    out.examples = exampleLines(c.examples);
    return out;
  }

  function formSpec(m) {
    return {
      name: m.name,
      description: m.description,
      channels: m.channels.slice(),
      critical_mode: m.critical_mode,
      pass_mark: wholeNumber(m.pass_mark),
      sections: m.sections.map(function (s) {
        var out = { key: s.key, title: s.title, description: s.description };
        if (s.principle) { out.principle = s.principle; }
        out.criteria = s.criteria.map(criterionSpec);
        return out;
      })
    };
  }

  // The definition in the textarea, or why it cannot be used.
  function readSpec(json) {
    try {
      var spec = JSON.parse(json);
      if (spec && typeof spec === "object" && Array.isArray(spec.sections)) { return { spec: spec }; }
      return { error: "sections" };
    } catch (e) {
      return { error: e.message };
    }
  }

  // ---- Names shown for items ----

  function sectionName(b, s) { return s.title.trim() || say(b, "untitled_section"); }

  function criterionName(b, c) { return c.name.trim() || say(b, "unnamed_criterion"); }

  function itemName(b, kind, item) {
    return kind === "section" ? sectionName(b, item) : criterionName(b, item);
  }

  function scaleOptions(b) {
    return [
      { value: "yes_no", label: say(b, "scale_yes_no") },
      { value: "1-5", label: say(b, "scale_1_5") },
      { value: "0-10", label: say(b, "scale_0_10") },
      { value: "custom", label: say(b, "scale_custom") }
    ];
  }

  function optionLabel(options, value) {
    var found = options.filter(function (o) { return o.value === value; })[0];
    return found ? found.label : value;
  }

  function channelName(b, key) {
    var found = listOf(b.config.channels).filter(function (c) { return c.key === key; })[0];
    return found ? found.name : key;
  }

  // A principle or KPI list as options: none, the catalogue's entries, and a key the definition
  // names that the catalogue lacks.
  function catalogueOptions(entries, current, none) {
    var options = [{ value: "", label: none }].concat(listOf(entries).map(function (e) {
      return { value: e.key, label: e.name };
    }));
    if (current && !options.some(function (o) { return o.value === current; })) {
      options.push({ value: current, label: current });
    }
    return options;
  }

  function sectionMeta(b, s) {
    var parts = [say(b, "criteria_count", { count: s.criteria.length })];
    if (s.principle) {
      parts.push(optionLabel(catalogueOptions(b.config.principles, s.principle, ""), s.principle));
    }
    return parts.join(" · ");
  }

  function criterionMeta(b, c) {
    var parts = [c.key, optionLabel(scaleOptions(b), c.scale), say(b, "quality.weight") + " " + c.weight];
    if (c.critical) { parts.push(say(b, "quality.critical")); }
    if (c.kind === "relationship") { parts.push(say(b, "kind_relationship")); }
    return parts.join(" · ");
  }

  // ---- Fields ----

  function markInvalid(control, message) {
    clearInvalid(control);
    var note = el("p", { "class": "field-error", id: control.id + "-error", "data-field-error": "" }, [message]);
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(control.tagName)) {
      control.setAttribute("aria-invalid", "true");
    } else {
      control.classList.add("has-error");
    }
    var described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.push(note.id);
    control.setAttribute("aria-describedby", described.join(" "));
    var holder = control.closest(".field");
    if (holder) {
      holder.appendChild(note);
    } else if (control.tagName === "FIELDSET") {
      control.appendChild(note);
    } else {
      control.parentNode.insertBefore(note, control.nextSibling);
    }
  }

  function clearInvalid(control) {
    var note = document.getElementById(control.id + "-error");
    if (!note) { return; }
    note.remove();
    control.removeAttribute("aria-invalid");
    control.classList.remove("has-error");
    var described = (control.getAttribute("aria-describedby") || "").split(" ")
      .filter(function (id) { return id && id !== note.id; });
    if (described.length) {
      control.setAttribute("aria-describedby", described.join(" "));
    } else {
      control.removeAttribute("aria-describedby");
    }
  }

  // A labelled control with an optional hint: {id, label, hint}.
  function field(o, control) {
    var kids = [el("label", { "for": o.id }, [o.label]), control];
    if (o.hint) {
      control.setAttribute("aria-describedby", o.id + "-hint");
      kids.push(el("p", { "class": "hint", id: o.id + "-hint" }, [o.hint]));
    }
    return el("div", { "class": "field" }, kids);
  }

  // Every field: {id, label, hint, value, path, set(value)}; `path` names it as the server's
  // errors do (`sections[1].criteria[0].weight`).
  function textInput(b, o) {
    var input = el("input", { type: "text", id: o.id, value: o.value, "data-path": o.path });
    input.addEventListener("input", function () {
      clearInvalid(input);
      o.set(input.value);
      changed(b);
    });
    return field(o, input);
  }

  function textArea(b, o) {
    var area = el("textarea", { id: o.id, rows: o.rows || 3, "data-path": o.path, value: o.value });
    area.addEventListener("input", function () {
      clearInvalid(area);
      o.set(area.value);
      changed(b);
    });
    return field(o, area);
  }

  function inRange(value, min, max) {
    var n = wholeNumber(value);
    return typeof n === "number" && n >= min && n <= max;
  }

  function numberInput(b, o) {
    var input = el("input", {
      type: "number", id: o.id, min: o.min, max: o.max, step: 1, inputmode: "numeric",
      value: o.value, "data-path": o.path
    });
    input.addEventListener("input", function () {
      clearInvalid(input);
      if (!inRange(input.value, o.min, o.max)) {
        markInvalid(input, say(b, "number_range", { min: o.min, max: o.max }));
      }
      o.set(input.value);
      changed(b);
    });
    return field(o, input);
  }

  function selectInput(b, o) {
    var select = el("select", { id: o.id, "data-path": o.path }, o.options.map(function (opt) {
      return el("option", { value: opt.value }, [opt.label]);
    }));
    select.value = o.value;
    select.addEventListener("change", function () {
      clearInvalid(select);
      o.set(select.value);
      changed(b);
    });
    return field(o, select);
  }

  function checkInput(b, o) {
    var box = el("input", { type: "checkbox", id: o.id, checked: o.checked, "data-path": o.path });
    box.addEventListener("change", function () {
      clearInvalid(box);
      o.set(box.checked);
      changed(b);
    });
    return el("div", { "class": "builder-check" }, [box, el("label", { "for": o.id }, [o.label])]);
  }

  // Channels as checkboxes: {id, legend, hint, offered: [{key, name}], chosen, path, set(list, box)}.
  function channelChoice(b, o) {
    var boxes = o.offered.map(function (ch) {
      return el("input", { type: "checkbox", id: o.id + "-" + ch.key, value: ch.key, checked: o.chosen.indexOf(ch.key) >= 0 });
    });
    var fieldset = el("fieldset", {
      "class": "builder-channels", id: o.id, "data-path": o.path, "aria-describedby": o.hint ? o.id + "-hint" : null
    }, [
      el("legend", {}, [o.legend]),
      el("div", { "class": "choices" }, boxes.map(function (box, i) {
        return el("label", { "for": box.id }, [box, o.offered[i].name]);
      })),
      o.hint ? el("p", { "class": "hint", id: o.id + "-hint" }, [o.hint]) : null
    ]);
    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        clearInvalid(fieldset);
        o.set(boxes.filter(function (x) { return x.checked; }).map(function (x) { return x.value; }), box);
        changed(b);
      });
    });
    return fieldset;
  }

  function actionButton(label, id, onClick, cls) {
    var button = el("button", { type: "button", id: id, "class": cls || "button-secondary small" }, [label]);
    button.addEventListener("click", onClick);
    return button;
  }

  // ---- Drawing ----

  function formFields(b) {
    var m = b.model;
    return el("fieldset", { "class": "builder-fieldset" }, [
      el("legend", {}, [say(b, "form_settings")]),
      textInput(b, { id: "fb-name", label: say(b, "name"), value: m.name, path: "name", set: function (v) { m.name = v; } }),
      textArea(b, { id: "fb-description", label: say(b, "description"), value: m.description, path: "description", set: function (v) { m.description = v; } }),
      el("div", { "class": "builder-grid" }, [
        selectInput(b, {
          id: "fb-critical-mode", label: say(b, "quality.critical_mode"), value: m.critical_mode, path: "critical_mode",
          options: [
            { value: "zero", label: say(b, "quality.critical_zero") },
            { value: "fail", label: say(b, "quality.critical_fail") }
          ],
          set: function (v) { m.critical_mode = v; }
        }),
        numberInput(b, {
          id: "fb-pass-mark", label: say(b, "quality.pass_mark"), hint: say(b, "pass_mark_hint"), value: m.pass_mark,
          min: 0, max: 100, path: "pass_mark", set: function (v) { m.pass_mark = v; }
        })
      ]),
      channelChoice(b, {
        id: "fb-channels", legend: say(b, "channels"), hint: say(b, "channels_hint"), offered: listOf(b.config.channels),
        chosen: m.channels, path: "channels",
        set: function (list, box) {
          m.channels = list;
          render(b, box.id);
        }
      })
    ]);
  }

  // The title line of a section or criterion: drag handle, toggle, facts, moves and removal.
  function itemHead(b, o) {
    var uid = o.item.uid;
    var handle = el("span", { "class": "builder-handle", "aria-hidden": "true", title: say(b, "drag") }, ["⠿"]);
    handle.addEventListener("pointerdown", function (ev) { startDrag(b, ev, o.kind, uid); });
    var toggle = el("button", {
      type: "button", "class": "builder-toggle", id: uid + "-toggle",
      "aria-expanded": String(o.expanded), "aria-controls": uid + "-body"
    }, [itemName(b, o.kind, o.item)]);
    toggle.addEventListener("click", function () { toggleItem(b, o.kind, o.item, toggle); });
    var moves = [[-1, "up", say(b, "move_up"), o.first], [1, "down", say(b, "move_down"), o.last]].map(function (m) {
      var button = el("button", {
        type: "button", "class": "button-secondary small", id: uid + "-" + m[1], "data-move": m[1],
        "aria-describedby": uid + "-toggle", "aria-disabled": m[3] ? "true" : null
      }, [m[2]]);
      button.addEventListener("click", function () { moveByStep(b, o.kind, uid, m[0], button.id); });
      return button;
    });
    var remove = actionButton(o.kind === "section" ? say(b, "remove_section") : say(b, "remove_criterion"), uid + "-remove",
      function () { removeItem(b, o.kind, uid); }, "button-secondary small builder-remove");
    remove.setAttribute("aria-describedby", uid + "-toggle");
    return el("div", { "class": "builder-head" }, [
      handle,
      el(o.kind === "section" ? "h4" : "h5", { "class": "builder-title" }, [toggle]),
      el("span", { "class": "muted builder-meta", id: uid + "-meta" }, [o.meta]),
      el("span", { "class": "builder-actions" }, moves.concat([remove]))
    ]);
  }

  function sectionItem(b, s, si) {
    var last = b.model.sections.length - 1;
    var path = "sections[" + si + "]";
    var open = !b.closed[s.uid];
    var principles = catalogueOptions(b.config.principles, s.principle, say(b, "no_principle"));
    return el("li", { "class": "builder-section", "data-uid": s.uid, "data-kind": "section", "data-key": s.key }, [
      itemHead(b, { kind: "section", item: s, meta: sectionMeta(b, s), expanded: open, first: si === 0, last: si === last }),
      el("div", { "class": "builder-body", id: s.uid + "-body", hidden: !open }, [
        el("div", { "class": "builder-grid" }, [
          textInput(b, {
            id: s.uid + "-title", label: say(b, "section_title"), value: s.title, path: path + ".title",
            set: function (v) { s.title = v; renameSection(b, s); }
          }),
          selectInput(b, {
            id: s.uid + "-principle", label: say(b, "principle"), value: s.principle, options: principles,
            path: path + ".principle", set: function (v) { s.principle = v; refreshHead(b, "section", s); }
          })
        ]),
        textArea(b, {
          id: s.uid + "-description", label: say(b, "description"), value: s.description, rows: 2,
          path: path + ".description", set: function (v) { s.description = v; }
        }),
        criteriaList(b, s, si),
        el("div", { "class": "builder-row" }, [
          actionButton(say(b, "add_criterion"), s.uid + "-add", function () { addCriterion(b, s); })
        ])
      ])
    ]);
  }

  function criteriaList(b, s, si) {
    var lastSection = b.model.sections.length - 1;
    var items = s.criteria.map(function (c, ci) {
      var first = si === 0 && ci === 0;
      var last = si === lastSection && ci === s.criteria.length - 1;
      return criterionItem(b, c, "sections[" + si + "].criteria[" + ci + "]", first, last);
    });
    if (!items.length) {
      items.push(el("li", { "class": "builder-empty muted" }, [say(b, "no_criteria")]));
    }
    return el("ol", { "class": "builder-criteria", id: s.uid + "-criteria", "data-section": s.uid, "data-path": "sections[" + si + "].criteria" }, items);
  }

  function criterionItem(b, c, path, first, last) {
    var open = !!b.open[c.uid];
    return el("li", { "class": "builder-criterion", "data-uid": c.uid, "data-kind": "criterion", "data-key": c.key }, [
      itemHead(b, { kind: "criterion", item: c, meta: criterionMeta(b, c), expanded: open, first: first, last: last }),
      el("div", { "class": "builder-body", id: c.uid + "-body", hidden: !open }, criterionFields(b, c, path))
    ]);
  }

  // The channels a criterion may be asked on: the form's, and any it names that the form lacks.
  function criterionChannelOffer(b, c) {
    var offered = b.model.channels.map(function (ch) { return { key: ch, name: channelName(b, ch) }; });
    c.channels.forEach(function (ch) {
      if (b.model.channels.indexOf(ch) < 0) {
        offered.push({ key: ch, name: say(b, "not_on_form", { channel: channelName(b, ch) }) });
      }
    });
    return offered;
  }

  function keyField(b, c, path) {
    var input = el("input", { type: "text", id: c.uid + "-key", value: c.key, readOnly: true, "data-path": path + ".key" });
    return field({ id: c.uid + "-key", label: say(b, "key"), hint: c.keyKept ? say(b, "key_kept") : say(b, "key_new") }, input);
  }

  function criterionFields(b, c, path) {
    var id = function (f) { return c.uid + "-" + f; };
    var head = function () { refreshHead(b, "criterion", c); };
    return [
      el("div", { "class": "builder-grid" }, [
        textInput(b, {
          id: id("name"), label: say(b, "criterion_name"), value: c.name, path: path + ".name",
          set: function (v) { c.name = v; renameCriterion(b, c); }
        }),
        keyField(b, c, path)
      ]),
      textArea(b, {
        id: id("definition"), label: say(b, "definition"), hint: say(b, "definition_hint"), value: c.definition,
        path: path + ".definition", set: function (v) { c.definition = v; }
      }),
      textArea(b, {
        id: id("rationale"), label: say(b, "rationale"), hint: say(b, "rationale_hint"), value: c.rationale,
        path: path + ".rationale", set: function (v) { c.rationale = v; }
      }),
      el("div", { "class": "builder-grid" }, [
        selectInput(b, {
          id: id("scale"), label: say(b, "scale"), value: c.scale, options: scaleOptions(b), path: path + ".scale",
          set: function (v) { changeScale(b, c, v); }
        }),
        numberInput(b, {
          id: id("weight"), label: say(b, "weight"), hint: say(b, "weight_hint"), value: c.weight, min: 0, max: 100,
          path: path + ".weight", set: function (v) { c.weight = v; head(); }
        }),
        selectInput(b, {
          id: id("kpi"), label: say(b, "kpi"), value: c.kpi, path: path + ".kpi",
          options: catalogueOptions(b.config.kpis, c.kpi, say(b, "no_kpi")), set: function (v) { c.kpi = v; }
        }),
        selectInput(b, {
          id: id("kind"), label: say(b, "kind"), value: c.kind, path: path + ".kind",
          options: [
            { value: "standard", label: say(b, "kind_standard") },
            { value: "relationship", label: say(b, "kind_relationship") }
          ],
          set: function (v) { c.kind = v; head(); }
        })
      ]),
      c.scale === "custom" ? pointsEditor(b, c, path) : null,
      el("div", { "class": "builder-checks" }, [
        checkInput(b, {
          id: id("na"), label: say(b, "na_allowed"), checked: c.na_allowed, path: path + ".na_allowed",
          set: function (v) { c.na_allowed = v; }
        }),
        checkInput(b, {
          id: id("critical"), label: say(b, "critical"), checked: c.critical, path: path + ".critical",
          set: function (v) { c.critical = v; head(); }
        })
      ]),
      channelChoice(b, {
        id: id("channels"), legend: say(b, "criterion_channels"), hint: say(b, "criterion_channels_hint"),
        offered: criterionChannelOffer(b, c), chosen: c.channels, path: path + ".channels",
        set: function (list) { c.channels = list; }
      }),
      textArea(b, {
        id: id("examples"), label: say(b, "examples"), hint: say(b, "examples_hint"), value: c.examples,
        path: path + ".examples", set: function (v) { c.examples = v; }
      })
    ];
  }

  function pointsEditor(b, c, path) {
    var rows = c.points.map(function (p, i) {
      var at = path + ".points[" + i + "]";
      return el("li", { "class": "builder-point" }, [
        textInput(b, {
          id: p.uid + "-label", label: say(b, "point_label") + " " + (i + 1), value: p.label, path: at + ".label",
          set: function (v) { p.label = v; }
        }),
        numberInput(b, {
          id: p.uid + "-percent", label: say(b, "point_percent"), value: p.percent, min: 0, max: 100,
          path: at + ".percent", set: function (v) { p.percent = v; }
        }),
        actionButton(say(b, "remove_point"), p.uid + "-remove", function () { removePoint(b, c, i); })
      ]);
    });
    return el("fieldset", { "class": "builder-points", id: c.uid + "-points", "data-path": path + ".points" }, [
      el("legend", {}, [say(b, "points")]),
      el("p", { "class": "hint" }, [say(b, "points_hint")]),
      el("ol", {}, rows),
      actionButton(say(b, "add_point"), c.uid + "-add-point", function () { addPoint(b, c); })
    ]);
  }

  function sectionsBlock(b) {
    var list = el("ol", { "class": "builder-sections", "aria-labelledby": "fb-sections-title", "data-path": "sections", id: "fb-sections" },
      b.model.sections.map(function (s, i) { return sectionItem(b, s, i); }));
    return el("div", { "class": "builder-sections-block" }, [
      el("div", { "class": "builder-row" }, [
        el("h3", { id: "fb-sections-title" }, [say(b, "sections")]),
        el("span", { "class": "spacer" }),
        actionButton(say(b, "collapse_all"), "fb-collapse-all", function () { setAllSections(b, true, "fb-collapse-all"); }),
        actionButton(say(b, "expand_all"), "fb-expand-all", function () { setAllSections(b, false, "fb-expand-all"); })
      ]),
      list,
      el("div", { "class": "builder-row" }, [
        actionButton(say(b, "add_section"), "fb-add-section", function () { addSection(b); })
      ])
    ]);
  }

  // Draws the builder again from the model, keeping the focus on the element with `focusId`.
  function render(b, focusId) {
    var ui = el("div", { "class": "builder", "data-builder-ui": "" }, [
      el("p", { "class": "muted" }, [say(b, "intro")]),
      formFields(b),
      sectionsBlock(b)
    ]);
    if (b.root) {
      b.root.parentNode.replaceChild(ui, b.root);
    } else {
      b.form.insertBefore(ui, b.raw || b.bar);
    }
    b.root = ui;
    changed(b);
    var focus = focusId && document.getElementById(focusId);
    if (focus) { focus.focus(); }
  }

  // After any change: the JSON the form posts, and the preview.
  function changed(b) {
    b.textarea.value = JSON.stringify(formSpec(b.model), null, 2);
    renderPreview(b);
  }

  function refreshHead(b, kind, item) {
    var toggle = document.getElementById(item.uid + "-toggle");
    if (toggle) { toggle.textContent = itemName(b, kind, item); }
    var meta = document.getElementById(item.uid + "-meta");
    if (meta) { meta.textContent = kind === "section" ? sectionMeta(b, item) : criterionMeta(b, item); }
    var li = b.root && b.root.querySelector('[data-uid="' + item.uid + '"]');
    if (li) { li.setAttribute("data-key", item.key); }
  }

  // A new section's key follows its title; a kept one never changes.
  function renameSection(b, s) {
    if (!s.keyKept) { s.key = uniqueKey(keyFrom(s.title, "section"), sectionKeysBut(b, s)); }
    refreshHead(b, "section", s);
  }

  // A new criterion's key follows its name; a kept one never changes.
  function renameCriterion(b, c) {
    if (!c.keyKept) {
      c.key = uniqueKey(keyFrom(c.name, "criterion"), criterionKeysBut(b, c));
      var key = document.getElementById(c.uid + "-key");
      if (key) { key.value = c.key; }
    }
    refreshHead(b, "criterion", c);
  }

  function changeScale(b, c, scale) {
    c.scale = scale;
    if (scale === "custom" && c.points.length === 0) {
      c.points = [pointModel({ percent: 100 }), pointModel({ percent: 0 })];
    }
    render(b, c.uid + "-scale");
  }

  function addPoint(b, c) {
    var p = pointModel({});
    c.points.push(p);
    render(b, p.uid + "-label");
  }

  function removePoint(b, c, i) {
    c.points.splice(i, 1);
    render(b, c.uid + "-add-point");
  }

  function toggleItem(b, kind, item, toggle) {
    var body = document.getElementById(item.uid + "-body");
    var open = body.hidden;
    body.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (kind === "section") { b.closed[item.uid] = !open; } else { b.open[item.uid] = open; }
  }

  function setAllSections(b, collapsed, focusId) {
    b.model.sections.forEach(function (s) { b.closed[s.uid] = collapsed; });
    render(b, focusId);
  }

  // ---- Adding, removing, moving ----

  function announce(b, message, undoable) {
    b.live.textContent = "";
    b.undoButton.hidden = !undoable;
    window.setTimeout(function () { b.live.textContent = message; }, 60);
  }

  function addCriterion(b, s) {
    var c = criterionModel({ scale: "yes_no", weight: 1, kind: "standard" }, []);
    c.key = uniqueKey("criterion", criterionKeysBut(b, null));
    s.criteria.push(c);
    b.open[c.uid] = true;
    b.closed[s.uid] = false;
    render(b, c.uid + "-name");
    announce(b, say(b, "added_criterion", { section: sectionName(b, s) }));
  }

  function addSection(b) {
    var s = sectionModel({ criteria: [] }, { sections: [], criteria: [] });
    s.key = uniqueKey("section", sectionKeysBut(b, null));
    b.model.sections.push(s);
    render(b, s.uid + "-title");
    announce(b, say(b, "added_section"));
  }

  // Where an item is: its list and index, and for a criterion its section.
  function locate(b, kind, uid) {
    var sections = b.model.sections;
    for (var si = 0; si < sections.length; si += 1) {
      if (kind === "section" && sections[si].uid === uid) {
        return { list: sections, index: si, item: sections[si] };
      }
      if (kind === "criterion") {
        var list = sections[si].criteria;
        for (var ci = 0; ci < list.length; ci += 1) {
          if (list[ci].uid === uid) {
            return { list: list, index: ci, item: list[ci], section: sections[si], sectionIndex: si };
          }
        }
      }
    }
    return null;
  }

  function removeItem(b, kind, uid) {
    var at = locate(b, kind, uid);
    if (!at) { return; }
    at.list.splice(at.index, 1);
    b.undo = { kind: kind, list: at.list, index: at.index, item: at.item };
    var neighbour = at.list[at.index] || at.list[at.index - 1];
    var focus = neighbour ? neighbour.uid + "-toggle" : (at.section ? at.section.uid + "-add" : "fb-add-section");
    render(b, focus);
    announce(b, say(b, "removed", { name: itemName(b, kind, at.item) }), true);
  }

  function undoRemoval(b) {
    var u = b.undo;
    if (!u) { return; }
    b.undo = null;
    u.list.splice(Math.min(u.index, u.list.length), 0, u.item);
    render(b, u.item.uid + "-toggle");
    announce(b, say(b, "restored", { name: itemName(b, u.kind, u.item) }));
  }

  // The place one step up or down: within the list, or for a criterion at the near end of the
  // neighbouring section; null at either end of the form.
  function stepTarget(b, kind, at, step) {
    var index = at.index + step;
    if (index >= 0 && index < at.list.length) { return { list: at.list, index: index }; }
    if (kind !== "criterion") { return null; }
    var next = b.model.sections[at.sectionIndex + step];
    if (!next) { return null; }
    return { list: next.criteria, index: step < 0 ? next.criteria.length : 0 };
  }

  // Moves an item; `target.index` is its place in `target.list` once taken out of its own.
  function moveTo(b, kind, at, target) {
    at.list.splice(at.index, 1);
    target.list.splice(target.index, 0, at.item);
    if (kind === "criterion") {
      var section = locate(b, "criterion", at.item.uid).section;
      b.closed[section.uid] = false;
    }
  }

  function announceMove(b, kind, uid) {
    var at = locate(b, kind, uid);
    if (kind === "section") {
      announce(b, say(b, "moved_section", { name: sectionName(b, at.item), position: at.index + 1, count: at.list.length }));
    } else {
      announce(b, say(b, "moved_criterion", {
        name: criterionName(b, at.item), position: at.index + 1, count: at.list.length, section: sectionName(b, at.section)
      }));
    }
  }

  // Move up or down by the keyboard (the buttons, Alt+↑, Alt+↓); the focus stays where it was.
  function moveByStep(b, kind, uid, step, focusId) {
    var at = locate(b, kind, uid);
    if (!at) { return; }
    var target = stepTarget(b, kind, at, step);
    if (!target) {
      var name = { name: itemName(b, kind, at.item) };
      announce(b, step < 0 ? say(b, "at_top", name) : say(b, "at_bottom", name));
      return;
    }
    moveTo(b, kind, at, target);
    render(b, focusId);
    announceMove(b, kind, uid);
  }

  // ---- Moving with the mouse (pointer events: mouse, pen and touch alike) ----

  // Where a dragged item would land under the pointer: before or after an item of its kind, or,
  // for a criterion over a section but not over a criterion, at the end of that section.
  function dropTarget(b, kind, x, y) {
    var under = document.elementFromPoint(x, y);
    if (!under || !b.root.contains(under)) { return null; }
    var item = under.closest(kind === "section" ? ".builder-section" : ".builder-criterion");
    if (item) {
      var r = item.getBoundingClientRect();
      var head = item.querySelector(".builder-head").getBoundingClientRect();
      // A section's head decides by its own middle, so a long open section is easy to pass.
      var middle = kind === "section" && y <= head.bottom ? head.top + head.height / 2 : r.top + r.height / 2;
      return { el: item, before: y < middle };
    }
    var section = kind === "criterion" && under.closest(".builder-section");
    return section ? { el: section.querySelector(".builder-criteria"), into: true } : null;
  }

  function showDrop(b, drag, drop) {
    b.root.querySelectorAll(".drop-before, .drop-after, .drop-into").forEach(function (e) {
      e.classList.remove("drop-before", "drop-after", "drop-into");
    });
    drag.drop = drop;
    if (drop) { drop.el.classList.add(drop.into ? "drop-into" : drop.before ? "drop-before" : "drop-after"); }
  }

  function dropAt(b, kind, uid, drop) {
    var at = locate(b, kind, uid);
    var target;
    if (drop.into) {
      var section = locate(b, "section", drop.el.getAttribute("data-section"));
      if (!section) { return; }
      target = { list: section.item.criteria, index: section.item.criteria.length };
    } else {
      var other = locate(b, kind, drop.el.getAttribute("data-uid"));
      if (!other || other.item === at.item) { return; }
      target = { list: other.list, index: other.index + (drop.before ? 0 : 1) };
    }
    if (target.list === at.list && target.index > at.index) { target.index -= 1; }
    if (target.list === at.list && target.index === at.index) { return; }
    moveTo(b, kind, at, target);
    render(b, uid + "-toggle");
    announceMove(b, kind, uid);
  }

  function autoScroll(y) {
    if (y < 48) {
      window.scrollBy(0, -20);
    } else if (y > window.innerHeight - 48) {
      window.scrollBy(0, 20);
    }
  }

  function startDrag(b, ev, kind, uid) {
    if (ev.button !== 0) { return; }
    ev.preventDefault();
    var handle = ev.currentTarget;
    var item = handle.closest(".builder-" + kind);
    var drag = { startY: ev.clientY, moving: false, drop: null };
    try { handle.setPointerCapture(ev.pointerId); } catch (e) { /* the pointer is gone already */ }
    function move(e) {
      if (!drag.moving && Math.abs(e.clientY - drag.startY) < 4) { return; }
      drag.moving = true;
      item.classList.add("is-dragging");
      b.root.classList.add("is-sorting");
      autoScroll(e.clientY);
      showDrop(b, drag, dropTarget(b, kind, e.clientX, e.clientY));
    }
    function finish() {
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", up);
      handle.removeEventListener("pointercancel", finish);
      document.removeEventListener("keydown", escape, true);
      item.classList.remove("is-dragging");
      b.root.classList.remove("is-sorting");
      var drop = drag.moving ? drag.drop : null;
      showDrop(b, drag, null);
      return drop;
    }
    function up() {
      var drop = finish();
      if (drop) { dropAt(b, kind, uid, drop); }
    }
    function escape(e) {
      if (e.key === "Escape") {
        e.preventDefault();
        finish();
      }
    }
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", up);
    handle.addEventListener("pointercancel", finish);
    document.addEventListener("keydown", escape, true);
  }

  // ---- The preview: the criteria as an evaluator sees them ----

  function answerLabels(b, c) {
    var range = function (from, to) {
      var out = [];
      for (var n = from; n <= to; n += 1) { out.push(String(n)); }
      return out;
    };
    if (c.scale === "1-5") { return range(1, 5); }
    if (c.scale === "0-10") { return range(0, 10); }
    if (c.scale === "custom") {
      return c.points.map(function (p) { return p.label + " (" + textOf(p.percent).trim() + " %)"; });
    }
    return [say(b, "contacts.yes"), say(b, "contacts.no")];
  }

  function previewCriterion(b, c) {
    var facts = [say(b, "quality.weight") + " " + textOf(c.weight).trim()];
    if (c.kpi) { facts.push(c.kpi); }
    if (c.channels.length) { facts.push(c.channels.join(", ")); }
    var examples = exampleLines(c.examples);
    var answers = answerLabels(b, c).join(" · ") + (c.na_allowed ? " · " + say(b, "quality.not_applicable") : "");
    return el("div", { "class": "criterion", "data-key": c.key }, [
      el("p", { "class": "criterion-name" }, [
        el("strong", {}, [c.name]), " ",
        c.critical ? el("span", { "class": "badge badge-bad" }, [say(b, "quality.critical")]) : null,
        c.critical ? " " : null,
        c.kind === "relationship" ? el("span", { "class": "badge badge-ok" }, [say(b, "quality.relationship")]) : null,
        c.kind === "relationship" ? " " : null,
        el("span", { "class": "muted" }, ["· " + facts.join(" · ")])
      ]),
      c.definition ? el("p", {}, [c.definition]) : null,
      c.rationale || examples.length ? el("details", {}, [
        el("summary", {}, [say(b, "quality.why")]),
        el("p", {}, [c.rationale]),
        examples.length ? el("ul", {}, examples.map(function (x) { return el("li", {}, [x]); })) : null
      ]) : null,
      el("p", { "class": "muted" }, [say(b, "quality.answers") + ": " + answers])
    ]);
  }

  function previewChoices(b) {
    var shown = b.model.channels.join(",");
    if (b.previewChannels === shown) { return; }
    b.previewChannels = shown;
    if (b.model.channels.indexOf(b.previewChannel) < 0) { b.previewChannel = ""; }
    var options = [{ value: "", label: say(b, "all_channels") }].concat(b.model.channels.map(function (ch) {
      return { value: ch, label: channelName(b, ch) };
    }));
    b.previewSelect.replaceChildren.apply(b.previewSelect, options.map(function (o) {
      return el("option", { value: o.value }, [o.label]);
    }));
    b.previewSelect.value = b.previewChannel;
  }

  function renderPreview(b) {
    if (!b.preview) { return; }
    previewChoices(b);
    var channel = b.previewChannel;
    var cards = [];
    b.model.sections.forEach(function (s) {
      var criteria = s.criteria.filter(function (c) {
        return !channel || c.channels.length === 0 || c.channels.indexOf(channel) >= 0;
      });
      if (!criteria.length) { return; }
      cards.push(el("section", { "class": "card" }, [
        el("h2", {}, [s.title]),
        s.description ? el("p", { "class": "muted" }, [s.description]) : null
      ].concat(criteria.map(function (c) { return previewCriterion(b, c); }))));
    });
    if (!cards.length) { cards.push(el("p", { "class": "muted" }, [say(b, "preview_empty")])); }
    b.preview.replaceChildren.apply(b.preview, cards);
  }

  function setUpPreview(b) {
    if (!b.preview) { return; }
    b.previewSelect = el("select", { id: "fb-preview-channel" });
    b.previewSelect.addEventListener("change", function () {
      b.previewChannel = b.previewSelect.value;
      renderPreview(b);
    });
    b.preview.parentNode.insertBefore(el("div", { "class": "field builder-preview-channel", "data-builder-ui": "" }, [
      el("label", { "for": "fb-preview-channel" }, [say(b, "preview_channel")]),
      b.previewSelect
    ]), b.preview);
  }

  // ---- A refused save ----

  // Marks the field a refused save names (`sections[1].criteria[0].weight`), or the nearest part
  // of the form that has one, opens what holds it and moves the focus there.
  function showRefusal(b, error) {
    var target = null;
    for (var path = error.path; path && !target; path = shorterPath(path)) {
      target = fieldAt(b, path);
    }
    if (!target) { return; }
    var criterion = target.closest(".builder-criterion");
    var section = target.closest(".builder-section");
    if (criterion) { b.open[criterion.getAttribute("data-uid")] = true; }
    if (section) { b.closed[section.getAttribute("data-uid")] = false; }
    render(b);
    target = document.getElementById(target.id) || target;
    markInvalid(target, say(b, "refused_here", { message: error.message }));
    var focusable = /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName) ? target : target.querySelector("input, select, textarea, button");
    if (focusable) { focusable.focus({ preventScroll: true }); }
    // After htmx has scrolled the swapped page to its top.
    window.setTimeout(function () { target.scrollIntoView({ block: "center" }); }, 0);
  }

  function fieldAt(b, path) {
    var all = b.root.querySelectorAll("[data-path]");
    for (var i = 0; i < all.length; i += 1) {
      if (all[i].getAttribute("data-path") === path) { return all[i]; }
    }
    return null;
  }

  // `sections[1].criteria[0].points` for `sections[1].criteria[0].points[2]`, and so on.
  function shorterPath(path) {
    var cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
    return cut > 0 ? path.slice(0, cut) : "";
  }

  // ---- Starting ----

  // The JSON edited by hand: taken over by the builder when it can be read.
  function takeRawJson(b) {
    var read = readSpec(b.textarea.value);
    var old = document.getElementById("definition-error");
    if (old) { old.remove(); }
    if (read.error) {
      b.textarea.parentNode.appendChild(el("p", { "class": "field-error", id: "definition-error", role: "alert" }, [
        say(b, "json_invalid", { error: read.error })
      ]));
      return;
    }
    b.model = formModel(read.spec, b.kept);
    b.undo = null;
    render(b);
  }

  function onBuilderKey(b, ev) {
    var t = ev.target;
    if (!b.root || !b.root.contains(t)) { return; }
    if (ev.key === "Enter" && t.tagName === "INPUT") {
      ev.preventDefault(); // a field of the builder does not save the form
      return;
    }
    if (ev.altKey && !ev.ctrlKey && !ev.metaKey && (ev.key === "ArrowUp" || ev.key === "ArrowDown")) {
      var head = t.closest(".builder-head");
      if (!head) { return; }
      ev.preventDefault();
      var item = head.parentNode;
      moveByStep(b, item.getAttribute("data-kind"), item.getAttribute("data-uid"), ev.key === "ArrowUp" ? -1 : 1, t.id);
    }
  }

  function setUpBar(b) {
    b.live = el("p", { "class": "builder-status", role: "status", "aria-live": "polite", id: "builder-status", "data-builder-ui": "" });
    b.undoButton = actionButton(say(b, "undo"), "builder-undo", function () { undoRemoval(b); });
    b.undoButton.hidden = true;
    b.undoButton.setAttribute("data-builder-ui", "");
    b.bar.insertBefore(b.undoButton, b.bar.firstChild);
    b.bar.insertBefore(b.live, b.bar.firstChild);
  }

  function startBuilder(form, textarea, config, spec) {
    var b = {
      form: form,
      textarea: textarea,
      config: config,
      texts: config.texts || {},
      kept: config.kept || { sections: [], criteria: [] },
      raw: form.querySelector("[data-raw-definition]"),
      bar: form.querySelector(".builder-save"),
      preview: document.querySelector("[data-form-preview]"),
      open: {},
      closed: {},
      undo: null,
      previewChannel: "",
      root: null
    };
    // A page brought back from htmx's history holds a builder drawn before: start afresh.
    document.querySelectorAll("[data-builder-ui]").forEach(function (old) { old.remove(); });
    b.model = formModel(spec, b.kept);
    form.classList.add("builder-on");
    form.noValidate = true;
    document.querySelectorAll("[data-builder-nojs]").forEach(function (e) { e.hidden = true; });
    if (b.raw) { b.raw.open = false; }
    setUpBar(b);
    setUpPreview(b);
    form.addEventListener("keydown", function (ev) { onBuilderKey(b, ev); });
    textarea.addEventListener("change", function () { takeRawJson(b); });
    render(b);
    if (config.error) { showRefusal(b, config.error); }
  }

  function initFormBuilders() {
    document.querySelectorAll("form[data-form-builder]").forEach(function (form) {
      if (liveBuilders.has(form)) { return; }
      var config = document.getElementById("form-builder-config");
      var textarea = form.querySelector("textarea[name=definition]");
      var read = textarea && readSpec(textarea.value);
      if (!config || !read || read.error) { return; } // the JSON stays to be mended by hand
      liveBuilders.add(form);
      startBuilder(form, textarea, JSON.parse(config.textContent), read.spec);
    });
  }

  // A refused change (422) or a conflict (409) answers with the page and why: show it, as a
  // browser without scripts does, instead of leaving the page as it was.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var status = ev.detail.xhr && ev.detail.xhr.status;
    if (status === 422 || status === 409) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });

  // A calibration session's focus: only the criteria of the chosen form version,
  // <select data-focus-select> and its groups <div data-focus-version="id">.
  function showFocus(root) {
    var select = root.querySelector && root.querySelector("[data-focus-select]");
    if (!select) { return; }
    document.querySelectorAll("[data-focus-version]").forEach(function (g) {
      var on = g.getAttribute("data-focus-version") === select.value;
      g.hidden = !on;
      if (!on) { g.querySelectorAll("input").forEach(function (i) { i.checked = false; }); }
    });
  }
  document.addEventListener("change", function (ev) {
    if (ev.target.hasAttribute && ev.target.hasAttribute("data-focus-select")) { showFocus(document); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    initFormBuilders();
    showFocus(document);
  });
  document.addEventListener("htmx:afterSettle", function (ev) {
    drawCharts(ev.target || document);
    initFormBuilders();
  });
  document.addEventListener("htmx:historyRestore", initFormBuilders);
})();
