// @ts-check
/* Email-open and click tracking in the inbox: the switch in the composer of an email
 * conversation (on by default; off sends this reply untracked), each tracked email's line
 * ("Opened 2 times · 1 click · first 14:02", and greyed "maybe a robot (Apple Mail)" when only
 * machines loaded it: those never count as opens), and a toast when a person opens or clicks
 * ("Ivan Petrov opened the email “Offer” · 14:02") for the operator who sent it or who has its
 * conversation open. Built on window.HubInbox (inbox.js); every text goes in with textContent. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      track_switch: 'Track opens and clicks',
      track_opened_toast: '{name} opened the email “{subject}” · {time}',
      track_clicked_toast: '{name} clicked a link in the email “{subject}” · {time}',
      track_opens_one: 'Opened once', track_opens_other: 'Opened {n} times',
      track_clicks_one: '1 click', track_clicks_other: '{n} clicks',
      track_first: 'first {time}', track_none: 'Not opened yet',
      track_machine: 'maybe a robot ({client})', track_machine_plain: 'maybe a robot',
      track_hits: 'Email opens and clicks', track_hit_open: 'opened', track_hit_click: 'clicked',
      track_verdict_human: 'a person', track_verdict_machine: 'maybe a robot', track_verdict_unknown: 'unclear'
    },
    ru: {
      track_switch: 'Отслеживать открытия и клики',
      track_opened_toast: '{name} открыл письмо „{subject}“ · {time}',
      track_clicked_toast: '{name} перешёл по ссылке из письма „{subject}“ · {time}',
      track_opens_one: 'Открыто {n} раз', track_opens_few: 'Открыто {n} раза',
      track_opens_many: 'Открыто {n} раз', track_opens_other: 'Открыто {n} раза',
      track_clicks_one: '{n} клик', track_clicks_few: '{n} клика', track_clicks_many: '{n} кликов',
      track_clicks_other: '{n} клика',
      track_first: 'впервые {time}', track_none: 'Ещё не открыто',
      track_machine: 'возможно, робот ({client})', track_machine_plain: 'возможно, робот',
      track_hits: 'Открытия писем и клики', track_hit_open: 'открыто', track_hit_click: 'клик',
      track_verdict_human: 'человек', track_verdict_machine: 'возможно, робот', track_verdict_unknown: 'неясно'
    }
  });

  /** @param {string} base @param {number} n */
  function counted(base, n) {
    var lang = H.state().lang;
    var key = base + '_' + new Intl.PluralRules(lang).select(n);
    var own = H.t(key, { n: n });
    return own === key ? H.t(base + '_other', { n: n }) : own;
  }
  /** @param {string} iso */
  function clock(iso) {
    return new Date(iso).toLocaleTimeString(H.state().lang, { hour: '2-digit', minute: '2-digit' });
  }

  /** The email's tracking line under its message. @param {HTMLElement} node @param {ApiJson} tr */
  function trackingLine(node, tr) {
    var line = H.el('div', 'tracking');
    if (tr.opens > 0) {
      var said = counted('track_opens', tr.opens);
      if (tr.clicks > 0) said += ' · ' + counted('track_clicks', tr.clicks);
      if (tr.first_opened_at) said += ' · ' + H.t('track_first', { time: clock(tr.first_opened_at) });
      line.appendChild(H.el('span', 'tracking-human', said));
    } else {
      var none = tr.clicks > 0 ? counted('track_clicks', tr.clicks) : H.t('track_none');
      line.appendChild(H.el('span', 'tracking-none', none));
    }
    if (tr.machine_opens > 0 || tr.machine_clicks > 0) {
      var robot = tr.machine_client ? H.t('track_machine', { client: tr.machine_client }) : H.t('track_machine_plain');
      line.appendChild(H.el('span', 'tracking-machine', robot));
    }
    node.appendChild(line);
  }
  /** @type {Record<string, ApiJson>} summaries the live events brought, by message id (a
   * message the page got before it was sent has no email yet) */
  var live = {};
  H.onMessage(function (node, m) {
    var tr = live[m.id] || (m.email && m.email.tracking);
    if (m.kind === 'outgoing' && tr) trackingLine(node, tr);
  });

  /** Whether the open conversation is an email one (a channel type that threads and carries HTML). */
  function emailConversation() {
    var conv = H.state().conv;
    var type = conv && conv.channel ? conv.channel.type : '';
    return !!type && window.HubDom.channelCan(type, 'threads') && window.HubDom.channelCan(type, 'html');
  }
  function refreshSwitch() {
    var box = H.$('track-switch');
    H.show(box, emailConversation() && H.state().mode !== 'note');
  }
  H.onSend(function () {
    var on = H.$('track-on', HTMLInputElement).checked;
    return emailConversation() && H.state().mode !== 'note' && !on ? { tracking: false } : {};
  });
  H.onSent(function () { H.$('track-on', HTMLInputElement).checked = true; });

  /** @param {string} name @param {ApiJson} data */
  function onTracked(name, data) {
    var S = H.state();
    var mine = S.me && data.sender_operator_id === S.me.id;
    if (mine || data.conversation_id === S.current) {
      var key = name === 'message.opened' ? 'track_opened_toast' : 'track_clicked_toast';
      H.toast(H.t(key, { name: data.contact ? data.contact.name : '', subject: data.subject || '', time: clock(data.at) }));
    }
    if (data.tracking) live[data.message_id] = data.tracking;
    if (data.conversation_id === S.current) H.rerenderMessages();
  }
  /** The contact page's list of his emails' opens and clicks, from the card the page read
   * (or read again). @param {number} id @param {ApiJson | undefined} card */
  function renderPage(id, card) {
    (card && card.email_tracking ? Promise.resolve(card) : H.api('GET', '/api/v1/contacts/' + id)).then(function (c) {
      var list = H.$('cp-tracking-list');
      H.clear(list);
      (c.email_tracking || []).forEach(/** @param {ApiJson} hit */ function (hit) {
        var li = H.el('li', 'tracking-hit ' + hit.verdict);
        var when = new Date(hit.at).toLocaleString(H.state().lang);
        var said = when + ' · ' + H.t('track_hit_' + hit.kind) + ' · „' + hit.subject + '“ · ' +
          H.t('track_verdict_' + hit.verdict) + (hit.client ? ' (' + hit.client + ')' : '');
        li.appendChild(H.el('span', '', said));
        if (hit.link) li.appendChild(H.el('span', 'muted small', ' → ' + hit.link));
        li.title = hit.reason;
        list.appendChild(li);
      });
      H.show(H.$('cp-tracking'), (c.email_tracking || []).length > 0);
    }).catch(H.fail);
  }

  function bind() {
    document.addEventListener('hub:contact-page', /** @param {Event} ev */ function (ev) {
      var detail = /** @type {CustomEvent} */ (ev).detail;
      renderPage(detail.id, detail.contact);
    });
    document.addEventListener('hub:event', function (ev) {
      var detail = /** @type {CustomEvent} */ (ev).detail;
      if (detail.name === 'message.opened' || detail.name === 'message.clicked') onTracked(detail.name, detail.data);
      if (detail.name === 'message.created' || detail.name === 'conversation.updated') refreshSwitch();
    });
    document.addEventListener('hub:conversation-opened', function () {
      live = {}; // the messages about to load carry their summaries
      refreshSwitch();
    });
    document.addEventListener('hub:contact-rendered', refreshSwitch);
    // Reply or note: the composer's class says which.
    new MutationObserver(refreshSwitch).observe(H.$('composer'), { attributes: true, attributeFilter: ['class'] });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bind);
  else bind();
})();
