// @ts-check
/* A new email to the contact beside the conversation: "Write an email" on his card opens a
 * small form (from which mailbox, to which of his addresses, subject, text); sending it opens
 * a new conversation on that email channel (POST /api/v1/contacts/{id}/emails), which the
 * page then shows. The button is there only when the contact has an email and the hub has an
 * email channel (a channel type that threads and carries HTML: its registration says so). */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      email_new: 'Write an email', email_from: 'From', email_to: 'To', email_subject: 'Subject',
      email_text: 'Text', email_send: 'Send the email', email_queued: 'The email is on its way'
    },
    ru: {
      email_new: 'Написать письмо', email_from: 'От', email_to: 'Кому', email_subject: 'Тема',
      email_text: 'Текст', email_send: 'Отправить письмо', email_queued: 'Письмо отправляется'
    }
  });

  /** @type {ApiJson[]} the email channels, loaded once */
  var mailboxes = [];
  /** @type {number | null} the contact the form writes to */
  var writing = null;
  /** Whether the channels were asked for (on the first contact shown, once signed in). */
  var asked = false;

  function loadMailboxes() {
    return H.api('GET', '/api/v1/channels').then(function (d) {
      mailboxes = d.items.filter(/** @param {ApiJson} c */ function (c) {
        return c.active && window.HubDom.channelCan(c.type, 'threads') && window.HubDom.channelCan(c.type, 'html');
      });
      refresh();
    }).catch(function () { mailboxes = []; });
  }

  /** @param {HTMLSelectElement} select @param {{value: string, label: string}[]} options */
  function fill(select, options) {
    H.clear(select);
    options.forEach(function (o) {
      var opt = H.el('option', '', o.label);
      opt.value = o.value;
      select.appendChild(opt);
    });
  }

  function refresh() {
    var c = H.state().contact;
    var can = !!(c && c.emails && c.emails.length && mailboxes.length);
    H.show(H.$('c-email-btn'), can);
    if (!can && writing !== null) close();
  }

  function open() {
    var c = H.state().contact;
    if (!c || !c.emails.length || !mailboxes.length) return;
    var form = H.$('c-email', HTMLFormElement);
    fill(/** @type {HTMLSelectElement} */ (H.control(form, 'channel_id')), mailboxes.map(function (m) {
      return { value: String(m.id), label: m.name };
    }));
    fill(/** @type {HTMLSelectElement} */ (H.control(form, 'to')), c.emails.map(/** @param {string} e */ function (e) {
      return { value: e, label: e };
    }));
    H.control(form, 'subject').value = '';
    H.control(form, 'body').value = '';
    H.find('input[name=tracking]', HTMLInputElement, form).checked = true;
    writing = c.id;
    H.show(H.$('c-email-error'), false);
    H.show(form, true);
    H.control(form, 'subject').focus();
  }
  function close() {
    writing = null;
    H.show(H.$('c-email'), false);
  }
  /** @param {SubmitEvent} ev */
  function send(ev) {
    ev.preventDefault();
    if (writing === null) return;
    var form = H.$('c-email', HTMLFormElement);
    var button = H.find('button[type=submit]', HTMLButtonElement, form);
    button.disabled = true;
    H.api('POST', '/api/v1/contacts/' + writing + '/emails', {
      channel_id: Number(H.control(form, 'channel_id').value),
      to: H.control(form, 'to').value,
      subject: H.control(form, 'subject').value,
      body: H.control(form, 'body').value,
      tracking: H.find('input[name=tracking]', HTMLInputElement, form).checked
    }).then(function (made) {
      close();
      H.toast(H.t('email_queued'));
      H.openConversation(made.conversation.id);
    }).catch(/** @param {HubError} err */ function (err) {
      var box = H.$('c-email-error');
      box.textContent = err && err.message ? err.message : H.t('error');
      H.show(box, true);
    }).then(function () { button.disabled = false; });
  }
  function bind() {
    H.$('c-email-btn').addEventListener('click', open);
    H.$('c-email').addEventListener('submit', send);
    H.$('c-email-cancel').addEventListener('click', close);
    document.addEventListener('hub:contact-rendered', function () {
      var c = H.state().contact;
      if (writing !== null && (!c || c.id !== writing)) close();
      if (!asked) { asked = true; loadMailboxes(); } else refresh();
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bind);
  else bind();
})();
