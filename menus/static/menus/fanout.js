/* Live counts for a fan-out: polls the JSON progress endpoint until nothing is pending. */
(function () {
  "use strict";
  var root = document.getElementById("fanout-progress");
  if (!root) return;
  var url = root.getAttribute("data-progress-url");
  function cell(text) { var td = document.createElement("td"); td.textContent = text; return td; }
  function show(p) {
    ["published", "failed", "pending"].forEach(function (k) { document.getElementById("fo-" + k).textContent = p[k]; });
    var total = Math.max(p.total, 1);
    document.getElementById("fo-bar-ok").style.width = (100 * p.published / total) + "%";
    document.getElementById("fo-bar-failed").style.width = (100 * p.failed / total) + "%";
    var body = document.getElementById("fo-rows");
    body.innerHTML = "";
    p.rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.appendChild(cell(r.account)); tr.appendChild(cell(r.appid)); tr.appendChild(cell(r.status_display));
      tr.appendChild(cell(String(r.attempts)));
      var res = cell(r.errcode ? r.errcode + " " + r.errmsg : "");
      if (r.explanation) { var s = document.createElement("small"); s.textContent = r.explanation; res.appendChild(document.createElement("br")); res.appendChild(s); }
      tr.appendChild(res);
      body.appendChild(tr);
    });
    document.getElementById("fo-done").hidden = !p.done;
    document.getElementById("fo-running").hidden = !!p.done;  // no "publishing…" once done
    document.getElementById("fo-finished").hidden = !p.done;
    root.setAttribute("data-done", p.done ? "1" : "0");
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) { show(p); if (!p.done) setTimeout(poll, 1500); })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
})();
