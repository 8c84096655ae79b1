// @ts-check
/* The admin area's working hours: the company's time zone and, for each weekday, open or closed
 * with its hours (one or more from–to intervals), or no working hours at all (the company
 * answers any time). GET and PUT /api/v1/settings/working-hours; a saved change applies at once
 * on every hub process: the widget, automatic assignment, reports, call-back times, scheduled
 * emails' default zone. Until an admin saves, the hub's environment gives them
 * (HUB_WORKING_HOURS, HUB_TIMEZONE). */
(function () {
  'use strict';
  var A = window.HubAdmin;
  var D = window.HubDom;
  if (!A) return;
  var H = A;
  var el = D.el, t = H.t;
  var DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

  H.addTexts({
    en: {
      hours_title: 'Working hours', hours_timezone: 'Time zone', hours_open_now: 'Open now', hours_closed_now: 'Closed now',
      hours_day_mon: 'Monday', hours_day_tue: 'Tuesday', hours_day_wed: 'Wednesday', hours_day_thu: 'Thursday', hours_day_fri: 'Friday',
      hours_day_sat: 'Saturday', hours_day_sun: 'Sunday', hours_day_open: 'Open', hours_from: 'From', hours_to: 'To',
      hours_add: 'Add hours', hours_remove: 'Remove these hours', hours_scheduled: 'The company works by these hours',
      hours_anytime: 'Off: no working hours, the hub counts every hour as working time and the widget never says when you open.',
      hours_midnight: 'A day that ends at midnight: 00:00 in "To".',
      hours_source_admin: 'Saved in the admin area: used by the widget, automatic assignment, reports and call-back times on every hub process.',
      hours_source_env: 'Taken from the hub\'s environment (HUB_WORKING_HOURS, HUB_TIMEZONE) until you save here; once saved, these win.',
      hours_save: 'Save working hours', hours_confirm: 'Save the working hours? The widget, automatic assignment, reports and call-back times use them at once.',
      hours_saved: 'Working hours saved', hours_failed: 'Not saved: {why}',
      hours_order: '{day}: the hours must end after they begin ({opens}–{closes})',
      hours_overlap: '{day}: the hours overlap', hours_none_open: 'Open at least one day, or turn the schedule off',
      hours_empty: '{day}: fill in both times'
    },
    ru: {
      hours_title: 'Рабочие часы', hours_timezone: 'Часовой пояс', hours_open_now: 'Сейчас открыто', hours_closed_now: 'Сейчас закрыто',
      hours_day_mon: 'Понедельник', hours_day_tue: 'Вторник', hours_day_wed: 'Среда', hours_day_thu: 'Четверг', hours_day_fri: 'Пятница',
      hours_day_sat: 'Суббота', hours_day_sun: 'Воскресенье', hours_day_open: 'Рабочий', hours_from: 'С', hours_to: 'До',
      hours_add: 'Добавить часы', hours_remove: 'Убрать эти часы', hours_scheduled: 'Компания работает по этим часам',
      hours_anytime: 'Выключено: рабочих часов нет, хаб считает рабочим любое время, а виджет не говорит, когда вы открываетесь.',
      hours_midnight: 'День, который заканчивается в полночь: 00:00 в поле «До».',
      hours_source_admin: 'Сохранены в настройках: их используют виджет, автоматическое распределение, отчёты и время обратных звонков на всех процессах хаба.',
      hours_source_env: 'Взяты из окружения хаба (HUB_WORKING_HOURS, HUB_TIMEZONE), пока вы не сохраните их здесь; после сохранения действуют эти.',
      hours_save: 'Сохранить рабочие часы', hours_confirm: 'Сохранить рабочие часы? Виджет, автоматическое распределение, отчёты и время обратных звонков сразу начнут их использовать.',
      hours_saved: 'Рабочие часы сохранены', hours_failed: 'Не сохранено: {why}',
      hours_order: '{day}: часы должны заканчиваться позже, чем начинаются ({opens}–{closes})',
      hours_overlap: '{day}: часы пересекаются', hours_none_open: 'Отметьте хотя бы один рабочий день или выключите расписание',
      hours_empty: '{day}: заполните оба времени'
    }
  });

  /** @type {{hours: ApiJson}} */
  var P = { hours: null };

  /** Every IANA zone the browser knows, and the saved one. @param {string} current */
  function zones(current) {
    var intl = /** @type {{supportedValuesOf?: (key: string) => string[]}} */ (/** @type {unknown} */ (Intl));
    var list = intl.supportedValuesOf ? intl.supportedValuesOf('timeZone').slice() : [];
    if (list.indexOf('UTC') < 0) list.push('UTC');
    if (list.indexOf(current) < 0) list.push(current);
    return list.sort();
  }

  /** @param {string} value @param {string} label */
  function timeInput(value, label) {
    var node = el('input');
    node.type = 'time';
    node.required = true;
    node.value = value === '24:00' ? '00:00' : value;
    node.setAttribute('aria-label', label);
    return node;
  }

  /** A day's row: open or closed, and its intervals. @param {string} day @param {ApiJson[]} spans */
  function dayRow(day, spans) {
    var tr = el('tr');
    tr.setAttribute('data-day', day);
    tr.appendChild(el('th', '', t('hours_day_' + day)));
    var openCell = el('td');
    var label = el('label', 'check');
    var open = el('input');
    open.type = 'checkbox';
    open.name = 'open';
    open.checked = spans.length > 0;
    label.appendChild(open);
    label.appendChild(document.createTextNode(' ' + t('hours_day_open')));
    openCell.appendChild(label);
    tr.appendChild(openCell);
    var spansCell = el('td');
    var list = el('div', 'hours-spans');
    spansCell.appendChild(list);
    var add = H.button('+ ' + t('hours_add'), 'link');
    add.setAttribute('data-add', day);
    spansCell.appendChild(add);
    tr.appendChild(spansCell);

    /** @param {string} opens @param {string} closes */
    function addSpan(opens, closes) {
      var row = el('div', 'hours-span');
      row.appendChild(timeInput(opens, t('hours_day_' + day) + ': ' + t('hours_from')));
      row.appendChild(el('span', '', '–'));
      row.appendChild(timeInput(closes, t('hours_day_' + day) + ': ' + t('hours_to')));
      var remove = H.button('×', 'link');
      remove.title = t('hours_remove');
      remove.setAttribute('aria-label', t('hours_remove'));
      remove.addEventListener('click', function () {
        list.removeChild(row);
        if (!list.children.length) open.checked = false;
        sync();
      });
      row.appendChild(remove);
      list.appendChild(row);
    }
    function sync() {
      list.hidden = !open.checked;
      add.hidden = !open.checked;
      if (open.checked && !list.children.length) addSpan('09:00', '18:00');
    }
    spans.forEach(function (s) { addSpan(s.opens, s.closes); });
    open.addEventListener('change', sync);
    add.addEventListener('click', function () { addSpan('09:00', '18:00'); });
    sync();
    return tr;
  }

  /** @param {string} clock */
  function minutes(clock) {
    var parts = clock.split(':');
    return Number(parts[0]) * 60 + Number(parts[1]);
  }

  /** What is wrong with the days, in the admin's words, or '' (the hub checks them again).
   * @param {ApiJson[]} days */
  function problem(days) {
    var why = '';
    if (!days.some(/** @param {ApiJson} d */ function (d) { return d.hours.length > 0; })) return t('hours_none_open');
    days.forEach(/** @param {ApiJson} d */ function (d) {
      var name = t('hours_day_' + d.day);
      var spans = d.hours.slice().sort(/** @param {ApiJson} a @param {ApiJson} b */ function (a, b) { return minutes(a.opens) - minutes(b.opens); });
      spans.forEach(/** @param {ApiJson} s @param {number} i */ function (s, i) {
        if (why) return;
        if (!s.opens || !s.closes) why = t('hours_empty', { day: name });
        else if (minutes(s.opens) >= minutes(s.closes)) why = t('hours_order', { day: name, opens: s.opens, closes: s.closes === '24:00' ? '00:00' : s.closes });
        else if (i > 0 && minutes(s.opens) < minutes(spans[i - 1].closes)) why = t('hours_overlap', { day: name });
      });
    });
    return why;
  }

  /** The day rows as the API takes them. @param {HTMLElement} table */
  function readDays(table) {
    return DAYS.map(function (day) {
      var tr = /** @type {HTMLElement} */ (table.querySelector('tr[data-day="' + day + '"]'));
      var open = /** @type {HTMLInputElement} */ (tr.querySelector('input[name="open"]'));
      var hours = !open.checked ? [] : D.all('.hours-span', tr).map(function (row) {
        var inputs = row.querySelectorAll('input');
        var closes = inputs[1].value === '00:00' ? '24:00' : inputs[1].value;
        return { opens: inputs[0].value, closes: closes };
      });
      return { day: day, hours: hours };
    });
  }

  /** @param {HTMLElement} box */
  function render(box) {
    var h = P.hours;
    box.appendChild(el('h2', '', t('hours_title')));
    var card = el('div', 'card');
    if (h.open_now !== null) {
      var now = el('p');
      now.appendChild(el('span', 'pill' + (h.open_now ? '' : ' off'), h.open_now ? t('hours_open_now') : t('hours_closed_now')));
      card.appendChild(now);
    }
    var source = el('p', 'small muted', h.source === 'admin' ? t('hours_source_admin') : t('hours_source_env'));
    source.id = 'hours-source';
    card.appendChild(source);
    var form = el('form', 'admin-form hours-form');
    form.id = 'hours-form';
    var zone = el('select');
    zone.name = 'timezone';
    zones(h.timezone).forEach(function (name) {
      var option = el('option', '', name);
      option.value = name;
      option.selected = name === h.timezone;
      zone.appendChild(option);
    });
    form.appendChild(H.field(t('hours_timezone'), zone));
    var scheduled = el('label', 'check');
    var hasHours = el('input');
    hasHours.type = 'checkbox';
    hasHours.name = 'scheduled';
    hasHours.checked = h.days.length > 0;
    scheduled.appendChild(hasHours);
    scheduled.appendChild(document.createTextNode(' ' + t('hours_scheduled')));
    form.appendChild(scheduled);
    var anytime = el('p', 'small muted', t('hours_anytime'));
    form.appendChild(anytime);
    var table = el('table', 'hours-table');
    /** @type {Record<string, ApiJson[]>} */
    var byDay = {};
    h.days.forEach(/** @param {ApiJson} d */ function (d) { byDay[d.day] = d.hours; });
    DAYS.forEach(function (day) {
      var weekday = DAYS.indexOf(day) < 5;
      var spans = byDay[day] || (h.days.length || !weekday ? [] : [{ opens: '09:00', closes: '18:00' }]);
      table.appendChild(dayRow(day, spans));
    });
    form.appendChild(table);
    var midnight = el('p', 'small muted', t('hours_midnight'));
    form.appendChild(midnight);
    function toggle() {
      table.hidden = midnight.hidden = !hasHours.checked;
      anytime.hidden = hasHours.checked;
    }
    hasHours.addEventListener('change', toggle);
    toggle();
    var error = el('p', 'error');
    error.id = 'hours-error';
    error.setAttribute('role', 'alert');
    error.hidden = true;
    form.appendChild(error);
    var save = el('button', 'primary', t('hours_save'));
    save.type = 'submit';
    form.appendChild(save);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      error.hidden = true;
      var body = { timezone: zone.value, days: hasHours.checked ? readDays(table) : [] };
      var wrong = body.days.length ? problem(body.days) : '';
      if (wrong) {
        error.textContent = t('hours_failed', { why: wrong });
        error.hidden = false;
        return;
      }
      if (!window.confirm(t('hours_confirm'))) return;
      save.disabled = true;
      H.api('PUT', '/api/v1/settings/working-hours', body).then(function (saved) {
        P.hours = saved;
        H.toast(t('hours_saved'));
        var parent = box;
        D.clear(parent);
        render(parent);
      }).catch(/** @param {HubError} err */ function (err) {
        save.disabled = false;
        var why = err.detail && err.detail !== err.message ? err.message + ' (' + err.detail + ')' : err.message;
        error.textContent = t('hours_failed', { why: why });
        error.hidden = false;
      });
    });
    card.appendChild(form);
    box.appendChild(card);
  }

  H.section('hours', render, function () {
    return H.api('GET', '/api/v1/settings/working-hours').then(function (h) { P.hours = h; });
  });
})();
