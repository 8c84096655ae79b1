// @ts-check
/* The manager's contact page (/inbox/contacts/{id}) beyond the card and the history the inbox
 * draws: who he is on the site right now (the page, city, browser, system and device of each
 * open tab; the city only when the hub has a GeoIP database, HUB_GEOIP_DATABASE), his deals with
 * their stages, his tasks, and where he came from (first and last touch: source, campaign, the page's
 * title, the referring site), written for people rather than as raw URLs. A feature script on
 * HubInbox, drawn on the inbox's 'hub:contact-page'. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      cp_online: 'On the site now', cp_deals: 'Deals', cp_tasks: 'Tasks', cp_no_tasks: 'No tasks',
      cp_no_deals: 'No deals', cp_touches: 'Where he came from', cp_first: 'First visit',
      cp_last: 'Last visit', cp_source: 'Source', cp_campaign: 'Campaign', cp_medium: 'Medium',
      cp_page: 'Page', cp_from_site: 'Came from', cp_direct: 'Direct visit or unknown',
      cp_browser: 'Browser', cp_device: 'Device', cp_city: 'City', cp_since: 'Seen', cp_overdue: 'overdue',
      cp_done: 'done', cp_due: 'due {when}', cp_no_touch: 'Not known',
      device_phone: 'phone', device_tablet: 'tablet', device_desktop: 'computer',
      deal_won: 'won', deal_lost: 'lost'
    },
    ru: {
      cp_online: 'Сейчас на сайте', cp_deals: 'Сделки', cp_tasks: 'Задачи', cp_no_tasks: 'Задач нет',
      cp_no_deals: 'Сделок нет', cp_touches: 'Откуда пришёл', cp_first: 'Первый визит',
      cp_last: 'Последний визит', cp_source: 'Источник', cp_campaign: 'Кампания', cp_medium: 'Канал рекламы',
      cp_page: 'Страница', cp_from_site: 'Перешёл с', cp_direct: 'Прямой заход или неизвестно',
      cp_browser: 'Браузер', cp_device: 'Устройство', cp_city: 'Город', cp_since: 'Был', cp_overdue: 'просрочена',
      cp_done: 'выполнена', cp_due: 'срок {when}', cp_no_touch: 'Неизвестно',
      device_phone: 'телефон', device_tablet: 'планшет', device_desktop: 'компьютер',
      deal_won: 'успешна', deal_lost: 'проиграна'
    }
  });

  function lang() { return H.state().lang; }
  /** @param {string} name */
  function stageName(name) { return window.HubDom.defaultName(name, lang()); }
  /** @param {string} amount @param {string} currency */
  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(lang(), { style: 'currency', currency: currency, maximumFractionDigits: 0 }).format(Number(amount));
    } catch (e) { return amount + ' ' + currency; }
  }
  /** @param {string | undefined} url @returns {URL | null} */
  function parsed(url) {
    if (!/^https?:\/\//i.test(url || '')) return null;
    try { return new URL(String(url)); } catch (e) { return null; }
  }
  /**
   * A row of a definition list; ``href`` makes the value a link (to http(s) only).
   * @param {HTMLElement} dl @param {string} label @param {string | undefined | null} value @param {URL | null} [href]
   */
  function row(dl, label, value, href) {
    if (!value) return;
    dl.appendChild(H.el('dt', '', label));
    var dd = H.el('dd');
    if (href) {
      var a = H.el('a', '', value);
      a.href = href.href;
      a.rel = 'noopener noreferrer nofollow';
      a.target = '_blank';
      a.title = href.href;
      dd.appendChild(a);
    } else {
      dd.textContent = value;
    }
    dl.appendChild(dd);
  }
  /** "Chrome 131 · Android · phone" @param {ApiJson} seen */
  function deviceText(seen) {
    var parts = [seen.browser, seen.os, seen.device ? H.t('device_' + seen.device) : ''];
    return parts.filter(function (p) { return !!p; }).join(' · ');
  }
  /** "Moscow, Russia", in the operator's language. @param {ApiJson} seen */
  function placeText(seen) { return window.HubLocale.place(seen, lang()); }
  /** The GeoIP database's credit after the city just written (when its licence asks for one).
   * @param {HTMLElement} dl @param {string} place */
  function withCredit(dl, place) {
    var link = place ? window.HubLocale.creditLink() : null;
    if (!link || !dl.lastElementChild) return;
    dl.lastElementChild.appendChild(document.createTextNode(' · '));
    dl.lastElementChild.appendChild(link);
  }
  /** The page as people name it: its title, else its address without the query. @param {ApiJson} touch */
  function pageText(touch) {
    var url = parsed(touch.url);
    if (touch.title) return touch.title;
    return url ? url.host + url.pathname : '';
  }

  /** @param {HTMLElement} box @param {ApiJson} touch @param {string} title */
  function touchBlock(box, touch, title) {
    box.appendChild(H.el('h4', '', title));
    var dl = H.el('dl', 'fields');
    if (!touch || !Object.keys(touch).length) {
      dl.appendChild(H.el('dd', 'muted', H.t('cp_no_touch')));
      box.appendChild(dl);
      return;
    }
    var from = parsed(touch.referrer);
    var page = parsed(touch.url);
    var ownSite = from && page && from.host === page.host;
    row(dl, H.t('cp_source'), touch.utm_source || (from && !ownSite ? from.host : H.t('cp_direct')));
    row(dl, H.t('cp_campaign'), touch.utm_campaign);
    row(dl, H.t('cp_medium'), touch.utm_medium);
    row(dl, H.t('cp_page'), pageText(touch), page);
    if (from && !ownSite && touch.utm_source) row(dl, H.t('cp_from_site'), from.host);
    row(dl, H.t('cp_city'), placeText(touch));
    withCredit(dl, placeText(touch));
    row(dl, H.t('cp_device'), deviceText(touch));
    row(dl, H.t('cp_since'), H.when(touch.at));
    box.appendChild(dl);
  }
  /** @param {ApiJson} contact */
  function drawTouches(contact) {
    var box = H.$('cp-touches');
    H.clear(box);
    var attrs = contact.attributes || {};
    touchBlock(box, attrs.first_touch, H.t('cp_first'));
    if (attrs.last_touch && attrs.first_touch && attrs.last_touch.at !== attrs.first_touch.at) {
      touchBlock(box, attrs.last_touch, H.t('cp_last'));
    }
  }
  /** @param {ApiJson} contact */
  function drawDeals(contact) {
    var list = H.$('cp-deals');
    H.clear(list);
    var deals = contact.deals || [];
    deals.forEach(/** @param {ApiJson} d */ function (d) {
      var li = H.el('li', 'deal-item');
      var a = H.el('a', 'link', d.title);
      a.href = '/inbox/deals/' + d.id;
      li.appendChild(a);
      var kind = d.stage ? d.stage.kind : 'open';
      li.appendChild(H.el('span', 'stage-pill stage-' + kind, d.stage ? stageName(d.stage.name) : ''));
      li.appendChild(H.el('span', 'muted small', money(d.amount, d.currency)));
      list.appendChild(li);
    });
    H.show(H.$('cp-no-deals'), !deals.length);
  }
  /** @param {number} id */
  function drawTasks(id) {
    var list = H.$('cp-tasks');
    return H.api('GET', '/api/v1/tasks?status=all&contact_id=' + id).then(function (d) {
      H.clear(list);
      d.items.forEach(/** @param {ApiJson} task */ function (task) {
        var li = H.el('li', 'task-item' + (task.overdue ? ' overdue' : '') + (task.status === 'done' ? ' done' : ''));
        li.appendChild(H.el('span', '', window.HubLocale.taskTitle(task, lang())));
        var note = task.status === 'done' ? H.t('cp_done')
          : task.due_at ? H.t('cp_due', { when: H.when(task.due_at) }) + (task.overdue ? ' · ' + H.t('cp_overdue') : '') : '';
        if (note) li.appendChild(H.el('span', 'muted small', note));
        list.appendChild(li);
      });
      H.show(H.$('cp-no-tasks'), !d.items.length);
    });
  }
  /** @param {number} id */
  function drawOnline(id) {
    var list = H.$('cp-online-list');
    return H.api('GET', '/api/v1/contacts/' + id + '/visitors').then(function (d) {
      H.clear(list);
      d.items.forEach(/** @param {ApiJson} v */ function (v) {
        var li = H.el('li', 'online-item');
        li.appendChild(H.el('span', 'dot-online'));
        var page = parsed(v.page_url);
        if (page) {
          var a = H.el('a', 'link', v.page_title || page.host + page.pathname);
          a.href = page.href;
          a.rel = 'noopener noreferrer nofollow';
          a.target = '_blank';
          li.appendChild(a);
        } else {
          li.appendChild(H.el('span', '', v.page_title));
        }
        var seen = [v.channel_name, placeText(v), deviceText(v)];
        li.appendChild(H.el('span', 'muted small', seen.filter(function (p) { return !!p; }).join(' · ')));
        list.appendChild(li);
      });
      var credit = H.$('cp-online-credit');
      H.clear(credit);
      var link = d.items.some(/** @param {ApiJson} v */ function (v) { return !!placeText(v); })
        ? window.HubLocale.creditLink() : null;
      if (link) credit.appendChild(link);
      H.show(credit, !!link);
      H.show(H.$('cp-online'), d.items.length > 0);
    });
  }
  /** @param {CustomEvent<{id: number, contact: ApiJson}>} ev */
  function draw(ev) {
    var contact = ev.detail.contact;
    if (!contact) return;
    drawDeals(contact);
    drawTouches(contact);
    Promise.all([drawTasks(contact.id), drawOnline(contact.id)]).catch(H.fail).then(function () {
      document.body.setAttribute('data-contact-page', String(contact.id));
    });
  }
  document.addEventListener('hub:contact-page', draw);
})();
