/* Editing the contact card beside a conversation: name, phones, emails, company, notes.
 * Phones may be typed any local way (8 (916) 123-45-67); the server stores E.164 and refuses
 * the whole edit if one entry is wrong, so the form stays open with the error shown. */
(function () {
  'use strict';
  var H = window.HubInbox;
  if (!H) return;
  H.addTexts({
    en: {
      edit: 'Edit', save: 'Save', name: 'Name', phones_hint: 'one per line', emails_hint: 'one per line'
    },
    ru: {
      edit: 'Изменить', save: 'Сохранить', name: 'Имя', phones_hint: 'по одному в строке',
      emails_hint: 'по одному в строке'
    }
  });

  var editing = null;

  function lines(text) {
    return text.split(/[\n,;]+/).map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function open() {
    var c = H.state().contact;
    if (!c) return;
    var form = H.$('c-edit');
    var attrs = c.attributes || {};
    form.elements.name.value = c.name || '';
    form.elements.phones.value = c.phones.join('\n');
    form.elements.emails.value = c.emails.join('\n');
    form.elements.company.value = attrs.company || '';
    form.elements.notes.value = attrs.notes || '';
    editing = c.id;
    H.show(H.$('c-edit-error'), false);
    H.show(form, true);
    H.show(H.$('c-fields'), false);
    form.elements.name.focus();
  }
  function close() {
    editing = null;
    H.show(H.$('c-edit'), false);
    H.show(H.$('c-fields'), true);
  }
  function save(ev) {
    ev.preventDefault();
    var form = ev.target;
    if (editing === null) return;
    H.api('PATCH', '/api/v1/contacts/' + editing, {
      name: form.elements.name.value,
      phones: lines(form.elements.phones.value),
      emails: lines(form.elements.emails.value),
      company: form.elements.company.value,
      notes: form.elements.notes.value
    }).then(function (saved) {
      close();
      H.contactChanged(saved);
    }).catch(function (err) {
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
