/* The custom-menu editor: a phone preview, a button tree and a form.
 * Vanilla JS, no dependencies. The server's validator (menus/validation.py) is the
 * only judge of rules: this script counts UTF-8 bytes for feedback and asks
 * /menus/<id>/validate/ as you type. */
(function () {
  "use strict";
  var root = document.getElementById("menu-editor");
  if (!root) return;
  var config = JSON.parse(document.getElementById("menu-editor-config").textContent);
  var T = config.t, L = config.limits, URLS = config.urls;
  var simulateUrl = root.getAttribute("data-simulate-url") || "";
  var csrf = (root.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  // The account's menu set: the default menu plus "conditionalmenu" (conditional.js edits
  // the match rules); `menu` is the one of the set on screen, `current` its index (null:
  // the default). Requests always carry the whole set.
  var set = clone(config.state.working || { button: [] });
  var current = null;
  var menu = set;
  var live = config.state.live;
  var selected = null; // [i] or [i, j]
  var openPopup = null;
  var issues = [];
  var dirty = false;
  var validateTimer = null;
  var FIELDS = ["key", "url", "media_id", "article_id", "appid", "pagepath"];

  function $(id) { return document.getElementById(id); }
  function clone(x) { return JSON.parse(JSON.stringify(x)); }
  function bytes(s) { return new TextEncoder().encode(s || "").length; }
  function fmt(s, args) { return s.replace(/%\((\w+)\)s/g, function (_, k) { return args[k]; }); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }
  function subs(b) { return Array.isArray(b.sub_button) ? b.sub_button : []; }
  // the type in words (issue 29 §6): "发送消息", not "click"; the label's part before "（"
  function typeName(t) { return ((T.type_names && T.type_names[t]) || t || "?").split("（")[0]; }
  function isParent(b) { return subs(b).length > 0 || (!b.type && Array.isArray(b.sub_button)); }
  function at(path) {
    if (!path) return null;
    var b = menu.button[path[0]];
    if (!b) return null;
    return path.length > 1 ? subs(b)[path[1]] || null : b;
  }
  function samePath(a, b) { return a && b && a.length === b.length && a.every(function (x, i) { return x === b[i]; }); }
  function pathId(path) { return path.join("-"); }

  function request(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-CSRFToken": csrf, "Accept": "application/json" } };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return { error: r.status + " " + r.statusText }; })
        .then(function (data) { data._ok = r.ok; return data; });
    }, function () { return { _ok: false, error: T.network }; });
  }

  function status(text, tone) {
    var box = $("me-status");
    box.textContent = text || "";
    box.className = "me-status" + (tone ? " me-" + tone : "");
  }
  function showIssues(list) {
    issues = list || [];
    var ul = $("me-issues");
    ul.innerHTML = "";
    issues.forEach(function (issue) {
      ul.appendChild(el("li", { "data-pointer": issue.pointer, onclick: function () {
        if (menuOf(issue) !== current) { showMenu(menuOf(issue)); }
        if (issue.path && issue.path.length) { selected = issue.path.slice(0, 2); render(); }
      } }, [issue.text]));
    });
    if (window.wxMenuEditor && window.wxMenuEditor.onrender) window.wxMenuEditor.onrender();
  }
  function issuesFor(path) {
    return issues.filter(function (i) { return i.path && samePath(i.path, path) && menuOf(i) === current; });
  }
  function menuOf(issue) { return issue.menu === undefined ? null : issue.menu; }

  function changed() {
    dirty = true;
    render();
    validateSoon();
  }
  function validateSoon() {
    dirty = true;
    clearTimeout(validateTimer);
    validateTimer = setTimeout(function () {
      request("POST", URLS.validate, { menu: set }).then(function (data) {
        if (!data._ok) return;
        showIssues(data.issues);
        renderPreview(); renderTree(); renderFormErrors();
        status(data.issues.length ? T.unsaved : T.unsaved + " · " + T.valid, data.issues.length ? "warn" : "");
      });
    }, 350);
  }

  // --- preview ---------------------------------------------------------------------
  function bubble(text, who) {
    var chat = $("me-chat");
    var node = el("div", { "class": "me-bubble me-bubble-" + who, "data-testid": who === "in" ? "reply-bubble" : "chat-bubble", text: text });
    chat.appendChild(node);
    chat.scrollTop = chat.scrollHeight;
    return node;
  }
  function tapLeaf(path) {
    var b = at(path);
    selected = path; openPopup = null; render();
    if (!b) return;
    bubble(fmt(T.click_sent, { name: b.name || "" }), "out");
    if (b.type === "view" || b.type === "miniprogram") { bubble(fmt(T.opens, { url: b.url || "" }), "sys"); return; }
    if (b.type === "click" && simulateUrl) {
      request("POST", simulateUrl, { type: "click", key: b.key || "", openid: "preview-user" }).then(function (data) {
        if (data.reply && data.reply.content) bubble(data.reply.content, "in");
        else if (data._ok) bubble(T.no_reply, "sys");
        else bubble(data.error || T.network, "sys");
      });
      return;
    }
    if (b.type === "click" && b.reply) { bubble(b.reply, "in"); return; }
    bubble(fmt(T.does, { type: typeName(b.type) }), "sys");
  }
  function renderPreview() {
    var bar = $("me-menubar"), popup = $("me-popup");
    bar.innerHTML = ""; popup.innerHTML = "";
    bar.appendChild(el("span", { "class": "me-kbd", text: "⌨" }));
    menu.button.forEach(function (b, i) {
      var slot = el("button", {
        type: "button", "class": "me-slot" + (samePath(selected, [i]) ? " me-sel" : "") + (issuesFor([i]).length ? " me-bad" : ""),
        "data-testid": "preview-button-" + i,
        onclick: function () {
          if (isParent(b)) { openPopup = openPopup === i ? null : i; selected = [i]; render(); }
          else tapLeaf([i]);
        }
      }, [(isParent(b) ? "≡ " : "") + (b.name || "…")]);
      bar.appendChild(slot);
      if (openPopup === i && isParent(b)) {
        var box = el("div", { "class": "me-popup", "data-testid": "preview-popup-" + i,
          style: "left:calc(36px + (100% - 36px) * " + i + " / " + menu.button.length + " + 8px);" +
            "width:calc((100% - 36px) / " + menu.button.length + " - 16px)" });
        subs(b).forEach(function (s, j) {
          box.appendChild(el("button", {
            type: "button", "class": "me-popup-item" + (samePath(selected, [i, j]) ? " me-sel" : "") + (issuesFor([i, j]).length ? " me-bad" : ""),
            "data-testid": "preview-sub-" + i + "-" + j, onclick: function () { tapLeaf([i, j]); }
          }, [s.name || "…"]));
        });
        popup.appendChild(box);
      }
    });
  }

  // --- tree --------------------------------------------------------------------------
  function move(path, delta) {
    var list = path.length > 1 ? menu.button[path[0]].sub_button : menu.button;
    var k = path[path.length - 1], n = k + delta;
    if (n < 0 || n >= list.length) return;
    var tmp = list[k]; list[k] = list[n]; list[n] = tmp;
    selected = path.length > 1 ? [path[0], n] : [n];
    if (path.length === 1 && openPopup !== null) openPopup = n;
    changed();
  }
  function remove(path) {
    var b = at(path);
    if (!window.confirm(fmt(T.confirm_delete, { name: b.name || "…" }))) return;
    if (path.length > 1) {
      var parent = menu.button[path[0]];
      parent.sub_button.splice(path[1], 1);
      if (!parent.sub_button.length) { delete parent.sub_button; parent.type = "click"; }
      selected = [path[0]];
    } else { menu.button.splice(path[0], 1); selected = null; openPopup = null; }
    changed();
  }
  function addTop() {
    if (menu.button.length >= L.buttons) return;
    menu.button.push({ type: "click", name: T.new_button + (menu.button.length + 1), key: "", reply: "" });
    selected = [menu.button.length - 1];
    changed();
  }
  function addSub(i) {
    var b = menu.button[i];
    if (!isParent(b)) { FIELDS.concat(["type", "reply"]).forEach(function (f) { delete b[f]; }); b.sub_button = []; }
    if (b.sub_button.length >= L.subs) return;
    b.sub_button.push({ type: "click", name: T.new_sub + (b.sub_button.length + 1), key: "", reply: "" });
    selected = [i, b.sub_button.length - 1]; openPopup = i;
    changed();
  }
  function controls(path, count) {
    if (!config.can_change) return null;
    var k = path[path.length - 1], id = pathId(path);
    var box = el("span", { "class": "me-ctl" }, [
      el("button", { type: "button", title: T.up, "aria-label": T.up, "data-testid": "up-" + id, disabled: k === 0 ? "disabled" : null, onclick: function (e) { e.stopPropagation(); move(path, -1); } }, ["↑"]),
      el("button", { type: "button", title: T.down, "aria-label": T.down, "data-testid": "down-" + id, disabled: k === count - 1 ? "disabled" : null, onclick: function (e) { e.stopPropagation(); move(path, 1); } }, ["↓"]),
      el("button", { type: "button", title: T.delete, "aria-label": T.delete, "data-testid": "delete-" + id, onclick: function (e) { e.stopPropagation(); remove(path); } }, ["✕"])
    ]);
    if (path.length === 1 && subs(menu.button[path[0]]).length < L.subs) {
      box.insertBefore(el("button", { type: "button", title: T.add_sub, "data-testid": "add-sub-" + path[0], onclick: function (e) { e.stopPropagation(); addSub(path[0]); } }, ["+"]), box.firstChild);
    }
    return box;
  }
  function renderTree() {
    var tree = $("me-tree");
    tree.innerHTML = "";
    if (!menu.button.length) tree.appendChild(el("li", { "class": "me-empty", text: T.empty_menu }));
    menu.button.forEach(function (b, i) {
      var label = el("div", { "class": "me-node" + (samePath(selected, [i]) ? " me-sel" : "") + (issuesFor([i]).length ? " me-bad" : ""),
        "data-testid": "tree-" + i, onclick: function () { selected = [i]; openPopup = isParent(b) ? i : null; render(); } },
        [el("span", { text: (b.name || "…") + (isParent(b) ? "" : "  · " + typeName(b.type)) }), controls([i], menu.button.length)]);
      var li = el("li", {}, [label]);
      if (isParent(b)) {
        var ol = el("ol", {});
        subs(b).forEach(function (s, j) {
          ol.appendChild(el("li", {}, [el("div", { "class": "me-node" + (samePath(selected, [i, j]) ? " me-sel" : "") + (issuesFor([i, j]).length ? " me-bad" : ""),
            "data-testid": "tree-" + i + "-" + j, onclick: function () { selected = [i, j]; openPopup = i; render(); } },
            [el("span", { text: (s.name || "…") + "  · " + typeName(s.type) }), controls([i, j], subs(b).length)])]));
        });
        li.appendChild(ol);
      }
      tree.appendChild(li);
    });
    var add = $("me-add-top");
    if (add) add.disabled = menu.button.length >= L.buttons;
  }

  // --- form --------------------------------------------------------------------------
  function field(label, name, value, opts) {
    opts = opts || {};
    var input = opts.multiline
      ? el("textarea", { name: name, rows: 3, "data-testid": "field-" + name })
      : el("input", { type: "text", name: name, "data-testid": "field-" + name, maxlength: opts.maxChars || null });
    input.value = value || "";
    if (!config.can_change) input.disabled = true;
    var counter = opts.limit ? el("span", { "class": "me-count", "data-testid": "count-" + name }) : null;
    function count() {
      if (!counter) return;
      var n = bytes(input.value);
      counter.textContent = fmt(T.bytes, { n: n, max: opts.limit });
      counter.className = "me-count" + (n > opts.limit ? " me-over" : n > opts.limit * 0.8 ? " me-near" : "");
    }
    count();
    input.addEventListener("input", function () { count(); opts.onchange(input.value); });
    return el("label", { "class": "me-field" }, [el("span", { text: label }), input, counter]);
  }
  // The materials library's picker (issue 25): the account's materials by name, instead of
  // typing a media_id; the text field stays for an id the library does not list yet.
  var materials = null;
  function materialPicker(b, input) {
    var select = el("select", { "data-testid": "material-picker", disabled: config.can_change ? null : "disabled" });
    function fill(items) {
      select.innerHTML = "";
      select.appendChild(el("option", { value: "", text: items.length ? T.pick_material : T.no_materials }));
      items.forEach(function (m) {
        var opt = el("option", { value: m.media_id, text: m.label });
        if (m.media_id === b.media_id) opt.selected = true;
        select.appendChild(opt);
      });
    }
    if (materials) fill(materials);
    else request("GET", URLS.materials).then(function (d) { materials = d._ok ? d.items || [] : []; fill(materials); });
    select.addEventListener("change", function () {
      if (!select.value) return;
      b.media_id = select.value;
      if (input) input.value = select.value;
      validateSoon();
    });
    return el("label", { "class": "me-field" }, [el("span", { text: T.media_id }), select]);
  }
  function renderForm() {
    var form = $("me-form");
    form.innerHTML = "";
    var b = at(selected);
    if (!b) { form.appendChild(el("p", { text: T.nothing_selected })); return; }
    var sub = selected.length > 1;
    form.appendChild(field(T.name, "name", b.name, { limit: sub ? L.sub_name : L.name, onchange: function (v) { b.name = v; renderPreview(); renderTree(); validateSoon(); } }));
    form.appendChild(el("div", { id: "me-form-errors", "data-testid": "form-errors" }));
    renderFormErrors();
    if (!sub && isParent(b)) { form.appendChild(el("p", { "class": "me-note", text: T.parent })); return; }
    var select = el("select", { name: "type", "data-testid": "field-type", disabled: config.can_change ? null : "disabled" });
    config.types.forEach(function (t) {
      var opt = el("option", { value: t, text: T.type_names[t] || t });
      if (t === b.type) opt.selected = true;
      select.appendChild(opt);
    });
    select.addEventListener("change", function () { b.type = select.value; changed(); });
    form.appendChild(el("label", { "class": "me-field" }, [el("span", { text: T.type }), select]));
    (config.required[b.type] || []).forEach(function (f) {
      var box = field(T[f] || f, f, b[f], { limit: f === "key" ? L.key : f === "url" ? L.url : null,
        onchange: function (v) { b[f] = v; validateSoon(); } });
      if (f === "media_id" && URLS.materials) form.appendChild(materialPicker(b, box.querySelector("input")));
      form.appendChild(box);
    });
    if (b.type === "click") {
      form.appendChild(field(T.reply, "reply", b.reply, { multiline: true, limit: L.reply,
        onchange: function (v) { b.reply = v; validateSoon(); } }));
    }
  }
  function renderFormErrors() {
    var box = $("me-form-errors");
    if (!box) return;
    box.innerHTML = "";
    issuesFor(selected || []).forEach(function (i) {
      box.appendChild(el("p", { "class": "me-err", text: i.message + (i.errcode ? " (" + i.errcode + ")" : "") }));
    });
  }

  function render() { renderPreview(); renderTree(); renderForm(); if (api.onrender) api.onrender(); }

  // --- the menu set (conditional.js switches menus and edits match rules through this) ----
  function showMenu(index) {
    var others = set.conditionalmenu || [];
    current = index !== null && others[index] ? index : null;
    menu = current === null ? set : others[current];
    if (!Array.isArray(menu.button)) menu.button = [];
    selected = menu.button.length ? [0] : null; openPopup = null;
    render(); renderFormErrors();
  }
  var api = window.wxMenuEditor = {
    set: function () { return set; },
    current: function () { return current; },
    issues: function () { return issues; },
    show: showMenu,
    changed: changed,
    request: request,
    status: status,
    onrender: null
  };

  // --- toolbar -----------------------------------------------------------------------
  function loadState(state, keepMessage) {
    config.state = state;
    live = state.live;
    set = clone(state.working || { button: [] });
    var others = set.conditionalmenu || [];
    if (current !== null && !others[current]) current = null;
    menu = current === null ? set : others[current];
    dirty = false;
    if (!at(selected)) selected = menu.button.length ? [0] : null;
    if (!keepMessage) status("");
    showIssues([]);
    render();
  }
  function answer(data) {
    if (data._ok) { status(data.message || "", "ok"); showIssues(data.issues || []); return true; }
    status(data.error || T.network, "error");
    showIssues(data.issues || []);
    if (data.issues && data.issues.length && data.issues[0].path.length) { selected = data.issues[0].path.slice(0, 2); render(); }
    return false;
  }
  function pollVersion(tries) {
    request("GET", URLS.latest_version).then(function (data) {
      var v = data.version;
      if (v && v.status === "pending" && tries > 0) { setTimeout(function () { pollVersion(tries - 1); }, 1000); return; }
      if (!v) return;
      refreshVersions();
      // the published menu changed: what "compare" holds as live follows it
      request("GET", URLS.state).then(function (d) { if (d._ok) { config.state.live = live = d.live; } });
      if (v.status === "published") status("#" + v.number + " · " + T.published, "ok");
      else if (v.status === "failed") status(T.failed + " (#" + v.number + "): " + v.errcode + " " + v.errmsg + (v.explanation ? " — " + v.explanation : ""), "error");
      else if (v.status === "superseded") status("#" + v.number + " · " + T.superseded, "warn");
      else status(T.pending, "warn");
      root.setAttribute("data-last-status", v.status);
    });
  }
  var actions = {
    save: function () {
      status(T.saving);
      request("POST", URLS.save_draft, { menu: set }).then(function (d) { if (answer(d)) loadState(d.state, true); });
    },
    publish: function () {
      status(T.publishing, "warn");
      root.setAttribute("data-last-status", "pending");
      request("POST", URLS.publish, { menu: set }).then(function (d) {
        if (answer(d)) { loadState(d.state, true); status(T.publishing, "warn"); pollVersion(120); }
      });
    },
    discard: function () {
      if (!window.confirm(T.confirm_discard)) return;
      request("POST", URLS.discard_draft, {}).then(function (d) { if (answer(d)) loadState(d.state, true); });
    },
    pull: function (selfmenu) {
      if (dirty || config.state.has_draft) { if (!window.confirm(T.confirm_pull)) return; }
      status(T.loading);
      request("POST", URLS.pull, { selfmenu: !!selfmenu }).then(function (d) { if (answer(d)) { var is = d.issues; loadState(d.state, true); showIssues(is); render(); } });
    },
    "pull-selfmenu": function () { actions.pull(true); },
    "delete-remote": function () {
      if (!window.confirm(T.confirm_delete_remote)) return;
      request("POST", URLS.delete_remote, { confirm: true }).then(answer);
    },
    compare: function () {
      var panel = $("me-compare");
      panel.hidden = false;
      comparePhones(null);
      request("GET", URLS.remote).then(function (d) { comparePhones(d._ok ? (d.menu || { button: [] }) : { error: d.error || T.network }); });
      panel.scrollIntoView({ behavior: "smooth" });
    },
    "import": function () { $("me-import-error").textContent = ""; $("me-import-dialog").showModal(); },
    copy: function () { $("me-copy-dialog").showModal(); }
  };
  // --- compare: three phones side by side -------------------------------------------------
  // What a button does, as WeChat sees it: our reply texts stay here, and a key left blank
  // is generated at publishing, so neither counts as a difference.
  function signature(b, other) {
    var sig = { name: b.name || "", type: b.type || "", subs: subs(b).length };
    FIELDS.forEach(function (f) {
      if (f === "key" && (!b.key || !other || !other.key)) return;
      if (b[f]) sig[f] = b[f];
    });
    return JSON.stringify(sig);
  }
  function sameButton(a, b) { return !!a && !!b && signature(a, b) === signature(b, a); }
  function phone(target, data, reference) {
    var box = $(target), differing = 0;
    box.innerHTML = "";
    if (data && data.error) { box.appendChild(el("p", { "class": "me-err", text: data.error })); return -1; }
    if (data === null) { box.appendChild(el("p", { "class": "me-note", text: T.loading })); return -1; }
    var buttons = (data && data.button) || [];
    if (!buttons.length) { box.appendChild(el("p", { "class": "me-note", text: T.cmp_none })); }
    var columns = el("div", { "class": "me-cmp-menu" });
    buttons.forEach(function (b, i) {
      var ref = reference ? (reference.button || [])[i] : null;
      var col = el("div", { "class": "me-cmp-button" });
      subs(b).forEach(function (s, j) {
        var same = !reference || sameButton(s, ref ? subs(ref)[j] : null);
        if (!same) differing++;
        col.appendChild(el("div", { "class": "me-cmp-item" + (same ? "" : " me-cmp-diff"), title: s.type || "", text: s.name || "…" }));
      });
      var top = !reference || (sameButton(b, ref) && subs(b).length === subs(ref).length);
      if (!top && !subs(b).length) differing++;
      col.appendChild(el("div", { "class": "me-cmp-slot" + (top ? "" : " me-cmp-diff"), title: b.type || "", text: (isParent(b) ? "≡ " : "") + (b.name || "…") }));
      columns.appendChild(col);
    });
    if (reference) {  // buttons only the reference has
      (reference.button || []).forEach(function (r, i) {
        if (i >= buttons.length) differing += 1 + subs(r).length;
        else if (subs(r).length > subs(buttons[i]).length) differing += subs(r).length - subs(buttons[i]).length;
      });
    }
    box.appendChild(columns);
    return differing;
  }
  function verdict(id, differing) {
    var p = $(id);
    p.textContent = differing < 0 ? "" : differing === 0 ? T.cmp_same : fmt(T.cmp_differs, { n: differing });
    p.className = "me-cmp-verdict" + (differing > 0 ? " me-warn" : differing === 0 ? " me-ok" : "");
    p.setAttribute("data-differs", String(differing));
  }
  function comparePhones(remote) {
    // the default menu of the set is compared (the phones show what a user matched by no rule sees)
    phone("me-cmp-draft", set, null);
    verdict("me-cmp-live-verdict", phone("me-cmp-live", live || { button: [] }, set));
    verdict("me-cmp-remote-verdict", phone("me-cmp-remote", remote, set));
  }

  // --- the versions table follows publishing without a reload ------------------------------
  function refreshVersions() {
    fetch(window.location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-testid=versions] tbody");
      var current = document.querySelector("[data-testid=versions] tbody");
      if (fresh && current) current.replaceWith(fresh);
    });
  }

  root.querySelectorAll("[data-action]").forEach(function (btn) {
    btn.addEventListener("click", function () { actions[btn.getAttribute("data-action")](); });
  });
  var addTopBtn = $("me-add-top");
  if (addTopBtn) addTopBtn.addEventListener("click", addTop);
  var importGo = $("me-import-go");
  if (importGo) importGo.addEventListener("click", function () {
    var box = $("me-import-error");
    box.textContent = "";
    request("POST", URLS["import"], { json: $("me-import-text").value }).then(function (d) {
      if (answer(d)) { $("me-import-dialog").close(); loadState(d.state, true); return; }
      // the error belongs in the dialog, where the pasted JSON is, not behind it
      box.appendChild(el("p", { text: d.error || T.network }));
      (d.issues || []).forEach(function (i) { box.appendChild(el("p", { text: i.text || i.message })); });
    });
  });
  var copyGo = $("me-copy-go");
  if (copyGo) copyGo.addEventListener("click", function () {
    var ids = Array.prototype.map.call(document.querySelectorAll("input[name=copy-target]:checked"), function (i) { return parseInt(i.value, 10); });
    request("POST", URLS.copy, { accounts: ids }).then(function (d) {
      $("me-copy-dialog").close();
      if (answer(d) && d.refused.length) {
        status(d.message + " " + d.refused.map(function (r) { return r.account + ": " + r.issues[0].text; }).join("; "), "warn");
      }
    });
  });
  window.addEventListener("beforeunload", function (e) { if (dirty) { e.preventDefault(); e.returnValue = ""; } });

  if (menu.button.length) selected = [0];
  render();
  if (config.state.latest && config.state.latest.status === "pending") pollVersion(120);
})();
