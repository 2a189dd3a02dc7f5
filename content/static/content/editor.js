/* The draft editor: add an article (the formset's empty form), and insert an image into an
 * article body after uploading it with media/uploadimg (the server answers its WeChat URL).
 * No inline script: ready for a Content-Security-Policy. */
(function () {
  "use strict";
  var form = document.getElementById("draft-form");
  if (!form) return;
  var csrf = (form.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  var total = form.querySelector("input[name=article-TOTAL_FORMS]");
  var add = document.getElementById("add-article");
  var template = document.getElementById("empty-article");
  if (add && template && total) {
    add.addEventListener("click", function () {
      var n = parseInt(total.value, 10);
      if (n >= 8) return;
      var html = template.innerHTML.replace(/__prefix__/g, String(n));
      var holder = document.createElement("div");
      holder.innerHTML = html;
      document.getElementById("articles").appendChild(holder.firstElementChild);
      total.value = String(n + 1);
    });
  }
  form.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("body-image") || !input.files.length) return;
    var box = input.closest("div");
    var textarea = box && box.querySelector("textarea");
    var status = box && box.querySelector(".body-image-status");
    var data = new FormData();
    data.append("image", input.files[0]);
    data.append("account", form.getAttribute("data-account"));
    if (status) status.textContent = "…";
    fetch(form.getAttribute("data-body-image-url"), {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf }, body: data
    }).then(function (r) { return r.json(); }).then(function (answer) {
      if (answer.url && textarea) {
        textarea.value += '\n<p><img src="' + answer.url.replace(/"/g, "&quot;") + '"></p>';
        if (status) status.textContent = "✓";
      } else if (status) { status.textContent = answer.error || "×"; }
    }, function () { if (status) status.textContent = "×"; });
    input.value = "";
  });
})();
