// @ts-check
/* Contact merges in plain sight: the activity an automatic merge leaves in the conversation
 * (told again in Russian from its meta) with Undo, and the list of merges (all, or one
 * contact's), newest first, each undoable by whoever the hub lets. A feature script on
 * HubInbox; the list is GET /api/v1/contacts/merges. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      merges: 'Merges', merges_title: 'Contact merges', merges_none: 'No merges',
      contact_merges: 'Merges of this contact', merges_of: 'Merges of contact {name}',
      merge_undo: 'Undo', merge_undone: 'undone', merge_auto: 'automatic',
      merge_into: '{merged} → {kept}', merge_done_undo: 'The merge was undone',
      basis_phone: 'phone', basis_email: 'email', basis_identity: 'verified identity',
      basis_verified: '(verified)', basis_unverified: '(unverified)'
    },
    ru: {
      merges: 'Объединения', merges_title: 'Объединения контактов', merges_none: 'Объединений нет',
      contact_merges: 'Объединения этого контакта', merges_of: 'Объединения контакта {name}',
      merge_undo: 'Отменить', merge_undone: 'отменено', merge_auto: 'автоматически',
      merge_into: '{merged} → {kept}', merge_done_undo: 'Объединение отменено',
      basis_phone: 'телефон', basis_email: 'почта', basis_identity: 'подтверждённый id',
      basis_verified: '(подтверждён)', basis_unverified: '(не подтверждён)',
      act_merge: 'Контакт {merged} автоматически объединён с {kept}: совпадает {basis}',
      act_merge_undone: '{actor} отменил(а) автоматическое объединение: {merged} снова отдельный контакт'
    }
  });
  /** The words of a merge's basis ("phone (unverified)"), by their text key. */
  var BASIS = {
    phone: 'basis_phone', email: 'basis_email', identity: 'basis_identity',
    '(verified)': 'basis_verified', '(unverified)': 'basis_unverified'
  };


  /** @param {string} name @param {number} id */
  function label(name, id) { return name ? '«' + name + '» (#' + id + ')' : '#' + id; }
  /** @param {string} basis */
  function basisRu(basis) {
    return String(basis || '').split(' ').map(function (w) {
      var word = w.replace(/,$/, '');
      var key = /** @type {Record<string, string>} */ (BASIS)[word];
      return key ? H.t(key) + w.slice(word.length) : w;
    }).join(' ');
  }
  /** @param {number} mergeId whether its undo is in the open conversation already */
  function undoneHere(mergeId) {
    return H.state().messages.some(/** @param {ApiJson} m */ function (m) {
      return m.kind === 'activity' && m.meta && m.meta.action === 'merge_undone' && m.meta.merge_id === mergeId;
    });
  }
  /** @param {number} mergeId @param {() => void} [then] */
  function undo(mergeId, then) {
    H.api('POST', '/api/v1/contacts/merges/' + mergeId + '/undo').then(function () {
      H.toast(H.t('merge_done_undo'));
      H.reloadContact();
      if (then) then();
    }).catch(H.fail);
  }
  H.onActivity(function (node, m) {
    var meta = m.meta || {};
    if (meta.action !== 'merge' && meta.action !== 'merge_undone') return;
    var body = H.find('.body', HTMLElement, node);
    if (H.state().lang === 'ru') {
      body.textContent = meta.action === 'merge'
        ? H.t('act_merge', {
          merged: label(meta.merged_name, meta.merged_id),
          kept: label(meta.kept_name, meta.kept_id),
          basis: basisRu(meta.basis)
        })
        : H.t('act_merge_undone', { actor: m.sender && m.sender.name ? m.sender.name : '', merged: label(meta.merged_name, meta.merged_id) });
    }
    if (meta.action === 'merge' && !undoneHere(meta.merge_id)) {
      var btn = H.el('button', 'link small merge-undo', H.t('merge_undo'));
      btn.type = 'button';
      btn.setAttribute('data-undo-merge', String(meta.merge_id));
      node.appendChild(btn);
    }
  });
  H.$('messages').addEventListener('click', function (ev) {
    var id = H.targetAttr(ev, 'data-undo-merge');
    var current = H.state().current;
    // The conversation goes back to its own contact: shown again with that contact's card.
    if (id) undo(Number(id), function () { if (current !== null) H.openConversation(current); });
  });

  /* ---------- the list ---------- */
  /** @type {{contact: ApiJson, cursor: string | null}} */
  var view = { contact: null, cursor: null };
  /** @param {ApiJson} m */
  function item(m) {
    var li = H.el('li', 'merge-item');
    li.setAttribute('data-merge', String(m.id));
    var text = H.t('merge_into', { merged: label(m.merged.name, m.merged.id), kept: label(m.kept.name, m.kept.id) });
    var main = H.el('span', 'grow', text);
    li.appendChild(main);
    var about = [new Date(m.created_at).toLocaleString(H.state().lang, { dateStyle: 'short', timeStyle: 'short' })];
    if (m.automatic) about.push(H.t('merge_auto'));
    if (m.reason) about.push(m.reason);
    if (m.undone_at) about.push(H.t('merge_undone'));
    li.appendChild(H.el('span', 'muted small', about.join(' · ')));
    if (!m.undone_at) {
      var btn = H.el('button', 'link small', H.t('merge_undo'));
      btn.type = 'button';
      btn.setAttribute('data-undo-merge', String(m.id));
      li.appendChild(btn);
    }
    return li;
  }
  /** @param {boolean} more */
  function load(more) {
    var params = ['limit=25'];
    if (view.contact) params.push('contact_id=' + view.contact.id);
    if (more && view.cursor) params.push('cursor=' + encodeURIComponent(view.cursor));
    H.api('GET', '/api/v1/contacts/merges?' + params.join('&')).then(function (d) {
      var list = H.$('merges-list');
      if (!more) H.clear(list);
      d.items.forEach(/** @param {ApiJson} m */ function (m) { list.appendChild(item(m)); });
      view.cursor = d.next_cursor;
      H.show(H.$('merges-more'), !!d.next_cursor);
      H.show(H.$('merges-empty'), list.childNodes.length === 0);
    }).catch(H.fail);
  }
  /** @param {ApiJson} contact null for every merge */
  function openList(contact) {
    view = { contact: contact, cursor: null };
    var of = H.$('merges-of');
    of.textContent = contact ? H.t('merges_of', { name: label(contact.name, contact.id) }) : '';
    H.show(of, !!contact);
    H.show(H.$('merges-dialog'), true);
    load(false);
  }
  H.$('merges-btn').addEventListener('click', function () { openList(null); });
  H.$('c-merges-btn').addEventListener('click', function () { openList(H.state().contact); });
  H.$('merges-close').addEventListener('click', function () { H.show(H.$('merges-dialog'), false); });
  H.$('merges-more').addEventListener('click', function () { load(true); });
  H.$('merges-list').addEventListener('click', function (ev) {
    var id = H.targetAttr(ev, 'data-undo-merge');
    if (id) undo(Number(id), function () { load(false); });
  });
})();
