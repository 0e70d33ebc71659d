// Keeps an open review queue current without moving the reader: fetches the rows every few
// seconds and merges them in place. The row holding keyboard focus is never taken out of
// the page, the rows in view stay where they are on screen, new drafts are marked and
// announced once (politely), and a button pauses the updates. Without JavaScript the page
// works the same; only a reload shows new drafts.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  if (!table || !window.fetch || !window.DOMParser) {
    return;
  }
  var seconds = Math.max(1, parseInt(table.getAttribute("data-refresh-seconds"), 10) || 10);
  var live = document.getElementById("queue-live");
  var status = document.getElementById("queue-status");
  var count = document.getElementById("queue-count");
  var pause = document.getElementById("queue-pause");
  var timer = null;
  var busy = false;
  var paused = false;
  var lastSaid = "";

  function say(key, number) {
    if (!status) {
      return;
    }
    var text = (status.getAttribute("data-" + key) || "").replace("{count}", String(number));
    // Said once: the same words are not set again, so they are not announced again.
    if (text && text !== lastSaid) {
      status.textContent = text;
      lastSaid = text;
    }
  }

  function rowsOf(body) {
    var found = {};
    body.querySelectorAll("tr[data-draft]").forEach(function (row) {
      found[row.getAttribute("data-draft")] = row;
    });
    return found;
  }

  // The row to keep steady on screen: the one with focus, else the first one in view.
  function anchorRow(body) {
    var focused = document.activeElement && document.activeElement.closest ?
      document.activeElement.closest("#queue-rows tr[data-draft]") : null;
    if (focused) {
      return focused;
    }
    var rows = body.querySelectorAll("tr[data-draft]");
    for (var i = 0; i < rows.length; i += 1) {
      if (rows[i].getBoundingClientRect().bottom > 0) {
        return rows[i];
      }
    }
    return null;
  }

  function merge(html) {
    // The server escaped every value; DOMParser runs no scripts.
    var parsed = new DOMParser().parseFromString("<table>" + html + "</table>", "text/html");
    var fresh = parsed.getElementById("queue-rows");
    var body = document.getElementById("queue-rows");
    if (!fresh || !body) {
      return;
    }
    var before = rowsOf(body);
    var anchor = anchorRow(body);
    var anchorId = anchor ? anchor.getAttribute("data-draft") : null;
    var anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    var focusedRow = document.activeElement && document.activeElement.closest ?
      document.activeElement.closest("#queue-rows tr[data-draft]") : null;
    var arrived = 0;
    var ordered = [];
    Array.prototype.slice.call(fresh.children).forEach(function (row) {
      var id = row.getAttribute("data-draft");
      var old = id ? before[id] : null;
      if (id && !old) {
        row.classList.add("new");
        arrived += 1;
      } else if (old && old.classList.contains("new")) {
        row.classList.add("new");
      }
      // The focused row, and any row whose content did not change, stays the same node:
      // focus, a selection or a link under the pointer is never swapped out.
      if (old && (old === focusedRow || old.innerHTML === row.innerHTML)) {
        ordered.push(old);
      } else {
        ordered.push(row);
      }
    });
    var keep = new Set(ordered);
    Array.prototype.slice.call(body.children).forEach(function (row) {
      if (!keep.has(row)) {
        row.remove();
      }
    });
    // Put the rows in order, moving only those out of place; the focused row itself never
    // moves (others move around it), so the browser keeps focus on it.
    var kept = focusedRow && keep.has(focusedRow) ? focusedRow : null;
    var seenKept = false;
    var cursor = body.firstChild;
    ordered.forEach(function (row) {
      if (row === kept) {
        seenKept = true;
        cursor = kept.nextSibling;
        return;
      }
      if (row.ownerDocument !== document) {
        row = document.adoptNode(row);
      }
      if (kept && !seenKept) {
        if (row.nextSibling !== kept || row.parentNode !== body) {
          body.insertBefore(row, kept);
        }
      } else if (row !== cursor) {
        body.insertBefore(row, cursor);
      } else {
        cursor = cursor.nextSibling;
      }
    });
    if (focusedRow && !kept) {
      focusedRow.remove();
    }
    body.setAttribute("data-count", fresh.getAttribute("data-count"));
    if (count) {
      count.textContent = fresh.getAttribute("data-count");
    }
    if (anchorId) {
      var same = body.querySelector('tr[data-draft="' + anchorId + '"]');
      if (same) {
        window.scrollBy(0, same.getBoundingClientRect().top - anchorTop);
      }
    }
    if (arrived > 0) {
      say("new", arrived);
    }
  }

  function stop(key) {
    window.clearInterval(timer);
    timer = null;
    if (pause) {
      pause.disabled = true;
    }
    say(key, 0);
  }

  // Counted on the table, so anyone (and the tests) can see the updates run or rest.
  function tally(name) {
    table.dataset[name] = String(Number(table.dataset[name] || 0) + 1);
  }

  function refresh() {
    if (paused) {
      tally("skipped");
      return;
    }
    if (busy || document.hidden || timer === null) {
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
        stop("signed-out");
        return null;
      }
      if (!response.ok) {
        say("failed", 0);
        return null;
      }
      return response.text();
    }).then(function (html) {
      if (html !== null && html !== undefined) {
        merge(html);
      }
    }).catch(function () {
      say("failed", 0);
    }).then(function () {
      busy = false;
      tally("refreshes");
    });
  }

  if (live) {
    live.hidden = false;
  }
  if (pause) {
    pause.addEventListener("click", function () {
      paused = !paused;
      pause.setAttribute("aria-pressed", paused ? "true" : "false");
      say(paused ? "paused" : "resumed", 0);
      if (!paused) {
        refresh();
      }
    });
  }
  timer = window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && timer !== null) {
      refresh();
    }
  });
}());
