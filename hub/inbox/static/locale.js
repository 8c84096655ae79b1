// @ts-check
/* Dates, times and the hub's error answers in the operator's language, for every page of the
 * inbox (the inbox, the deal board, the reports). One global: HubLocale (types/pages.d.ts).
 *
 * Times are shown in the company's time zone (HUB_TIMEZONE, from GET /api/v1/locale), written
 * the way the operator's language writes them, so 07.12.2026, 09:00 and never an ISO string;
 * until the zone is known, the browser's own. The datetime-local inputs (snooze until…) are read
 * in that zone too, so what an operator types is what everybody sees.
 *
 * The API answers {"error": {code, message}} in English; dom.js asks errorText for the
 * operator's words for a code, and for a code this table does not know, says what kind of
 * failure it was (by HTTP status) in Russian, or the hub's own message in English. */
(function () {
  'use strict';

  /** @type {Texts} */
  var ERRORS = {
    en: {
      http_400: 'The request was not understood', http_401: 'Please log in again',
      http_403: 'You may not do this', http_404: 'Not found (perhaps removed)',
      http_409: 'Someone changed this meanwhile: reload and try again',
      http_413: 'Too large', http_422: 'Please check what you entered',
      http_429: 'Too many attempts: wait a little and try again',
      http_503: 'The server is unavailable: try again in a moment',
      network: 'No connection to the server'
    },
    ru: {
      http_400: 'Запрос не понят', http_401: 'Войдите снова', http_403: 'У вас нет прав на это',
      http_404: 'Не найдено (возможно, удалено)',
      http_409: 'Кто-то уже изменил это: обновите страницу и попробуйте снова',
      http_413: 'Слишком большой размер', http_422: 'Проверьте введённые данные',
      http_429: 'Слишком много попыток: подождите немного',
      http_503: 'Сервер недоступен: попробуйте чуть позже', network: 'Нет связи с сервером'
    }
  };
  /* The hub's error codes an operator, a manager or an admin meets on these pages, in Russian
   * (in English the hub's own message is shown). */
  /** @type {Record<string, string>} */
  var CODES_RU = {
    invalid_credentials: 'Неверная почта или пароль',
      too_many_attempts: 'Слишком много попыток входа: подождите',
      operator_deactivated: 'Учётная запись отключена',
      token_expired: 'Сессия истекла: войдите снова', no_session: 'Войдите снова',
      csrf_failed: 'Сессия устарела: обновите страницу', bad_origin: 'Запрос с чужого сайта отклонён',
      forbidden: 'У вас нет прав на это', admin_required: 'Это может только администратор',
      manager_required: 'Это может только менеджер или администратор',
      database_unavailable: 'База данных недоступна: попробуйте чуть позже',
      rate_limited: 'Слишком часто: подождите немного',
      malformed_json: 'Запрос не понят', empty_body: 'Пустой запрос',
      missing_body: 'Напишите текст сообщения', body_too_long: 'Сообщение слишком длинное',
      note_too_long: 'Заметка слишком длинная', body_too_large: 'Слишком большой запрос',
      conversation_not_found: 'Диалог не найден или недоступен',
      contact_not_found: 'Контакт не найден или недоступен',
      message_not_found: 'Сообщение не найдено', operator_not_found: 'Оператор не найден',
      team_not_found: 'Команда не найдена', channel_not_found: 'Канал не найден',
      invalid_status: 'Недопустимый статус', invalid_assignee: 'Этому оператору нельзя передать диалог',
      snooze_time_required: 'Укажите, до какого времени отложить',
      snooze_time_past: 'Это время уже прошло: выберите время в будущем',
      time_in_past: 'Это время уже прошло', time_too_far: 'Слишком далёкая дата',
      not_failed: 'Это сообщение уже доставлено',
      replies_not_supported: 'Этот канал не принимает ответы',
      attachments_not_supported: 'Этот канал не принимает файлы',
      attachment_too_large: 'Файл слишком большой', attachment_not_found: 'Файл не найден',
      invalid_attachments: 'Файлы не подходят', invalid_reply_to: 'Нельзя ответить на это сообщение',
      invalid_phone: 'Номер телефона не распознан', invalid_email: 'Адрес почты не распознан',
      too_many_phones: 'Слишком много телефонов', too_many_emails: 'Слишком много адресов',
      email_of_another_contact: 'Этот адрес уже у другого контакта',
      contact_has_no_email: 'У контакта нет адреса почты', invalid_to: 'Неверный адрес получателя',
      invalid_subject: 'Укажите тему письма', address_suppressed: 'На этот адрес письма не доставляются',
      not_email_channel: 'Это не почтовый канал', nothing_to_change: 'Нечего менять',
      empty_patch: 'Нечего менять', invalid_name: 'Укажите имя (до 200 символов)',
      lead_not_found: 'Заявка не найдена', lead_decided: 'Заявку уже разобрали',
      reason_required: 'Укажите причину', deal_not_found: 'Сделка не найдена',
      deal_closed: 'Сделка уже закрыта', deal_open: 'Сделка ещё открыта',
      stage_not_found: 'Этап не найден', stage_not_in_pipeline: 'Этот этап из другой воронки',
      stage_not_open: 'Закрыть сделку можно кнопками «Успешно» и «Проиграна»',
      use_won_or_lost: 'Закрыть сделку можно кнопками «Успешно» и «Проиграна»',
      same_stage: 'Сделка уже на этом этапе', pipeline_not_found: 'Воронка не найдена',
      no_pipeline: 'Нет воронки продаж', invalid_amount: 'Сумма не распознана',
      invalid_currency: 'Неизвестная валюта', invalid_title: 'Укажите название (до 200 символов)',
      invalid_owner: 'Этот сотрудник не может вести сделку',
      task_not_found: 'Задача не найдена', task_closed: 'Задача уже выполнена',
      task_needs_subject: 'Задача должна относиться к сделке или контакту',
      invalid_time: 'Время не распознано', invalid_period: 'Период не распознан',
      invalid_timezone: 'Неизвестный часовой пояс',
      same_contact: 'Нельзя объединить контакт с самим собой',
      contact_merged: 'Один из контактов уже объединён', merge_not_found: 'Объединение не найдено',
      merge_undone: 'Объединение уже отменено', merge_stale: 'Объединение уже нельзя отменить',
      canned_not_found: 'Шаблон не найден', short_code_taken: 'Такой код шаблона уже есть',
      invalid_short_code: 'Код шаблона: буквы, цифры, - и _', invalid_content: 'Напишите текст шаблона',
      email_taken: 'Этот адрес почты уже занят', weak_password: 'Пароль слишком простой (от 10 символов)',
      invalid_role: 'Неизвестная роль', team_exists: 'Такая команда уже есть',
      self_lockout: 'Нельзя отключить или понизить самого себя',
      invalid_widget_settings: 'Настройки виджета не подходят',
      unknown_channel_type: 'Неизвестный тип канала', invalid_callback_url: 'Адрес не подходит',
      destination_not_allowed: 'На этот адрес хуку ходить нельзя',
      invalid_bot_token: 'Неверный токен бота', bot_already_connected: 'Этот бот уже подключён',
      telegram_unreachable: 'Telegram не отвечает: попробуйте позже',
      mailbox_already_connected: 'Этот ящик уже подключён',
      setting_not_editable: 'Эту настройку нельзя изменить у подключённого канала: подключите его заново',
      unknown_setting: 'Неизвестная настройка канала', webhook_refused: 'Telegram не принял адрес вебхука',
      invalid_email_settings: 'Настройки ящика не подходят', invalid_token: 'Это не токен бота',
      missing_token: 'Укажите токен бота', stage_exists: 'Такой этап в воронке уже есть',
      stage_in_use: 'На этом этапе есть или были сделки: перенесите их или переименуйте этап',
      closing_stage_fixed: 'Этапы «Успешно» и «Проиграна» всегда последние',
      invalid_stages: 'В воронке от 1 до 20 открытых этапов с разными названиями',
      default_pipeline_required: 'Сделайте основной другую воронку',
      reason_exists: 'Такая причина уже есть', lost_reason_not_found: 'Причина не найдена',
      send_at_in_past: 'Это время уже прошло: выберите время в будущем',
      send_at_too_far: 'Запланировать можно не больше чем на год вперёд',
      invalid_send_at: 'Дата и время не распознаны', too_many_scheduled: 'Слишком много запланированных писем',
      scheduled_email_not_found: 'Запланированное письмо не найдено',
      scheduled_email_sent: 'Письмо уже отправлено', scheduled_email_sending: 'Письмо как раз отправляется',
      scheduled_email_cancelled: 'Отправка письма уже отменена',
      scheduled_email_failed: 'Письмо не удалось отправить', subject_not_editable: 'У ответа тема цепочки'
  };

  /* The channel types' names people use; a type not here keeps its registration's title. */
  /** @type {Texts} */
  var TYPES = {
    en: { widget: 'Website chat', telegram: 'Telegram', email: 'Email', api: 'API', calls: 'Calls' },
    ru: { widget: 'Чат на сайте', telegram: 'Telegram', email: 'Почта', api: 'API', calls: 'Звонки' }
  };
  /* The words of the tasks the hub makes itself (taskTitle). */
  /** @type {Texts} */
  var TASKS = {
    en: { call_back: 'Call back' },
    ru: { call_back: 'Перезвонить' }
  };
  /** @param {string} type @param {Lang} lang */
  function channelType(type, lang) {
    var table = TYPES[lang] || TYPES.en;
    return Object.prototype.hasOwnProperty.call(table, type) ? table[type] : window.HubDom.channelTitle(type);
  }

  /** A name in the language, else in English (a GeoIP database may have no Russian name for a
   * small town). @param {Record<string, string> | null | undefined} names @param {Lang} lang */
  function nameIn(names, lang) {
    if (!names || typeof names !== 'object') return '';
    return names[lang] || names.en || names.ru || '';
  }
  /** "Moscow, Russia": a visitor's city and country from a touch or a visitor (kept from his
   * address when the hub has a GeoIP database, HUB_GEOIP_DATABASE); '' when not known.
   * @param {ApiJson} seen @param {Lang} lang */
  function place(seen, lang) {
    if (!seen) return '';
    return [nameIn(seen.city, lang), nameIn(seen.country, lang)].filter(function (p) { return !!p; }).join(', ');
  }

  /** The credit the GeoIP database's licence asks of pages that show its cities (DB-IP's link
   * back, MaxMind's attribution), from GET /api/v1/locale. @type {{text: string, url: string} | null} */
  var credit = null;
  /** A small link giving that credit, to put beside a city; null when none is asked for. */
  function creditLink() {
    if (!credit || !/^https:\/\//.test(credit.url)) return null;
    var a = document.createElement('a');
    a.className = 'geo-credit muted small';
    a.textContent = credit.text;
    a.href = credit.url;
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    return a;
  }

  /** @type {string | null} */
  var zone = null;

  /** @param {string | null | undefined} tz */
  function setZone(tz) {
    if (!tz) return;
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz }).format(0);
      zone = tz;
    } catch (e) { /* a zone this browser does not know: its own one is shown */ }
  }
  /** The company's zone once known (GET /api/v1/locale), else the browser's. */
  function loadZone() {
    return fetch('/api/v1/locale', { credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (d) {
      if (!d) return;
      setZone(d.timezone);
      credit = d.geoip_credit || null;
    }).catch(function () { /* the browser's zone */ });
  }
  /* An admin changed the company's zone: what is written from now on is in the new one. */
  document.addEventListener('hub:event', function (ev) {
    var detail = /** @type {CustomEvent} */ (ev).detail;
    if (detail && detail.name === 'working_hours.updated' && detail.data.working_hours) setZone(detail.data.working_hours.timezone);
  });
  /** @param {Intl.DateTimeFormatOptions} opts */
  function inZone(opts) { return zone ? Object.assign({ timeZone: zone }, opts) : opts; }
  /** @param {string | number | Date | null | undefined} value */
  function asDate(value) {
    if (value === null || value === undefined || value === '') return null;
    var d = value instanceof Date ? value : new Date(value);
    return isNaN(d.getTime()) ? null : d;
  }
  /**
   * A moment as the operator reads it: 'datetime' (07.12.2026, 09:00), 'date', 'time',
   * 'day' (7 December 2026), 'short' (7 Dec).
   * @param {string | number | Date | null | undefined} value @param {Lang} lang @param {string} [kind]
   */
  function when(value, lang, kind) {
    var d = asDate(value);
    if (!d) return '';
    /** @type {Record<string, Intl.DateTimeFormatOptions>} */
    var shapes = {
      datetime: { dateStyle: 'short', timeStyle: 'short' },
      date: { dateStyle: 'short' },
      time: { hour: '2-digit', minute: '2-digit' },
      day: { day: 'numeric', month: 'long', year: 'numeric' },
      short: { day: 'numeric', month: 'short' },
      weekday: { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }
    };
    return new Intl.DateTimeFormat(lang, inZone(shapes[kind || 'datetime'] || shapes.datetime)).format(d);
  }
  /** The calendar day of a moment in the company's zone, YYYY-MM-DD (to group by day). @param {string | number | Date} value */
  function dayKey(value) {
    var d = asDate(value);
    return d ? new Intl.DateTimeFormat('en-CA', inZone({ year: 'numeric', month: '2-digit', day: '2-digit' })).format(d) : '';
  }
  /** @param {Date} d @returns {number} minutes the zone's wall clock is ahead of UTC at d */
  function offsetAt(d) {
    /** @type {Record<string, number>} */
    var p = {};
    new Intl.DateTimeFormat('en-US', inZone({
      hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric'
    })).formatToParts(d).forEach(function (part) { if (part.type !== 'literal') p[part.type] = Number(part.value); });
    var wall = Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
    return Math.round((wall - d.getTime()) / 60000);
  }
  /**
   * A datetime-local value («2026-12-07T09:00») read as the company's wall clock.
   * @param {string} local @returns {Date | null}
   */
  function fromWall(local) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local || '');
    if (!m) return null;
    if (!zone) return asDate(local);
    var asUtc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
    var guess = new Date(asUtc - offsetAt(new Date(asUtc)) * 60000);
    return new Date(asUtc - offsetAt(guess) * 60000);
  }
  /** A moment as a datetime-local value on the company's wall clock. @param {Date} d */
  function toWall(d) {
    var shifted = new Date(d.getTime() + (zone ? offsetAt(d) : -d.getTimezoneOffset()) * 60000);
    return shifted.toISOString().slice(0, 16);
  }
  /**
   * The operator's words for a failed request: the code's, else the kind of failure by status
   * (in English the hub's own message says more, so it is kept).
   * @param {string | undefined} code @param {number | undefined} status @param {string} message @param {Lang} lang
   */
  function errorText(code, status, message, lang) {
    var table = ERRORS[lang] || ERRORS.en;
    if (lang === 'ru' && code && Object.prototype.hasOwnProperty.call(CODES_RU, code)) return CODES_RU[code];
    if (lang === 'en' && message) return message;
    if (!status) return table.network;
    var kind = 'http_' + status;
    if (Object.prototype.hasOwnProperty.call(table, kind)) return table[kind];
    return status >= 500 ? table.http_503 : table.http_400;
  }

  /**
   * A task's title in the operator's language: the hub titles the "call back" tasks it makes
   * itself «Call back <phone>» (hub.crm_sync.tasks.callback_title, which also keeps one request
   * from making two); an operator's own titles are shown as he wrote them.
   * @param {ApiJson} task @param {Lang} lang
   */
  function taskTitle(task, lang) {
    var title = String(task.title || '');
    var prefix = TASKS.en.call_back + ' ';
    if (task.kind !== 'callback' || title.indexOf(prefix) !== 0) return title;
    return (TASKS[lang] || TASKS.en).call_back + ' ' + title.slice(prefix.length);
  }

  /** @type {HubLocaleApi} */
  var api = {
    setZone: setZone, loadZone: loadZone, when: when, dayKey: dayKey, fromWall: fromWall, toWall: toWall,
    errorText: errorText, channelType: channelType, place: place, creditLink: creditLink, zone: function () { return zone; },
    taskTitle: taskTitle
  };
  window.HubLocale = api;
})();
