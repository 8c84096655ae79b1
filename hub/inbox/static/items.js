// @ts-check
/* Calls and emails in a conversation and on the contact's timeline: a call shows its direction,
 * numbers, how it ended, its length and a link to its recording; an email its subject, sender
 * and recipients above its text, and its formatting on demand in a sandboxed frame (no scripts,
 * no same-origin, the page's own policy: the hub stored it sanitised already).
 * Built on window.HubInbox (inbox.js); every text goes in with textContent. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      call_inbound: 'Incoming call', call_outbound: 'Outgoing call', call_answered: 'answered',
      call_missed: 'missed', call_busy: 'busy', call_via: 'via', recording: 'Recording',
      email_from: 'From', email_to: 'To', email_cc: 'Cc', email_formatted: 'Show formatted',
      email_plain: 'Show text'
    },
    ru: {
      call_inbound: 'Входящий звонок', call_outbound: 'Исходящий звонок', call_answered: 'отвечен',
      call_missed: 'пропущен', call_busy: 'занято', call_via: 'через', recording: 'Запись',
      email_from: 'От', email_to: 'Кому', email_cc: 'Копия', email_formatted: 'Показать оформление',
      email_plain: 'Показать текст'
    }
  });

  /** @param {number} seconds */
  function duration(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ':' + (s < 10 ? '0' : '') + s;
  }

  /** @param {HTMLElement} node @param {ApiJson} call */
  function callCard(node, call) {
    var card = H.el('div', 'item-call ' + call.status);
    var head = H.t('call_' + call.direction) + ' · ' + H.t('call_' + call.status);
    if (call.status === 'answered') head += ' · ' + duration(call.duration_s);
    card.appendChild(H.el('div', 'item-title', head));
    var numbers = call.from + ' → ' + call.to;
    if (call.tracking_number) numbers += ' (' + H.t('call_via') + ' ' + call.tracking_number + ')';
    card.appendChild(H.el('div', 'item-line', numbers));
    if (call.recording_url && /^https?:\/\//i.test(call.recording_url)) {
      var a = H.el('a', 'item-link', H.t('recording'));
      a.href = call.recording_url;
      a.rel = 'noopener noreferrer nofollow';
      a.target = '_blank';
      card.appendChild(a);
    }
    node.insertBefore(card, node.querySelector('.body'));
  }

  /** @param {HTMLElement} node @param {ApiJson} email */
  function emailHead(node, email) {
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
    /** @type {HTMLIFrameElement | null} */
    var frame = null;
    toggle.addEventListener('click', function () {
      if (!frame) {
        frame = document.createElement('iframe');
        frame.className = 'item-html';
        frame.setAttribute('sandbox', '');
        frame.setAttribute('referrerpolicy', 'no-referrer');
        frame.srcdoc = email.html;
        node.insertBefore(frame, text);
      }
      var showing = !frame.hidden && text.hidden;
      frame.hidden = showing;
      text.hidden = !showing;
      toggle.textContent = H.t(showing ? 'email_formatted' : 'email_plain');
    });
    head.appendChild(toggle);
  }

  H.onMessage(function (node, m) {
    if (m.call) callCard(node, m.call);
    if (m.email) emailHead(node, m.email);
  });
})();
