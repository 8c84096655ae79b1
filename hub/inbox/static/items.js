// @ts-check
/* Calls, emails and callback requests in a conversation and on the contact's timeline: a call
 * shows its direction, numbers, how it ended, its length and a link to its recording (or, for a
 * recording the hub could not fetch, its id at the provider); an email
 * its subject, sender and recipients above its text, and its formatting on demand in a sandboxed
 * frame (no scripts, no same-origin, the page's own policy: the hub stored it sanitised already);
 * a customer's "call me back" a card with the number to call, the time he chose and when the
 * call is due.
 * Built on window.HubInbox (inbox.js); every text goes in with textContent. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      call_inbound: 'Incoming call', call_outbound: 'Outgoing call', call_answered: 'answered',
      call_missed: 'missed', call_busy: 'busy', call_ringing: 'ringing', call_via: 'via',
      call_hidden: 'hidden number', call_operator: 'answered by {who}', recording: 'Recording',
      recording_at_provider: 'Recording kept by the provider, id {id}',
      email_from: 'From', email_to: 'To', email_cc: 'Cc', email_formatted: 'Show formatted',
      email_plain: 'Show text', email_images: 'Load images', callback_title: 'Callback request', callback_asked: 'Asked for: {when}',
      callback_due: 'Call at: {time}', callback_asap: 'as soon as possible',
      callback_today_after: 'today after {time}', callback_tomorrow_morning: 'tomorrow morning',
      callback_at: '{time}', callback_his_clock: 'his clock: {zone}'
    },
    ru: {
      call_inbound: 'Входящий звонок', call_outbound: 'Исходящий звонок', call_answered: 'отвечен',
      call_missed: 'пропущен', call_busy: 'занято', call_ringing: 'звонит', call_via: 'через',
      call_hidden: 'скрытый номер', call_operator: 'ответил {who}', recording: 'Запись',
      recording_at_provider: 'Запись хранится у провайдера, ID {id}',
      email_from: 'От', email_to: 'Кому', email_cc: 'Копия', email_formatted: 'Показать оформление',
      email_plain: 'Показать текст', email_images: 'Загрузить картинки', callback_title: 'Просьба перезвонить', callback_asked: 'Просит: {when}',
      callback_due: 'Позвонить: {time}', callback_asap: 'как можно скорее',
      callback_today_after: 'сегодня после {time}', callback_tomorrow_morning: 'завтра утром',
      callback_at: '{time}', callback_his_clock: 'по его часам: {zone}'
    }
  });

  /** @param {number} seconds */
  function duration(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ':' + (s < 10 ? '0' : '') + s;
  }

  /** @param {HTMLElement} node @param {ApiJson} call @param {ApiJson[]} files */
  function callCard(node, call, files) {
    var card = H.el('div', 'item-call ' + call.status);
    var head = H.t('call_' + call.direction) + ' · ' + H.t('call_' + call.status);
    if (call.status === 'answered') head += ' · ' + duration(call.duration_s);
    card.appendChild(H.el('div', 'item-title', head));
    var numbers = (call.from || H.t('call_hidden')) + ' → ' + call.to;
    if (call.tracking_number) numbers += ' (' + H.t('call_via') + ' ' + call.tracking_number + ')';
    card.appendChild(H.el('div', 'item-line', numbers));
    if (call.operator) card.appendChild(H.el('div', 'item-line', H.t('call_operator', { who: call.operator })));
    var source = call.attribution || {};
    var label = [source.utm_source, source.utm_medium, source.utm_campaign].filter(Boolean).join(' / ');
    if (label) card.appendChild(H.el('div', 'item-line', label));
    if (call.recording_url && /^https?:\/\//i.test(call.recording_url)) {
      var a = H.el('a', 'item-link', H.t('recording'));
      a.href = call.recording_url;
      a.rel = 'noopener noreferrer nofollow';
      a.target = '_blank';
      card.appendChild(a);
    } else if (call.recording_ref && !files.some(function (f) { return f.kind === 'audio'; })) {
      // A recording the hub could not fetch (Telphin's, or without the provider's API key):
      // where to find it.
      card.appendChild(H.el('div', 'item-line', H.t('recording_at_provider', { id: call.recording_ref })));
    }
    node.insertBefore(card, node.querySelector('.body'));
  }

  /** @param {HTMLElement} node @param {number} messageId @param {ApiJson} email */
  function emailHead(node, messageId, email) {
    var head = H.el('div', 'item-email');
    head.appendChild(H.el('div', 'item-title', email.subject));
    head.appendChild(H.el('div', 'item-line', H.t('email_from') + ': ' + email.from));
    if (email.to.length) head.appendChild(H.el('div', 'item-line', H.t('email_to') + ': ' + email.to.join(', ')));
    if (email.cc.length) head.appendChild(H.el('div', 'item-line', H.t('email_cc') + ': ' + email.cc.join(', ')));
    var text = /** @type {HTMLElement} */ (node.querySelector('.body'));
    node.insertBefore(head, text);
    if (!email.html) return;
    var toggle = H.el('button', 'link small', H.t('email_formatted'));
    toggle.type = 'button';
    // Images keep their address as data-hub-src (hub/inbox/items.py): a remote image tells the
    // sender when and where his email was read, so it loads only when the operator asks. The
    // frame's page comes from the hub with its own policy (hub/inbox/email_view.py).
    var images = /\sdata-hub-src="/.test(email.html);
    var load = H.el('button', 'link small', H.t('email_images'));
    load.type = 'button';
    load.hidden = true;
    /** @type {HTMLIFrameElement | null} */
    var frame = null;
    /** @param {boolean} withImages */
    function page(withImages) {
      return '/api/v1/messages/' + messageId + '/email.html' + (withImages ? '?images=true' : '');
    }
    toggle.addEventListener('click', function () {
      if (!frame) {
        frame = document.createElement('iframe');
        frame.className = 'item-html';
        frame.setAttribute('sandbox', '');
        frame.setAttribute('referrerpolicy', 'no-referrer');
        frame.src = page(false);
        node.insertBefore(frame, text);
      }
      var showing = !frame.hidden && text.hidden;
      frame.hidden = showing;
      text.hidden = !showing;
      load.hidden = showing || !images;
      toggle.textContent = H.t(showing ? 'email_formatted' : 'email_plain');
    });
    load.addEventListener('click', function () {
      if (frame) frame.src = page(true);
      load.hidden = true;
      images = false;
    });
    head.appendChild(toggle);
    head.appendChild(load);
  }

  /** A handset, drawn (the operators' fonts may have no emoji). */
  function phoneIcon() {
    var NS = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(NS, 'svg');
    var path = document.createElementNS(NS, 'path');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('class', 'item-icon');
    svg.setAttribute('aria-hidden', 'true');
    path.setAttribute('d', 'M6.62 10.79a15.1 15.1 0 0 0 6.59 6.59l2.2-2.2a1 1 0 0 1 1.02-.24c1.12.37 2.33.57 3.57.57a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1.02z');
    path.setAttribute('fill', 'currentColor');
    svg.appendChild(path);
    return svg;
  }
  /** @param {string} iso */
  function moment(iso) {
    return H.when(iso, 'weekday');
  }
  /**
   * A customer's "call me back" (meta written by the widget): the number as a tel: link, what he
   * chose and when the task is due; it replaces the text, which says the same in his language.
   * @param {HTMLElement} node @param {ApiJson} meta
   */
  function callbackCard(node, meta) {
    var card = H.el('div', 'item-callback');
    var title = H.el('div', 'item-title', H.t('callback_title'));
    title.insertBefore(phoneIcon(), title.firstChild);
    card.appendChild(title);
    var phone = String(meta.phone || '');
    if (/^\+\d{6,15}$/.test(phone)) {
      var a = H.el('a', 'item-phone', phone);
      a.href = 'tel:' + phone;
      card.appendChild(a);
    }
    var when = meta.when || {};
    var asked = when.kind === 'at' ? H.t('callback_at', { time: String(when.at || '').replace('T', ' ') })
      : when.kind ? H.t('callback_' + when.kind, { time: String(when.time || '') }) : String(meta.preferred_time || '');
    var own = '';
    try { own = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* no zone: say none */ }
    if (asked && meta.time_zone && meta.time_zone !== own && (when.kind === 'at' || when.kind === 'today_after')) {
      asked += ' (' + H.t('callback_his_clock', { zone: meta.time_zone }) + ')';
    }
    if (asked) card.appendChild(H.el('div', 'item-line', H.t('callback_asked', { when: asked })));
    if (meta.due_at) card.appendChild(H.el('div', 'item-line item-due', H.t('callback_due', { time: moment(meta.due_at) })));
    var text = /** @type {HTMLElement} */ (node.querySelector('.body'));
    node.insertBefore(card, text);
    text.hidden = true;
  }

  H.onMessage(function (node, m) {
    if (m.call) callCard(node, m.call, m.attachments || []);
    if (m.email) emailHead(node, m.id, m.email);
    if (m.meta && m.meta.type === 'callback_request') callbackCard(node, m.meta);
  });
})();
