/* The rule builder without round trips: move, remove and drag rows, and live match counts.
   Every button also works without this script (it posts the form and the page comes back). */
(function () {
  "use strict";
  var builder = document.getElementById("rule-builder");
  if (!builder) { return; }
  var list = builder.querySelector("ol.rules");
  var countUrl = builder.getAttribute("data-count-url");
  var timer = null;
  var dragged = null;

  function rows() { return Array.prototype.slice.call(list.querySelectorAll("li.rule")); }

  function renumber() {
    rows().forEach(function (li, i) {
      li.setAttribute("data-row", String(i));
      li.querySelector(".rule-no").textContent = String(i + 1);
      li.querySelectorAll("[name]").forEach(function (el) {
        el.name = el.name.replace(/^rule\.\d+\./, "rule." + i + ".");
      });
      li.querySelectorAll("[id]").forEach(function (el) {
        el.id = el.id.replace(/^rule-\d+-/, "rule-" + i + "-");
      });
      li.querySelectorAll("button[name=rule_action]").forEach(function (b) {
        var verb = b.value.split(":")[0];
        b.value = verb + ":" + i;
        var label = { up: "Move rule N up", down: "Move rule N down", remove: "Remove rule N" }[verb];
        if (label) { b.setAttribute("aria-label", label.replace("N", String(i + 1))); }
      });
    });
    refreshCounts();
  }

  function showNewGroup(li) {
    var select = li.querySelector("select[name$='.destination']");
    var box = li.querySelector(".new-group");
    if (select && box) { box.hidden = select.value !== "new\u2026"; }
  }

  // One count at a time: a change made while one is asked asks again when it answers
  // (a count of a large directory takes a while; requests must not pile up on the server).
  var asking = false;
  var askAgain = false;

  function refreshCounts() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(askCounts, 250);
  }

  function askCounts() {
    if (asking) { askAgain = true; return; }
    asking = true;
    var params = new URLSearchParams();
    list.querySelectorAll("[name^='rule.']").forEach(function (el) {
      if (el.type === "checkbox" && !el.checked) { return; }
      params.append(el.name, el.value);
    });
    fetch(countUrl + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(showCounts, function () { return null; })
      .then(function () {
        asking = false;
        if (askAgain) { askAgain = false; askCounts(); }
      });
  }

  function showCounts(answer) {
    if (!answer) { return; }
    rows().forEach(function (li, i) {
      var n = answer.rules[i];
      li.querySelector(".rule-count").textContent = n === null || n === undefined
        ? "incomplete" : n + (n === 1 ? " mailbox matches" : " mailboxes match");
    });
    var rest = document.getElementById("rules-unmatched");
    if (rest) {
      rest.textContent = answer.unmatched + " of " + answer.total +
        " stored mailboxes match no rule.";
    }
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=rule_action]");
    if (!button) { return; }
    var li = button.closest("li.rule");
    var verb = button.value.split(":")[0];
    event.preventDefault();
    if (verb === "remove") {
      li.remove();
      renumber();
      document.getElementById("add-rule").focus();
      return;
    }
    if (verb === "up" && li.previousElementSibling) {
      list.insertBefore(li, li.previousElementSibling);
    } else if (verb === "down" && li.nextElementSibling) {
      list.insertBefore(li.nextElementSibling, li);
    }
    renumber();
    button.focus();
  });

  list.addEventListener("input", refreshCounts);
  list.addEventListener("change", function (event) {
    var li = event.target.closest("li.rule");
    if (li) { showNewGroup(li); }
    refreshCounts();
  });

  list.addEventListener("dragstart", function (event) {
    var li = event.target.closest && event.target.closest("li.rule");
    if (!li) { return; }
    dragged = li;
    li.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", li.getAttribute("data-row"));
  });
  list.addEventListener("dragover", function (event) {
    if (dragged) { event.preventDefault(); }
  });
  list.addEventListener("drop", function (event) {
    var target = event.target.closest("li.rule");
    if (!dragged || !target || target === dragged) { return; }
    event.preventDefault();
    var box = target.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? target.nextElementSibling : target);
    renumber();
  });
  list.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
  });

  rows().forEach(showNewGroup);
})();
