// @ts-check
/* Attachments in the inbox: files picked, dropped or pasted into the composer are uploaded at
 * once and sent with the next reply or note; messages show their attachments, images inline.
 * Built on window.HubInbox (inbox.js). File names are written with textContent. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      attach: 'Attach', uploading: 'uploading…', remove: 'Remove', attachment: 'Attachment',
      size_b: '{n} B', size_kb: '{n} KB', size_mb: '{n} MB'
    },
    ru: {
      attach: 'Прикрепить', uploading: 'загружается…', remove: 'Убрать', attachment: 'Вложение',
      size_b: '{n} Б', size_kb: '{n} КБ', size_mb: '{n} МБ'
    }
  });

  /* What waits to be sent, in the order the files were chosen: a slot per file, filled with the
   * attachment ({id, filename, size}) once its upload answers; the conversation it belongs to. */
  /** @type {Array<ApiJson | null | undefined>} null: uploading; undefined: removed or failed */
  var pending = [];
  /** @type {number | null} */
  var pendingConv = null;
  var uploads = 0;

  /** @param {number} bytes */
  function size(bytes) {
    if (bytes < 1024) return H.t('size_b', { n: bytes });
    if (bytes < 1024 * 1024) return H.t('size_kb', { n: (bytes / 1024).toFixed(0) });
    return H.t('size_mb', { n: (bytes / 1024 / 1024).toFixed(1) });
  }

  function renderChips() {
    var box = H.$('attach-chips');
    H.clear(box);
    pending.forEach(function (a, i) {
      if (!a) return;
      var chip = H.el('span', 'chip');
      chip.appendChild(H.el('span', '', a.filename + ' · ' + size(a.size)));
      var x = H.el('button', 'link', '×');
      x.type = 'button';
      x.title = H.t('remove');
      x.setAttribute('aria-label', H.t('remove') + ' ' + a.filename);
      x.setAttribute('data-remove', String(i));
      chip.appendChild(x);
      box.appendChild(chip);
    });
    if (uploads) box.appendChild(H.el('span', 'chip muted', H.t('uploading')));
    H.show(box, pending.some(Boolean) || uploads > 0);
    H.$('send', HTMLButtonElement).disabled = uploads > 0;
  }

  /** @param {File} file */
  function upload(file) {
    var conv = H.state().current;
    if (conv === null) return;
    if (pendingConv !== conv) { pending = []; pendingConv = conv; }
    var form = new FormData();
    form.append('file', file, file.name || 'file');
    uploads += 1;
    var slot = pending.length;
    pending.push(null);
    renderChips();
    fetch('/api/v1/conversations/' + conv + '/attachments', {
      method: 'POST', body: form, credentials: 'same-origin',
      headers: { 'X-CSRF-Token': H.state().csrf }
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (!r.ok) throw new Error(data && data.error ? data.error.message : r.statusText);
        return data;
      });
    }).then(function (att) {
      if (pendingConv === conv) pending[slot] = att;
    }).catch(function (err) {
      if (pendingConv === conv) pending[slot] = undefined;
      H.fail(err);
    }).then(function () {
      uploads -= 1;
      if (!uploads) pending = pending.filter(Boolean);
      renderChips();
    });
  }

  /** @param {FileList} files */
  function uploadAll(files) {
    for (var i = 0; i < files.length; i++) upload(files[i]);
  }

  /** @param {HTMLElement} node @param {ApiJson} m */
  function decorate(node, m) {
    if (!m.attachments || !m.attachments.length) return;
    var box = H.el('div', 'attachments');
    m.attachments.forEach(/** @param {ApiJson} a */ function (a) {
      var link = H.el('a', 'attachment');
      link.href = a.url;
      link.target = '_blank';
      link.rel = 'noopener';
      if (a.kind === 'image' || (a.kind === 'sticker' && /^image\//.test(a.content_type))) {
        var img = H.el('img');
        img.src = a.url;
        img.alt = a.filename || H.t('attachment');
        img.loading = 'lazy';
        link.appendChild(img);
      } else if (a.kind === 'voice' || a.kind === 'audio') {
        var audio = H.el('audio');
        audio.controls = true;
        audio.preload = 'none';
        audio.src = a.url;
        box.appendChild(audio);
        link.textContent = (a.filename || H.t('attachment')) + ' · ' + size(a.size);
      } else {
        link.textContent = '📎 ' + (a.filename || H.t('attachment')) + ' · ' + size(a.size);
        link.setAttribute('download', a.filename || '');
      }
      box.appendChild(link);
    });
    var meta = node.querySelector('.msg-meta');
    node.insertBefore(box, meta);
  }

  H.onMessage(decorate);
  H.onSend(function () {
    if (pendingConv !== H.state().current || !pending.length) return {};
    return { attachment_ids: pending.filter(Boolean).map(function (a) { return a.id; }) };
  });
  H.onSent(function () { pending = []; renderChips(); });

  function bind() {
    var input = H.$('attach-input', HTMLInputElement);
    H.$('attach-btn').addEventListener('click', function () { input.click(); });
    input.addEventListener('change', function () { if (input.files) uploadAll(input.files); input.value = ''; });
    H.$('attach-chips').addEventListener('click', function (ev) {
      var i = H.targetAttr(ev, 'data-remove');
      if (i === null) return;
      pending[Number(i)] = undefined;
      if (!uploads) pending = pending.filter(Boolean);
      renderChips();
    });
    var composer = H.$('composer');
    composer.addEventListener('dragover', function (ev) { ev.preventDefault(); composer.classList.add('dropping'); });
    composer.addEventListener('dragleave', function () { composer.classList.remove('dropping'); });
    composer.addEventListener('drop', function (ev) {
      ev.preventDefault();
      composer.classList.remove('dropping');
      if (ev.dataTransfer && ev.dataTransfer.files.length) uploadAll(ev.dataTransfer.files);
    });
    H.$('body').addEventListener('paste', function (ev) {
      var files = ev.clipboardData && ev.clipboardData.files;
      if (files && files.length) { ev.preventDefault(); uploadAll(files); }
    });
    // Another conversation opened: what was attached to the previous one is not carried over.
    document.addEventListener('hub:conversation-opened', function () {
      if (pendingConv !== null && pendingConv !== H.state().current) { pending = []; pendingConv = null; renderChips(); }
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bind);
  else bind();
})();
