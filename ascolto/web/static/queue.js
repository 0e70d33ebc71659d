// Keeps an open review queue current: fetches the rows again every few seconds and swaps
// them in, marking drafts that were not there before. Without JavaScript the page works
// the same, only a reload shows new drafts.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  if (!table || !window.fetch || !window.DOMParser) {
    return;
  }
  var seconds = Math.max(1, parseInt(table.getAttribute("data-refresh-seconds"), 10) || 10);
  var status = document.getElementById("queue-status");
  var count = document.getElementById("queue-count");
  var timer = null;
  var busy = false;
  // The rows as last shown: an answer with the same rows changes nothing on screen, so a
  // link a person is clicking is never swapped out from under the pointer.
  var current = document.getElementById("queue-rows");
  var lastRows = current ? current.innerHTML : null;

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function shown() {
    var ids = {};
    table.querySelectorAll("#queue-rows tr[data-draft]").forEach(function (row) {
      ids[row.getAttribute("data-draft")] = true;
    });
    return ids;
  }

  function swap(html) {
    // The server escaped every value; DOMParser runs no scripts.
    var parsed = new DOMParser().parseFromString("<table>" + html + "</table>", "text/html");
    var fresh = parsed.getElementById("queue-rows");
    var old = document.getElementById("queue-rows");
    if (!fresh || !old) {
      return;
    }
    if (fresh.innerHTML === lastRows) {
      say("Updated " + new Date().toLocaleTimeString() + ".");
      return;
    }
    lastRows = fresh.innerHTML;
    var before = shown();
    fresh.querySelectorAll("tr[data-draft]").forEach(function (row) {
      if (!before[row.getAttribute("data-draft")]) {
        row.classList.add("new");
      }
    });
    old.replaceWith(document.adoptNode(fresh));
    if (count) {
      count.textContent = fresh.getAttribute("data-count");
    }
    say("Updated " + new Date().toLocaleTimeString() + ".");
  }

  function stop(text) {
    window.clearInterval(timer);
    timer = null;
    say(text);
  }

  function refresh() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    fetch(table.getAttribute("data-rows"), {
      credentials: "same-origin",
      // Not a person's activity: an unattended tab still signs out when idle.
      headers: { "Accept": "text/html", "X-Ascolto-Refresh": "1" },
      cache: "no-store",
      redirect: "manual"
    }).then(function (response) {
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
        stop("Signed out: reload the page to sign in again.");
        return null;
      }
      if (!response.ok) {
        say("Could not update (" + response.status + "); trying again.");
        return null;
      }
      return response.text();
    }).then(function (html) {
      if (html !== null && html !== undefined) {
        swap(html);
      }
    }).catch(function () {
      say("Could not reach the server; trying again.");
    }).then(function () {
      busy = false;
    });
  }

  timer = window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer !== null) {
      refresh();
    }
  });
}());
