// The send page (issue 26): choosing another template reloads the page with one input per
// keyword of that template (the recipient typed so far is kept in the address).
(function () {
  "use strict";
  var select = document.getElementById("id_template");
  if (!select) return;
  select.addEventListener("change", function () {
    var url = new URL(window.location.href);
    url.searchParams.set("template", select.value);
    ["openid", "tag_id"].forEach(function (name) {
      var input = document.getElementById("id_" + name);
      if (input && input.value) url.searchParams.set(name, input.value);
    });
    window.location.assign(url.toString());
  });
})();
