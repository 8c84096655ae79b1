// @ts-check
/* The admin area's call tracking, which before was the CLI's and the API's only: the advert
 * numbers labelled with their source and campaign, whose first calls become leads with that
 * source (GET, POST, DELETE /api/v1/tracking-numbers), and each website chat's pool of numbers
 * the site shows its visitors, one each, with the default number and the pool's use over the
 * last 14 days (GET, PATCH /api/v1/channels/{id}/number-pool, POST and DELETE its numbers). */
(function () {
  'use strict';
  var A = window.HubAdmin;
  var D = window.HubDom;
  if (!A) return;
  var H = A;
  var el = D.el, t = H.t;

  H.addTexts({
    en: {
      tr_title: 'Call tracking', tr_numbers: 'Advert numbers',
      tr_numbers_hint: 'A first call to one of these numbers becomes a lead with its source and campaign; the reports count calls per number.',
      tr_number: 'Number', tr_source: 'Source', tr_medium: 'Medium', tr_campaign: 'Campaign', tr_label: 'Label',
      tr_add: 'Add', tr_remove: 'Remove', tr_none: 'No numbers yet', tr_added: 'Added', tr_removed: 'Removed',
      tr_pools: 'Numbers on the site', tr_no_sites: 'Connect a website chat first: its widget shows the pool\'s numbers on the site.',
      tr_pools_hint: 'Each visitor is shown a number of the pool of his own; a call to it is traced to his visit. Mark the phone on the site with data-hub-phone.',
      tr_default: 'Default number (shown when every number is held)', tr_save_default: 'Save',
      tr_free: 'free', tr_held_until: 'held until {when}',
      tr_usage: '{held} of {size} held now; over {days} days {given} given out, ran out {out} times',
      tr_ran_out_last: 'last ran out {when}', tr_confirm_remove: 'Remove {number}?', tr_saved: 'Saved'
    },
    ru: {
      tr_title: 'Коллтрекинг', tr_numbers: 'Номера рекламы',
      tr_numbers_hint: 'Первый звонок на такой номер становится заявкой с его источником и кампанией; отчёты считают звонки по номерам.',
      tr_number: 'Номер', tr_source: 'Источник', tr_medium: 'Канал', tr_campaign: 'Кампания', tr_label: 'Подпись',
      tr_add: 'Добавить', tr_remove: 'Убрать', tr_none: 'Номеров пока нет', tr_added: 'Добавлено', tr_removed: 'Убрано',
      tr_pools: 'Номера на сайте', tr_no_sites: 'Сначала подключите чат на сайте: номера пула показывает его виджет.',
      tr_pools_hint: 'Каждому посетителю сайт показывает свой номер из пула; звонок на него связывается с его визитом. Отметьте телефон на сайте атрибутом data-hub-phone.',
      tr_default: 'Номер по умолчанию (когда все номера заняты)', tr_save_default: 'Сохранить',
      tr_free: 'свободен', tr_held_until: 'занят до {when}',
      tr_usage: 'Занято {held} из {size}; за {days} дн. выдано {given}, не хватило {out} раз',
      tr_ran_out_last: 'последний раз не хватило {when}', tr_confirm_remove: 'Убрать {number}?', tr_saved: 'Сохранено'
    }
  });

  /** @type {{numbers: ApiJson[], sites: ApiJson[], pools: Record<string, ApiJson>}} */
  var P = { numbers: [], sites: [], pools: {} };

  function load() {
    return Promise.all([H.api('GET', '/api/v1/tracking-numbers'), H.api('GET', '/api/v1/channels')]).then(function (all) {
      P.numbers = all[0].items;
      P.sites = all[1].items.filter(/** @param {ApiJson} c */ function (c) { return c.type === 'widget' && c.active; });
      return Promise.all(P.sites.map(/** @param {ApiJson} c */ function (c) {
        return H.api('GET', '/api/v1/channels/' + c.id + '/number-pool').then(function (pool) { P.pools[c.id] = pool; });
      }));
    }).then(function () { return undefined; });
  }
  /** After a change: read again and draw. @param {string} said */
  function changed(said) {
    return load().then(function () { H.toast(t(said)); return H.reload(); });
  }
  /**
   * Sends the form's change when submitted, then reads again and draws.
   * @param {HTMLElement} form @param {HTMLButtonElement} button @param {() => Promise<ApiJson>} send @param {string} said
   */
  function onSubmit(form, button, send, said) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      button.disabled = true;
      send().then(function () { return changed(said); }).catch(H.fail).then(function () { button.disabled = false; });
    });
  }
  /** @param {string} name @param {string} [type] */
  function input(name, type) {
    var node = el('input');
    node.name = name;
    node.type = type || 'text';
    return node;
  }
  /** @param {string} iso */
  function when(iso) { return window.HubLocale.when(iso, H.lang()); }
  /** @param {string} number @param {string} path */
  function removeButton(number, path) {
    var b = H.button(t('tr_remove'), 'danger');
    b.addEventListener('click', function () {
      if (!window.confirm(t('tr_confirm_remove', { number: number }))) return;
      b.disabled = true;
      H.api('DELETE', path).then(function () { return changed('tr_removed'); }).catch(function (err) { b.disabled = false; H.fail(err); });
    });
    return b;
  }

  /** @param {HTMLElement} box */
  function renderNumbers(box) {
    var card = el('div', 'card');
    card.id = 'tracking-numbers';
    card.appendChild(el('h3', '', t('tr_numbers')));
    card.appendChild(el('p', 'muted small', t('tr_numbers_hint')));
    var list = el('ul', 'tracking-list');
    if (!P.numbers.length) list.appendChild(el('li', 'muted', t('tr_none')));
    P.numbers.forEach(/** @param {ApiJson} n */ function (n) {
      var li = el('li');
      li.setAttribute('data-number', n.number);
      li.appendChild(el('strong', '', n.number));
      li.appendChild(el('span', '', [n.source, n.medium, n.campaign].filter(Boolean).join(' · ')));
      li.appendChild(removeButton(n.number, '/api/v1/tracking-numbers/' + n.id));
      list.appendChild(li);
    });
    card.appendChild(list);
    var form = el('form', 'admin-form');
    form.id = 'tracking-number-form';
    var row = el('div', 'row');
    var number = input('number', 'tel');
    number.required = true;
    var source = input('source');
    source.required = true;
    var medium = input('medium');
    var campaign = input('campaign');
    row.appendChild(H.field(t('tr_number'), number));
    row.appendChild(H.field(t('tr_source'), source));
    row.appendChild(H.field(t('tr_medium'), medium));
    row.appendChild(H.field(t('tr_campaign'), campaign));
    form.appendChild(row);
    var add = el('button', 'primary', t('tr_add'));
    add.type = 'submit';
    form.appendChild(add);
    onSubmit(form, add, function () {
      return H.api('POST', '/api/v1/tracking-numbers', { number: number.value, source: source.value, medium: medium.value, campaign: campaign.value });
    }, 'tr_added');
    card.appendChild(form);
    box.appendChild(card);
  }

  /** @param {ApiJson} site @param {ApiJson} pool */
  function poolCard(site, pool) {
    var base = '/api/v1/channels/' + site.id + '/number-pool';
    var card = el('div', 'card');
    card.setAttribute('data-pool', String(site.id));
    card.appendChild(el('h3', '', site.name));
    var u = pool.usage;
    var usage = t('tr_usage', { held: u.held_now, size: u.pool_size, days: u.days.length, given: u.reservations, out: u.ran_out });
    if (u.last_ran_out_at) usage += '; ' + t('tr_ran_out_last', { when: when(u.last_ran_out_at) });
    var line = el('p', 'small' + (u.ran_out ? ' warn' : ' muted'), usage);
    line.setAttribute('data-usage', '');
    card.appendChild(line);
    var list = el('ul', 'tracking-list');
    pool.numbers.forEach(/** @param {ApiJson} n */ function (n) {
      var li = el('li');
      li.setAttribute('data-number', n.number);
      li.appendChild(el('strong', '', n.number));
      if (n.label) li.appendChild(el('span', '', n.label));
      li.appendChild(el('span', 'muted small', n.held_until ? t('tr_held_until', { when: when(n.held_until) }) : t('tr_free')));
      li.appendChild(removeButton(n.number, base + '/numbers/' + n.id));
      list.appendChild(li);
    });
    card.appendChild(list);
    var form = el('form', 'admin-form');
    form.setAttribute('data-pool-add', String(site.id));
    var row = el('div', 'row');
    var number = input('number', 'tel');
    number.required = true;
    var label = input('label');
    row.appendChild(H.field(t('tr_number'), number));
    row.appendChild(H.field(t('tr_label'), label));
    form.appendChild(row);
    var add = el('button', 'primary', t('tr_add'));
    add.type = 'submit';
    form.appendChild(add);
    onSubmit(form, add, function () { return H.api('POST', base + '/numbers', { number: number.value, label: label.value }); }, 'tr_added');
    card.appendChild(form);
    var fallback = el('form', 'admin-form');
    fallback.setAttribute('data-pool-default', String(site.id));
    var def = input('default_number', 'tel');
    def.value = pool.default_number || '';
    var frow = el('div', 'row');
    frow.appendChild(H.field(t('tr_default'), def));
    fallback.appendChild(frow);
    var save = el('button', '', t('tr_save_default'));
    save.type = 'submit';
    fallback.appendChild(save);
    onSubmit(fallback, save, function () { return H.api('PATCH', base, { default_number: def.value || null }); }, 'tr_saved');
    card.appendChild(fallback);
    return card;
  }

  /** @param {HTMLElement} box */
  function render(box) {
    box.appendChild(el('h2', '', t('tr_title')));
    renderNumbers(box);
    box.appendChild(el('h3', '', t('tr_pools')));
    box.appendChild(el('p', 'muted small', P.sites.length ? t('tr_pools_hint') : t('tr_no_sites')));
    P.sites.forEach(/** @param {ApiJson} site */ function (site) {
      var pool = P.pools[site.id];
      if (pool) box.appendChild(poolCard(site, pool));
    });
  }

  H.section('tracking', render, load);
})();
