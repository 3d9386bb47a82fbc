/*
 * Switchyard web SDK: open a Switchyard payment link from a merchant's page.
 *
 *   var handle = Switchyard.open({
 *     paymentLink: session.payment_links.web,   // from POST /session
 *     mode: "popup",                            // "redirect" | "popup" | "iframe"
 *     container: "#pay",                        // iframe mode: element or selector
 *     onResult: function (result) {             // {status, order_id, txn_id, return_url}
 *       // status is Juspay's lowercase status: "charged", "authorization_failed", ...
 *       // Always confirm with the Order Status API on your server before fulfilling.
 *     }
 *   });
 *   handle.close();
 *
 * The hosted page posts {event: "process_result", payload: {...}} to its opener
 * (popup) or parent (iframe). Only messages whose origin is the payment link's
 * origin, which come from the window this call opened and which have that
 * shape are passed on. onResult may be called more than once: a failed
 * attempt ("authorization_failed") can be followed by a successful retry
 * ("charged"); a popup the shopper closes before paying reports
 * "user_aborted".
 *
 * Plain ES2017, no dependencies. Works as a <script> (window.Switchyard) and
 * as a CommonJS module (require("./switchyard.js").create(window)).
 */
(function (root) {
  'use strict';

  var SUCCESS = ['charged', 'cod_initiated'];
  var STATUS_PATTERN = /^[a-z_]{1,40}$/;

  function isResultMessage(data) {
    return !!data && typeof data === 'object' && data.event === 'process_result' &&
      !!data.payload && typeof data.payload === 'object' &&
      typeof data.payload.status === 'string' && STATUS_PATTERN.test(data.payload.status);
  }

  // cleanResult copies the fields a merchant may rely on, as strings.
  function cleanResult(payload) {
    var out = { status: payload.status };
    ['order_id', 'txn_id', 'return_url'].forEach(function (k) {
      out[k] = typeof payload[k] === 'string' ? payload[k] : '';
    });
    return out;
  }

  function create(win) {
    var URLCtor = win.URL || URL;

    function parseLink(raw) {
      if (typeof raw !== 'string' || raw === '') {
        throw new TypeError('Switchyard.open: paymentLink is required');
      }
      var base = win.location && win.location.href ? win.location.href : undefined;
      var u;
      try {
        u = base ? new URLCtor(raw, base) : new URLCtor(raw);
      } catch (e) {
        throw new TypeError('Switchyard.open: paymentLink is not a valid URL');
      }
      if (u.protocol !== 'https:' && u.protocol !== 'http:') {
        throw new TypeError('Switchyard.open: paymentLink must be an http(s) URL');
      }
      return u;
    }

    function resolveContainer(c) {
      var el = typeof c === 'string' ? win.document.querySelector(c) : c;
      if (!el || typeof el.appendChild !== 'function') {
        throw new TypeError('Switchyard.open: iframe mode needs a container element or selector');
      }
      return el;
    }

    function open(opts) {
      opts = opts || {};
      var link = parseLink(opts.paymentLink);
      var origin = link.origin;
      var mode = opts.mode || 'redirect';
      var onResult = typeof opts.onResult === 'function' ? opts.onResult : function () {};

      if (mode === 'redirect') {
        win.location.assign(link.href);
        return { mode: 'redirect', close: function () {} };
      }
      if (mode !== 'popup' && mode !== 'iframe') {
        throw new TypeError('Switchyard.open: mode must be "redirect", "popup" or "iframe"');
      }

      var closed = false;
      var paid = false;
      var last = '';
      var source = null;
      var watch = null;
      var handle = { mode: mode, close: close };

      function deliver(payload) {
        var result = cleanResult(payload);
        var key = result.status + '|' + result.txn_id;
        if (key === last) {
          return;
        }
        last = key;
        if (SUCCESS.indexOf(result.status) !== -1) {
          paid = true;
        }
        onResult(result);
      }

      function onMessage(ev) {
        if (closed || !ev || ev.origin !== origin) {
          return;
        }
        var from = source && source();
        if (from && ev.source !== from) {
          return;
        }
        if (!isResultMessage(ev.data)) {
          return;
        }
        deliver(ev.data.payload);
      }

      function stop() {
        if (closed) {
          return false;
        }
        closed = true;
        win.removeEventListener('message', onMessage);
        if (watch !== null) {
          (win.clearInterval || clearInterval)(watch);
          watch = null;
        }
        return true;
      }

      function close() {
        if (!stop()) {
          return;
        }
        if (handle.window && !handle.window.closed) {
          handle.window.close();
        }
        if (handle.iframe && handle.iframe.parentNode) {
          handle.iframe.parentNode.removeChild(handle.iframe);
        }
      }

      if (mode === 'popup') {
        var width = opts.width || 480;
        var height = opts.height || 720;
        var popup = win.open(link.href, opts.name || 'switchyard_checkout',
          'popup=yes,width=' + width + ',height=' + height);
        if (!popup) {
          // Blocked: a redirect still gets the shopper to the page.
          closed = true;
          win.location.assign(link.href);
          return { mode: 'redirect', close: function () {} };
        }
        handle.window = popup;
        source = function () { return popup; };
        win.addEventListener('message', onMessage);
        watch = (win.setInterval || setInterval)(function () {
          if (popup.closed) {
            var aborted = !paid;
            stop();
            if (aborted) {
              onResult({ status: 'user_aborted', order_id: '', txn_id: '', return_url: '' });
            }
          }
        }, 500);
        return handle;
      }

      var container = resolveContainer(opts.container);
      var src = new URLCtor(link.href);
      src.searchParams.set('iframe', 'true');
      var frame = win.document.createElement('iframe');
      frame.src = src.href;
      frame.title = opts.title || 'Payment';
      frame.setAttribute('allow', 'payment');
      frame.setAttribute('referrerpolicy', 'no-referrer');
      frame.style.width = '100%';
      frame.style.minHeight = (opts.height || 640) + 'px';
      frame.style.border = '0';
      container.appendChild(frame);
      handle.iframe = frame;
      source = function () { return frame.contentWindow; };
      win.addEventListener('message', onMessage);
      return handle;
    }

    return { open: open, version: '1' };
  }

  if (typeof module === 'object' && module && module.exports) {
    module.exports = { create: create, isResultMessage: isResultMessage };
  }
  if (root && typeof root === 'object' && root.document) {
    root.Switchyard = create(root);
  }
})(typeof window !== 'undefined' ? window : this);
