/*
 * Switchyard hosted checkout: the script of /pay/{id} (data-mode="pay"), of
 * the waiting page /pay/{id}/finish/{txn_id} (data-mode="wait") and of the
 * result page a gateway's return lands on (data-mode="result").
 *
 * Plain ES2017, no dependencies, no build step. It talks to the SDK API
 * (/sdk/v1) with the client auth token the server put on #sy-checkout, and
 * listens to the live websocket so a payment finished elsewhere (a 3-D Secure
 * page in another tab, a UPI approval on a phone) moves the page on by itself.
 *
 * Card data lives only in the form fields and the one request that submits
 * it: it is never logged, stored (no localStorage, no cookies) or kept after
 * the request; the security code field is cleared after every attempt.
 *
 * When a payment reaches a final status the page reports it as a
 * process_result event, evt = {event: "process_result", payload: {status,
 * order_id, txn_id, return_url}} with status the lowercase Juspay status
 * ("charged", "authorization_failed", ...), to every host that can hear it:
 *   - React Native WebView:  window.ReactNativeWebView.postMessage(JSON.stringify(evt))
 *   - Android WebView:       window.JSInterface.onProcessResult(JSON.stringify(evt))
 *                            (addJavascriptInterface(obj, "JSInterface"), method
 *                            @JavascriptInterface onProcessResult(String json))
 *   - iOS WKWebView:         window.webkit.messageHandlers.switchyard.postMessage(evt)
 *                            (userContentController.add(handler, name: "switchyard"))
 *   - popup / iframe:        window.opener / window.parent .postMessage(evt, merchantOrigin)
 *                            where merchantOrigin is data-merchant-origin; when it is
 *                            unknown only {event, payload: {status}} is posted, to "*".
 */
(function () {
  'use strict';

  var root = document.getElementById('sy-checkout');
  if (!root) {
    return;
  }

  var SUCCESS = ['CHARGED', 'COD_INITIATED'];
  var FAILED = ['JUSPAY_DECLINED', 'AUTHENTICATION_FAILED', 'AUTHORIZATION_FAILED'];
  var FINAL = SUCCESS.concat(FAILED, ['AUTO_REFUNDED', 'VOIDED', 'CAPTURE_FAILED', 'VOID_FAILED']);
  // In flight with nothing for the shopper to do here but wait (PENDING_VBV
  // is left out: that attempt waits on a page the shopper may have
  // abandoned, and a new attempt supersedes it).
  var WAITING = ['STARTED', 'AUTHORIZING', 'VBV_SUCCESSFUL'];
  var WAIT_SECONDS = 300;
  var POLL_MS = 3000;
  var SLOW_POLL_MS = 10000;
  var MAX_RECONNECTS = 8;
  var RESULT_DELAY_MS = 800;

  var state = {
    mode: root.getAttribute('data-mode') || 'pay',
    token: root.getAttribute('data-token') || '',
    orderId: root.getAttribute('data-order-id') || '',
    txnId: root.getAttribute('data-txn-id') || '',
    finishUrl: root.getAttribute('data-finish-url') || '',
    merchantOrigin: root.getAttribute('data-merchant-origin') || '',
    initialStatus: root.getAttribute('data-status') || '',
    returnUrl: root.getAttribute('data-return-url') || '',
    busy: false,
    finished: false,
    waiting: null,
    socket: null,
    socketOpen: false,
    reconnects: 0,
    reconnectDelay: 1000,
    pollTimer: null,
    pollGen: 0,
    pollEvery: POLL_MS,
    liveUrl: '',
    lastSubmitter: null,
    // validationNotice: the live region holds a "correct the fields"
    // message, which switching instruments clears.
    validationNotice: false
  };
  // Nothing else on the page needs the token.
  root.removeAttribute('data-token');

  var statusEl = document.getElementById('sy-status');
  var methodsEl = document.getElementById('sy-methods');
  var waitEl = document.getElementById('sy-wait');
  var doneEl = document.getElementById('sy-done');

  function contains(list, v) {
    return list.indexOf(v) !== -1;
  }

  // ---- messages -----------------------------------------------------------

  function announce(message, kind) {
    if (!statusEl) {
      return;
    }
    statusEl.classList.remove('notice-error', 'notice-ok');
    if (kind) {
      statusEl.classList.add('notice-' + kind);
    }
    statusEl.textContent = message || '';
  }

  function failureMessage(status, reason) {
    var msg;
    switch (status) {
      case 'AUTHENTICATION_FAILED':
        msg = 'The payment could not be authenticated';
        break;
      case 'JUSPAY_DECLINED':
        msg = 'The payment was not accepted';
        break;
      default:
        msg = 'Your payment was declined';
    }
    if (reason) {
      msg += ' (' + reason + ')';
    }
    return msg + '. You have not been charged. Please try again or choose another payment method.';
  }

  function capitalize(s) {
    s = String(s || '');
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  // ---- SDK API ------------------------------------------------------------

  function api(method, path, body) {
    var init = {
      method: method,
      headers: { 'Authorization': 'Bearer ' + state.token, 'Accept': 'application/json' },
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer'
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (data) {
        return { ok: res.ok, status: res.status, body: data };
      });
    }, function () {
      return { ok: false, status: 0, body: null };
    });
  }

  function sessionExpired() {
    stopPolling();
    state.finished = true;
    setFormsEnabled(false);
    announce('This payment session has timed out. Reload the page to continue.', 'error');
  }

  // ---- live status: websocket, polling as the fallback ---------------------

  function defaultLiveUrl() {
    return (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/sdk/v1/live';
  }

  function connectLive() {
    if (state.finished || state.socket) {
      return;
    }
    if (typeof WebSocket !== 'function') {
      liveFailed();
      return;
    }
    var ws;
    try {
      ws = new WebSocket(state.liveUrl || defaultLiveUrl(), ['switchyard.v1', state.token]);
    } catch (e) {
      liveFailed();
      return;
    }
    state.socket = ws;
    ws.addEventListener('open', function () {
      state.socketOpen = true;
      state.reconnects = 0;
      state.reconnectDelay = 1000;
      stopPolling();
    });
    ws.addEventListener('message', function (ev) {
      var msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (msg && msg.type === 'order.status') {
        onStatus(msg.status, msg.txn_id, null);
      }
    });
    ws.addEventListener('close', function () {
      state.socket = null;
      state.socketOpen = false;
      liveFailed();
    });
  }

  function liveFailed() {
    if (state.finished) {
      return;
    }
    if (state.waiting || state.mode === 'wait') {
      startPolling();
    }
    if (typeof WebSocket !== 'function' || state.reconnects >= MAX_RECONNECTS) {
      return;
    }
    state.reconnects++;
    setTimeout(connectLive, state.reconnectDelay);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 30000);
  }

  function closeLive() {
    if (state.socket) {
      try {
        state.socket.close(1000);
      } catch (e) { /* already closed */ }
      state.socket = null;
    }
  }

  function startPolling() {
    if (state.pollTimer || state.finished) {
      return;
    }
    // Each polling run has a generation, so a poll answered after
    // stopPolling cannot restart an old chain next to a new one.
    var gen = ++state.pollGen;
    state.pollTimer = setTimeout(function tick() {
      poll().then(function () {
        if (state.pollTimer && gen === state.pollGen && !state.finished) {
          state.pollTimer = setTimeout(tick, state.pollEvery);
        }
      });
    }, 0);
  }

  function stopPolling() {
    state.pollGen++;
    if (state.pollTimer) {
      clearTimeout(state.pollTimer);
      state.pollTimer = null;
    }
  }

  function poll() {
    return api('GET', '/sdk/v1/status').then(function (r) {
      if (r.status === 401) {
        sessionExpired();
        return;
      }
      if (r.ok && r.body) {
        onStatus(r.body.status, r.body.txn_id, r.body.next || null);
      }
    });
  }

  // onStatus handles an order status from the websocket or a poll. next is
  // the next action when known (polls), null otherwise.
  function onStatus(status, txnId, next) {
    if (state.finished || !status) {
      return;
    }
    if (state.mode === 'wait') {
      if (contains(FINAL, status)) {
        leaveWaitPage(status, txnId);
      }
      return;
    }
    if (contains(SUCCESS, status)) {
      if (next && next.kind === 'done') {
        succeed(status, txnId, next.url || '');
      } else {
        fetchReturnUrl().then(function (url) { succeed(status, txnId, url); });
      }
      return;
    }
    if (contains(FAILED, status)) {
      // A failure only matters to an attempt this page is waiting for;
      // an older one was already shown when the page was rendered.
      if (state.waiting && (!txnId || !state.waiting.txnId || txnId === state.waiting.txnId)) {
        stopWaiting();
        fail(status, txnId, '');
      }
      return;
    }
    if (contains(WAITING, status) && !state.waiting && !state.busy) {
      startWaiting({ txnId: txnId, message: 'We are confirming your payment. If your UPI app or bank asked you to approve it, approve it now.' });
    }
  }

  function fetchReturnUrl() {
    return api('GET', '/sdk/v1/status').then(function (r) {
      var next = r.ok && r.body && r.body.next;
      return next && next.kind === 'done' && next.url ? next.url : '';
    });
  }

  // ---- results --------------------------------------------------------------

  function processResult(status, txnId, returnUrl) {
    var st = String(status || '').toLowerCase();
    var evt = {
      event: 'process_result',
      payload: { status: st, order_id: state.orderId, txn_id: txnId || '', return_url: returnUrl || '' }
    };
    var json = JSON.stringify(evt);
    try {
      if (window.ReactNativeWebView && typeof window.ReactNativeWebView.postMessage === 'function') {
        window.ReactNativeWebView.postMessage(json);
      }
    } catch (e) { /* bridge unavailable */ }
    try {
      if (window.JSInterface && typeof window.JSInterface.onProcessResult === 'function') {
        window.JSInterface.onProcessResult(json);
      }
    } catch (e) { /* bridge unavailable */ }
    try {
      var handlers = window.webkit && window.webkit.messageHandlers;
      if (handlers && handlers.switchyard && typeof handlers.switchyard.postMessage === 'function') {
        handlers.switchyard.postMessage(evt);
      }
    } catch (e) { /* bridge unavailable */ }
    var targets = [];
    if (window.opener && window.opener !== window) {
      targets.push(window.opener);
    }
    if (window.parent && window.parent !== window) {
      targets.push(window.parent);
    }
    targets.forEach(function (t) {
      try {
        if (state.merchantOrigin) {
          t.postMessage(evt, state.merchantOrigin);
        } else {
          t.postMessage({ event: 'process_result', payload: { status: st } }, '*');
        }
      } catch (e) { /* the window went away */ }
    });
  }

  function succeed(status, txnId, url) {
    if (state.finished) {
      return;
    }
    state.finished = true;
    stopWaiting();
    stopPolling();
    closeLive();
    setFormsEnabled(false);
    if (methodsEl) {
      methodsEl.hidden = true;
    }
    if (waitEl) {
      waitEl.hidden = true;
    }
    if (doneEl) {
      doneEl.hidden = false;
      doneEl.focus();
    }
    announce('Payment successful.', 'ok');
    processResult(status, txnId, url);
    var cont = document.getElementById('sy-continue');
    if (url && /^https?:\/\//i.test(url)) {
      if (cont) {
        cont.href = url;
        cont.hidden = false;
      }
      setTimeout(function () { location.assign(url); }, 1500);
    }
  }

  function fail(status, txnId, reason) {
    state.busy = false;
    setFormsEnabled(true);
    if (methodsEl) {
      methodsEl.hidden = false;
    }
    announce(failureMessage(status, reason), 'error');
    processResult(status, txnId, '');
  }

  function leaveWaitPage(status, txnId) {
    state.finished = true;
    stopWaiting();
    stopPolling();
    closeLive();
    announce(contains(SUCCESS, status) ? 'Payment successful.' : 'The payment did not go through.',
      contains(SUCCESS, status) ? 'ok' : 'error');
    processResult(status, txnId || state.txnId, '');
    // The server knows where to go: the merchant's return URL, or the
    // payment page.
    setTimeout(function () { location.replace(state.finishUrl || location.href); }, 800);
  }

  // ---- waiting (UPI collect / intent, gateway still deciding) --------------

  function startWaiting(opts) {
    stopWaiting();
    var deadline = Date.now() + WAIT_SECONDS * 1000;
    state.waiting = { txnId: opts.txnId || '', deadline: deadline, timer: null };
    if (methodsEl) {
      methodsEl.hidden = true;
    }
    if (waitEl) {
      waitEl.hidden = false;
    }
    var msg = document.getElementById('sy-wait-message');
    if (msg && opts.message) {
      msg.textContent = opts.message;
    }
    var intent = document.getElementById('sy-intent');
    if (intent) {
      if (opts.intent && /^upi:/i.test(opts.intent)) {
        intent.href = opts.intent;
        intent.hidden = false;
      } else {
        intent.hidden = true;
      }
    }
    announce(opts.announce || 'Waiting for your approval.');
    var countdown = document.getElementById('sy-countdown');
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      if (countdown) {
        countdown.textContent = Math.floor(left / 60) + ':' + ('0' + (left % 60)).slice(-2);
      }
      if (left === 0) {
        clearInterval(state.waiting.timer);
        state.pollEvery = SLOW_POLL_MS;
        announce('We have not received your approval yet. If you approved the payment, this page updates shortly.');
      }
    };
    tick();
    state.waiting.timer = setInterval(tick, 1000);
    if (!state.socketOpen) {
      startPolling();
    }
    if (waitEl) {
      waitEl.focus();
    }
  }

  function stopWaiting() {
    if (state.waiting) {
      clearInterval(state.waiting.timer);
      state.waiting = null;
    }
    state.pollEvery = POLL_MS;
    if (waitEl && state.mode !== 'wait') {
      waitEl.hidden = true;
    }
    if (!state.finished && state.socketOpen) {
      stopPolling();
    }
  }

  // ---- instrument tabs ------------------------------------------------------

  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"][data-method]'));

  function selectTab(tab, focus) {
    if (state.validationNotice) {
      state.validationNotice = false;
      announce('');
    }
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(t.getAttribute('aria-controls'));
      if (panel) {
        panel.hidden = !on;
      }
    });
    if (focus) {
      tab.focus();
    }
  }

  tabs.forEach(function (tab, i) {
    tab.addEventListener('click', function () { selectTab(tab, false); });
    tab.addEventListener('keydown', function (ev) {
      var to = -1;
      switch (ev.key) {
        case 'ArrowRight':
        case 'ArrowDown':
          to = (i + 1) % tabs.length;
          break;
        case 'ArrowLeft':
        case 'ArrowUp':
          to = (i - 1 + tabs.length) % tabs.length;
          break;
        case 'Home':
          to = 0;
          break;
        case 'End':
          to = tabs.length - 1;
          break;
        default:
          return;
      }
      ev.preventDefault();
      selectTab(tabs[to], true);
    });
  });

  // ---- forms ------------------------------------------------------------------

  var forms = Array.prototype.slice.call(document.querySelectorAll('form.pay-form[data-method]'));

  function setFormsEnabled(on) {
    forms.forEach(function (f) {
      Array.prototype.forEach.call(f.querySelectorAll('button[type="submit"]'), function (b) {
        b.disabled = !on;
      });
    });
  }

  function setBusy(form, busy) {
    state.busy = busy;
    if (busy) {
      form.setAttribute('aria-busy', 'true');
    } else {
      form.removeAttribute('aria-busy');
    }
    setFormsEnabled(!busy);
  }

  function collect(form, submitter) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === 'submit' || el.type === 'button') {
        return;
      }
      if ((el.type === 'radio' || el.type === 'checkbox') && !el.checked) {
        return;
      }
      data[el.name] = String(el.value).trim();
    });
    if (submitter && submitter.name) {
      data[submitter.name] = submitter.value;
    }
    if (data.card_number) {
      data.card_number = data.card_number.replace(/[\s-]/g, '');
    }
    if (data.payment_method_type === 'UPI') {
      data.txn_type = data.txn_type || 'UPI_COLLECT';
      if (data.txn_type === 'UPI_PAY') {
        delete data.upi_vpa;
      }
    }
    if (data.name_on_card === '') {
      delete data.name_on_card;
    }
    return data;
  }

  function luhn(number) {
    var sum = 0;
    var dbl = false;
    for (var i = number.length - 1; i >= 0; i--) {
      var d = number.charCodeAt(i) - 48;
      if (dbl) {
        d *= 2;
        if (d > 9) {
          d -= 9;
        }
      }
      sum += d;
      dbl = !dbl;
    }
    return sum % 10 === 0;
  }

  // validate returns the problems with data, as {field, message}.
  function validate(data) {
    var p = [];
    var add = function (field, message) { p.push({ field: field, message: message }); };
    switch (data.payment_method_type) {
      case 'CARD': {
        var n = data.card_number || '';
        if (!n) {
          add('card_number', 'Enter the card number.');
        } else if (!/^[0-9]{12,19}$/.test(n)) {
          add('card_number', 'A card number has 12 to 19 digits.');
        } else if (!luhn(n)) {
          add('card_number', 'This card number is not valid. Please check it.');
        }
        var mm = data.card_exp_month || '';
        var yy = data.card_exp_year || '';
        var month = parseInt(mm, 10);
        var year = parseInt(yy, 10);
        var now = new Date();
        if (!/^[0-9]{1,2}$/.test(mm) || month < 1 || month > 12) {
          add('card_exp_month', 'Enter the expiry month as MM, from 01 to 12.');
        } else if (!/^([0-9]{2}|[0-9]{4})$/.test(yy)) {
          add('card_exp_year', 'Enter the expiry year as YY.');
        } else {
          if (yy.length === 2) {
            year += 2000;
          }
          if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
            add('card_exp_year', 'This card has expired.');
          } else if (year > now.getFullYear() + 30) {
            add('card_exp_year', 'Check the expiry year.');
          }
        }
        var cvvLen = /^3[47]/.test(n) ? 4 : 3;
        if (!new RegExp('^[0-9]{' + cvvLen + '}$').test(data.card_security_code || '')) {
          add('card_security_code', 'The security code has ' + cvvLen + ' digits.');
        }
        if ((data.name_on_card || '').length > 128) {
          add('name_on_card', 'The name is too long.');
        }
        break;
      }
      case 'UPI':
        if (data.txn_type !== 'UPI_PAY' && !/^[A-Za-z0-9._-]{2,256}@[A-Za-z0-9._-]{2,64}$/.test(data.upi_vpa || '')) {
          add('upi_vpa', data.upi_vpa ? 'Enter a UPI ID such as name@bank.' : 'Enter your UPI ID.');
        }
        break;
      case 'NB':
        if (!data.payment_method) {
          add('payment_method', 'Choose your bank.');
        }
        break;
      case 'WALLET':
        if (!data.payment_method) {
          add('payment_method', 'Choose a wallet.');
        }
        break;
    }
    return p;
  }

  function clearErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll('[data-error-for]'), function (el) {
      el.textContent = '';
      el.hidden = true;
    });
    Array.prototype.forEach.call(form.querySelectorAll('[aria-invalid]'), function (el) {
      el.removeAttribute('aria-invalid');
    });
  }

  // showProblems puts each problem next to its field; it returns the
  // messages of problems with no field on this form.
  function showProblems(form, problems) {
    var unplaced = [];
    var first = null;
    problems.forEach(function (pr) {
      var slot = form.querySelector('[data-error-for="' + pr.field + '"]');
      if (!slot) {
        unplaced.push(pr.message);
        return;
      }
      slot.textContent = slot.textContent ? slot.textContent + ' ' + pr.message : pr.message;
      slot.hidden = false;
      var input = form.elements.namedItem(pr.field);
      if (input && typeof input.setAttribute === 'function') {
        input.setAttribute('aria-invalid', 'true');
        first = first || input;
      } else if (input && input.length) {
        first = first || input[0];
      }
    });
    if (first && typeof first.focus === 'function') {
      first.focus();
    }
    return unplaced;
  }

  function redirectTo(next) {
    var url;
    try {
      url = new URL(next.url, location.href);
    } catch (e) {
      url = null;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      return false;
    }
    var params = next.params || {};
    if (String(next.method || 'GET').toUpperCase() === 'POST') {
      var f = document.createElement('form');
      f.method = 'post';
      f.action = url.href;
      f.hidden = true;
      Object.keys(params).forEach(function (k) {
        var input = document.createElement('input');
        input.type = 'hidden';
        input.name = k;
        input.value = params[k];
        f.appendChild(input);
      });
      document.body.appendChild(f);
      f.submit();
    } else {
      Object.keys(params).forEach(function (k) { url.searchParams.set(k, params[k]); });
      location.assign(url.href);
    }
    return true;
  }

  function handleTxn(form, data, body) {
    var next = body.next || {};
    state.txnId = body.txn_id || '';
    switch (next.kind) {
      case 'redirect':
        announce('Taking you to your bank to complete the payment…');
        if (!redirectTo(next)) {
          setBusy(form, false);
          announce('We could not continue with this payment method. Please choose another.', 'error');
        }
        return;
      case 'wait': {
        setBusy(form, false);
        var upi = data.payment_method_type === 'UPI';
        var intent = next.intent_link || '';
        startWaiting({
          txnId: body.txn_id,
          intent: intent,
          message: upi ? (intent ? 'Open your UPI app to approve the payment. This page moves on by itself.'
            : 'Approve the payment in your UPI app. This page moves on by itself.')
            : 'We are confirming your payment with the provider.',
          announce: upi ? (intent ? 'Payment ready in your UPI app.' : 'Payment request sent to your UPI app.')
            : 'Waiting for confirmation.'
        });
        return;
      }
    }
    if (contains(SUCCESS, body.status)) {
      succeed(body.status, body.txn_id, next.url || '');
      return;
    }
    setBusy(form, false);
    fail(body.status, body.txn_id, body.error_message || '');
  }

  function submit(form, submitter) {
    if (state.busy || state.finished || state.waiting) {
      return;
    }
    clearErrors(form);
    var data = collect(form, submitter);
    var problems = validate(data);
    if (problems.length) {
      var rest = showProblems(form, problems);
      announce(rest.length ? rest.join(' ') : 'Please correct the highlighted details.', 'error');
      state.validationNotice = true;
      return;
    }
    state.validationNotice = false;
    setBusy(form, true);
    announce('Processing your payment…');
    api('POST', '/sdk/v1/txns', data).then(function (r) {
      data = null;
      var cvv = form.elements.namedItem('card_security_code');
      if (cvv) {
        cvv.value = '';
      }
      if (r.status === 401) {
        sessionExpired();
        return;
      }
      if (r.status === 0 || !r.body) {
        setBusy(form, false);
        announce('We could not reach the payment service. Check your connection and try again.', 'error');
        return;
      }
      if (!r.ok) {
        setBusy(form, false);
        var fields = (r.body.error_info && r.body.error_info.fields) || [];
        var rest = showProblems(form, fields.map(function (f) {
          return { field: f.field_name, message: capitalize(f.reason) + '.' };
        }));
        var msg = fields.length && !rest.length ? 'Please correct the highlighted details.'
          : (r.body.error_message || (r.body.error_info && r.body.error_info.user_message) || 'The payment could not be started.');
        announce(rest.length ? msg + ' ' + rest.join(' ') : msg, 'error');
        state.validationNotice = fields.length > 0 && !rest.length;
        return;
      }
      handleTxn(form, {payment_method_type: form.getAttribute('data-method')}, r.body);
    });
  }

  forms.forEach(function (form) {
    form.addEventListener('click', function (ev) {
      var b = ev.target && ev.target.closest ? ev.target.closest('button[type="submit"]') : null;
      if (b) {
        state.lastSubmitter = b;
      }
    });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var submitter = ev.submitter || state.lastSubmitter;
      if (submitter && submitter.form !== form) {
        submitter = null;
      }
      state.lastSubmitter = null;
      submit(form, submitter);
    });
    form.addEventListener('input', function (ev) {
      var el = ev.target;
      if (el && el.getAttribute && el.getAttribute('aria-invalid') === 'true') {
        el.removeAttribute('aria-invalid');
        var slot = form.querySelector('[data-error-for="' + el.name + '"]');
        if (slot) {
          slot.textContent = '';
          slot.hidden = true;
        }
      }
    });
  });

  // ---- start --------------------------------------------------------------------

  // Back from a gateway page through the history cache: the page and its
  // token are stale, so fetch a fresh one.
  window.addEventListener('pageshow', function (ev) {
    if (ev.persisted) {
      location.reload();
    }
  });

  // Back from a 3-D Secure, bank or wallet page: this window left the
  // payment page, so the merchant's page that opened or framed it has heard
  // nothing yet. Tell it and any app bridge, then go on to the merchant's
  // return URL; the delay lets the message go out before the page unloads.
  if (state.mode === 'result') {
    processResult(state.initialStatus, state.txnId, state.returnUrl);
    setTimeout(function () {
      location.replace(state.returnUrl);
    }, RESULT_DELAY_MS);
    return;
  }

  if (state.mode === 'wait') {
    startWaiting({ txnId: state.txnId, announce: 'Waiting for your payment to be confirmed.' });
    startPolling();
  } else {
    setFormsEnabled(true);
    if (contains(WAITING, state.initialStatus)) {
      startWaiting({ message: 'We are confirming your payment. If your UPI app or bank asked you to approve it, approve it now.' });
    }
  }

  api('GET', '/sdk/v1/session').then(function (r) {
    if (r.status === 401) {
      sessionExpired();
      return;
    }
    if (r.ok && r.body && r.body.live && typeof r.body.live.url === 'string') {
      state.liveUrl = r.body.live.url;
    }
    connectLive();
  });
})();
