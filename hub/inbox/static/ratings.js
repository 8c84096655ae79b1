// @ts-check
/* Customers' ratings of resolved conversations, on the contact: their average in the contact
 * panel, and each rating (stars, comment, the operator it counts for) on the contact page. Read
 * from GET /api/v1/contacts/{id}/ratings and again when conversation.rated arrives; the rating
 * itself also shows in the conversation as an activity (inbox.js). A feature script on
 * window.HubInbox; every text goes in with textContent. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      ratings: 'Customer ratings', ratings_summary: 'Rated {avg} ★ on average ({n})',
      rating_none: 'No ratings yet', rating_for: 'for {name}'
    },
    ru: {
      ratings: 'Оценки клиента', ratings_summary: 'Средняя оценка {avg} ★ ({n})',
      rating_none: 'Оценок пока нет', rating_for: 'для {name}'
    }
  });

  /** @type {number | null} the contact page's contact, when the page is one */
  var pageContact = null;

  /** @param {number} score */
  function stars(score) {
    var out = '';
    for (var i = 1; i <= 5; i++) out += i <= score ? '★' : '☆';
    return out;
  }
  /** @param {ApiJson} card {count, average} */
  function summary(card) {
    return card.count
      ? H.t('ratings_summary', { avg: card.average.toFixed(1), n: card.count })
      : H.t('rating_none');
  }
  /** @param {number} id */
  function load(id) {
    return H.api('GET', '/api/v1/contacts/' + id + '/ratings');
  }

  /* The contact panel beside a conversation: one line under the contact's fields. */
  function paneLine() {
    var line = document.getElementById('c-ratings');
    if (line) return line;
    line = H.el('p', 'small c-ratings');
    line.id = 'c-ratings';
    line.hidden = true;
    var fields = H.$('c-fields');
    fields.after(line);
    return line;
  }
  function renderPane() {
    var c = H.state().contact;
    var line = paneLine();
    if (!c) { line.hidden = true; return; }
    var id = c.id;
    load(id).then(function (card) {
      var now = H.state().contact;
      if (!now || now.id !== id) return;
      line.textContent = summary(card);
      line.hidden = !card.count;
    }).catch(function () { line.hidden = true; });
  }

  /* The contact page: a list of every rating, newest first. */
  function pageBox() {
    var box = document.getElementById('cp-ratings');
    if (box) return box;
    box = H.el('section', 'cp-ratings');
    box.id = 'cp-ratings';
    box.appendChild(H.el('h3', '', H.t('ratings')));
    box.appendChild(H.el('p', 'small muted'));
    box.appendChild(H.el('ul', 'mini-list'));
    var fields = H.$('cp-fields');
    fields.after(box);
    return box;
  }
  /** @param {number} id */
  function renderPage(id) {
    pageContact = id;
    load(id).then(function (card) {
      if (pageContact !== id) return;
      var box = pageBox();
      /** @type {HTMLElement} */ (box.querySelector('h3')).textContent = H.t('ratings');
      /** @type {HTMLElement} */ (box.querySelector('p')).textContent = summary(card);
      var list = /** @type {HTMLElement} */ (box.querySelector('ul'));
      H.clear(list);
      card.items.forEach(/** @param {ApiJson} r */ function (r) {
        var li = H.el('li', 'rating-item');
        li.setAttribute('data-rating', String(r.score));
        li.appendChild(H.el('span', 'stars', stars(r.score)));
        if (r.comment) li.appendChild(H.el('span', '', ' ' + r.comment));
        var meta = ' · ' + H.when(r.created_at);
        if (r.operator_name) meta += ' · ' + H.t('rating_for', { name: r.operator_name });
        li.appendChild(H.el('span', 'muted small', meta + ' '));
        var link = H.el('a', 'link small', '#' + r.conversation_id);
        link.href = '/inbox#c' + r.conversation_id;
        li.appendChild(link);
        list.appendChild(li);
      });
    }).catch(H.fail);
  }

  function bind() {
    document.addEventListener('hub:contact-rendered', renderPane);
    document.addEventListener('hub:contact-page', /** @param {Event} ev */ function (ev) {
      renderPage(/** @type {CustomEvent} */ (ev).detail.id);
    });
    document.addEventListener('hub:event', /** @param {Event} ev */ function (ev) {
      var detail = /** @type {CustomEvent} */ (ev).detail;
      if (detail.name !== 'conversation.rated') return;
      var c = H.state().contact;
      if (c && c.id === detail.data.contact_id) renderPane();
      if (pageContact !== null && pageContact === detail.data.contact_id) renderPage(pageContact);
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', bind);
  else bind();
})();
