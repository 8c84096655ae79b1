// @ts-check
/* Answering one message: "Reply to this" on a customer's message quotes it above the composer,
 * and the reply is sent with reply_to_id so channels that thread (Telegram) keep the thread. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: { reply_to_this: 'Reply to this', replying_to: 'Replying to:', in_reply_to: 'In reply to' },
    ru: { reply_to_this: 'Ответить на это', replying_to: 'Ответ на:', in_reply_to: 'В ответ на' }
  });

  /** @type {ApiJson} the message being answered, or null */
  var target = null;

  /** @param {ApiJson} m */
  function excerpt(m) {
    var text = m.body || (m.attachments && m.attachments.length ? m.attachments[0].filename : '');
    return text.length > 80 ? text.slice(0, 79) + '…' : text;
  }
  function render() {
    var bar = H.$('reply-bar');
    H.show(bar, !!target);
    if (target) H.$('reply-text').textContent = excerpt(target);
  }
  /** @param {HTMLElement} node @param {ApiJson} m */
  function decorate(node, m) {
    var meta = node.querySelector('.msg-meta');
    if (!meta) return;
    if (m.kind === 'incoming') {
      var btn = H.el('button', 'link small reply-to', H.t('reply_to_this'));
      btn.type = 'button';
      btn.setAttribute('data-reply-to', String(m.id));
      meta.appendChild(btn);
    }
    if (m.reply_to_id) {
      var answered = H.state().messages.filter(function (x) { return x.id === m.reply_to_id; })[0];
      var quote = H.el('div', 'quote', H.t('in_reply_to') + ': ' + (answered ? excerpt(answered) : '#' + m.reply_to_id));
      node.insertBefore(quote, node.firstChild);
    }
  }
  H.onMessage(decorate);
  H.onSend(function () {
    if (!target || target.conversation_id !== H.state().current) return {};
    return { reply_to_id: target.id };
  });
  H.onSent(function () { target = null; render(); });

  function bind() {
    H.$('messages').addEventListener('click', function (ev) {
      var id = H.targetAttr(ev, 'data-reply-to');
      if (!id) return;
      target = H.state().messages.filter(function (x) { return x.id === Number(id); })[0] || null;
      render();
      if (target && H.state().mode === 'note') H.find('[data-mode=reply]', HTMLElement, H.$('composer')).click();
      H.$('body').focus();
    });
    H.$('reply-cancel').addEventListener('click', function () { target = null; render(); });
    document.addEventListener('hub:conversation-opened', function () {
      if (target && target.conversation_id !== H.state().current) { target = null; render(); }
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bind);
  else bind();
})();
