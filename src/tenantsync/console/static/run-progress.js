// Live progress of working runs: every element marked data-run-progress="ID" gets its run's
// stage, count, rate and time left, polled from /runs/progress every 1.5 s. Only those
// elements change, so scrolling and focus stay where they are; without this script the page
// shows the progress it was rendered with. When the run of a run's page ends, the page
// loads its results, unless a form field has the focus (then it offers a link).
(function () {
  "use strict";
  var INTERVAL_MS = 1500;

  function watched() {
    var ids = {};
    document.querySelectorAll("[data-run-progress]").forEach(function (el) {
      if (!el.hasAttribute("data-finished")) {
        ids[el.getAttribute("data-run-progress")] = true;
      }
    });
    return Object.keys(ids);
  }

  function show(run) {
    var id = String(run.run_id);
    document.querySelectorAll('[data-run-progress="' + id + '"]').forEach(function (el) {
      if (el.textContent !== run.text) {
        el.textContent = run.text;
      }
      if (run.finished) {
        el.setAttribute("data-finished", "");
      }
    });
    document.querySelectorAll('[data-run-status="' + id + '"]').forEach(function (el) {
      if (el.textContent.trim() === run.status) {
        return;
      }
      var badge = document.createElement("span");
      badge.className = "status s-" + run.status;
      badge.textContent = run.status;
      el.replaceChildren(badge);
    });
    if (!run.finished) {
      return;
    }
    var ended = document.querySelectorAll('[data-run-ended="' + id + '"]');
    if (ended.length > 0 && !busy()) {
      window.location.reload(); // the run's page: its results replace the progress
      return;
    }
    ended.forEach(function (el) {
      el.hidden = false;
    });
  }

  // Someone typing in a form keeps what they typed: the page offers a link instead.
  function busy() {
    var active = document.activeElement;
    return active !== null && active.matches("input, select, textarea");
  }

  function poll() {
    var ids = watched();
    if (ids.length === 0) {
      return;
    }
    fetch("/runs/progress?ids=" + ids.join(","), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (answer) {
        return answer.ok ? answer.json() : { runs: [] };
      })
      .then(function (body) {
        body.runs.forEach(show);
      })
      .catch(function () {
        // The console restarting or the network away: try again next time.
      })
      .finally(function () {
        window.setTimeout(poll, INTERVAL_MS);
      });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
