// @ts-check
/* What every page of the inbox (the inbox, the deal board, the reports) needs from the browser:
 * the operator's language, small DOM helpers that write text (never HTML), a toast, and JSON
 * requests that turn the hub's {"error": {code, message}} into an Error. One global: HubDom
 * (its type: types/pages.d.ts).
 *
 * Each page keeps its words in one table per language (TEXTS in its script, which the inbox's
 * feature scripts extend with HubInbox.addTexts) and writes them with t(key, {name: value});
 * the markup names them in data-t, data-t-placeholder, data-t-title and data-t-aria-label. */
(function () {
  'use strict';

  /* The names the hub's defaults are stored with (hub/crm_sync/defaults.py: the pipeline, its
   * stages, the lost reasons), as a Russian reader sees them; names an admin typed stay as
   * they are. */
  /** @type {Record<string, string>} */
  var DEFAULT_NAMES_RU = {
    'Sales': 'Продажи', 'New': 'Новая', 'Qualified': 'Квалифицирована',
    'Proposal sent': 'КП отправлено', 'Negotiation': 'Переговоры', 'Contract': 'Договор',
    'Won': 'Успешно', 'Lost': 'Проиграна', 'Too expensive': 'Дорого',
    'Chose a competitor': 'Выбрал конкурента', 'No budget': 'Нет бюджета',
    'No response': 'Не отвечает', 'Not a fit': 'Не подходит', 'Other': 'Другое'
  };

  /** @returns {Lang} */
  function pickLang() {
    var saved = null;
    try { saved = localStorage.getItem('hub.inbox.lang'); } catch (e) { /* private mode */ }
    if (saved === 'ru' || saved === 'en') return saved;
    return (navigator.language || '').toLowerCase().indexOf('ru') === 0 ? 'ru' : 'en';
  }
  /** @param {Lang} lang */
  function saveLang(lang) {
    try { localStorage.setItem('hub.inbox.lang', lang); } catch (e) { /* private mode */ }
  }
  /**
   * A text of a page's table with its {placeholders} filled in.
   * @param {string} text @param {Record<string, string | number>} [vars]
   */
  function format(text, vars) {
    if (!vars) return text;
    var values = vars;
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }
  /**
   * A stored name as a reader of ``lang`` sees it: the defaults' names in Russian.
   * @param {string} name @param {Lang} lang
   */
  function defaultName(name, lang) {
    return lang === 'ru' && Object.prototype.hasOwnProperty.call(DEFAULT_NAMES_RU, name) ? DEFAULT_NAMES_RU[name] : name;
  }
  /**
   * The page's element with this id, of the class given (HTMLElement by default). The page's
   * markup has it: a missing one is a bug, thrown here rather than as a null further on.
   * @template {HTMLElement} [T=HTMLElement]
   * @param {string} id
   * @param {{new (): T, prototype: T}} [kind]
   * @returns {T}
   */
  function $(id, kind) {
    var node = document.getElementById(id);
    if (!(node instanceof (kind || HTMLElement))) throw new Error('#' + id + ' is missing or of another kind');
    return /** @type {T} */ (node);
  }
  /**
   * The first element under ``root`` (the document by default) that matches ``selector``, of
   * the class given; like ``$``, a missing one is thrown.
   * @template {HTMLElement} [T=HTMLElement]
   * @param {string} selector
   * @param {{new (): T, prototype: T}} [kind]
   * @param {ParentNode} [root]
   * @returns {T}
   */
  function find(selector, kind, root) {
    var node = (root || document).querySelector(selector);
    if (!(node instanceof (kind || HTMLElement))) throw new Error(selector + ' is missing or of another kind');
    return /** @type {T} */ (node);
  }
  /**
   * Every element under ``root`` (the document by default) that matches ``selector``; the
   * pages' selectors name HTML elements only.
   * @param {string} selector
   * @param {ParentNode} [root]
   * @returns {HTMLElement[]}
   */
  function all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }
  /**
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {string} [cls]
   * @param {string | number | null} [text]
   * @returns {HTMLElementTagNameMap[K]}
   */
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  /**
   * A form's control by its name (an input, a text area or a select): ``form.elements.title``
   * rather than ``form.title``, which is the form's own title to the checker.
   * @param {HTMLFormElement} form @param {string} name
   * @returns {HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement}
   */
  function control(form, name) {
    var node = form.elements.namedItem(name);
    if (node instanceof HTMLInputElement || node instanceof HTMLTextAreaElement || node instanceof HTMLSelectElement) return node;
    throw new Error('the form has no control named ' + name);
  }
  /**
   * The attribute ``name`` of the element an event happened on: delegated clicks read what
   * was clicked this way (null when it has none).
   * @param {Event} ev @param {string} name @returns {string | null}
   */
  function targetAttr(ev, name) {
    return ev.target instanceof Element ? ev.target.getAttribute(name) : null;
  }
  /**
   * The nearest element matching ``selector`` from the one an event happened on upwards.
   * @param {Event} ev @param {string} selector @returns {HTMLElement | null}
   */
  function targetClosest(ev, selector) {
    var found = ev.target instanceof Element ? ev.target.closest(selector) : null;
    return found instanceof HTMLElement ? found : null;
  }
  /** @param {Node} node */
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  /** @param {HTMLElement} node @param {boolean} yes */
  function show(node, yes) { node.hidden = !yes; }
  /**
   * Write the page's texts in the language of ``t``: each [data-t]'s text, [data-t-placeholder],
   * [data-t-title] and [data-t-aria-label] attributes, and the language switches
   * ([data-lang-switch]: the name of the other language, ``lang_other``).
   * @param {(key: string) => string} t
   */
  function translate(t) {
    var nodes = document.querySelectorAll('[data-t]');
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = t(nodes[i].getAttribute('data-t') || '');
    nodes = document.querySelectorAll('[data-t-placeholder]');
    for (i = 0; i < nodes.length; i++) nodes[i].setAttribute('placeholder', t(nodes[i].getAttribute('data-t-placeholder') || ''));
    nodes = document.querySelectorAll('[data-t-title]');
    for (i = 0; i < nodes.length; i++) nodes[i].setAttribute('title', t(nodes[i].getAttribute('data-t-title') || ''));
    nodes = document.querySelectorAll('[data-t-aria-label]');
    for (i = 0; i < nodes.length; i++) nodes[i].setAttribute('aria-label', t(nodes[i].getAttribute('data-t-aria-label') || ''));
    nodes = document.querySelectorAll('[data-lang-switch]');
    for (i = 0; i < nodes.length; i++) nodes[i].textContent = t('lang_other');
  }
  /** @type {number | undefined} */
  var toastTimer;
  /** @param {string} message */
  function toast(message) {
    var box = document.getElementById('toast');
    if (!box) { box = el('div', 'toast'); box.id = 'toast'; box.setAttribute('role', 'alert'); document.body.appendChild(box); }
    var shown = box;
    shown.textContent = message;
    shown.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { shown.hidden = true; }, 5000);
  }
  /* A JSON request with the session cookie (and the CSRF token for writes); rejects with an
   * Error carrying the hub's message, ``status`` and ``code``. */
  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {string} [csrf]
   * @returns {Promise<ApiJson>}
   */
  function request(method, path, body, csrf) {
    /** @type {Record<string, string>} */
    var headers = {};
    /** @type {RequestInit} */
    var opts = { method: method, headers: headers, credentials: 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
    return fetch(path, opts).catch(function () {
      /* No answer at all (offline, the hub restarting): said in the operator's words. */
      /** @type {HubError} */
      var lost = new Error(window.HubLocale ? window.HubLocale.errorText('', 0, '', pickLang()) : 'network error');
      lost.status = 0;
      lost.code = 'network';
      throw lost;
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (r.ok) return data;
        var code = data && data.error ? data.error.code : '';
        var said = data && data.error ? data.error.message : r.statusText;
        /* In the operator's words (locale.js); the hub's own message stays on ``detail``. */
        var words = window.HubLocale ? window.HubLocale.errorText(code, r.status, said, pickLang()) : said;
        /** @type {HubError} */
        var err = new Error(words);
        err.status = r.status;
        err.code = code;
        err.detail = said;
        throw err;
      });
    });
  }

  /* The hub's channel types (GET /api/v1/channel-types): each badge's letters and name come
   * from the type's registration on the server, so a new channel type needs no page change. */
  /** @type {Record<string, {type: string, title: string, badge: string, capabilities?: Record<string, boolean>}>} */
  var channelTypes = {};
  /** @returns {Promise<void>} */
  function loadChannelTypes() {
    return request('GET', '/api/v1/channel-types').then(function (d) {
      d.items.forEach(/** @param {ApiJson} c */ function (c) { channelTypes[c.type] = c; });
    });
  }
  /**
   * A channel type's badge: its letters, its name on hover, a colour by type where the style
   * sheet has one (a grey one otherwise).
   * @param {string} [type]
   */
  function channelBadge(type) {
    var known = channelTypes[type || ''];
    var b = el('span', 'badge ch-' + (known ? known.type : 'other'), known ? known.badge : '•');
    b.title = known ? known.title : type || '';
    return b;
  }
  /** A channel type's name as its registration on the server gives it (English). @param {string} [type] */
  function channelTitle(type) {
    var known = channelTypes[type || ''];
    return known ? known.title : type || '';
  }
  /**
   * Whether a channel type can do something (its capabilities, as its registration on the
   * server says: replies, files, html, typing, threads); false for a type not loaded.
   * @param {string | undefined} type @param {string} capability
   */
  function channelCan(type, capability) {
    var known = channelTypes[type || ''];
    return !!(known && known.capabilities && known.capabilities[capability]);
  }

  /** @type {HubDomApi} */
  var api = {
    pickLang: pickLang, saveLang: saveLang, format: format, defaultName: defaultName, $: $, find: find, all: all, el: el, clear: clear, show: show,
    control: control, targetAttr: targetAttr, targetClosest: targetClosest, translate: translate, toast: toast,
    request: request, loadChannelTypes: loadChannelTypes, channelBadge: channelBadge, channelCan: channelCan,
    channelTitle: channelTitle
  };
  window.HubDom = api;
})();
