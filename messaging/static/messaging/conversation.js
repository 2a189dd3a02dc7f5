/* The conversation workspace: renders the thread, polls it every few seconds while the
 * page is open, and sends replies (text, link card, image) without a reload.
 * A static file (no inline script) so that a Content-Security-Policy can forbid inline JS. */
(function () {
  "use strict";
  var root = document.getElementById("conversation");
  if (!root) return;
  var config = JSON.parse(document.getElementById("conversation-config").textContent);
  var T = config.t, URLS = config.urls;
  var form = document.getElementById("cv-form");
  var csrf = form ? form.querySelector("input[name=csrfmiddlewaretoken]").value : "";
  var lastSignature = "";

  function $(id) { return document.getElementById(id); }
  function fmt(s, args) { return s.replace(/%\((\w+)\)s/g, function (_, k) { return args[k]; }); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined) node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }
  function when(iso) {
    var d = new Date(iso);
    return d.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  }
  var statusTone = "";
  function status(text, tone) {
    var box = $("cv-status");
    if (!box) return;
    statusTone = tone || "";
    box.textContent = text || "";
    box.className = "cv-status" + (tone ? " cv-" + tone : "");
  }
  // "queued, will be sent shortly" is true only while a reply waits: once every reply in the
  // thread has settled (delivered or failed, each saying so itself), the line goes (issue 29 §5)
  function settleStatus(state) {
    if (statusTone !== "ok") return;
    var waiting = state.items.some(function (item) {
      return item.direction !== "in" && (item.status === "pending" || item.status === "sending");
    });
    if (!waiting) status("");
  }

  function retryButton(item) {
    var btn = el("button", { type: "button", "class": "cv-btn", "data-testid": "retry-" + item.pk, text: T.retry });
    btn.addEventListener("click", function () {
      btn.disabled = true;
      post(URLS.retry.replace("/0/", "/" + item.pk + "/"), new FormData());
    });
    return btn;
  }
  function renderItem(item) {
    var meta = [when(item.at)];
    var body;
    if (item.direction === "in") {
      meta.push(item.type);
      body = item.type === "event" ? fmt(T.event, { event: item.event + (item.text ? " " + item.text : "") }) : item.text;
      var li = el("li", { "class": "cv-msg cv-in", "data-testid": "msg-in" }, [
        el("div", { "class": "cv-meta", text: meta.join(" · ") }),
        el("div", { "class": "cv-body", text: body || "—" })
      ]);
      if (item.auto_reply) li.appendChild(el("div", { "class": "cv-auto", text: fmt(T.auto_reply, { text: item.auto_reply }) }));
      return li;
    }
    meta.push(item.type_display);
    if (item.by) meta.push(fmt(T.sent_by, { name: item.by }));
    if (item.kf_account) meta.push(fmt(T.as_kf, { kf: item.kf_account }));
    var out = el("li", { "class": "cv-msg cv-out cv-" + item.status, "data-testid": "msg-out", "data-status": item.status }, [
      el("div", { "class": "cv-meta", text: meta.join(" · ") }),
      el("div", { "class": "cv-body", text: item.text }),
      el("div", { "class": "cv-delivery", "data-testid": "delivery", text: item.status_display + (item.errcode ? " (" + item.errcode + ")" : "") })
    ]);
    if (item.explanation) out.appendChild(el("div", { "class": "cv-explain", text: item.explanation }));
    if (item.retryable && config.can_reply) out.appendChild(retryButton(item));
    return out;
  }
  function render(state) {
    settleStatus(state);
    var signature = JSON.stringify(state);
    if (signature === lastSignature) return;
    lastSignature = signature;
    var win = $("cv-window");
    win.textContent = state.window.text;
    win.className = "cv-window " + (state.window.can_send ? "cv-open" : "cv-closed");
    root.setAttribute("data-window-open", state.window.can_send ? "1" : "0");
    var list = $("cv-thread");
    var atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.innerHTML = "";
    if (!state.items.length) list.appendChild(el("li", { "class": "cv-note", text: T.empty }));
    state.items.forEach(function (item) { list.appendChild(renderItem(item)); });
    if (atBottom || !lastSignature) list.scrollTop = list.scrollHeight;
  }

  function request(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRFToken": csrf } };
    if (body) opts.body = body;
    return fetch(url, opts).then(function (r) {
      return r.json().then(function (data) { data._ok = r.ok; return data; },
        function () { return { _ok: false, error: r.status + " " + r.statusText }; });
    }, function () { return { _ok: false, error: T.network }; });
  }
  function post(url, body) {
    status(T.sending);
    return request("POST", url, body).then(function (data) {
      if (data.items) render(data);
      if (data._ok) { status(data.message || T.queued, "ok"); return true; }
      status(data.error || T.network, "error");
      return false;
    });
  }

  var timer = null;
  function poll() {
    clearTimeout(timer);
    request("GET", URLS.poll).then(function (data) {
      if (data._ok) render(data);
      timer = setTimeout(poll, (data._ok ? config.poll_seconds : config.poll_seconds * 3) * 1000);
    });
  }

  if (form) {
    var type = $("cv-type");
    var showPart = function () {
      form.querySelectorAll("[data-part]").forEach(function (part) {
        part.hidden = part.getAttribute("data-part") !== type.value;
      });
    };
    type.addEventListener("change", showPart);
    showPart();
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = form.querySelector("[type=submit]");
      button.disabled = true;
      post(URLS.send, new FormData(form)).then(function (ok) {
        button.disabled = false;
        if (ok) { form.reset(); showPart(); }
      });
    });
  }
  render(config.state);
  timer = setTimeout(poll, config.poll_seconds * 1000);
})();
