// @ts-check
/* Editing the contact card beside a conversation: name, phones, emails, company, notes.
 * Phones may be typed any local way (8 (916) 123-45-67); the server stores E.164 and refuses
 * the whole edit if one entry is wrong, so the form stays open with the error shown. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      edit: 'Edit', save: 'Save', name: 'Name', phones_hint: 'one per line', emails_hint: 'one per line'
    },
    ru: {
      edit: 'Изменить', save: 'Сохранить', name: 'Имя', phones_hint: 'по одному в строке',
      emails_hint: 'по одному в строке'
    }
  });

  /** @type {number | null} the contact whose card is being edited */
  var editing = null;

  /** @param {string} text */
  function lines(text) {
    return text.split(/[\n,;]+/).map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function open() {
    var c = H.state().contact;
    if (!c) return;
    var form = H.$('c-edit', HTMLFormElement);
    var attrs = c.attributes || {};
    H.control(form, 'name').value = c.name || '';
    H.control(form, 'phones').value = c.phones.join('\n');
    H.control(form, 'emails').value = c.emails.join('\n');
    H.control(form, 'company').value = attrs.company || '';
    H.control(form, 'notes').value = attrs.notes || '';
    editing = c.id;
    H.show(H.$('c-edit-error'), false);
    H.show(form, true);
    H.show(H.$('c-fields'), false);
    H.control(form, 'name').focus();
  }
  function close() {
    editing = null;
    H.show(H.$('c-edit'), false);
    H.show(H.$('c-fields'), true);
  }
  /** @param {SubmitEvent} ev */
  function save(ev) {
    ev.preventDefault();
    var form = H.$('c-edit', HTMLFormElement);
    if (editing === null) return;
    H.api('PATCH', '/api/v1/contacts/' + editing, {
      name: H.control(form, 'name').value,
      phones: lines(H.control(form, 'phones').value),
      emails: lines(H.control(form, 'emails').value),
      company: H.control(form, 'company').value,
      notes: H.control(form, 'notes').value
    }).then(function (saved) {
      close();
      H.contactChanged(saved);
    }).catch(/** @param {HubError} err */ function (err) {
      var box = H.$('c-edit-error');
      box.textContent = err && err.message ? err.message : H.t('error');
      H.show(box, true);
    });
  }
  function bind() {
    H.$('c-edit-btn').addEventListener('click', open);
    H.$('c-edit').addEventListener('submit', save);
    H.$('c-edit-cancel').addEventListener('click', close);
    // Another conversation's contact in the panel: the edit of the previous one is dropped.
    document.addEventListener('hub:contact-rendered', function () {
      var c = H.state().contact;
      if (editing !== null && (!c || c.id !== editing)) close();
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bind);
  else bind();
})();
