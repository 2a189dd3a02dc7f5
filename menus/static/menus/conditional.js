/* Conditional (personalised) menus in the menu editor: tabs to switch between the default
 * menu and the conditional ones (each built and previewed by editor.js like the default),
 * the match rule of the one on screen, menu/trymatch for a user, and WeChat's copies.
 * Talks to editor.js through window.wxMenuEditor; the server validates the whole set. */
(function () {
  "use strict";
  var ed = window.wxMenuEditor;
  var root = document.getElementById("me-set");
  if (!ed || !root) return;
  var canChange = root.getAttribute("data-can-change") === "1";
  function t(name, args) {
    var text = root.getAttribute("data-t-" + name) || name;
    Object.keys(args || {}).forEach(function (k) { text = text.replace("{" + k + "}", args[k]); });
    return text;
  }
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function others() {
    var set = ed.set();
    if (!Array.isArray(set.conditionalmenu)) set.conditionalmenu = [];
    return set.conditionalmenu;
  }
  function bad(index) {
    return ed.issues().some(function (i) { return (i.menu === undefined ? null : i.menu) === index; });
  }
  function ruleLabel(rule) {
    var parts = [];
    if (rule.tag_id) parts.push(t("tag", { tag: rule.tag_id }));
    if (rule.client_platform_type) parts.push({ "1": "iOS", "2": "Android", "3": "…" }[rule.client_platform_type] || rule.client_platform_type);
    ["sex", "country", "province", "city", "language"].forEach(function (f) { if (rule[f]) parts.push(rule[f]); });
    return parts.length ? parts.join(" · ") : t("any");
  }

  function renderTabs() {
    var box = $("me-set-tabs"), current = ed.current();
    box.innerHTML = "";
    var tab = el("button", { type: "button", role: "tab", "class": "me-set-tab" + (current === null ? " me-sel" : "") + (bad(null) ? " me-bad" : ""), "data-testid": "menu-tab-default" }, t("default"));
    tab.addEventListener("click", function () { ed.show(null); });
    box.appendChild(tab);
    others().forEach(function (item, k) {
      var b = el("button", { type: "button", role: "tab", "class": "me-set-tab" + (current === k ? " me-sel" : "") + (bad(k) ? " me-bad" : ""), "data-testid": "menu-tab-" + k },
        t("conditional", { n: k + 1 }) + " (" + ruleLabel(item.matchrule || {}) + ")");
      b.addEventListener("click", function () { ed.show(k); });
      box.appendChild(b);
    });
    if (canChange) {
      var add = el("button", { type: "button", "class": "me-set-tab", "data-testid": "add-conditional" }, "+ " + t("conditional", { n: others().length + 1 }));
      add.addEventListener("click", function () {
        // start from a copy of the default menu's buttons: most conditional menus differ a little
        var copy = JSON.parse(JSON.stringify(ed.set().button || []));
        others().push({ button: copy, matchrule: {} });
        ed.show(others().length - 1);
        ed.changed();
      });
      box.appendChild(add);
    }
  }
  function renderRule() {
    var current = ed.current(), panel = $("me-set-rule");
    panel.hidden = current === null;
    if (current === null) return;
    var rule = others()[current].matchrule || (others()[current].matchrule = {});
    panel.querySelectorAll("[data-rule]").forEach(function (input) {
      var name = input.getAttribute("data-rule");
      if (document.activeElement !== input) input.value = rule[name] || "";
      input.disabled = !canChange;
    });
    var errors = $("me-set-errors");
    errors.innerHTML = "";
    ed.issues().forEach(function (i) {
      if (i.menu === current && (i.field || "").indexOf("matchrule.") === 0) {
        errors.appendChild(el("p", {}, i.message + (i.errcode ? " (" + i.errcode + ")" : "")));
      }
    });
  }
  function render() { renderTabs(); renderRule(); }

  root.querySelectorAll("[data-rule]").forEach(function (input) {
    var handler = function () {
      var current = ed.current();
      if (current === null) return;
      var rule = others()[current].matchrule || (others()[current].matchrule = {});
      var name = input.getAttribute("data-rule");
      if (input.value.trim()) rule[name] = input.value.trim(); else delete rule[name];
      ed.changed();
    };
    input.addEventListener(input.tagName === "SELECT" ? "change" : "input", handler);
  });
  root.querySelectorAll("[data-set-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var current = ed.current(), list = others(), action = button.getAttribute("data-set-action");
      if (current === null) return;
      if (action === "remove") {
        if (!window.confirm(t("confirm-remove"))) return;
        list.splice(current, 1);
        ed.show(null);
      } else {
        var target = current + (action === "up" ? -1 : 1);
        if (target < 0 || target >= list.length) return;
        var tmp = list[current]; list[current] = list[target]; list[target] = tmp;
        ed.show(target);
      }
      ed.changed();
    });
  });

  $("me-trymatch-go").addEventListener("click", function () {
    var result = $("me-set-result");
    result.textContent = t("loading");
    ed.request("POST", root.getAttribute("data-trymatch-url"), { user_id: $("me-trymatch-user").value, menu: ed.set() }).then(function (d) {
      if (!d._ok) { result.textContent = d.error || ""; return; }
      var names = (d.menu.button || []).map(function (b) { return b.name; }).join(" | ");
      var which = d.matched === null ? t("matched-default") : d.matched === -1 ? t("matched-other") : t("matched", { n: d.matched + 1 });
      result.textContent = which + " " + names;
      result.setAttribute("data-matched", d.matched === null ? "default" : String(d.matched));
      if (d.matched !== -1) ed.show(d.matched);
    });
  });
  function renderRemote(menus) {
    var list = $("me-set-remote");
    list.innerHTML = "";
    if (!menus.length) { list.appendChild(el("li", {}, t("none"))); return; }
    menus.forEach(function (m) {
      var li = el("li", { "data-menuid": m.menuid }, "");
      li.appendChild(el("code", {}, m.menuid));
      li.appendChild(el("span", {}, ruleLabel(m.matchrule) + " — " + m.names.join(" | ")));
      if (canChange) {
        var del = el("button", { type: "button", "class": "me-btn me-danger", "data-testid": "delete-conditional-" + m.menuid }, t("delete"));
        del.addEventListener("click", function () {
          if (!window.confirm(t("confirm-delete", { menuid: m.menuid }))) return;
          ed.request("POST", root.getAttribute("data-delete-url"), { menuid: m.menuid, confirm: true }).then(function (d) {
            ed.status(d._ok ? d.message : (d.error || ""), d._ok ? "ok" : "error");
            if (d._ok) renderRemote(d.menus);
          });
        });
        li.appendChild(del);
      }
      list.appendChild(li);
    });
  }
  $("me-remote-conditional").addEventListener("click", function () {
    $("me-set-remote").textContent = t("loading");
    ed.request("GET", root.getAttribute("data-remote-url")).then(function (d) {
      if (d._ok) renderRemote(d.menus); else $("me-set-remote").textContent = d.error || "";
    });
  });

  ed.onrender = render;
  render();
})();
