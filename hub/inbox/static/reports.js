// @ts-check
/* Hub reports page (/inbox/reports): vanilla ES2018, no build step, no chart library.
 * Reads GET /api/v1/reports/{funnel,operators,sources,email-tracking,calls} with the inbox's session cookie; the
 * language is the one the operator chose in the inbox (localStorage "hub.inbox.lang"). */
(function () {
  'use strict';
  var D = window.HubDom;
  var pickLang = D.pickLang, $ = D.$, el = D.el, clear = D.clear;
  /* The defaults' names (stages, lost reasons) in the reader's language, as on the board. */
  /** @param {string} name */
  function known(name) { return D.defaultName(name, S.lang); }

  /** @type {Texts} */
  var TEXTS = {
    en: {
      reports: 'Reports', back_to_inbox: '← Inbox', log_in_first: 'Log in to the inbox first',
      managers_only: 'Reports are for managers and admins.', from: 'From', to: 'To',
      pipeline: 'Pipeline', all_pipelines: 'All pipelines', show: 'Show', last_7: '7 days',
      last_30: '30 days', last_90: '90 days', funnel: 'Funnel',
      lost_reasons: 'Lost reasons by stage', by_operator: 'By operator', by_source: 'By source',
      leads_in: 'Leads in', deals_created: 'Deals created', won: 'Won', lost: 'Lost',
      win_rate: 'Win rate', won_amount: 'Won amount', deal_length: 'Deal length',
      avg: 'average', median: 'median', first_response: 'First response', p90: '90 %',
      rating: 'Customer rating', rating_of: '{avg} ★ ({n})',
      in_hours: 'in working hours', stage: 'Stage', reached: 'Reached', to_next: 'To next',
      reason: 'Reason', count: 'Deals', operator: 'Operator', channel: 'Channel',
      utm_source: 'UTM source', utm_campaign: 'Campaign', no_owner: '(no owner)',
      none: '—', nothing: 'Nothing in this period', lang_other: 'Русский',
      answered: 'answered', unanswered: 'unanswered', sec: 's', min: 'min', hour: 'h', day: 'd',
      converted: 'became deals', by_email: 'Tracked emails by operator', emails_sent: 'Sent',
      emails_opened: 'Opened by a person', emails_clicked: 'Clicked by a person',
      open_rate: 'Open rate', click_rate: 'Click rate', machine_only: 'Only machines opened',
      machine_opens: 'Machine opens', calls: 'Calls', calls_by_operator: 'Answered calls by operator',
      calls_by_number: 'Calls by tracking number', tracking_number: 'Tracking number',
      source: 'Source', campaign: 'Campaign', calls_answered: 'Answered', calls_missed: 'Missed',
      callbacks: 'Missed calls: {missed}, called back: {back} (median wait {median}, longest {max})',
      nobody: '(nobody)'
    },
    ru: {
      reports: 'Отчёты', back_to_inbox: '← Входящие', log_in_first: 'Сначала войдите во входящие',
      managers_only: 'Отчёты доступны менеджерам и администраторам.', from: 'С', to: 'По',
      pipeline: 'Воронка', all_pipelines: 'Все воронки', show: 'Показать', last_7: '7 дней',
      last_30: '30 дней', last_90: '90 дней', funnel: 'Воронка',
      lost_reasons: 'Причины отказа по этапам', by_operator: 'По операторам',
      by_source: 'По источникам', leads_in: 'Новых лидов', deals_created: 'Создано сделок',
      won: 'Выиграно', lost: 'Проиграно', win_rate: 'Доля побед', won_amount: 'Сумма выигранных',
      deal_length: 'Длительность сделки', avg: 'в среднем', median: 'медиана',
      first_response: 'Первый ответ', p90: '90 %', in_hours: 'в рабочие часы', stage: 'Этап',
      rating: 'Оценка клиентов', rating_of: '{avg} ★ ({n})',
      reached: 'Дошло', to_next: 'В следующий', reason: 'Причина', count: 'Сделок',
      operator: 'Оператор', channel: 'Канал', utm_source: 'UTM-источник',
      utm_campaign: 'Кампания', no_owner: '(без ответственного)', none: '—',
      nothing: 'За этот период ничего нет', lang_other: 'English', answered: 'с ответом',
      unanswered: 'без ответа', sec: 'с', min: 'мин', hour: 'ч', day: 'д',
      converted: 'стали сделками', by_email: 'Письма с отслеживанием по операторам',
      emails_sent: 'Отправлено', emails_opened: 'Открыто человеком',
      emails_clicked: 'Переходы по ссылкам', open_rate: 'Доля открытий', click_rate: 'Доля кликов',
      machine_only: 'Открыли только роботы', machine_opens: 'Открытий роботами', calls: 'Звонки', calls_by_operator: 'Отвеченные звонки по операторам',
      calls_by_number: 'Звонки по номерам', tracking_number: 'Номер',
      source: 'Источник', campaign: 'Кампания', calls_answered: 'Отвечено', calls_missed: 'Пропущено',
      callbacks: 'Пропущено звонков: {missed}, перезвонили: {back} (ожидание: медиана {median}, дольше всех {max})',
      nobody: '(никто)'
    }
  };
  /**
   * The three reports of the period (API objects as answered) and the pipelines to choose from.
   * @type {{lang: Lang, data: {funnel: ApiJson, operators: ApiJson, sources: ApiJson, emails: ApiJson, calls: ApiJson} | null, pipelines: ApiJson[]}}
   */
  var S = { lang: pickLang(), data: null, pipelines: [] };

  /** @param {string} key */
  function t(key) { return TEXTS[S.lang][key] || TEXTS.en[key] || key; }
  /** @param {string} path */
  function api(path) { return D.request('GET', path); }

  /* ---------- formatting ---------- */
  /** @param {number | string} n */
  function number(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
  }
  /** @param {number | null | undefined} x a share, 0 to 1 */
  function percent(x) {
    if (x === null || x === undefined) return t('none');
    return (Math.round(x * 1000) / 10).toLocaleString(S.lang === 'ru' ? 'ru-RU' : 'en-US') + '\u00a0%';
  }
  /** @param {Array<{amount: string, currency: string}> | null | undefined} list */
  function amounts(list) {
    if (!list || !list.length) return t('none');
    return list.map(function (a) {
      var parts = a.amount.split('.');
      /* A plain space before the currency: a narrow card wraps there, not inside "RUB". */
      return number(parts[0]) + (S.lang === 'ru' ? ',' : '.') + parts[1] + ' ' + a.currency;
    }).join(' + ');
  }
  /** @param {number | null | undefined} s seconds */
  function duration(s) {
    if (s === null || s === undefined) return t('none');
    if (s < 60) return s + '\u00a0' + t('sec');
    if (s < 3600) return Math.floor(s / 60) + '\u00a0' + t('min') + (s % 60 ? ' ' + (s % 60) + '\u00a0' + t('sec') : '');
    if (s < 86400) return Math.floor(s / 3600) + '\u00a0' + t('hour') + ' ' + Math.floor((s % 3600) / 60) + '\u00a0' + t('min');
    return Math.floor(s / 86400) + '\u00a0' + t('day') + ' ' + Math.floor((s % 86400) / 3600) + '\u00a0' + t('hour');
  }
  /** @param {Date} d */
  function isoDay(d) {
    var p = /** @param {number} n */ function (n) { return (n < 10 ? '0' : '') + n; };
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
  }

  /* ---------- period ---------- */
  function params() {
    var q = new URLSearchParams(location.search);
    if (!q.get('from') || !q.get('to')) {
      var to = new Date();
      var from = new Date(to.getTime() - 29 * 86400000);
      q.set('from', isoDay(from));
      q.set('to', isoDay(to));
    }
    return q;
  }
  /** @param {URLSearchParams} q */
  function fillForm(q) {
    var form = $('period', HTMLFormElement);
    D.control(form, 'from').value = q.get('from') || '';
    D.control(form, 'to').value = q.get('to') || '';
    var select = D.control(form, 'pipeline_id');
    clear(select);
    var all = el('option', '', t('all_pipelines'));
    all.value = '';
    select.appendChild(all);
    S.pipelines.forEach(function (p) {
      var opt = el('option', '', known(p.name));
      opt.value = String(p.pipeline_id);
      select.appendChild(opt);
    });
    select.value = q.get('pipeline_id') || '';
  }
  /** @param {URLSearchParams} q */
  function go(q) {
    history.replaceState(null, '', '/inbox/reports?' + q.toString());
    load();
  }

  /* ---------- rendering ---------- */
  /** @param {string} label @param {string} value @param {string} [note] */
  function card(label, value, note) {
    var box = el('div', 'card');
    box.appendChild(el('div', 'card-label', label));
    box.appendChild(el('div', 'card-value', value));
    if (note) box.appendChild(el('div', 'card-note muted small', note));
    return box;
  }
  /** @param {ApiJson} f GET /api/v1/reports/funnel */
  function renderCards(f) {
    var box = $('cards');
    clear(box);
    box.appendChild(card(t('leads_in'), number(f.leads_in), number(f.leads_converted) + ' ' + t('converted')));
    box.appendChild(card(t('deals_created'), number(f.deals_created)));
    box.appendChild(card(t('won') + ' / ' + t('lost'), f.deals_won + ' / ' + f.deals_lost));
    box.appendChild(card(t('win_rate'), percent(f.win_rate)));
    box.appendChild(card(t('won_amount'), amounts(f.won_amount)));
    box.appendChild(card(t('deal_length'), duration(f.deal_length.median_seconds),
      t('median') + ' · ' + t('avg') + ' ' + duration(f.deal_length.avg_seconds)));
    var fr = f.first_response;
    box.appendChild(card(t('first_response'), duration(fr.median_seconds),
      t('median') + ' · ' + t('p90') + ' ' + duration(fr.p90_seconds) +
      (fr.working_hours ? ' · ' + t('in_hours') : '') + ' · ' + fr.answered + ' ' + t('answered') +
      ', ' + fr.unanswered + ' ' + t('unanswered')));
  }
  /** @param {ApiJson} f GET /api/v1/reports/funnel */
  function renderFunnels(f) {
    var box = $('funnels');
    clear(box);
    f.pipelines.forEach(/** @param {ApiJson} p */ function (p) {
      var block = el('div', 'funnel');
      block.setAttribute('data-pipeline', p.pipeline_id);
      block.appendChild(el('h3', '', known(p.name)));
      var top = p.stages.length ? Math.max(p.stages[0].reached, 1) : 1;
      p.stages.forEach(/** @param {ApiJson} s */ function (s) {
        var row = el('div', 'funnel-row' + (s.kind === 'won' ? ' won' : ''));
        row.appendChild(el('span', 'funnel-name', known(s.name)));
        var track = el('span', 'funnel-track');
        var bar = el('span', 'funnel-bar');
        bar.style.width = Math.max(2, Math.round(100 * s.reached / top)) + '%';
        track.appendChild(bar);
        row.appendChild(track);
        row.appendChild(el('span', 'funnel-count', number(s.reached)));
        row.appendChild(el('span', 'funnel-conv muted', s.conversion_to_next === null ? '' : '→ ' + percent(s.conversion_to_next)));
        block.appendChild(row);
      });
      box.appendChild(block);
    });
  }
  /** @param {HTMLElement} node @param {string[]} head @param {string[][]} rows */
  function tableRows(node, head, rows) {
    clear(node);
    var thead = el('thead');
    var tr = el('tr');
    head.forEach(function (h) { tr.appendChild(el('th', '', h)); });
    thead.appendChild(tr);
    node.appendChild(thead);
    var body = el('tbody');
    if (!rows.length) {
      var empty = el('tr');
      var cell = el('td', 'muted', t('nothing'));
      cell.colSpan = head.length;
      empty.appendChild(cell);
      body.appendChild(empty);
    }
    rows.forEach(function (cells) {
      var row = el('tr');
      cells.forEach(function (c) { row.appendChild(el('td', '', c)); });
      body.appendChild(row);
    });
    node.appendChild(body);
  }
  /** @param {ApiJson} r a row of the operators' or the sources' report @returns {string[]} */
  function figures(r) {
    return [number(r.deals_created), String(r.deals_won), String(r.deals_lost), percent(r.win_rate),
      amounts(r.won_amount), duration(r.deal_length.median_seconds),
      duration(r.first_response.median_seconds), duration(r.first_response.p90_seconds)];
  }
  /** @param {ApiJson} r an operator's customer rating: {average, count} */
  function rating(r) {
    if (!r || !r.count) return '—';
    return t('rating_of').replace('{avg}', r.average.toFixed(1)).replace('{n}', String(r.count));
  }
  function figureHead() {
    return [t('deals_created'), t('won'), t('lost'), t('win_rate'), t('won_amount'),
      t('deal_length') + ' (' + t('median') + ')', t('first_response') + ' (' + t('median') + ')',
      t('first_response') + ' (' + t('p90') + ')'];
  }
  function render() {
    var d = S.data;
    if (!d) return;
    renderCards(d.funnel);
    renderFunnels(d.funnel);
    tableRows($('lost'), [t('stage'), t('reason'), t('count')], d.funnel.lost_reasons.map(/** @param {ApiJson} r */ function (r) {
      return [r.stage ? known(r.stage) : t('none'), r.reason ? known(r.reason) : t('none'), String(r.count)];
    }));
    tableRows($('operators'), [t('operator')].concat(figureHead(), [t('rating')]), d.operators.items.map(/** @param {ApiJson} r */ function (r) {
      return [r.name || t('no_owner')].concat(figures(r), [rating(r.rating)]);
    }));
    tableRows($('sources'), [t('channel'), t('utm_source'), t('utm_campaign'), t('leads_in')].concat(figureHead()),
      d.sources.items.map(/** @param {ApiJson} r */ function (r) {
        return [r.source_channel ? window.HubLocale.channelType(r.source_channel, S.lang) : t('none'), r.utm_source || t('none'), r.utm_campaign || t('none'),
          number(r.leads_in)].concat(figures(r));
      }));
    tableRows($('emails'), [t('operator'), t('emails_sent'), t('emails_opened'), t('emails_clicked'),
      t('open_rate'), t('click_rate'), t('machine_only'), t('machine_opens')],
    d.emails.items.map(/** @param {ApiJson} r */ function (r) {
      return [r.operator_name, number(r.sent), number(r.opened), number(r.clicked), percent(r.open_rate),
        percent(r.click_rate), number(r.machine_only), number(r.machine_opens)];
    }));
    renderCalls(d.calls);
  }
  /** @param {ApiJson} c the calls report */
  function renderCalls(c) {
    tableRows($('calls-operators'), [t('operator'), t('calls_answered')], c.by_operator.map(/** @param {ApiJson} r */ function (r) {
      return [r.operator || t('nobody'), String(r.answered)];
    }));
    tableRows($('calls-numbers'), [t('tracking_number'), t('source'), t('campaign'), t('calls_answered'), t('calls_missed')],
      c.by_tracking_number.map(/** @param {ApiJson} r */ function (r) {
        return [r.tracking_number || t('none'), r.source || t('none'), r.campaign || t('none'), String(r.answered), String(r.missed)];
      }));
    var b = c.callbacks;
    $('calls-back').textContent = t('callbacks').replace('{missed}', String(b.missed)).replace('{back}', String(b.called_back))
      .replace('{median}', duration(b.median_s)).replace('{max}', duration(b.max_s));
  }
  function applyLang() {
    document.documentElement.lang = S.lang;
    D.translate(t);
    document.title = t('reports');
    fillForm(params());
    render();
  }

  function load() {
    var q = params();
    fillForm(q);
    $('error').hidden = true;
    var query = '?' + q.toString();
    return Promise.all([
      api('/api/v1/reports/funnel' + query),
      api('/api/v1/reports/operators' + query),
      api('/api/v1/reports/sources' + query),
      api('/api/v1/reports/email-tracking' + query),
      api('/api/v1/reports/calls' + query)
    ]).then(function (all) {
      S.data = { funnel: all[0], operators: all[1], sources: all[2], emails: all[3], calls: all[4] };
      if (!q.get('pipeline_id')) S.pipelines = all[0].pipelines;
      fillForm(q);
      render();
      document.body.setAttribute('data-loaded', 'true');
    }).catch(/** @param {HubError} err */ function (err) {
      if (err.status === 403) { $('report').hidden = true; $('not-staff').hidden = false; return; }
      $('error').textContent = err.message;
      $('error').hidden = false;
    });
  }

  function boot() {
    applyLang();
    $('lang').addEventListener('click', function () {
      S.lang = S.lang === 'ru' ? 'en' : 'ru';
      D.saveLang(S.lang);
      applyLang();
    });
    var form = $('period', HTMLFormElement);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var q = new URLSearchParams();
      q.set('from', D.control(form, 'from').value);
      q.set('to', D.control(form, 'to').value);
      var pipeline = D.control(form, 'pipeline_id').value;
      if (pipeline) q.set('pipeline_id', pipeline);
      go(q);
    });
    D.find('.presets').addEventListener('click', function (ev) {
      var days = Number(D.targetAttr(ev, 'data-days'));
      if (!days) return;
      var q = params();
      var to = new Date();
      q.set('to', isoDay(to));
      q.set('from', isoDay(new Date(to.getTime() - (days - 1) * 86400000)));
      go(q);
    });
    api('/api/v1/auth/session').then(function (s) {
      var role = s.operator.role;
      if (role !== 'manager' && role !== 'admin') { $('not-staff').hidden = false; return; }
      $('report').hidden = false;
      return window.HubLocale.loadZone().then(load);
    }).catch(function () { $('need-login').hidden = false; });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
