// @ts-check
/* Hub operator inbox: vanilla ES2018, no build step. Talks to the REST API and /ws/operator only.
 * Everything a customer wrote is written with textContent, never as HTML. */
(function () {
  'use strict';
  var D = window.HubDom;
  var L = window.HubLocale;
  var pickLang = D.pickLang, $ = D.$, find = D.find, all = D.all, el = D.el, clear = D.clear, show = D.show;

  /** @type {Texts} */
  var TEXTS = {
    en: {
      app_title: 'Hub inbox', email: 'Email', password: 'Password', log_in: 'Log in',
      log_out: 'Log out', mine: 'Mine', unassigned: 'Unassigned', all: 'All',
      status_open: 'Open', status_pending: 'Pending', status_snoozed: 'Snoozed',
      status_resolved: 'Resolved', search: 'Search…', search_hint: 'Search by name, phone, email or message text',
      all_channels: 'All channels', no_conversations: 'No conversations here',
      mailbox_error: 'mailbox not read', mailbox_ok: 'mailbox read',
      load_more: 'Load more', load_earlier: 'Earlier messages', pick_conversation: 'Pick a conversation on the left',
      back: '← Back', assign_me: 'Assign to me', transfer: 'Transfer…', snooze: 'Snooze…',
      resolve: 'Resolve', reopen: 'Reopen', transfer_to: 'Transfer to',
      handoff_note: 'Handoff note', transfer_do: 'Transfer', cancel: 'Cancel',
      snooze_until: 'Snooze until', snooze_do: 'Snooze', typing: 'The customer is typing…',
      reply: 'Reply', internal_note: 'Internal note', send: 'Send', add_note: 'Add note',
      send_hint: 'Enter sends · Shift+Enter new line',
      reply_hint: 'The customer will see this reply',
      note_hint: 'Only operators see internal notes',
      no_replies_hint: 'This channel takes no replies (a call): write a note for the team, call the customer back or write to him in another channel',
      reply_placeholder: 'Write a reply to the customer…',
      note_placeholder: 'Write an internal note (the customer never sees it)…',
      first_touch: 'First touch', last_touch: 'Last touch',
      other_conversations: 'Conversations', contact_page: 'Contact page →', visitor: 'Visitor',
      back_to_inbox: '← Inbox', timeline: 'Timeline, newest first', phones: 'Phones',
      emails: 'Emails', unverified: 'unverified', identities: 'Identities', page: 'Page', utm_source: 'Source',
      utm_campaign: 'Campaign', referrer: 'Referrer', reconnecting: 'Connection lost, reconnecting…',
      wrong_login: 'Wrong email or password', unassigned_to: 'unassigned', assignee: 'Assignee',
      enable_notifications: 'Enable notifications', notifications_on: 'Notifications on',
      new_conversation: 'New conversation', today: 'Today', yesterday: 'Yesterday',
      preview_ringing: 'ringing', preview_answered: 'answered', preview_missed: 'missed',
      preview_hidden: 'hidden number',
      not_delivered: 'not delivered', delivered: 'sent', pending_delivery: 'sending…',
      system: 'System', you: 'you', nothing: '—', error: 'Something went wrong',
      role_operator: 'operator', role_manager: 'manager', role_admin: 'admin',
      lang_other: 'Русский', contact: 'Contact', team: 'Team',
      keep_team: '(keep the team)', team_only: '(no operator, the team only)',
      company: 'Company', notes: 'Notes', retry: 'Retry', reports: 'Reports', admin_area: 'Settings', channel: 'Channel',
      telegram: 'Telegram', close: 'Close', site_user: 'site user', device: 'Device', city: 'City',
      act_snoozed: '{actor} snoozed the conversation until {until}'
    },
    ru: {
      app_title: 'Входящие', email: 'Эл. почта', password: 'Пароль', log_in: 'Войти',
      log_out: 'Выйти', mine: 'Мои', unassigned: 'Свободные', all: 'Все',
      status_open: 'Открыты', status_pending: 'Ждут', status_snoozed: 'Отложены',
      status_resolved: 'Решены', search: 'Поиск…', search_hint: 'Поиск по имени, телефону, почте или тексту сообщений',
      all_channels: 'Все каналы', no_conversations: 'Здесь нет диалогов',
      mailbox_error: 'почта не читается', mailbox_ok: 'почта прочитана',
      load_more: 'Показать ещё', load_earlier: 'Более ранние сообщения', pick_conversation: 'Выберите диалог слева',
      back: '← Назад', assign_me: 'Взять себе', transfer: 'Передать…', snooze: 'Отложить…',
      resolve: 'Решено', reopen: 'Открыть снова', transfer_to: 'Передать',
      handoff_note: 'Заметка для коллеги', transfer_do: 'Передать', cancel: 'Отмена',
      snooze_until: 'Отложить до', snooze_do: 'Отложить', typing: 'Клиент печатает…',
      reply: 'Ответ', internal_note: 'Внутренняя заметка', send: 'Отправить',
      add_note: 'Добавить заметку', send_hint: 'Enter — отправить · Shift+Enter — новая строка',
      reply_hint: 'Клиент увидит этот ответ',
      note_hint: 'Внутренние заметки видят только операторы',
      no_replies_hint: 'В этот канал не ответить (звонок): напишите заметку для команды, перезвоните клиенту или напишите ему в другом канале',
      reply_placeholder: 'Напишите ответ клиенту…',
      note_placeholder: 'Внутренняя заметка (клиент её не увидит)…',
      first_touch: 'Первый визит', last_touch: 'Последний визит',
      other_conversations: 'Диалоги', contact_page: 'Карточка контакта →', visitor: 'Посетитель',
      back_to_inbox: '← Входящие', timeline: 'История, сначала новые', phones: 'Телефоны',
      emails: 'Почта', unverified: 'не подтверждён', identities: 'Идентификаторы', page: 'Страница', utm_source: 'Источник',
      utm_campaign: 'Кампания', referrer: 'Откуда', reconnecting: 'Нет связи, переподключаемся…',
      wrong_login: 'Неверная почта или пароль', unassigned_to: 'не назначен',
      assignee: 'Оператор', enable_notifications: 'Включить уведомления',
      notifications_on: 'Уведомления включены', new_conversation: 'Новый диалог',
      preview_ringing: 'звонит', preview_answered: 'отвечен', preview_missed: 'пропущен',
      preview_hidden: 'скрытый номер',
      today: 'Сегодня', yesterday: 'Вчера', not_delivered: 'не доставлено',
      delivered: 'отправлено', pending_delivery: 'отправляется…', system: 'Система', you: 'вы',
      nothing: '—', error: 'Что-то пошло не так', role_operator: 'оператор',
      role_manager: 'менеджер', role_admin: 'администратор', lang_other: 'English',
      contact: 'Контакт', team: 'Команда', keep_team: '(команда та же)',
      team_only: '(без оператора, только команда)', company: 'Компания', notes: 'Заметки', retry: 'Повторить', reports: 'Отчёты', admin_area: 'Настройки',
      channel: 'Канал', telegram: 'Telegram', close: 'Закрыть', site_user: 'пользователь сайта',
      device: 'Устройство', city: 'Город',
      // Activities: the hub writes them in English (shown as written); in Russian they are
      // told again from their meta.
      act_snooze_ended: 'Время откладывания истекло, диалог снова открыт',
      act_customer_message: 'Клиент написал снова, диалог снова открыт',
      act_open: '{actor} снова открыл(а) диалог', act_pending: '{actor} перевёл(а) диалог в ожидание',
      act_resolved: '{actor} закрыл(а) диалог', act_snoozed: '{actor} отложил(а) диалог до {until}',
      act_unassigned: '{actor} снял(а) с диалога {operator}', act_took: '{actor} взял(а) диалог',
      act_transferred: '{actor} передал(а) диалог: {whom}', act_assigned: '{actor} назначил(а) диалог: {whom}',
      act_to_team: 'команде {team}', act_rated: 'Клиент оценил диалог: {score} из 5'
    }
  };
  var STATUSES = ['open', 'pending', 'snoozed', 'resolved'];

  /* Feature scripts hook in here: message(node, m) decorates a rendered message, activity(node,
   * m) a rendered activity; send() returns fields to add to a message being sent; sent() runs
   * after it was stored; start() runs before the first list loads (it may pick the tab). */
  /**
   * @type {{
   *   message: Array<(node: HTMLElement, m: ApiJson) => void>,
   *   activity: Array<(node: HTMLElement, m: ApiJson) => void>,
   *   send: Array<() => Record<string, unknown>>,
   *   sent: Array<() => void>,
   *   start: Array<() => Promise<unknown>>
   * }}
   */
  var HOOKS = { message: [], activity: [], send: [], sent: [], start: [] };

  /**
   * The page's state; API objects (ApiJson) are kept as the hub answered them.
   * @typedef {InboxView & {
   *   staff: boolean, booted: boolean, loggedIn: boolean,
   *   filter: {assignee: string, status: string, channel: string, q: string},
   *   convs: ApiJson[], nextCursor: string | null, listSeq: number,
   *   liveDuringLoad: Record<string, ApiJson> | null,
   *   fetching: Record<string, {again: boolean, done: Promise<void>}>,
   *   conv: ApiJson, hasEarlier: boolean, earlierButton: HTMLElement | null,
   *   channels: Record<string, ApiJson>, operators: ApiJson[], teams: ApiJson[],
   *   lastEventId: string | null, ws: WebSocket | null, backoff: number,
   *   reconnectTimer: number | undefined, typingTimer: number | undefined, titleCount: number,
   *   modeForced: boolean
   * }} State
   */
  /** @type {State} */
  var S = {
    lang: pickLang(), me: null, csrf: '', staff: false, booted: false,
    filter: { assignee: 'me', status: 'open', channel: '', q: '' },
    convs: [], nextCursor: null, current: null, conv: null, messages: [], hasEarlier: false,
    earlierButton: null, contact: null,
    channels: {}, operators: [], teams: [], lastEventId: null, ws: null, backoff: 1000,
    reconnectTimer: undefined, loggedIn: false, liveDuringLoad: null, fetching: {}, mode: 'reply',
    typingTimer: undefined, listSeq: 0, titleCount: 0, modeForced: false
  };

  /** @param {string} key @param {Record<string, string | number>} [vars] */
  function t(key, vars) { return D.format(TEXTS[S.lang][key] || TEXTS.en[key] || key, vars); }

  /**
   * A conversation's line as the list shows it: a call's (hub/inbox/items.py, call_preview:
   * "📞 <number>" ringing, "📞 <number> m:ss" answered, "📵 <number>" missed or busy) with the
   * call's state in the operator's language, and a hidden number said so; any other line as
   * it is.
   * @param {string} line
   */
  function previewText(line) {
    var call = /^(📞|📵) (\S*)( \d+:\d\d)?$/.exec(line);
    if (!call) return line;
    var state = call[1] === '📵' ? 'preview_missed' : call[3] ? 'preview_answered' : 'preview_ringing';
    return call[1] + ' ' + (call[2] || t('preview_hidden')) + (call[3] || '') + ' · ' + t(state);
  }

  /* ---------- language ---------- */
  function applyLang() {
    document.documentElement.lang = S.lang;
    D.translate(t);
    renderTitle();
    setMode(S.mode);
    renderChannels();
    if (S.me) renderMe();
    if (S.loggedIn) { renderList(); renderConv(); renderContact(); }
    document.dispatchEvent(new CustomEvent('hub:lang'));
  }
  /** The tab's title, with the count of conversations waiting unread: "(3) Inbox". */
  function renderTitle() {
    document.title = (S.titleCount > 0 ? '(' + S.titleCount + ') ' : '') + t('app_title');
  }
  function switchLang() {
    S.lang = S.lang === 'ru' ? 'en' : 'ru';
    D.saveLang(S.lang);
    applyLang();
    var cid = contactPageId();
    if (cid) loadContactPage(cid);
  }

  /* ---------- HTTP ---------- */
  /** @param {string} method @param {string} path @param {unknown} [body] @returns {Promise<ApiJson>} */
  function api(method, path, body) {
    return D.request(method, path, body, S.csrf).catch(function (err) {
      if (err.status === 401 && S.loggedIn) loggedOut();
      throw err;
    });
  }
  /** @param {string} [message] */
  function toast(message) { D.toast(message || t('error')); }
  /** @param {unknown} err */
  function fail(err) { toast(err instanceof Error && err.message ? err.message : t('error')); }

  /* ---------- session ---------- */
  function showLogin() {
    S.loggedIn = false;
    show($('app'), false);
    show($('login'), true);
    var email = $('login-form', HTMLFormElement).elements.namedItem('email');
    if (email instanceof HTMLInputElement) email.focus();
  }
  function loggedOut() {
    S.loggedIn = false;
    if (S.ws) { S.ws.onclose = null; S.ws.close(); S.ws = null; }
    clearTimeout(S.reconnectTimer);
    show($('banner'), false);
    showLogin();
  }
  /** @param {SubmitEvent} ev */
  function onLogin(ev) {
    ev.preventDefault();
    var form = $('login-form', HTMLFormElement);
    show($('login-error'), false);
    api('POST', '/api/v1/auth/session', {
      email: form.email.value, password: form.password.value
    }).then(function (data) {
      S.csrf = data.csrf_token;
      form.password.value = '';
      return start();
    }).catch(/** @param {HubError} err */ function (err) {
      var box = $('login-error');
      box.textContent = err.status === 401 ? t('wrong_login') : (err.message || t('error'));
      show(box, true);
    });
  }
  function logout() {
    api('DELETE', '/api/v1/auth/session').catch(function () { /* gone already */ })
      .then(function () { S.me = null; S.current = null; loggedOut(); });
  }

  function start() {
    // The badges' table first: the conversation list is drawn with it.
    return Promise.all([api('GET', '/api/v1/me'), D.loadChannelTypes(), L.loadZone()]).then(function (got) {
      var me = got[0];
      S.me = me;
      S.staff = me.role === 'manager' || me.role === 'admin';
      S.loggedIn = true;
      show($('login'), false);
      show($('app'), true);
      show(find('[data-assignee=all]'), S.staff);
      renderMe();
      renderFilters();
      document.dispatchEvent(new CustomEvent('hub:started'));
      var side = Promise.all([
        api('GET', '/api/v1/channels').then(function (d) {
          S.channels = {};
          d.items.forEach(/** @param {ApiJson} c */ function (c) { S.channels[c.id] = c; });
          renderChannels();
        }),
        api('GET', '/api/v1/operators').then(function (d) {
          S.operators = d.items.filter(/** @param {ApiJson} o */ function (o) { return o.active; });
        }),
        api('GET', '/api/v1/teams').then(function (d) { S.teams = d.items; })
      ]).catch(fail);
      connect();
      var cid = contactPageId();
      if (cid) {
        document.body.classList.add('on-contact-page');
        return side.then(loadContactPage.bind(null, cid));
      }
      document.body.classList.remove('on-contact-page');
      var fromHash = /^#c(\d+)$/.exec(location.hash);
      var ready = Promise.all(HOOKS.start.map(function (fn) { return fn().catch(function () { /* the list loads anyway */ }); }));
      return ready.then(function () { renderFilters(); return loadList(); }).then(function () {
        if (fromHash) openConv(Number(fromHash[1]));
      });
    });
  }
  function renderMe() {
    $('me').textContent = S.me.name + ' · ' + t('role_' + S.me.role);
    $('logout').title = $('me').textContent; /* who is logged in, where the header hides #me */
    var staffOnly = all('[data-staff-only]');
    for (var i = 0; i < staffOnly.length; i++) show(staffOnly[i], S.staff);
    var adminOnly = all('[data-admin-only]');
    for (i = 0; i < adminOnly.length; i++) show(adminOnly[i], S.me.role === 'admin');
  }
  function contactPageId() {
    var m = /^\/inbox\/contacts\/(\d+)\/?$/.exec(location.pathname);
    return m ? Number(m[1]) : null;
  }

  /* ---------- list ---------- */
  function renderFilters() {
    var buttons = all('[data-assignee]');
    for (var i = 0; i < buttons.length; i++) {
      var on = buttons[i].getAttribute('data-assignee') === S.filter.assignee;
      buttons[i].classList.toggle('on', on);
      buttons[i].setAttribute('aria-selected', on ? 'true' : 'false');
    }
    buttons = all('[data-status]');
    for (i = 0; i < buttons.length; i++) {
      on = buttons[i].getAttribute('data-status') === S.filter.status;
      buttons[i].classList.toggle('on', on);
      buttons[i].setAttribute('aria-selected', on ? 'true' : 'false');
    }
  }
  function renderChannels() {
    var select = $('channel-filter', HTMLSelectElement);
    var value = S.filter.channel;
    clear(select);
    var all = el('option', '', t('all_channels'));
    all.value = '';
    select.appendChild(all);
    Object.keys(S.channels).forEach(function (id) {
      var ch = S.channels[id];
      var opt = el('option', '', ch.name + ' (' + ch.type + ')');
      opt.value = String(ch.id);
      select.appendChild(opt);
    });
    select.value = value;
    renderChannelStatus();
  }
  /** The reading status of the channels that keep a connection (email's mailbox), listed to
   *  admins: the last error while it is newer than the last good read. */
  function renderChannelStatus() {
    var list = $('channel-status');
    clear(list);
    Object.keys(S.channels).forEach(function (id) {
      var ch = S.channels[id];
      var st = ch.status;
      if (!st) return;
      var failing = !!st.last_error && (!st.last_ok_at || st.last_error_at > st.last_ok_at);
      var when = failing ? st.last_error_at : st.last_ok_at;
      var text = ch.name + ': ' + t(failing ? 'mailbox_error' : 'mailbox_ok') +
        (when ? ' ' + L.when(when, S.lang) : '') + (failing ? ' — ' + st.last_error : '');
      var item = el('li', failing ? 'channel-status-error' : 'channel-status-ok', text);
      list.appendChild(item);
    });
    show(list, list.childNodes.length > 0);
  }
  /** @param {string | null} cursor */
  function listQuery(cursor) {
    var f = S.filter;
    var params = ['status=' + f.status, 'limit=30'];
    if (f.assignee !== 'all') params.push('assignee=' + f.assignee);
    if (f.channel) params.push('channel=' + encodeURIComponent(f.channel));
    if (f.q) params.push('q=' + encodeURIComponent(f.q));
    if (cursor) params.push('cursor=' + encodeURIComponent(cursor));
    return '/api/v1/conversations?' + params.join('&');
  }
  function loadList() {
    var seq = ++S.listSeq;
    // Events that arrive while the page loads are newer than it: applied again on top.
    S.liveDuringLoad = {};
    return api('GET', listQuery(null)).then(function (data) {
      if (seq !== S.listSeq) return;
      var live = S.liveDuringLoad || {};
      S.liveDuringLoad = null;
      S.convs = data.items;
      S.nextCursor = data.next_cursor;
      Object.keys(live).forEach(function (id) { placeConv(live[id]); });
      renderList();
    }).catch(fail);
  }
  function loadMore() {
    if (!S.nextCursor) return;
    api('GET', listQuery(S.nextCursor)).then(function (data) {
      data.items.forEach(/** @param {ApiJson} c */ function (c) { if (!findConv(c.id)) S.convs.push(c); });
      S.nextCursor = data.next_cursor;
      renderList();
    }).catch(fail);
  }
  /** @param {number} id @returns {ApiJson} the conversation in the list, or null */
  function findConv(id) {
    for (var i = 0; i < S.convs.length; i++) if (S.convs[i].id === id) return S.convs[i];
    return null;
  }
  /** @param {ApiJson} c */
  function canSee(c) {
    if (S.staff) return true;
    return c.assignee_id === S.me.id || S.me.team_ids.indexOf(c.team_id) !== -1;
  }
  /** @param {ApiJson} c */
  function matches(c) {
    var f = S.filter;
    if (!canSee(c) || c.status !== f.status) return false;
    if (f.assignee === 'me' && c.assignee_id !== S.me.id) return false;
    if (f.assignee === 'unassigned' && c.assignee_id !== null) return false;
    if (f.channel && String(c.channel_id) !== f.channel) return false;
    return true;
  }
  /** @param {ApiJson} c */
  function when(c) { return Date.parse(c.last_activity_at) || 0; }

  /**
   * A conversation as an event tells it: merged into the list, or dropped from it.
   * @param {ApiJson} summary
   * @returns {Promise<void>}
   */
  function upsertConv(summary) {
    var known = findConv(summary.id);
    var fetching = S.fetching[summary.id];
    if (fetching) {
      // A fetch of it is under way and may have been answered before this event: fetch again after.
      fetching.again = true;
      return fetching.done;
    }
    if (!known && !summary.contact) return fetchConv(summary.id);
    var merged = Object.assign({}, known || {}, summary);
    if (!merged.contact && known) merged.contact = known.contact;
    if (!merged.channel && known) merged.channel = known.channel;
    if (S.conv && S.conv.id === merged.id) {
      S.conv = Object.assign({}, S.conv, summary);
      if (summary.assignee_id !== undefined) S.conv.assignee = operatorRef(summary.assignee_id);
      renderConvHead();
    }
    if (S.filter.q) { scheduleReload(); return Promise.resolve(); }
    if (S.liveDuringLoad) S.liveDuringLoad[merged.id] = merged;
    placeConv(merged);
    renderList();
    return Promise.resolve();
  }
  /**
   * A conversation the list does not hold yet, read whole. One fetch per conversation at a time:
   * an event that arrives while it runs asks for one more, so two answers read at different
   * moments can never land out of order and leave the list with the older state.
   * @param {number} id
   * @returns {Promise<void>}
   */
  function fetchConv(id) {
    /** @type {{again: boolean, done: Promise<void>}} */
    var entry = { again: false, done: Promise.resolve() };
    S.fetching[id] = entry;
    /** @param {ApiJson | null} conv */
    function settle(conv) {
      delete S.fetching[id];
      if (entry.again) return fetchConv(id);
      if (conv) return upsertConv(conv);
      removeConv(id);
      return Promise.resolve();
    }
    entry.done = api('GET', '/api/v1/conversations/' + id).then(settle, function () { return settle(null); });
    return entry.done;
  }
  /** @param {ApiJson} conv */
  function placeConv(conv) {
    var known = findConv(conv.id);
    if (known && !conv.contact) conv.contact = known.contact;
    if (known && !conv.channel) conv.channel = known.channel;
    removeConv(conv.id, true);
    if (matches(conv)) {
      S.convs.push(conv);
      S.convs.sort(/** @param {ApiJson} a @param {ApiJson} b */ function (a, b) { return when(b) - when(a) || b.id - a.id; });
    }
  }
  /** @param {number} id @param {boolean} [quiet] */
  function removeConv(id, quiet) {
    S.convs = S.convs.filter(/** @param {ApiJson} c */ function (c) { return c.id !== id; });
    if (!quiet) renderList();
  }
  /** @type {number | undefined} */
  var reloadTimer;
  function scheduleReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(loadList, 300);
  }
  // A visitor who gave no name is still someone: "Visitor #12" in the list, the header, the card.
  /** @param {ApiJson} contact @param {number} [id] */
  function contactName(contact, id) {
    return contact && contact.name ? contact.name : t('visitor') + ' #' + (contact ? contact.id : id);
  }
  /** @param {number | null | undefined} id @returns {{id: number, name: string} | null} */
  function operatorRef(id) {
    if (id === null || id === undefined) return null;
    for (var i = 0; i < S.operators.length; i++) {
      if (S.operators[i].id === id) return { id: id, name: S.operators[i].name };
    }
    return { id: id, name: '#' + id };
  }
  var badge = D.channelBadge;
  /** @param {string} iso */
  function shortTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    return L.when(d, S.lang, L.dayKey(d) === L.dayKey(new Date()) ? 'time' : 'short');
  }
  function renderList() {
    var list = $('conv-list');
    clear(list);
    S.convs.forEach(/** @param {ApiJson} c */ function (c) {
      var li = el('li', 'conv-row' + (c.id === S.current ? ' selected' : ''));
      li.setAttribute('data-id', String(c.id));
      li.tabIndex = 0;
      var type = c.channel ? c.channel.type : (S.channels[c.channel_id] || {}).type;
      li.appendChild(badge(type));
      var main = el('div', 'row-main');
      var top = el('div', 'row-top');
      top.appendChild(el('span', 'row-name', contactName(c.contact, c.contact_id)));
      top.appendChild(el('time', 'row-time', shortTime(c.last_activity_at)));
      main.appendChild(top);
      var bottom = el('div', 'row-bottom');
      bottom.appendChild(el('span', 'row-preview', previewText(c.last_message_preview || '')));
      // The operator's own count (he may have read what a colleague has not); events carry
      // only the conversation's, which notice.js folds into his.
      var unread = c.my_unread_count !== undefined ? c.my_unread_count : c.unread_count;
      if (unread > 0) bottom.appendChild(el('span', 'unread', unread));
      main.appendChild(bottom);
      li.appendChild(main);
      list.appendChild(li);
    });
    show($('list-empty'), S.convs.length === 0);
    show($('load-more'), !!S.nextCursor);
  }

  /* ---------- conversation ---------- */
  /** @param {number} id */
  function openConv(id) {
    S.current = id;
    S.conv = null;
    S.messages = [];
    S.hasEarlier = false;
    S.contact = null;
    if (location.hash !== '#c' + id) history.replaceState(null, '', '/inbox#c' + id);
    document.body.classList.add('conv-open');
    document.dispatchEvent(new CustomEvent('hub:conversation-opened'));
    renderList();
    renderConv();
    renderContact();
    var convReq = api('GET', '/api/v1/conversations/' + id);
    var msgReq = api('GET', '/api/v1/conversations/' + id + '/messages?limit=100');
    return Promise.all([convReq, msgReq]).then(function (res) {
      if (S.current !== id) return;
      S.conv = res[0];
      // Live messages that arrived while loading are kept; each id once.
      /** @type {Record<string, ApiJson>} */
      var byId = {};
      res[1].items.concat(S.messages).forEach(/** @param {ApiJson} m */ function (m) { byId[m.id] = m; });
      S.messages = Object.keys(byId).map(function (k) { return byId[k]; });
      S.messages.sort(function (a, b) { return a.id - b.id; });
      S.hasEarlier = res[1].has_more;
      renderConv();
      loadContact(S.conv.contact_id);
    }).catch(function (err) {
      if (S.current === id) closeConv();
      fail(err);
    });
  }
  function closeConv() {
    S.current = null;
    S.conv = null;
    document.body.classList.remove('conv-open');
    history.replaceState(null, '', '/inbox');
    renderList();
    renderConv();
    renderContact();
  }
  function renderConv() {
    var has = S.current !== null;
    show($('conv-empty'), !has);
    show($('conv'), has);
    if (!has) return;
    renderConvHead();
    renderMessages();
  }
  function renderConvHead() {
    var c = S.conv;
    if (!c) { $('conv-name').textContent = ''; $('conv-meta').textContent = ''; return; }
    $('conv-name').textContent = contactName(c.contact, c.contact_id);
    var parts = [];
    if (c.channel) parts.push(c.channel.name);
    parts.push(t('status_' + c.status));
    parts.push(t('assignee') + ': ' + (c.assignee ? c.assignee.name : t('unassigned_to')));
    if (c.status === 'snoozed' && c.snoozed_until) parts.push('→ ' + L.when(c.snoozed_until, S.lang));
    $('conv-meta').textContent = parts.join(' · ');
    show($('act-take'), c.assignee_id !== S.me.id);
    show($('act-resolve'), c.status !== 'resolved');
    show($('act-reopen'), c.status !== 'open');
    show($('act-snooze'), c.status !== 'resolved');
    /* A call takes notes only (setMode switches to them); back in a conversation that takes
     * replies, replying is the default again if only the call had switched to notes. */
    if (!canReply()) S.modeForced = S.modeForced || S.mode === 'reply';
    else if (S.modeForced) { S.modeForced = false; S.mode = 'reply'; }
    setMode(S.mode);
  }
  /** @param {Date} d */
  function dayLabel(d) {
    var day = L.dayKey(d);
    if (day === L.dayKey(new Date())) return t('today');
    if (day === L.dayKey(Date.now() - 24 * 3600 * 1000)) return t('yesterday');
    return L.when(d, S.lang, 'day');
  }
  /** @param {number} id */
  function teamName(id) {
    for (var i = 0; i < S.teams.length; i++) if (S.teams[i].id === id) return S.teams[i].name;
    return '#' + id;
  }
  /**
   * An activity's text: the hub's own (English) words, or in Russian told again from its meta
   * (the act_* texts).
   * @param {ApiJson} m
   */
  function activityText(m) {
    var meta = m.meta || {};
    if (!meta.action) return m.body;
    /* The hub writes a snooze's time as ISO; it is told again with the time as people read it. */
    if (S.lang !== 'ru' && !(meta.action === 'status' && meta.status === 'snoozed' && meta.snoozed_until)) return m.body;
    var actor = m.sender && m.sender.name ? m.sender.name : '';
    var text;
    if (meta.action === 'status') {
      if (meta.reason === 'snooze_ended' || meta.reason === 'customer_message') return t('act_' + meta.reason);
      if (['open', 'pending', 'resolved', 'snoozed'].indexOf(meta.status) === -1) return m.body;
      var until = meta.snoozed_until ? L.when(meta.snoozed_until, S.lang) : '';
      return t('act_' + meta.status, { actor: actor, until: until });
    }
    if (meta.action === 'rating') return t('act_rated', { score: meta.score }) + (meta.comment ? ': ' + meta.comment : '');
    var toRef = operatorRef(meta.to_operator_id);
    var to = toRef ? toRef.name : null;
    var team = meta.to_team_id != null && meta.to_team_id !== meta.from_team_id ? teamName(meta.to_team_id) : null;
    var whom = to ? (team ? to + ' (' + team + ')' : to) : (team ? t('act_to_team', { team: team }) : t('nothing'));
    if (meta.action === 'unassigned') {
      var prevRef = operatorRef(meta.from_operator_id);
      text = t('act_unassigned', { actor: actor, operator: prevRef ? prevRef.name : '' });
    } else if (meta.action === 'assigned' && m.sender && meta.to_operator_id === m.sender.id && meta.from_operator_id == null) {
      text = t('act_took', { actor: actor });
    } else if (meta.action === 'transferred' || meta.action === 'assigned') {
      text = t('act_' + meta.action, { actor: actor, whom: whom });
    } else {
      return m.body;
    }
    return meta.note ? text + ' — ' + meta.note : text;
  }
  /** @param {ApiJson} m @param {boolean} withConv */
  function messageNode(m, withConv) {
    var d = new Date(m.created_at);
    var time = L.when(d, S.lang, 'time');
    if (m.kind === 'activity') {
      var act = el('div', 'msg activity');
      act.setAttribute('data-id', String(m.id));
      act.appendChild(el('span', 'body', activityText(m)));
      act.appendChild(el('time', 'msg-time', ' · ' + time));
      HOOKS.activity.forEach(function (fn) { fn(act, m); });
      return act;
    }
    var node = el('div', 'msg ' + m.kind + (m.private ? ' private' : ''));
    node.setAttribute('data-id', String(m.id));
    if (m.kind === 'note') node.appendChild(el('div', 'note-label', t('internal_note')));
    node.appendChild(el('div', 'body', m.body));
    var meta = el('div', 'msg-meta');
    var who = m.sender && m.sender.name ? m.sender.name
      : m.sender && m.sender.type === 'contact' ? contactName(null, m.sender.id) : t('system');
    if (m.sender && m.sender.type === 'operator' && m.sender.id === S.me.id) who += ' (' + t('you') + ')';
    meta.appendChild(el('span', 'who', who));
    meta.appendChild(el('time', 'msg-time', withConv ? L.when(d, S.lang) : time));
    if (m.delivery) {
      var st = m.delivery.status;
      var label = st === 'failed' ? t('not_delivered') : st === 'pending' ? t('pending_delivery') : t('delivered');
      var ds = el('span', 'delivery ' + st, label);
      if (m.delivery.error) ds.title = m.delivery.error;
      meta.appendChild(ds);
      if (st === 'failed') {
        if (m.delivery.error) meta.appendChild(el('span', 'delivery-error', m.delivery.error));
        var again = el('button', 'link small retry', t('retry'));
        again.type = 'button';
        again.setAttribute('data-retry', String(m.id));
        meta.appendChild(again);
      }
    }
    node.appendChild(meta);
    HOOKS.message.forEach(function (fn) { fn(node, m); });
    return node;
  }
  /** @param {number} id */
  function retryDelivery(id) {
    api('POST', '/api/v1/messages/' + id + '/retry').then(function (m) {
      if (m && m.conversation_id === S.current) addMessage(m);
    }).catch(fail);
  }
  function renderMessages() {
    var box = $('messages');
    var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    // The button lives inside the list it pages back: kept by reference across re-renders.
    var earlier = S.earlierButton || (S.earlierButton = $('load-earlier'));
    clear(box);
    box.appendChild(earlier);
    show(earlier, !!S.hasEarlier);
    var lastDay = '';
    S.messages.forEach(function (m) {
      var d = new Date(m.created_at);
      if (L.dayKey(d) !== lastDay) {
        lastDay = L.dayKey(d);
        box.appendChild(el('div', 'day', dayLabel(d)));
      }
      box.appendChild(messageNode(m, false));
    });
    if (atBottom || box.getAttribute('data-conv') !== String(S.current)) box.scrollTop = box.scrollHeight;
    box.setAttribute('data-conv', String(S.current));
  }
  function loadEarlier() {
    var id = S.current;
    if (id === null || !S.messages.length) return;
    var box = $('messages');
    var fromBottom = box.scrollHeight - box.scrollTop;
    api('GET', '/api/v1/conversations/' + id + '/messages?limit=100&before=' + S.messages[0].id)
      .then(function (d) {
        if (S.current !== id) return;
        S.messages = d.items.concat(S.messages);
        S.hasEarlier = d.has_more;
        renderMessages();
        box.scrollTop = box.scrollHeight - fromBottom;
      }).catch(fail);
  }
  /** @param {ApiJson} m */
  function addMessage(m) {
    for (var i = 0; i < S.messages.length; i++) {
      if (S.messages[i].id === m.id) { S.messages[i] = m; renderMessages(); return; }
    }
    S.messages.push(m);
    S.messages.sort(function (a, b) { return a.id - b.id; });
    renderMessages();
  }

  /* ---------- composer & actions ---------- */
  /** Whether the open conversation's channel takes replies (a call does not: D.channelCan). */
  function canReply() {
    var c = S.conv;
    return !c || !c.channel || D.channelCan(c.channel.type, 'replies');
  }
  /** @param {string} mode */
  function setMode(mode) {
    var replies = canReply();
    if (mode === 'reply' && !replies) mode = 'note';
    S.mode = mode;
    var form = $('composer');
    $('mode-reply', HTMLButtonElement).disabled = !replies;
    form.classList.toggle('note-mode', mode === 'note');
    form.classList.toggle('reply-mode', mode !== 'note');
    var buttons = form.querySelectorAll('[data-mode]');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute('aria-pressed', buttons[i].getAttribute('data-mode') === mode ? 'true' : 'false');
    }
    $('mode-hint').textContent = !replies ? t('no_replies_hint') : mode === 'note' ? t('note_hint') : t('reply_hint');
    $('body', HTMLTextAreaElement).placeholder = mode === 'note' ? t('note_placeholder') : t('reply_placeholder');
    $('send').textContent = mode === 'note' ? t('add_note') : t('send');
  }
  /** @param {Event} [ev] */
  function send(ev) {
    if (ev) ev.preventDefault();
    var box = $('body', HTMLTextAreaElement);
    var button = $('send', HTMLButtonElement);
    var text = box.value.trim();
    if (S.current === null || button.disabled) return;
    /** @type {{body: string, private: boolean, attachment_ids?: number[]}} */
    var payload = { body: text, private: S.mode === 'note' };
    // Feature scripts add what they hold for this message (attachments, the message answered).
    HOOKS.send.forEach(function (fn) { Object.assign(payload, fn() || {}); });
    if (!text && !(payload.attachment_ids && payload.attachment_ids.length)) return;
    var id = S.current;
    button.disabled = true;
    api('POST', '/api/v1/conversations/' + id + '/messages', payload)
      .then(function (m) {
        box.value = '';
        HOOKS.sent.forEach(function (fn) { fn(); });
        if (S.current === id) addMessage(m.message || m);
      }).catch(fail).then(function () { button.disabled = false; box.focus(); });
  }
  /** @param {KeyboardEvent} ev */
  function onComposerKey(ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) send(ev);
  }
  /** @param {string} path @param {object} body @returns {Promise<boolean>} */
  function act(path, body) {
    var id = S.current;
    return api('POST', '/api/v1/conversations/' + id + path, body).then(function (conv) {
      if (S.current === id && conv) {
        S.conv = Object.assign({}, S.conv, conv);
        S.conv.assignee = operatorRef(conv.assignee_id);
        renderConvHead();
      }
      upsertConv(conv);
      return true;
    }, function (err) { fail(err); return false; });
  }
  /** @param {string | null} id */
  function openDrawer(id) {
    show($('transfer-form'), id === 'transfer-form');
    show($('snooze-form'), id === 'snooze-form');
  }
  function openTransfer() {
    var select = find('#transfer-form [name=operator]', HTMLSelectElement);
    var teams = find('#transfer-form [name=team]', HTMLSelectElement);
    clear(select);
    clear(teams);
    var keep = el('option', '', t('keep_team'));
    keep.value = '';
    teams.appendChild(keep);
    S.teams.forEach(/** @param {ApiJson} tm */ function (tm) {
      var opt = el('option', '', tm.name);
      opt.value = String(tm.id);
      teams.appendChild(opt);
    });
    var none = el('option', '', t('team_only'));
    none.value = '';
    select.appendChild(none);
    S.operators.forEach(/** @param {ApiJson} o */ function (o) {
      if (S.conv && o.id === S.conv.assignee_id) return;
      var opt = el('option', '', o.name + (o.id === S.me.id ? ' (' + t('you') + ')' : ''));
      opt.value = String(o.id);
      select.appendChild(opt);
    });
    if (select.options.length > 1) select.selectedIndex = 1;
    openDrawer('transfer-form');
    select.focus();
  }
  /** @param {SubmitEvent} ev */
  function doTransfer(ev) {
    ev.preventDefault();
    var form = $('transfer-form', HTMLFormElement);
    var opId = Number(form.operator.value) || null;
    var teamId = Number(form.team.value) || null;
    if (!opId && !teamId) return;
    /** @type {{operator_id: number | null, note: string, team_id?: number}} */
    var body = { operator_id: opId, note: form.note.value.trim() };
    if (teamId) body.team_id = teamId;
    act('/assign', body).then(function (ok) {
      if (!ok) return;
      form.note.value = '';
      openDrawer(null);
    });
  }
  function openSnooze() {
    var input = find('#snooze-form [name=until]', HTMLInputElement);
    // Tomorrow 09:00 on the company's clock (the input is read on it too).
    input.value = L.toWall(new Date(Date.now() + 24 * 3600 * 1000)).slice(0, 10) + 'T09:00';
    openDrawer('snooze-form');
    input.focus();
  }
  /** @param {SubmitEvent} ev */
  function doSnooze(ev) {
    ev.preventDefault();
    var until = L.fromWall($('snooze-form', HTMLFormElement).until.value);
    if (!until) return;
    act('/status', { status: 'snoozed', snoozed_until: until.toISOString() }).then(function (ok) {
      if (ok) openDrawer(null);
    });
  }

  /* ---------- contact ---------- */
  /** @param {number} contactId */
  function loadContact(contactId) {
    api('GET', '/api/v1/contacts/' + contactId).then(function (c) {
      if (S.conv && S.conv.contact_id === c.id) { S.contact = c; renderContact(); }
    }).catch(function () { /* a contact we may not see: the panel stays empty */ });
  }
  /**
   * @param {HTMLElement} dl @param {string} label @param {string | undefined} value
   * @param {string | null} [href]
   */
  function field(dl, label, value, href) {
    if (!value) return;
    dl.appendChild(el('dt', '', label));
    var dd = el('dd');
    if (href) {
      var a = el('a', '', value);
      a.href = href;
      a.rel = 'noopener noreferrer nofollow';
      a.target = '_blank';
      dd.appendChild(a);
    } else {
      dd.textContent = value;
    }
    dl.appendChild(dd);
  }
  /** @param {string | undefined} url */
  function safeUrl(url) { return /^https?:\/\//i.test(url || '') ? url : null; }
  /* Phones and emails nobody proved are marked: a merge on one links contacts for operators,
     it does not prove the customer is the same person. */
  /** @param {string[]} values @param {string[] | undefined} proven */
  function marked(values, proven) {
    var sure = proven || [];
    return values.map(function (v) {
      return sure.indexOf(v) >= 0 ? v : v + ' (' + t('unverified') + ')';
    }).join(', ');
  }
  /**
   * How a channel knows him, in words: the channel's name and «visitor #1», «site user 42», the
   * Telegram id… (never "widget: visitor:1").
   * @param {ApiJson} i
   */
  function identityText(i) {
    var channel = S.channels[i.channel_id];
    var where = channel ? channel.name : channelTypeName(i.channel_type);
    var id = String(i.external_id);
    var m = /^visitor:(\d+)$/.exec(id);
    var who = m ? t('visitor') + ' #' + m[1] : /^user:/.test(id) ? t('site_user') + ' ' + id.slice(5) : id;
    return where + ': ' + who;
  }
  /** A channel type's name in the operator's language (the hub's own title for other types). @param {string} type */
  function channelTypeName(type) { return L.channelType(type, S.lang); }
  /** @param {HTMLElement} dl @param {ApiJson} c */
  function contactFields(dl, c) {
    clear(dl);
    var attrs = c.attributes || {};
    field(dl, t('phones'), marked(c.phones, c.verified_phones));
    field(dl, t('emails'), marked(c.emails, c.verified_emails));
    if (attrs.telegram_username) {
      field(dl, t('telegram'), '@' + attrs.telegram_username, 'https://t.me/' + encodeURIComponent(attrs.telegram_username));
    }
    field(dl, t('company'), attrs.company);
    field(dl, t('notes'), attrs.notes);
    field(dl, t('identities'), c.identities.map(identityText).join('\n'));
  }
  /** @param {HTMLElement} dl @param {ApiJson} touch */
  function touchFields(dl, touch) {
    clear(dl);
    touch = touch || {};
    field(dl, t('page'), touch.title || touch.url, safeUrl(touch.url));
    field(dl, t('utm_source'), touch.utm_source);
    field(dl, t('utm_campaign'), touch.utm_campaign);
    field(dl, t('referrer'), touch.referrer, safeUrl(touch.referrer));
    var place = L.place(touch, S.lang);
    field(dl, t('city'), place);
    var credit = place ? L.creditLink() : null;
    if (credit && dl.lastElementChild) {
      dl.lastElementChild.appendChild(document.createTextNode(' · '));
      dl.lastElementChild.appendChild(credit);
    }
    field(dl, t('device'), [touch.browser, touch.os].filter(function (x) { return !!x; }).join(' · '));
    if (!dl.firstChild) dl.appendChild(el('dd', 'muted', t('nothing')));
  }
  function renderContact() {
    var pane = $('contact-pane');
    var c = S.contact;
    show(pane, !!c && S.current !== null);
    if (!c) { document.dispatchEvent(new CustomEvent('hub:contact-rendered')); return; }
    $('c-name').textContent = contactName(c, c.id);
    contactFields($('c-fields'), c);
    var attrs = c.attributes || {};
    touchFields($('c-first'), attrs.first_touch);
    touchFields($('c-last'), attrs.last_touch);
    var list = $('c-convs');
    clear(list);
    c.conversations.forEach(/** @param {ApiJson} conv */ function (conv) {
      var li = el('li', conv.id === S.current ? 'current' : '');
      li.setAttribute('data-id', String(conv.id));
      li.appendChild(badge(conv.channel ? conv.channel.type : ''));
      li.appendChild(el('span', '', (conv.channel ? conv.channel.name : '') + ' · ' + t('status_' + conv.status)));
      li.appendChild(el('span', 'muted small', ' ' + shortTime(conv.last_activity_at)));
      list.appendChild(li);
    });
    $('c-page', HTMLAnchorElement).href = '/inbox/contacts/' + c.id;
    document.dispatchEvent(new CustomEvent('hub:contact-rendered'));
  }
  /** @param {number} id */
  function loadContactPage(id) {
    /** @type {ApiJson} */
    var pageContact = null;
    show($('list-pane'), false);
    show($('conv-pane'), false);
    show($('contact-page'), true);
    return api('GET', '/api/v1/contacts/' + id).then(function (c) {
      $('cp-name').textContent = contactName(c, c.id);
      contactFields($('cp-fields'), c);
      pageContact = c;
      return Promise.all(c.conversations.map(/** @param {ApiJson} conv */ function (conv) {
        return api('GET', '/api/v1/conversations/' + conv.id + '/messages?limit=100').then(function (d) {
          return d.items.map(/** @param {ApiJson} m */ function (m) { m.channel = conv.channel; return m; });
        });
      }));
    }).then(function (lists) {
      /** @type {ApiJson[]} */
      var items = [].concat.apply([], lists);
      items.sort(function (a, b) { return Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id; });
      var box = $('cp-timeline');
      clear(box);
      items.forEach(function (m) {
        var node = messageNode(m, true);
        var meta = node.querySelector('.msg-meta') || node;
        if (m.channel) meta.insertBefore(badge(m.channel.type), meta.firstChild);
        var link = el('a', 'link small', '#' + m.conversation_id);
        link.href = '/inbox#c' + m.conversation_id;
        meta.appendChild(link);
        box.appendChild(node);
      });
      document.dispatchEvent(new CustomEvent('hub:contact-page', { detail: { id: id, contact: pageContact } }));
    }).catch(fail);
  }

  /* ---------- live events ---------- */
  function connect() {
    if (!S.loggedIn) return;
    var proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var url = proto + '//' + location.host + '/ws/operator';
    if (S.lastEventId) url += '?after=' + encodeURIComponent(S.lastEventId);
    var ws = new WebSocket(url);
    S.ws = ws;
    ws.onmessage = function (msg) {
      var frame;
      try { frame = JSON.parse(msg.data); } catch (e) { return; }
      onFrame(frame);
    };
    ws.onclose = function () {
      if (S.ws !== ws || !S.loggedIn) return;
      S.ws = null;
      document.body.setAttribute('data-live', '0');
      $('banner').textContent = t('reconnecting');
      show($('banner'), true);
      var delay = S.backoff * (0.75 + Math.random() / 2);
      S.backoff = Math.min(S.backoff * 2, 30000);
      S.reconnectTimer = setTimeout(function () {
        // A 401 here means the session ended: back to the log-in form.
        api('GET', '/api/v1/me').then(connect, /** @param {HubError} err */ function (err) {
          if (err.status === 401) return;
          connect();
        });
      }, delay);
    };
  }
  /** @param {ApiJson} frame a frame of /ws/operator */
  function onFrame(frame) {
    if (frame.type === 'ready') {
      S.backoff = 1000;
      show($('banner'), false);
      document.body.setAttribute('data-live', '1');
      if (!S.lastEventId) S.lastEventId = frame.last_event_id;
    } else if (frame.type === 'event') {
      S.lastEventId = frame.id;
      onEvent(frame.event, frame.data || {});
    } else if (frame.type === 'resumed') {
      if (frame.last_event_id) S.lastEventId = frame.last_event_id;
    } else if (frame.type === 'resync') {
      if (frame.last_event_id) S.lastEventId = frame.last_event_id;
      loadList();
      if (S.current !== null) openConv(S.current);
      document.dispatchEvent(new CustomEvent('hub:resync'));
    }
  }
  /** @param {string} name @param {ApiJson} data */
  function onEvent(name, data) {
    if (name === 'conversation.created') {
      upsertConv(data.conversation);
      var c = data.conversation;
      alertOperator(t('new_conversation'), contactName(c.contact, c.contact_id), c.last_message_preview || '', c.id);
    } else if (name === 'conversation.updated' || name === 'conversation.assigned') {
      upsertConv(data.conversation);
    } else if (name === 'message.created') {
      if (data.conversation) upsertConv(data.conversation);
      if (data.conversation_id === S.current && data.message) {
        addMessage(data.message);
        if (data.message.kind === 'incoming') show($('typing'), false);
      }
    } else if (name === 'message.updated') {
      if (data.conversation_id === S.current && data.message) addMessage(data.message);
    } else if (name === 'call.updated') {
      // A call already shown was answered, ended or missed: its card is redrawn as it is now.
      if (data.conversation_id === S.current) {
        for (var k = 0; k < S.messages.length; k++) {
          if (S.messages[k].id === data.message_id) {
            addMessage(Object.assign({}, S.messages[k], { call: data.call }));
            break;
          }
        }
      }
    } else if (name === 'conversation.typing') {
      if (data.conversation_id === S.current) {
        show($('typing'), true);
        clearTimeout(S.typingTimer);
        S.typingTimer = setTimeout(function () { show($('typing'), false); }, 6000);
      }
    } else if (name === 'contact.updated') {
      if (S.contact && data.contact && data.contact.id === S.contact.id) loadContact(S.contact.id);
    } else if (name === 'channel.updated' && data.channel) {
      /* An admin renamed, moved or (de)activated a channel: the filter shows it as it is now. */
      S.channels[data.channel.id] = Object.assign({}, S.channels[data.channel.id], data.channel);
      renderChannels();
    }
    document.dispatchEvent(new CustomEvent('hub:event', { detail: { name: name, data: data } }));
  }

  /* ---------- sound & desktop notifications (client-side only) ---------- */
  /** @type {AudioContext | null} */
  var audio = null;
  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      var ctx = audio || (audio = new Ctx());
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.3);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.3);
    } catch (e) { /* no sound, no harm */ }
  }
  /** @type {Record<string, number>} when each conversation last sounded */
  var alerted = {};
  /**
   * A sound, and a desktop notification when the operator allowed them and is not looking at
   * the page: once per conversation within a few seconds (a new conversation's first message).
   * @param {string} what @param {string} name @param {string} body @param {number | null} convId
   */
  function alertOperator(what, name, body, convId) {
    var key = String(convId);
    if (convId !== null && Date.now() - (alerted[key] || 0) < 3000) return;
    alerted[key] = Date.now();
    beep();
    if (!('Notification' in window) || Notification.permission !== 'granted' || !document.hidden) return;
    try {
      // One notification per conversation: a newer message replaces the older one.
      var n = new Notification(what + (name ? ': ' + name : ''), convId !== null ? { body: body, tag: key } : { body: body });
      n.onclick = function () { window.focus(); if (convId !== null) openConv(convId); };
    } catch (e) { /* not allowed here */ }
  }
  function renderNotifyButton() {
    var btn = $('notify-btn');
    if (!('Notification' in window)) { show(btn, false); return; }
    show(btn, Notification.permission !== 'granted' && Notification.permission !== 'denied');
  }

  /* ---------- keyboard ---------- */
  /** @param {EventTarget | null} target */
  function typing(target) {
    if (!(target instanceof HTMLElement)) return false;
    var tag = target.tagName;
    return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable;
  }
  /** @param {number} delta */
  function step(delta) {
    if (!S.convs.length) return;
    var idx = -1;
    for (var i = 0; i < S.convs.length; i++) if (S.convs[i].id === S.current) idx = i;
    var next = Math.max(0, Math.min(S.convs.length - 1, idx + delta));
    if (idx === -1) next = 0;
    openConv(S.convs[next].id);
  }
  /** @param {KeyboardEvent} ev */
  function onKey(ev) {
    if (!S.loggedIn || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var target = ev.target;
    if (ev.key === 'Escape') { openDrawer(null); document.body.classList.remove('contact-open'); if (typing(target) && target instanceof HTMLElement) target.blur(); return; }
    if (typing(ev.target)) return;
    if (ev.key === 'j') step(1);
    else if (ev.key === 'k') step(-1);
    else if (ev.key === 'r' && S.current !== null) { ev.preventDefault(); setMode('reply'); $('body').focus(); }
    else if (ev.key === 'n' && S.current !== null) { ev.preventDefault(); setMode('note'); $('body').focus(); }
    else if (ev.key === 'e' && S.conv && S.conv.status !== 'resolved') act('/status', { status: 'resolved' });
  }

  /* ---------- wiring ---------- */
  /**
   * @template {keyof HTMLElementEventMap} K
   * @param {string} id @param {K} type @param {(ev: HTMLElementEventMap[K]) => void} fn
   */
  function on(id, type, fn) { $(id).addEventListener(type, fn); }
  function bind() {
    on('login-form', 'submit', onLogin);
    on('logout', 'click', logout);
    var switches = all('[data-lang-switch]');
    for (var i = 0; i < switches.length; i++) switches[i].addEventListener('click', switchLang);
    on('assignee-filter', 'click', function (ev) {
      var tab = D.targetClosest(ev, '[data-assignee]');
      var v = tab && tab.getAttribute('data-assignee');
      if (!v) return;
      S.filter.assignee = v;
      renderFilters();
      loadList();
    });
    on('status-filter', 'click', function (ev) {
      var v = D.targetAttr(ev, 'data-status');
      if (!v || STATUSES.indexOf(v) === -1) return;
      S.filter.status = v;
      renderFilters();
      loadList();
    });
    on('channel-filter', 'change', function () { S.filter.channel = $('channel-filter', HTMLSelectElement).value; loadList(); });
    on('search', 'input', function () {
      S.filter.q = $('search', HTMLInputElement).value.trim();
      scheduleReload();
    });
    on('conv-list', 'click', function (ev) {
      var row = D.targetClosest(ev, '.conv-row');
      if (row) openConv(Number(row.getAttribute('data-id')));
    });
    on('conv-list', 'keydown', function (ev) {
      var row = D.targetClosest(ev, '.conv-row');
      if (row && ev.key === 'Enter') openConv(Number(row.getAttribute('data-id')));
    });
    on('c-convs', 'click', function (ev) {
      var li = D.targetClosest(ev, 'li');
      if (li) openConv(Number(li.getAttribute('data-id')));
    });
    on('load-more', 'click', loadMore);
    on('messages', 'click', function (ev) {
      var id = D.targetAttr(ev, 'data-retry');
      if (id) retryDelivery(Number(id));
    });
    on('back', 'click', closeConv);
    var earlier = $('load-earlier');
    S.earlierButton = earlier;
    earlier.addEventListener('click', loadEarlier);
    on('act-contact', 'click', function () { document.body.classList.toggle('contact-open'); });
    on('c-close', 'click', function () { document.body.classList.remove('contact-open'); });
    on('composer', 'submit', send);
    on('body', 'keydown', onComposerKey);
    find('.mode', HTMLElement, $('composer')).addEventListener('click', function (ev) {
      var m = D.targetAttr(ev, 'data-mode');
      if (m) { setMode(m); $('body').focus(); }
    });
    on('act-take', 'click', function () { act('/assign', { operator_id: S.me.id }); });
    on('act-transfer', 'click', openTransfer);
    on('act-snooze', 'click', openSnooze);
    on('act-resolve', 'click', function () { act('/status', { status: 'resolved' }); });
    on('act-reopen', 'click', function () { act('/status', { status: 'open' }); });
    on('transfer-form', 'submit', doTransfer);
    on('snooze-form', 'submit', doSnooze);
    var closers = all('[data-close]');
    for (i = 0; i < closers.length; i++) closers[i].addEventListener('click', function () { openDrawer(null); });
    on('notify-btn', 'click', function () {
      Notification.requestPermission().then(renderNotifyButton);
    });
    document.addEventListener('keydown', onKey);
  }

  function boot() {
    S.booted = true;
    bind();
    applyLang();
    renderNotifyButton();
    api('GET', '/api/v1/auth/session').then(function (s) {
      S.csrf = s.csrf_token;
      return start();
    }).catch(function () { showLogin(); });
  }

  /* The narrow interface the page's feature scripts (canned.js, contact-edit.js, sales-panel.js…)
   * build on; every operator event is also a 'hub:event' on the document.
   * They load after this file and before boot, so listeners they add run before the core's. */
  window.HubInbox = {
    api: api, t: t, $: $, find: find, el: el, clear: clear, show: show, control: D.control, targetAttr: D.targetAttr,
    targetClosest: D.targetClosest, fail: fail, toast: toast, channelTypeName: channelTypeName,
    identityText: identityText, when: function (value, kind) { return L.when(value, S.lang, kind); },
    state: function () { return S; },
    addTexts: function (texts) {
      /** @type {Lang[]} */ (['en', 'ru']).forEach(function (lang) { Object.assign(TEXTS[lang], texts[lang]); });
      if (S.booted) applyLang();
    },
    contactChanged: function (contact) {
      if (S.contact && contact && S.contact.id === contact.id) {
        S.contact = Object.assign({}, S.contact, contact);
        renderContact();
      }
    },
    applyLang: function () { applyLang(); },
    reloadContact: function () { if (S.contact) loadContact(S.contact.id); },
    openConversation: function (id) { openConv(id); },
    onMessage: function (fn) { HOOKS.message.push(fn); },
    onActivity: function (fn) { HOOKS.activity.push(fn); },
    onStart: function (fn) { HOOKS.start.push(fn); },
    rerenderList: function () { if (S.loggedIn) renderList(); },
    setTitleCount: function (n) { S.titleCount = n; renderTitle(); },
    alert: function (what, name, body, convId) { alertOperator(what, name, body, convId); },
    contactName: function (contact, id) { return contactName(contact, id); },
    onSend: function (fn) { HOOKS.send.push(fn); },
    onSent: function (fn) { HOOKS.sent.push(fn); },
    rerenderMessages: function () { if (S.current !== null) renderMessages(); }
  };

  // Deferred scripts run before DOMContentLoaded: waiting for it lets the feature scripts
  // register their texts and listeners first.
  if (document.readyState === 'complete') boot();
  else document.addEventListener('DOMContentLoaded', boot);
})();
