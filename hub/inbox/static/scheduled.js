// @ts-check
/* Scheduled emails: "Send later" beside the composer's Send (a reply in an email conversation)
 * and in the new-email form, with a date, a time and a time zone (the company's by default);
 * the conversation shows its pending emails above the composer, each with Edit and Cancel; the
 * header's "Scheduled" lists all of the operator's (everyone's for managers and admins). The
 * list is loaded once and kept by the scheduled_email.* events; an email that went shows as
 * the conversation's reply through its own message.created. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      send_later: 'Send later', send_at: 'Send at', time_zone: 'Time zone', schedule_do: 'Schedule',
      scheduled: 'Scheduled', scheduled_title: 'Scheduled emails', scheduled_none: 'Nothing scheduled',
      scheduled_for: 'Will be sent {when}', scheduled_sending: 'Being sent…',
      scheduled_done: 'Scheduled: {when}', scheduled_cancelled: 'The scheduled email was cancelled',
      scheduled_failed: 'A scheduled email was not sent: {error}', scheduled_edit: 'Edit',
      scheduled_cancel: 'Cancel sending', scheduled_save: 'Save', scheduled_close: 'Close',
      scheduled_pick_time: 'Pick a date and time', scheduled_no_files: 'Files cannot be scheduled; send them now',
      scheduled_new_email: 'New email to {to}', scheduled_open: 'Open the conversation', zone_company: 'company'
    },
    ru: {
      send_later: 'Отправить позже', send_at: 'Когда отправить', time_zone: 'Часовой пояс', schedule_do: 'Запланировать',
      scheduled: 'Запланированные', scheduled_title: 'Запланированные письма', scheduled_none: 'Ничего не запланировано',
      scheduled_for: 'Будет отправлено {when}', scheduled_sending: 'Отправляется…',
      scheduled_done: 'Запланировано: {when}', scheduled_cancelled: 'Отправка письма отменена',
      scheduled_failed: 'Запланированное письмо не отправлено: {error}', scheduled_edit: 'Изменить',
      scheduled_cancel: 'Отменить отправку', scheduled_save: 'Сохранить', scheduled_close: 'Закрыть',
      scheduled_pick_time: 'Выберите дату и время', scheduled_no_files: 'Файлы нельзя запланировать, отправьте их сейчас',
      scheduled_new_email: 'Новое письмо для {to}', scheduled_open: 'Открыть диалог', zone_company: 'компании'
    }
  });

  /** @type {Record<string, ApiJson>} the scheduled emails waiting, by id */
  var waiting = {};
  /** The company's time zone, the forms' default (the list's answer says which). */
  var company = 'UTC';
  /** @type {number | null} the scheduled email being edited */
  var editing = null;
  var loaded = false;

  /** @param {ApiJson} item */
  function when(item) {
    var shown = new Date(item.send_at).toLocaleString(H.state().lang, {
      timeZone: item.time_zone, day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit'
    });
    return shown + ' (' + item.time_zone + ')';
  }

  /** @returns {string[]} the zones to offer: the company's first, then the browser's, then all */
  function zones() {
    var list = [company];
    var mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (mine && list.indexOf(mine) < 0) list.push(mine);
    if (list.indexOf('UTC') < 0) list.push('UTC');
    var intl = /** @type {{supportedValuesOf?: (key: string) => string[]}} */ (/** @type {unknown} */ (Intl));
    if (intl.supportedValuesOf) {
      intl.supportedValuesOf('timeZone').forEach(function (z) { if (list.indexOf(z) < 0) list.push(z); });
    }
    return list;
  }
  /** @param {HTMLSelectElement} select @param {string} chosen */
  function fillZones(select, chosen) {
    H.clear(select);
    zones().forEach(function (z) {
      var opt = H.el('option', '', z === company ? z + ' (' + H.t('zone_company') + ')' : z);
      opt.value = z;
      opt.selected = z === chosen;
      select.appendChild(opt);
    });
  }
  /** The next whole hour on the company's clock, as a datetime-local value. */
  function nextHour() {
    var d = new Date(Date.now() + 3600 * 1000);
    var parts = new Intl.DateTimeFormat('en-CA', {
      timeZone: company, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23'
    }).formatToParts(d);
    /** @type {Record<string, string>} */
    var p = {};
    parts.forEach(function (x) { p[x.type] = x.value; });
    return p.year + '-' + p.month + '-' + p.day + 'T' + p.hour + ':00';
  }

  function load() {
    return H.api('GET', '/api/v1/scheduled_emails').then(function (d) {
      company = d.time_zone;
      waiting = {};
      d.items.forEach(/** @param {ApiJson} i */ function (i) { waiting[i.id] = i; });
      loaded = true;
      render();
    }).catch(function () { /* the page works without the list; the next event reloads it */ });
  }

  /** @param {ApiJson} a @param {ApiJson} b */
  function soonest(a, b) { return Date.parse(a.send_at) - Date.parse(b.send_at) || a.id - b.id; }
  function items() { return Object.keys(waiting).map(function (k) { return waiting[k]; }).sort(soonest); }

  /** @param {ApiJson} item @param {boolean} withLink */
  function itemNode(item, withLink) {
    var li = H.el('li', 'scheduled-item');
    li.setAttribute('data-scheduled', String(item.id));
    if (editing === item.id) { li.appendChild(editForm(item)); return li; }
    var head = H.el('div', 'row');
    head.appendChild(H.el('span', 'when', item.sending ? H.t('scheduled_sending') : H.t('scheduled_for', { when: when(item) })));
    if (item.kind === 'new_email') head.appendChild(H.el('span', 'muted small', H.t('scheduled_new_email', { to: item.to }) + ' · ' + item.subject));
    if (item.operator.id !== H.state().me.id) head.appendChild(H.el('span', 'muted small', item.operator.name));
    li.appendChild(head);
    li.appendChild(H.el('div', 'text', item.body.length > 300 ? item.body.slice(0, 299) + '…' : item.body));
    var row = H.el('div', 'row');
    if (!item.sending) {
      var edit = H.el('button', 'link small', H.t('scheduled_edit'));
      edit.type = 'button';
      edit.setAttribute('data-scheduled-edit', String(item.id));
      var cancel = H.el('button', 'link small', H.t('scheduled_cancel'));
      cancel.type = 'button';
      cancel.setAttribute('data-scheduled-cancel', String(item.id));
      row.appendChild(edit);
      row.appendChild(cancel);
    }
    if (withLink && item.conversation_id) {
      var link = H.el('a', 'link small', H.t('scheduled_open'));
      link.href = '/inbox#c' + item.conversation_id;
      link.setAttribute('data-scheduled-open', String(item.conversation_id));
      row.appendChild(link);
    }
    li.appendChild(row);
    return li;
  }

  /** @param {ApiJson} item */
  function editForm(item) {
    var form = H.el('form', 'scheduled-edit');
    form.setAttribute('data-scheduled-form', String(item.id));
    if (item.kind === 'new_email') {
      var subject = /** @type {HTMLInputElement} */ (H.el('input'));
      subject.name = 'subject';
      subject.maxLength = 300;
      subject.value = item.subject;
      form.appendChild(subject);
    }
    var body = /** @type {HTMLTextAreaElement} */ (H.el('textarea'));
    body.name = 'body';
    body.rows = 3;
    body.value = item.body;
    form.appendChild(body);
    var row = H.el('div', 'row');
    var at = /** @type {HTMLInputElement} */ (H.el('input'));
    at.type = 'datetime-local';
    at.name = 'send_at';
    at.value = item.local_send_at;
    var zone = /** @type {HTMLSelectElement} */ (H.el('select'));
    zone.name = 'time_zone';
    fillZones(zone, item.time_zone);
    var save = H.el('button', 'primary', H.t('scheduled_save'));
    save.type = 'submit';
    var close = H.el('button', 'link', H.t('scheduled_close'));
    close.type = 'button';
    close.setAttribute('data-scheduled-stop', '1');
    [at, zone, save, close].forEach(function (n) { row.appendChild(n); });
    form.appendChild(row);
    return form;
  }

  function render() {
    var S = H.state();
    var here = H.$('scheduled-here');
    H.clear(here);
    var mine = items().filter(function (i) { return i.conversation_id !== null && i.conversation_id === S.current; });
    mine.forEach(function (i) { here.appendChild(itemNode(i, false)); });
    H.show(here, mine.length > 0);
    var all = H.$('scheduled-all');
    H.clear(all);
    items().forEach(function (i) { all.appendChild(itemNode(i, true)); });
    H.show(H.$('scheduled-none'), loaded && !items().length);
    var count = items().length;
    H.$('scheduled-btn').textContent = H.t('scheduled') + (count ? ' (' + count + ')' : '');
    refreshComposer();
  }

  /** Whether the open conversation's channel sends email (threads and carries HTML). */
  function emailConversation() {
    var conv = H.state().conv;
    var type = conv && conv.channel ? conv.channel.type : '';
    return !!type && window.HubDom.channelCan(type, 'threads') && window.HubDom.channelCan(type, 'html');
  }
  function refreshComposer() {
    var can = loaded && H.state().mode !== 'note' && emailConversation();
    H.show(H.$('later-btn'), can);
    if (!can) H.show(H.$('later-box'), false);
  }

  function openLater() {
    if (!H.$('attach-chips').hidden) { H.toast(H.t('scheduled_no_files')); return; }
    var at = H.$('later-at', HTMLInputElement);
    if (!at.value) at.value = nextHour();
    fillZones(H.$('later-zone', HTMLSelectElement), H.$('later-zone', HTMLSelectElement).value || company);
    H.show(H.$('later-box'), true);
    at.focus();
  }
  /** @param {ApiJson} item */
  function remember(item) {
    if (item.status === 'scheduled') waiting[item.id] = item;
    else delete waiting[item.id];
    if (editing === item.id && item.status !== 'scheduled') editing = null;
    render();
  }
  function scheduleReply() {
    var id = H.state().current;
    var box = H.$('body', HTMLTextAreaElement);
    var at = H.$('later-at', HTMLInputElement).value;
    if (id === null || !box.value.trim()) { box.focus(); return; }
    if (!at) { H.toast(H.t('scheduled_pick_time')); return; }
    var button = H.$('later-do', HTMLButtonElement);
    button.disabled = true;
    // The composer's tracking switch (tracking.js) goes with it, as with an email sent now.
    var track = document.getElementById('track-on');
    var tracking = !(track instanceof HTMLInputElement) || track.checked;
    H.api('POST', '/api/v1/conversations/' + id + '/scheduled_emails', {
      body: box.value, send_at: at, time_zone: H.$('later-zone', HTMLSelectElement).value, tracking: tracking
    }).then(function (item) {
      box.value = '';
      if (track instanceof HTMLInputElement) track.checked = true;
      H.show(H.$('later-box'), false);
      H.toast(H.t('scheduled_done', { when: when(item) }));
      remember(item);
    }).catch(H.fail).then(function () { button.disabled = false; });
  }
  function scheduleNewEmail() {
    var contact = H.state().contact;
    var form = H.$('c-email', HTMLFormElement);
    var at = H.control(form, 'send_at').value;
    if (!contact) return;
    if (!at) { H.toast(H.t('scheduled_pick_time')); return; }
    var error = H.$('c-email-error');
    H.api('POST', '/api/v1/contacts/' + contact.id + '/scheduled_emails', {
      channel_id: Number(H.control(form, 'channel_id').value),
      to: H.control(form, 'to').value,
      subject: H.control(form, 'subject').value,
      body: H.control(form, 'body').value,
      send_at: at,
      time_zone: H.control(form, 'time_zone').value,
      tracking: !form.querySelector('input[name=tracking]:not(:checked)')
    }).then(function (item) {
      H.$('c-email-cancel').click();
      H.toast(H.t('scheduled_done', { when: when(item) }));
      remember(item);
    }).catch(/** @param {HubError} err */ function (err) {
      error.textContent = err && err.message ? err.message : H.t('error');
      H.show(error, true);
    });
  }

  /** @param {Event} ev */
  function onClick(ev) {
    var edit = H.targetAttr(ev, 'data-scheduled-edit');
    var cancel = H.targetAttr(ev, 'data-scheduled-cancel');
    var open = H.targetAttr(ev, 'data-scheduled-open');
    if (edit) { editing = Number(edit); render(); }
    if (H.targetAttr(ev, 'data-scheduled-stop')) { editing = null; render(); }
    if (cancel) {
      H.api('POST', '/api/v1/scheduled_emails/' + cancel + '/cancel').then(function (item) {
        H.toast(H.t('scheduled_cancelled'));
        remember(item);
      }).catch(function (err) { H.fail(err); load(); });
    }
    if (open) { ev.preventDefault(); H.show(H.$('scheduled-dialog'), false); H.openConversation(Number(open)); }
  }
  /** @param {Event} ev */
  function onSubmit(ev) {
    var form = /** @type {HTMLFormElement} */ (ev.target);
    var id = form.getAttribute('data-scheduled-form');
    if (!id) return;
    ev.preventDefault();
    /** @type {Record<string, string>} */
    var change = {
      body: H.control(form, 'body').value,
      send_at: H.control(form, 'send_at').value,
      time_zone: H.control(form, 'time_zone').value
    };
    if (form.querySelector('[name=subject]')) change.subject = H.control(form, 'subject').value;
    H.api('PATCH', '/api/v1/scheduled_emails/' + id, change).then(function (item) {
      editing = null;
      remember(item);
    }).catch(function (err) { H.fail(err); load(); });
  }

  function bind() {
    H.$('later-btn').addEventListener('click', openLater);
    H.$('later-do').addEventListener('click', scheduleReply);
    H.$('later-close').addEventListener('click', function () { H.show(H.$('later-box'), false); });
    H.$('c-email-later-do').addEventListener('click', scheduleNewEmail);
    H.$('scheduled-btn').addEventListener('click', function () { load(); H.show(H.$('scheduled-dialog'), true); });
    H.$('scheduled-close').addEventListener('click', function () { H.show(H.$('scheduled-dialog'), false); });
    ['scheduled-here', 'scheduled-all'].forEach(function (list) {
      H.$(list).addEventListener('click', onClick);
      H.$(list).addEventListener('submit', onSubmit);
    });
    H.find('.mode', HTMLElement, H.$('composer')).addEventListener('click', function () { setTimeout(refreshComposer, 0); });
    H.$('c-email-btn').addEventListener('click', function () {
      var form = H.$('c-email', HTMLFormElement);
      H.control(form, 'send_at').value = '';
      fillZones(/** @type {HTMLSelectElement} */ (H.control(form, 'time_zone')), company);
      H.show(H.$('c-email-later'), loaded);
    });
    document.addEventListener('hub:conversation-opened', function () { editing = null; if (!loaded) load(); else render(); });
    document.addEventListener('hub:contact-rendered', function () { if (!loaded) load(); else render(); });
    document.addEventListener('hub:event', function (ev) {
      var name = ev.detail.name;
      var item = ev.detail.data.scheduled_email;
      if ((name !== 'scheduled_email.created' && name !== 'scheduled_email.updated') || !item) return;
      if (item.status === 'failed' && item.operator.id === H.state().me.id) {
        H.toast(H.t('scheduled_failed', { error: item.error || '' }));
      }
      remember(item);
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bind);
  else bind();
})();
