'use strict';
// Tests of the web SDK with a minimal fake window and document.
// Run: node --test web/

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const { create, isResultMessage } = require('./switchyard.js');

const LINK = 'https://pay.switchyard.example/pay/ordeh_0123456789abcdef0123456789abcdef';
const LINK_ORIGIN = 'https://pay.switchyard.example';

function fakeElement(tag) {
  const el = {
    tagName: tag.toUpperCase(),
    attributes: {},
    style: {},
    children: [],
    parentNode: null,
    setAttribute(k, v) { this.attributes[k] = String(v); },
    getAttribute(k) { return k in this.attributes ? this.attributes[k] : null; },
    appendChild(child) {
      child.parentNode = this;
      this.children.push(child);
      return child;
    },
    removeChild(child) {
      this.children = this.children.filter((c) => c !== child);
      child.parentNode = null;
      return child;
    },
  };
  if (tag === 'iframe') {
    el.contentWindow = { name: 'iframe window' };
  }
  return el;
}

function fakeWindow(href = 'https://shop.example/checkout') {
  const listeners = {};
  const intervals = new Map();
  let nextID = 1;
  const elements = { '#pay': fakeElement('div') };
  const win = {
    location: {
      href,
      assigned: [],
      assign(u) { this.assigned.push(u); },
    },
    opened: [],
    blockPopups: false,
    open(url, name, features) {
      if (this.blockPopups) return null;
      const w = { url, name, features, closed: false, close() { this.closed = true; } };
      this.opened.push(w);
      return w;
    },
    addEventListener(type, fn) { (listeners[type] = listeners[type] || []).push(fn); },
    removeEventListener(type, fn) {
      listeners[type] = (listeners[type] || []).filter((f) => f !== fn);
    },
    listenerCount(type) { return (listeners[type] || []).length; },
    // postFrom simulates window.postMessage arriving from source at origin.
    postFrom(source, origin, data) {
      for (const fn of [...(listeners.message || [])]) fn({ source, origin, data });
    },
    setInterval(fn) {
      const id = nextID++;
      intervals.set(id, fn);
      return id;
    },
    clearInterval(id) { intervals.delete(id); },
    runIntervals() { for (const fn of [...intervals.values()]) fn(); },
    intervalCount() { return intervals.size; },
    document: {
      createElement: fakeElement,
      querySelector(sel) { return elements[sel] || null; },
    },
    elements,
    URL,
  };
  return win;
}

function result(status, extra = {}) {
  return {
    event: 'process_result',
    payload: Object.assign({ status, order_id: 'ord_1', txn_id: 'shop-ord_1-1', return_url: 'https://shop.example/done' }, extra),
  };
}

test('redirect mode navigates to the payment link and listens to nothing', () => {
  const win = fakeWindow();
  const h = create(win).open({ paymentLink: LINK, mode: 'redirect', onResult: () => assert.fail('no result expected') });
  assert.deepEqual(win.location.assigned, [LINK]);
  assert.equal(win.listenerCount('message'), 0);
  assert.equal(h.mode, 'redirect');
  h.close();
});

test('redirect is the default mode', () => {
  const win = fakeWindow();
  create(win).open({ paymentLink: LINK });
  assert.deepEqual(win.location.assigned, [LINK]);
});

test('popup mode opens a window and reports results from it', () => {
  const win = fakeWindow();
  const got = [];
  const h = create(win).open({ paymentLink: LINK, mode: 'popup', onResult: (r) => got.push(r) });
  assert.equal(win.opened.length, 1);
  const popup = win.opened[0];
  assert.equal(popup.url, LINK);
  assert.match(popup.features, /width=\d+/);
  assert.equal(h.window, popup);
  assert.deepEqual(win.location.assigned, []);

  win.postFrom(popup, LINK_ORIGIN, result('charged'));
  assert.deepEqual(got, [{ status: 'charged', order_id: 'ord_1', txn_id: 'shop-ord_1-1', return_url: 'https://shop.example/done' }]);
});

test('messages from other origins are ignored', () => {
  const win = fakeWindow();
  const got = [];
  create(win).open({ paymentLink: LINK, mode: 'popup', onResult: (r) => got.push(r) });
  const popup = win.opened[0];
  for (const origin of ['https://evil.example', 'http://pay.switchyard.example', 'https://pay.switchyard.example:8443',
    'https://shop.example', 'null', '']) {
    win.postFrom(popup, origin, result('charged'));
  }
  assert.deepEqual(got, []);
});

test('messages from another window of the right origin are ignored', () => {
  const win = fakeWindow();
  const got = [];
  create(win).open({ paymentLink: LINK, mode: 'popup', onResult: (r) => got.push(r) });
  win.postFrom({ some: 'other window' }, LINK_ORIGIN, result('charged'));
  assert.deepEqual(got, []);
});

test('messages of the wrong shape are ignored', () => {
  const win = fakeWindow();
  const got = [];
  create(win).open({ paymentLink: LINK, mode: 'popup', onResult: (r) => got.push(r) });
  const popup = win.opened[0];
  const bad = [
    null, 'charged', JSON.stringify(result('charged')), { event: 'other', payload: { status: 'charged' } },
    { event: 'process_result' }, { event: 'process_result', payload: 'charged' },
    { event: 'process_result', payload: { status: 42 } },
    { event: 'process_result', payload: { status: '<img src=x onerror=alert(1)>' } },
  ];
  for (const data of bad) {
    assert.equal(isResultMessage(data), false, JSON.stringify(data));
    win.postFrom(popup, LINK_ORIGIN, data);
  }
  assert.deepEqual(got, []);
});

test('result fields are copied as strings only', () => {
  const win = fakeWindow();
  const got = [];
  create(win).open({ paymentLink: LINK, mode: 'popup', onResult: (r) => got.push(r) });
  win.postFrom(win.opened[0], LINK_ORIGIN, { event: 'process_result', payload: { status: 'charged', order_id: { x: 1 }, card: '4242' } });
  assert.deepEqual(got, [{ status: 'charged', order_id: '', txn_id: '', return_url: '' }]);
});

test('a failure then a successful retry are both reported, duplicates once', () => {
  const win = fakeWindow();
  const got = [];
  create(win).open({ paymentLink: LINK, mode: 'popup', onResult: (r) => got.push(r.status) });
  const popup = win.opened[0];
  win.postFrom(popup, LINK_ORIGIN, result('authorization_failed', { txn_id: 'shop-ord_1-1' }));
  win.postFrom(popup, LINK_ORIGIN, result('authorization_failed', { txn_id: 'shop-ord_1-1' }));
  win.postFrom(popup, LINK_ORIGIN, result('charged', { txn_id: 'shop-ord_1-2' }));
  assert.deepEqual(got, ['authorization_failed', 'charged']);
});

test('popup closed by the shopper before paying reports user_aborted', () => {
  const win = fakeWindow();
  const got = [];
  create(win).open({ paymentLink: LINK, mode: 'popup', onResult: (r) => got.push(r.status) });
  win.runIntervals();
  assert.deepEqual(got, []);
  win.opened[0].closed = true;
  win.runIntervals();
  assert.deepEqual(got, ['user_aborted']);
  assert.equal(win.listenerCount('message'), 0);
  assert.equal(win.intervalCount(), 0);
});

test('popup closed after payment reports nothing more', () => {
  const win = fakeWindow();
  const got = [];
  create(win).open({ paymentLink: LINK, mode: 'popup', onResult: (r) => got.push(r.status) });
  win.postFrom(win.opened[0], LINK_ORIGIN, result('charged'));
  win.opened[0].closed = true;
  win.runIntervals();
  assert.deepEqual(got, ['charged']);
});

test('close() closes the popup and stops listening', () => {
  const win = fakeWindow();
  const got = [];
  const h = create(win).open({ paymentLink: LINK, mode: 'popup', onResult: (r) => got.push(r) });
  h.close();
  assert.equal(win.opened[0].closed, true);
  assert.equal(win.listenerCount('message'), 0);
  assert.equal(win.intervalCount(), 0);
  win.postFrom(win.opened[0], LINK_ORIGIN, result('charged'));
  assert.deepEqual(got, []);
  h.close();
});

test('a blocked popup falls back to a redirect', () => {
  const win = fakeWindow();
  win.blockPopups = true;
  const h = create(win).open({ paymentLink: LINK, mode: 'popup' });
  assert.deepEqual(win.location.assigned, [LINK]);
  assert.equal(h.mode, 'redirect');
  assert.equal(win.listenerCount('message'), 0);
});

test('iframe mode creates a frame in the container and reports results from it', () => {
  const win = fakeWindow();
  const got = [];
  const container = win.elements['#pay'];
  const h = create(win).open({ paymentLink: LINK, mode: 'iframe', container: '#pay', onResult: (r) => got.push(r.status) });
  assert.equal(container.children.length, 1);
  const frame = container.children[0];
  assert.equal(frame.tagName, 'IFRAME');
  assert.equal(h.iframe, frame);
  const src = new URL(frame.src);
  assert.equal(src.origin + src.pathname, LINK);
  assert.equal(src.searchParams.get('iframe'), 'true');
  assert.ok(frame.title);
  assert.equal(frame.getAttribute('allow'), 'payment');
  assert.equal(frame.style.width, '100%');
  assert.deepEqual(win.location.assigned, []);
  assert.equal(win.opened.length, 0);

  win.postFrom(frame.contentWindow, 'https://evil.example', result('charged'));
  win.postFrom({}, LINK_ORIGIN, result('charged'));
  assert.deepEqual(got, []);
  win.postFrom(frame.contentWindow, LINK_ORIGIN, result('charged'));
  assert.deepEqual(got, ['charged']);

  h.close();
  assert.equal(container.children.length, 0);
  assert.equal(win.listenerCount('message'), 0);
});

test('iframe mode takes a container element', () => {
  const win = fakeWindow();
  const el = fakeElement('section');
  create(win).open({ paymentLink: LINK, mode: 'iframe', container: el });
  assert.equal(el.children.length, 1);
});

test('iframe mode without a container throws', () => {
  const win = fakeWindow();
  assert.throws(() => create(win).open({ paymentLink: LINK, mode: 'iframe', container: '#missing' }), TypeError);
  assert.throws(() => create(win).open({ paymentLink: LINK, mode: 'iframe' }), TypeError);
  assert.equal(win.listenerCount('message'), 0);
});

test('bad links and modes are refused', () => {
  const win = fakeWindow();
  const sdk = create(win);
  assert.throws(() => sdk.open({}), TypeError);
  assert.throws(() => sdk.open({ paymentLink: 'javascript:alert(1)' }), TypeError);
  assert.throws(() => sdk.open({ paymentLink: 'data:text/html,hi', mode: 'popup' }), TypeError);
  assert.throws(() => sdk.open({ paymentLink: LINK, mode: 'modal' }), TypeError);
  assert.deepEqual(win.location.assigned, []);
  assert.equal(win.opened.length, 0);
});

test('a relative payment link resolves against the page, origin included', () => {
  const win = fakeWindow('https://pay.switchyard.example/shop');
  const got = [];
  create(win).open({ paymentLink: '/pay/ordeh_1', mode: 'popup', onResult: (r) => got.push(r.status) });
  assert.equal(win.opened[0].url, 'https://pay.switchyard.example/pay/ordeh_1');
  win.postFrom(win.opened[0], LINK_ORIGIN, result('charged'));
  assert.deepEqual(got, ['charged']);
});

test('as a <script>, it defines window.Switchyard', () => {
  const code = fs.readFileSync(path.join(__dirname, 'switchyard.js'), 'utf8');
  const win = fakeWindow();
  const sandbox = { window: win, URL };
  vm.runInNewContext(code, sandbox);
  assert.equal(typeof win.Switchyard.open, 'function');
  win.Switchyard.open({ paymentLink: LINK });
  assert.deepEqual(win.location.assigned, [LINK]);
});
