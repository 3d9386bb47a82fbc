// Live analytics: the page's charts follow payments as they happen.
//
// The page listens on the dashboard's websocket (/dashboard/live), which
// carries every status change of the merchant's orders, and on each one
// re-fetches the charts fragment (the same server-rendered HTML) and swaps
// it in. It re-fetches once on connecting too, covering what changed while
// the page loaded or the socket was down. The browser adds nothing up: a
// missed or repeated message costs at most a refresh.
(function () {
  'use strict';
  var status = document.getElementById('analytics-live-status');
  var charts = document.getElementById('analytics-charts');
  if (!status || !charts || !window.WebSocket || !window.fetch) {
    return;
  }
  var fragmentURL = status.getAttribute('data-fragment');
  var backoff = 1000;
  var timer = null;
  var loading = false;
  var again = false;
  var stopped = false;
  var refreshes = 0;

  function say(text) {
    // Only changes are announced (role="status" is polite).
    if (status.textContent !== text) {
      status.textContent = text;
    }
  }

  function refresh() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    fetch(fragmentURL, { credentials: 'same-origin', headers: { Accept: 'text/html' }, cache: 'no-store' })
      .then(function (res) {
        // A redirect means the session ended: the fragment is the login page.
        if (!res.ok || res.redirected) {
          throw new Error(res.redirected ? 'session' : 'HTTP ' + res.status);
        }
        return res.text();
      })
      .then(function (html) {
        // Keep a keyboard user's place: the swapped-in copy of the focused
        // element (the scrollable tables have ids) gets the focus back.
        var active = document.activeElement;
        var focusedID = active && charts.contains(active) ? active.id : '';
        charts.innerHTML = html;
        var refocus = focusedID && document.getElementById(focusedID);
        if (refocus) {
          refocus.focus({ preventScroll: true });
        }
        refreshes++;
        charts.setAttribute('data-refreshes', String(refreshes));
      })
      .catch(function (err) {
        if (err && err.message === 'session') {
          stopped = true;
          say('Your session has ended. Reload the page to log in again.');
        }
      })
      .then(function () {
        loading = false;
        if (again && !stopped) {
          again = false;
          refresh();
        }
      });
  }

  // Several changes in a burst (a txn created, then charged) make one
  // refresh, and a busy merchant's stream at most one every few seconds:
  // each refresh runs the aggregate queries again.
  var minGap = 3000;
  var last = 0;
  function soon() {
    if (timer !== null) {
      return;
    }
    var wait = Math.max(250, last + minGap - Date.now());
    timer = setTimeout(function () {
      timer = null;
      last = Date.now();
      refresh();
    }, wait);
  }

  function connect() {
    if (stopped) {
      return;
    }
    var ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/dashboard/live');
    ws.onmessage = function (e) {
      var msg;
      try {
        msg = JSON.parse(e.data);
      } catch (_) {
        return;
      }
      if (msg.type === 'ready') {
        backoff = 1000;
        status.setAttribute('data-live', 'on');
        say('Live: updates as payments happen.');
        soon();
      } else if (msg.type === 'order.status') {
        soon();
      }
    };
    ws.onclose = function () {
      status.setAttribute('data-live', 'off');
      if (stopped) {
        return;
      }
      say('Live updates paused; reconnecting…');
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  connect();
})();
