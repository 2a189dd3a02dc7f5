/* Copy buttons (issue 29 §7): `data-copy` copies its text; `data-reveal` first asks the server
 * (POST, CSRF) for a credential the page never contains, shows it, then copies it.
 * A static file (no inline script) so that the Content-Security-Policy can forbid inline JS. */
(function () {
  "use strict";
  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function say(button, text) {
    var original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    button.textContent = text;
    window.setTimeout(function () { button.textContent = original; }, 1500);
  }
  function copy(button, text) {
    var root = button.closest("[data-copied]") || document.body;
    if (!navigator.clipboard) { say(button, root.dataset.copyFailed || "!"); return; }
    navigator.clipboard.writeText(text).then(
      function () { say(button, root.dataset.copied || "✓"); },
      function () { say(button, root.dataset.copyFailed || "!"); }
    );
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy], button[data-reveal]");
    if (!button) return;
    if (button.dataset.copy !== undefined) { copy(button, button.dataset.copy); return; }
    fetch(button.dataset.reveal, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf() }
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (data) {
      var shown = button.parentNode.querySelector("[data-value]");
      if (shown) shown.textContent = data.value;
      button.dataset.copy = data.value;
      delete button.dataset.reveal;
      copy(button, data.value);
    }).catch(function () {
      var root = button.closest("[data-copy-failed]") || document.body;
      say(button, root.dataset.copyFailed || "!");
    });
  });
})();
