/* What every page of the inbox (the inbox, the deal board, the reports) needs from the browser:
 * the operator's language, small DOM helpers that write text (never HTML), a toast, and JSON
 * requests that turn the hub's {"error": {code, message}} into an Error. One global: HubDom. */
(function () {
  'use strict';

  function pickLang() {
    var saved = null;
    try { saved = localStorage.getItem('hub.inbox.lang'); } catch (e) { /* private mode */ }
    if (saved === 'ru' || saved === 'en') return saved;
    return (navigator.language || '').toLowerCase().indexOf('ru') === 0 ? 'ru' : 'en';
  }
  function saveLang(lang) {
    try { localStorage.setItem('hub.inbox.lang', lang); } catch (e) { /* private mode */ }
  }
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function show(node, yes) { node.hidden = !yes; }
  function toast(message) {
    var box = $('toast');
    if (!box) { box = el('div', 'toast'); box.id = 'toast'; box.setAttribute('role', 'alert'); document.body.appendChild(box); }
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 5000);
  }
  /* A JSON request with the session cookie (and the CSRF token for writes); rejects with an
   * Error carrying the hub's message, ``status`` and ``code``. */
  function request(method, path, body, csrf) {
    var opts = { method: method, headers: {}, credentials: 'same-origin' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    if (method !== 'GET' && csrf) opts.headers['X-CSRF-Token'] = csrf;
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (r.ok) return data;
        var err = new Error(data && data.error ? data.error.message : r.statusText);
        err.status = r.status;
        err.code = data && data.error ? data.error.code : '';
        throw err;
      });
    });
  }

  window.HubDom = {
    pickLang: pickLang, saveLang: saveLang, $: $, el: el, clear: clear, show: show,
    toast: toast, request: request
  };
})();
