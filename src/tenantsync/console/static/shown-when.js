/* Fields that matter only for one value of another field (data-shown-when="other=value")
   are hidden while that field says otherwise. Without this script every field shows; a
   hidden field is still sent with the form, so nothing typed into it is lost. */
(function () {
  "use strict";
  var fields = Array.prototype.slice.call(document.querySelectorAll("[data-shown-when]"));
  if (!fields.length) { return; }

  function valueOf(form, name) {
    var input = form.querySelector("[name='" + name + "']:not([type=hidden])");
    if (!input) { return null; }
    if (input.type === "checkbox") { return input.checked ? "true" : "false"; }
    return input.value.trim().toLowerCase();
  }

  function update() {
    fields.forEach(function (field) {
      var rule = field.getAttribute("data-shown-when").split("=");
      var form = field.closest("form");
      var value = form ? valueOf(form, rule[0]) : null;
      // An invalid field stays in sight, so its error is never hidden.
      field.hidden = value !== null && value !== rule[1] && !field.classList.contains("invalid");
    });
  }

  document.addEventListener("input", update);
  document.addEventListener("change", update);
  update();
}());
