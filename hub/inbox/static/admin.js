// @ts-check
/* The admin area (/admin): its shell. Checks that the one logged in (the inbox's session
 * cookie) is an admin, reads the operators and teams every section shares, switches sections by
 * the address's #hash, and gives the sections' scripts (admin-people.js, admin-routing.js,
 * admin-channels.js, admin-sales.js, admin-hours.js) one global, HubAdmin (its type:
 * types/pages.d.ts). Operators and managers get a refusal and nothing else: the API refuses
 * them too. */
(function () {
  'use strict';
  var D = window.HubDom;
  var $ = D.$, el = D.el, clear = D.clear;

  /** @type {Texts} */
  var TEXTS = {
    en: {
      title: 'Settings', back_to_inbox: '← Inbox', log_in_first: 'Log in to the inbox first',
      admins_only_title: 'Only admins change settings',
      admins_only: 'Your role does not allow it. Ask an admin of your hub to change what you need.',
      nav_operators: 'Operators', nav_teams: 'Teams', nav_channels: 'Channels',
      nav_pipelines: 'Pipelines', nav_hours: 'Working hours', nav_tracking: 'Call tracking', lang_other: 'Русский',
      copy: 'Copy', copied: 'Copied', done: 'Done', saved: 'Saved',
      once_note: 'Shown this once: copy it now.'
    },
    ru: {
      title: 'Настройки', back_to_inbox: '← Входящие', log_in_first: 'Сначала войдите во входящие',
      admins_only_title: 'Настройки меняют только администраторы',
      admins_only: 'Ваша роль этого не позволяет. Попросите администратора изменить то, что нужно.',
      nav_operators: 'Операторы', nav_teams: 'Команды', nav_channels: 'Каналы',
      nav_pipelines: 'Воронки', nav_hours: 'Рабочие часы', nav_tracking: 'Коллтрекинг', lang_other: 'English',
      copy: 'Копировать', copied: 'Скопировано', done: 'Готово', saved: 'Сохранено',
      once_note: 'Показывается один раз: скопируйте сейчас.'
    }
  };

  /**
   * @typedef {{render: (box: HTMLElement) => void, load?: () => Promise<void>, loaded: boolean}} Section
   * @type {{lang: Lang, csrf: string, operators: ApiJson[], teams: ApiJson[], sections: Record<string, Section>, current: string}}
   */
  var S = { lang: D.pickLang(), csrf: '', operators: [], teams: [], sections: {}, current: 'operators' };
  /** @type {Array<(team: ApiJson, card: HTMLElement) => void>} */
  var teamHooks = [];

  /** @param {string} key @param {Record<string, string | number>} [vars] */
  function t(key, vars) {
    var text = TEXTS[S.lang][key];
    if (text === undefined) text = TEXTS.en[key];
    return D.format(text === undefined ? key : text, vars);
  }
  /** @param {Texts} more */
  function addTexts(more) {
    Object.keys(more.en).forEach(function (k) { TEXTS.en[k] = more.en[k]; });
    Object.keys(more.ru).forEach(function (k) { TEXTS.ru[k] = more.ru[k]; });
  }
  /** @param {string} method @param {string} path @param {unknown} [body] */
  function api(method, path, body) { return D.request(method, path, body, S.csrf); }
  /** @param {unknown} err */
  function fail(err) {
    D.toast(err instanceof Error ? err.message : String(err));
  }

  function renderSection() {
    var section = S.sections[S.current];
    if (!section) return;
    var box = $(S.current);
    clear(box);
    section.render(box);
  }
  /** Shows the section the address names, reading its data the first time. */
  function showSection() {
    var wanted = location.hash.replace('#', '');
    var once = $('once');
    once.hidden = true; /* a secret shown once does not follow the admin to another section */
    clear(once);
    S.current = S.sections[wanted] ? wanted : 'operators';
    D.all('.admin-section').forEach(function (node) { node.hidden = node.id !== S.current; });
    D.all('.admin-nav a').forEach(function (a) {
      var on = a.getAttribute('data-section') === S.current;
      a.classList.toggle('on', on);
      if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    });
    var section = S.sections[S.current];
    if (!section) return Promise.resolve();
    var first = section.load && !section.loaded ? section.load() : Promise.resolve();
    return first.then(function () {
      section.loaded = true; /* only once read: a failed first read is tried again next time */
      renderSection();
    }).then(function () {
      document.body.setAttribute('data-section', S.current);
    }).catch(fail);
  }

  function reload() {
    return Promise.all([api('GET', '/api/v1/operators'), api('GET', '/api/v1/teams')]).then(function (all) {
      S.operators = all[0].items;
      S.teams = all[1].items;
      renderSection();
    });
  }

  /** @param {string} label @param {HTMLElement} control @param {string} [hint] */
  function field(label, control, hint) {
    var box = el('label', 'field');
    box.appendChild(el('span', '', label));
    box.appendChild(control);
    if (hint) box.appendChild(el('span', 'hint', hint));
    return box;
  }
  /** @param {string} text @param {string} [cls] */
  function button(text, cls) {
    var b = el('button', cls || '', text);
    b.type = 'button';
    return b;
  }
  /** @param {string} title @param {string} value @param {string} [note] */
  function showOnce(title, value, note) {
    var box = $('once');
    clear(box);
    box.appendChild(el('strong', '', title));
    var code = el('code', 'once-value', value);
    box.appendChild(code);
    box.appendChild(el('span', 'small', note || t('once_note')));
    var row = el('div', 'buttons');
    var copy = button(t('copy'));
    copy.addEventListener('click', function () {
      if (navigator.clipboard) navigator.clipboard.writeText(value).then(function () { copy.textContent = t('copied'); }, fail);
    });
    var done = button(t('done'), 'primary');
    done.addEventListener('click', function () { box.hidden = true; clear(box); });
    row.appendChild(copy);
    row.appendChild(done);
    box.appendChild(row);
    box.hidden = false;
    box.scrollIntoView({ block: 'nearest' });
  }

  function applyLang() {
    document.documentElement.lang = S.lang;
    D.translate(t);
    document.title = t('title');
    var toast = document.getElementById('toast');
    if (toast) toast.hidden = true; /* said in the other language */
    renderSection();
  }

  /** @type {HubAdminApi} */
  var admin = {
    t: t, addTexts: addTexts, lang: function () { return S.lang; }, api: api, fail: fail,
    toast: D.toast, operators: function () { return S.operators; }, teams: function () { return S.teams; },
    reload: reload, field: field, button: button, showOnce: showOnce,
    onTeamCard: function (fn) { teamHooks.push(fn); }, teamCardHooks: function () { return teamHooks; },
    section: function (id, render, load) { S.sections[id] = { render: render, load: load, loaded: false }; }
  };
  window.HubAdmin = admin;

  function boot() {
    applyLang();
    $('lang').addEventListener('click', function () {
      S.lang = S.lang === 'ru' ? 'en' : 'ru';
      D.saveLang(S.lang);
      applyLang();
    });
    window.addEventListener('hashchange', function () { showSection(); });
    D.request('GET', '/api/v1/auth/session').then(function (s) {
      if (s.operator.role !== 'admin') { $('not-admin').hidden = false; return; }
      S.csrf = s.csrf_token;
      document.body.setAttribute('data-me', String(s.operator.id));
      return reload().then(function () {
        $('area').hidden = false;
        return showSection();
      }).then(function () {
        document.body.setAttribute('data-loaded', 'true');
      });
    }, function () { $('need-login').hidden = false; }).catch(fail);
  }

  // Deferred scripts run before DOMContentLoaded, and admin.js before the sections' own: booting
  // at once would read the session and show the address's section before a section's script had
  // registered it (admin-hours.js, slow to arrive, and the admin was shown the operators).
  if (document.readyState === 'complete') boot();
  else document.addEventListener('DOMContentLoaded', boot);
})();
