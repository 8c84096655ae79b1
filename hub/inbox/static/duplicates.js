// @ts-check
/* Possible duplicates in the contact panel: contacts with the same phone, email or identity
 * (exact) or the same name (weak), each with "Merge into this contact"; a merge can be undone
 * from the note it leaves. Exact matches of a new contact are merged by the lead intake
 * already; what shows here is for the operator to decide. A feature script on HubInbox. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      duplicates: 'Possible duplicates', merge_here: 'Merge into this contact',
      merged: 'Merged', undo: 'Undo', unmerged: 'Merge undone', strength_exact: 'same',
      strength_weak: 'similar', reason_phone: 'phone', reason_email: 'email',
      reason_identity: 'channel id', reason_name: 'name',
      reason_name_and_phone_tail: 'name and the end of the phone'
    },
    ru: {
      duplicates: 'Возможные дубли', merge_here: 'Объединить с этим контактом',
      merged: 'Объединено', undo: 'Отменить', unmerged: 'Объединение отменено',
      strength_exact: 'тот же', strength_weak: 'похожий', reason_phone: 'телефон',
      reason_email: 'почта', reason_identity: 'id в канале', reason_name: 'имя',
      reason_name_and_phone_tail: 'имя и конец телефона'
    }
  });

  /** @type {number | null} the contact whose duplicates are shown */
  var shownFor = null;
  /** @type {ApiJson} the merge made here, which "Undo" takes back; null when none */
  var lastMerge = null;

  /** @param {ApiJson} item */
  function reasons(item) {
    return (item.reasons || []).map(/** @param {unknown} r */ function (r) {
      var key = 'reason_' + String(r);
      var text = H.t(key);
      return text === key ? String(r) : text;
    }).join(', ');
  }
  /** @param {ApiJson[]} items */
  function render(items) {
    var box = H.$('c-dups');
    var list = H.$('c-dups-list');
    H.clear(list);
    items.forEach(function (item) {
      var li = H.el('li', 'dup-item');
      var a = H.el('a', 'link', item.contact.name || ('#' + item.contact.id));
      a.href = '/inbox/contacts/' + item.contact.id;
      li.appendChild(a);
      li.appendChild(H.el('span', 'muted small', H.t('strength_' + item.strength) + ' ' + reasons(item)));
      var btn = H.el('button', 'link small', H.t('merge_here'));
      btn.type = 'button';
      btn.setAttribute('data-merge', String(item.contact.id));
      li.appendChild(btn);
      list.appendChild(li);
    });
    H.show(box, items.length > 0 || !!lastMerge);
    H.show(H.$('c-merged'), !!lastMerge);
  }
  function load() {
    var c = H.state().contact;
    if (!c) { shownFor = null; return; }
    if (shownFor !== c.id) lastMerge = null;
    shownFor = c.id;
    H.api('GET', '/api/v1/contacts/' + c.id + '/duplicates').then(function (d) {
      if (H.state().contact && H.state().contact.id === c.id) render(d.items || []);
    }).catch(function () { render([]); });
  }
  /** @param {number} otherId */
  function merge(otherId) {
    var c = H.state().contact;
    if (!c) return;
    H.api('POST', '/api/v1/contacts/' + c.id + '/merge', { other_id: otherId }).then(function (m) {
      lastMerge = m;
      H.toast(H.t('merged'));
      H.reloadContact();
    }).catch(H.fail);
  }
  function undo() {
    if (!lastMerge) return;
    H.api('POST', '/api/v1/contacts/merges/' + lastMerge.id + '/undo').then(function () {
      lastMerge = null;
      H.toast(H.t('unmerged'));
      H.reloadContact();
    }).catch(H.fail);
  }
  function bind() {
    H.$('c-dups-list').addEventListener('click', function (ev) {
      var id = H.targetAttr(ev, 'data-merge');
      if (id) merge(Number(id));
    });
    H.$('c-undo-merge').addEventListener('click', undo);
    document.addEventListener('hub:contact-rendered', load);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bind);
  else bind();
})();
