// @ts-check
/* Canned responses in the composer: type "/" and a short code, pick with the arrows, Enter or
 * Tab inserts the text. Managers keep the list in the "Canned responses" dialog.
 * Built on window.HubInbox (inbox.js); everything is written with textContent. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      canned: 'Canned responses', canned_hint: 'Type / in the reply box to insert one',
      canned_code: 'Short code', canned_text: 'Text', canned_add: 'Add', canned_delete: 'Delete',
      canned_none: 'No canned responses yet'
    },
    ru: {
      canned: 'Шаблоны ответов', canned_hint: 'Наберите / в поле ответа, чтобы вставить шаблон',
      canned_code: 'Код', canned_text: 'Текст', canned_add: 'Добавить', canned_delete: 'Удалить',
      canned_none: 'Шаблонов пока нет'
    }
  });

  /** @type {ApiJson[] | null} the canned responses, as GET /api/v1/canned_responses answered */
  var items = null;
  var loadedAt = 0;
  /** @type {{open: boolean, matches: ApiJson[], index: number, start: number}} */
  var picker = { open: false, matches: [], index: 0, start: 0 };

  /** @param {boolean} force @returns {Promise<ApiJson[]>} */
  function load(force) {
    if (!force && items && Date.now() - loadedAt < 60000) return Promise.resolve(items);
    return H.api('GET', '/api/v1/canned_responses').then(function (d) {
      items = d.items;
      loadedAt = Date.now();
      return d.items;
    });
  }

  /* The "/code" the caret stands right after, at the start of the text or after a space. */
  /** @param {HTMLTextAreaElement} box @returns {{start: number, code: string} | null} */
  function tokenAtCaret(box) {
    var upto = box.value.slice(0, box.selectionStart);
    var m = /(^|\s)\/([\p{L}\p{N}_-]*)$/u.exec(upto);
    if (!m) return null;
    return { start: upto.length - m[2].length - 1, code: m[2].toLowerCase() };
  }

  function close() {
    picker.open = false;
    H.show(H.$('canned-picker'), false);
  }

  function render() {
    var list = H.$('canned-picker');
    H.clear(list);
    picker.matches.forEach(function (item, i) {
      var li = H.el('li', i === picker.index ? 'active' : '');
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', i === picker.index ? 'true' : 'false');
      li.setAttribute('data-index', String(i));
      li.appendChild(H.el('strong', '', '/' + item.short_code));
      li.appendChild(H.el('span', 'muted', item.content));
      list.appendChild(li);
    });
    H.show(list, picker.matches.length > 0);
    picker.open = picker.matches.length > 0;
  }

  function update() {
    var box = H.$('body', HTMLTextAreaElement);
    var token = tokenAtCaret(box);
    if (!token) { close(); return; }
    load(false).then(function (all) {
      var now = tokenAtCaret(box);
      if (!now) { close(); return; }
      var code = now.code;
      picker.start = now.start;
      picker.matches = all.filter(function (i) { return i.short_code.indexOf(code) === 0; }).slice(0, 8);
      if (picker.index >= picker.matches.length) picker.index = 0;
      render();
    }).catch(close);
  }

  /** @param {ApiJson} item */
  function insert(item) {
    var box = H.$('body', HTMLTextAreaElement);
    var before = box.value.slice(0, picker.start);
    var after = box.value.slice(box.selectionStart);
    box.value = before + item.content + after;
    var caret = before.length + item.content.length;
    box.setSelectionRange(caret, caret);
    close();
    box.focus();
  }

  /** @param {KeyboardEvent} ev */
  function onKey(ev) {
    if (!picker.open) return;
    var handled = true;
    if (ev.key === 'ArrowDown') picker.index = (picker.index + 1) % picker.matches.length;
    else if (ev.key === 'ArrowUp') picker.index = (picker.index - 1 + picker.matches.length) % picker.matches.length;
    else if (ev.key === 'Enter' || ev.key === 'Tab') insert(picker.matches[picker.index]);
    else if (ev.key === 'Escape') close();
    else handled = false;
    if (!handled) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    if (picker.open) render();
  }

  /* ---------- the managers' dialog ---------- */
  function renderManager() {
    var list = H.$('canned-list');
    H.clear(list);
    if (!items || !items.length) list.appendChild(H.el('li', 'muted', H.t('canned_none')));
    (items || []).forEach(function (item) {
      var li = H.el('li');
      li.appendChild(H.el('strong', '', '/' + item.short_code));
      li.appendChild(H.el('span', 'grow', item.content));
      var del = H.el('button', 'link danger', H.t('canned_delete'));
      del.type = 'button';
      del.setAttribute('data-delete', String(item.id));
      li.appendChild(del);
      list.appendChild(li);
    });
  }
  function openManager() {
    H.show(H.$('canned-dialog'), true);
    load(true).then(renderManager).catch(H.fail);
    H.control(H.$('canned-form', HTMLFormElement), 'short_code').focus();
  }
  /** @param {SubmitEvent} ev */
  function onAdd(ev) {
    ev.preventDefault();
    var form = H.$('canned-form', HTMLFormElement);
    H.api('POST', '/api/v1/canned_responses', {
      short_code: H.control(form, 'short_code').value, content: H.control(form, 'content').value
    }).then(function () {
      form.reset();
      return load(true);
    }).then(renderManager).catch(H.fail);
  }
  /** @param {MouseEvent} ev */
  function onListClick(ev) {
    var id = H.targetAttr(ev, 'data-delete');
    if (!id) return;
    H.api('DELETE', '/api/v1/canned_responses/' + id).then(function () { return load(true); })
      .then(renderManager).catch(H.fail);
  }

  function bind() {
    var box = H.$('body', HTMLTextAreaElement);
    box.addEventListener('keydown', onKey);
    box.addEventListener('input', update);
    box.addEventListener('blur', function () { setTimeout(close, 150); });
    H.$('canned-picker').addEventListener('mousedown', function (ev) {
      var li = H.targetClosest(ev, 'li');
      if (!li) return;
      ev.preventDefault();
      insert(picker.matches[Number(li.getAttribute('data-index'))]);
    });
    H.$('canned-btn').addEventListener('click', openManager);
    H.$('canned-close').addEventListener('click', function () { H.show(H.$('canned-dialog'), false); });
    H.$('canned-form').addEventListener('submit', onAdd);
    H.$('canned-list').addEventListener('click', onListClick);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bind);
  else bind();
})();
