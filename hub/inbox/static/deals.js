// @ts-check
/* Hub pipeline board (/inbox/deals) and deal page (/inbox/deals/{id}): vanilla ES2018, no build
 * step. Cards move by HTML5 drag and drop: forward at once, backwards only with a reason, onto
 * "Won" or "Lost" to close the deal (lost asks for its reason). Customer-given text is written
 * with textContent, never as HTML. */
(function () {
  'use strict';
  var D = window.HubDom;
  var pickLang = D.pickLang, $ = D.$, el = D.el, clear = D.clear, show = D.show;

  /** @type {Texts} */
  var TEXTS = {
    en: {
      board: 'Deals', inbox: '← Inbox', pipeline: 'Pipeline', owner: 'Owner', source: 'Source',
      anyone: 'Anyone', me: 'Me', any_source: 'Any source', to_board: '← Board', save: 'Save',
      move: 'Move', won: 'Won', lost: 'Lost', reopen: 'Reopen', tasks: 'Tasks',
      task_title: 'Call back, send the proposal…', add_task: 'Add task', timeline: 'Timeline',
      hit_open: 'Email opened', hit_click: 'Link clicked', hit_machine: 'maybe a robot', hit_unknown: 'unclear',
      cancel: 'Cancel', confirm: 'OK', reason: 'Reason', back_reason: 'Why does the deal go back?',
      lost_reason: 'Why was the deal lost?', reopen_reason: 'Why reopen the deal?',
      other: 'Other (write it)', total: 'Total', done: 'Done',
      no_owner: 'no owner', stage_change: 'Stage', conversation: 'Conversation',
      task: 'Task', overdue: 'overdue', due: 'due', error: 'Something went wrong',
      status_open: 'open', status_won: 'won', status_lost: 'lost', lang_other: 'Русский',
      saved: 'Saved', contact: 'Contact', created: 'created', open_tasks: 'Tasks',
      overdue_n: 'overdue', no_tasks: 'No open tasks', title: 'Title', amount: 'Amount',
      currency: 'Currency', stage: 'Stage', due_at: 'Due',
      // n deals, by the language's plural rule (Intl.PluralRules: one, few, many, other)
      deals_one: '{n} deal', deals_other: '{n} deals',
      open_one: '{n} open deal', open_other: '{n} open deals'
    },
    ru: {
      board: 'Сделки', inbox: '← Входящие', pipeline: 'Воронка', owner: 'Ответственный',
      source: 'Источник', anyone: 'Все', me: 'Я', any_source: 'Любой источник',
      to_board: '← Воронка', save: 'Сохранить', move: 'Перенести', won: 'Успешно',
      lost: 'Проиграна', reopen: 'Открыть снова', tasks: 'Задачи',
      task_title: 'Перезвонить, отправить КП…', add_task: 'Добавить задачу', timeline: 'История',
      hit_open: 'Письмо открыто', hit_click: 'Переход по ссылке', hit_machine: 'возможно, робот', hit_unknown: 'неясно',
      cancel: 'Отмена', confirm: 'Готово', reason: 'Причина',
      back_reason: 'Почему сделка возвращается назад?', lost_reason: 'Почему сделка проиграна?',
      reopen_reason: 'Почему сделка открывается снова?', other: 'Другое (напишите)',
      total: 'Итого', done: 'Готово', no_owner: 'без ответственного',
      stage_change: 'Этап', conversation: 'Диалог', task: 'Задача', overdue: 'просрочена',
      due: 'срок', error: 'Что-то пошло не так', status_open: 'открыта', status_won: 'успешна',
      status_lost: 'проиграна', lang_other: 'English', saved: 'Сохранено', contact: 'Контакт',
      created: 'создана', open_tasks: 'Задачи', overdue_n: 'просрочено',
      no_tasks: 'Открытых задач нет', title: 'Название', amount: 'Сумма', currency: 'Валюта',
      stage: 'Этап', due_at: 'Срок',
      deals_one: '{n} сделка', deals_few: '{n} сделки', deals_many: '{n} сделок', deals_other: '{n} сделки',
      open_one: '{n} открытая сделка', open_few: '{n} открытые сделки', open_many: '{n} открытых сделок', open_other: '{n} открытой сделки'
    }
  };

  /**
   * The page's state; API objects (ApiJson) are kept as the hub answered them.
   * @type {{
   *   lang: Lang, csrf: string, me: ApiJson, pipelines: ApiJson[], operators: ApiJson[],
   *   reasons: ApiJson[], channelTypes: string[],
   *   filter: {pipeline: string, owner: string, source: string},
   *   deals: ApiJson[], totals: Record<string, ApiJson>, tasks: ApiJson[] | null,
   *   dealId: number | null, deal: ApiJson, dragging: number | null,
   *   reloadTimer: number | undefined, ws: WebSocket | null
   * }}
   */
  var S = {
    lang: pickLang(), csrf: '', me: null, pipelines: [], operators: [], reasons: [],
    channelTypes: [], filter: { pipeline: '', owner: '', source: '' }, deals: [], totals: {},
    tasks: null, dealId: null, deal: null, dragging: null, reloadTimer: undefined, ws: null
  };

  /** @param {string} key @param {Record<string, string | number>} [vars] */
  function t(key, vars) { return D.format(TEXTS[S.lang][key] || TEXTS.en[key] || key, vars); }
  /** @param {string} name a stored name: the defaults are shown in Russian to Russian readers */
  function known(name) { return D.defaultName(name, S.lang); }
  /**
   * @param {HTMLSelectElement} select @param {string | number} value @param {string} label
   * @param {boolean} [selected]
   */
  function option(select, value, label, selected) {
    var o = el('option', '', label);
    o.value = String(value);
    if (selected) o.selected = true;
    select.appendChild(o);
  }
  /** @param {number} n @param {string} [what] 'deals' or 'open' (the open ones) */
  function dealsCount(n, what) {
    var of = what || 'deals';
    var key = of + '_' + new Intl.PluralRules(S.lang).select(n);
    return t(TEXTS[S.lang][key] ? key : of + '_other', { n: n });
  }
  /** @param {string} amount @param {string} currency */
  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(S.lang, { style: 'currency', currency: currency }).format(Number(amount));
    } catch (e) { return amount + ' ' + currency; }
  }
  /** @param {string | null} iso */
  function when(iso) {
    return window.HubLocale.when(iso, S.lang);
  }
  /** @param {unknown} err */
  function fail(err) { D.toast(err instanceof Error && err.message ? err.message : t('error')); }

  /** @param {string} method @param {string} path @param {unknown} [body] @returns {Promise<ApiJson>} */
  function api(method, path, body) {
    return D.request(method, path, body, S.csrf).catch(/** @param {HubError} err */ function (err) {
      if (err.status === 401) window.location.href = '/inbox';
      throw err;
    });
  }

  /* ---------- language ---------- */
  function applyLang() {
    document.documentElement.lang = S.lang;
    D.translate(t);
    document.title = t('board');
    if (S.me) { renderFilters(); render(); if (S.tasks) renderTasksButton(); }
  }

  /* ---------- data ---------- */
  /** @returns {ApiJson} the pipeline shown, or null when there is none */
  function pipeline() {
    var id = Number(S.filter.pipeline);
    for (var i = 0; i < S.pipelines.length; i++) if (S.pipelines[i].id === id) return S.pipelines[i];
    return S.pipelines[0] || null;
  }
  /** @param {number} id @returns {ApiJson} the stage, or null */
  function stageById(id) {
    for (var i = 0; i < S.pipelines.length; i++) {
      var st = S.pipelines[i].stages;
      for (var j = 0; j < st.length; j++) if (st[j].id === id) return st[j];
    }
    return null;
  }
  function loadBoard() {
    var p = pipeline();
    if (!p) return Promise.resolve();
    var q = '/api/v1/deals?limit=500&pipeline_id=' + p.id;
    if (S.filter.owner) q += '&owner=' + encodeURIComponent(S.filter.owner);
    if (S.filter.source) q += '&source=' + encodeURIComponent(S.filter.source);
    return api('GET', q).then(function (data) {
      S.deals = data.items;
      S.totals = {};
      data.stages.forEach(/** @param {ApiJson} s */ function (s) { S.totals[s.stage_id] = s; });
      renderBoard();
    }).catch(fail);
  }
  function loadDeal() {
    return api('GET', '/api/v1/deals/' + S.dealId).then(function (d) {
      S.deal = d;
      renderDeal();
    }).catch(fail);
  }
  function reload() {
    clearTimeout(S.reloadTimer);
    S.reloadTimer = setTimeout(function () {
      if (S.dealId) { loadDeal(); } else { loadBoard(); loadTasks(); }
    }, 150);
  }
  /* Open tasks, soonest first: an operator's own, every one for managers; overdue in red. */
  function loadTasks() {
    return api('GET', '/api/v1/tasks?limit=200').then(function (data) {
      S.tasks = data.items;
      renderTasksButton();
      if (!$('my-tasks').hidden) renderMyTasks();
    }).catch(fail);
  }
  function renderTasksButton() {
    var tasks = S.tasks || [];
    var late = tasks.filter(function (tk) { return tk.overdue; }).length;
    var btn = $('tasks-btn');
    btn.textContent = t('open_tasks') + ': ' + tasks.length + (late ? ' · ' + late + ' ' + t('overdue_n') : '');
    btn.classList.toggle('overdue', late > 0);
  }
  function renderMyTasks() {
    var list = $('my-tasks');
    clear(list);
    if (!(S.tasks || []).length) list.appendChild(el('li', 'muted', t('no_tasks')));
    (S.tasks || []).forEach(function (tk) {
      var li = el('li');
      li.appendChild(el('span', 'when' + (tk.overdue ? ' overdue' : ''), tk.due_at ? when(tk.due_at) : ''));
      if (tk.deal_id || tk.contact_id) { /* its deal, else its contact's card (a call back) */
        var a = el('a', 'link', window.HubLocale.taskTitle(tk, S.lang));
        a.href = tk.deal_id ? '/inbox/deals/' + tk.deal_id : '/inbox/contacts/' + tk.contact_id;
        li.appendChild(a);
      } else {
        li.appendChild(el('span', '', window.HubLocale.taskTitle(tk, S.lang)));
      }
      var done = el('button', '', t('done'));
      done.type = 'button';
      done.onclick = function () { api('POST', '/api/v1/tasks/' + tk.id + '/complete').then(reload, fail); };
      li.appendChild(done);
      list.appendChild(li);
    });
  }

  /* ---------- board ---------- */
  function renderFilters() {
    var ps = $('f-pipeline', HTMLSelectElement);
    clear(ps);
    S.pipelines.forEach(function (p) { option(ps, p.id, known(p.name), pipeline() === p); });
    if (ps.parentElement) show(ps.parentElement, S.pipelines.length > 1);
    var owner = $('f-owner', HTMLSelectElement);
    clear(owner);
    option(owner, '', t('anyone'), !S.filter.owner);
    option(owner, 'me', t('me'), S.filter.owner === 'me');
    S.operators.forEach(function (o) {
      if (o.id !== S.me.id) option(owner, o.id, o.name, S.filter.owner === String(o.id));
    });
    var source = $('f-source', HTMLSelectElement);
    clear(source);
    option(source, '', t('any_source'), !S.filter.source);
    S.channelTypes.forEach(function (type) {
      option(source, type, window.HubLocale.channelType(type, S.lang), S.filter.source === type);
    });
  }
  /** @param {ApiJson} total a stage's count and sums, or undefined */
  function sumText(total) {
    if (!total) return money('0', 'RUB');
    return Object.keys(total.sums).map(function (c) { return money(total.sums[c], c); }).join(' + ');
  }
  /** @param {ApiJson} d */
  function card(d) {
    var li = el('li', 'card');
    li.setAttribute('data-id', String(d.id));
    li.draggable = d.status === 'open';
    var a = el('a', 'card-title', d.title);
    a.href = '/inbox/deals/' + d.id;
    li.appendChild(a);
    if (d.contact && d.contact.name !== d.title) li.appendChild(el('span', 'muted small', d.contact.name));
    var row = el('div', 'card-row');
    row.appendChild(el('strong', 'card-amount', money(d.amount, d.currency)));
    var channel = d.source && d.source.channel;
    if (channel) row.appendChild(D.channelBadge(channel));
    li.appendChild(row);
    li.appendChild(el('span', 'muted small', d.owner ? d.owner.name : t('no_owner')));
    if (d.status === 'lost' && d.lost_reason) li.appendChild(el('span', 'small', known(d.lost_reason)));
    return li;
  }
  function renderBoard() {
    var board = $('board');
    clear(board);
    var p = pipeline();
    if (!p) return;
    var open = 0; /* the open stages' totals: the board's won and lost columns are not open work */
    p.stages.forEach(/** @param {ApiJson} st */ function (st) {
      var col = el('section', 'column col-' + st.kind);
      col.setAttribute('data-stage', String(st.id));
      var head = el('div', 'col-head');
      head.appendChild(el('strong', '', known(st.name)));
      var total = S.totals[st.id];
      if (st.kind === 'open' && total) open += total.count;
      head.appendChild(el('span', 'muted small col-count', dealsCount(total ? total.count : 0) + ' · ' + sumText(total)));
      col.appendChild(head);
      var list = el('ul', 'col-cards');
      S.deals.filter(function (d) { return d.stage_id === st.id; }).forEach(function (d) {
        list.appendChild(card(d));
      });
      col.appendChild(list);
      board.appendChild(col);
    });
    $('board-total').textContent = dealsCount(open, 'open');
  }
  /** @param {number} id @returns {ApiJson} the deal on the board, or null */
  function dealById(id) {
    for (var i = 0; i < S.deals.length; i++) if (S.deals[i].id === id) return S.deals[i];
    return null;
  }
  /** @param {EventTarget | null} node @returns {Element | null} the board's column it is in */
  function columnOf(node) {
    var at = node instanceof Node ? node : null;
    while (at && at !== document.body) {
      if (at instanceof Element && at.classList.contains('column')) return at;
      at = at.parentNode;
    }
    return null;
  }
  /** @param {DragEvent} ev */
  function onDragStart(ev) {
    var li = D.targetClosest(ev, '.card');
    if (!li) return;
    S.dragging = Number(li.getAttribute('data-id'));
    if (ev.dataTransfer) {
      ev.dataTransfer.setData('text/plain', String(S.dragging));
      ev.dataTransfer.effectAllowed = 'move';
    }
    li.classList.add('dragging');
  }
  /** @param {DragEvent} ev */
  function onDragOver(ev) {
    var col = columnOf(ev.target);
    if (!col || S.dragging === null) return;
    ev.preventDefault();
    if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'move';
    var cols = document.querySelectorAll('.column.drop-ok');
    for (var i = 0; i < cols.length; i++) if (cols[i] !== col) cols[i].classList.remove('drop-ok');
    col.classList.add('drop-ok');
  }
  function endDrag() {
    S.dragging = null;
    var nodes = document.querySelectorAll('.drop-ok, .dragging');
    for (var i = 0; i < nodes.length; i++) nodes[i].classList.remove('drop-ok', 'dragging');
  }
  /** @param {DragEvent} ev */
  function onDrop(ev) {
    var col = columnOf(ev.target);
    var id = S.dragging !== null ? S.dragging : Number(ev.dataTransfer ? ev.dataTransfer.getData('text/plain') : '');
    endDrag();
    if (!col) return;
    ev.preventDefault();
    var deal = dealById(id);
    var target = stageById(Number(col.getAttribute('data-stage')));
    if (deal && target) moveDeal(deal, target);
  }
  /**
   * Forward at once; backwards, lost and reopen ask for their reason first.
   * @param {ApiJson} deal @param {ApiJson} target the stage
   */
  function moveDeal(deal, target) {
    var current = stageById(deal.stage_id);
    if (!current || target.id === current.id) return;
    var path = '/api/v1/deals/' + deal.id;
    if (target.kind === 'won') { send(path + '/won'); return; }
    if (target.kind === 'lost') {
      askReason(t('lost_reason'), S.reasons, function (reason) { send(path + '/lost', { reason: reason }); });
      return;
    }
    if (deal.status !== 'open') {
      askReason(t('reopen_reason'), null, function (reason) { send(path + '/reopen', { reason: reason }); });
      return;
    }
    var forward = target.position > current.position ||
      (target.position === current.position && target.id > current.id);
    if (forward) { send(path + '/stage', { stage_id: target.id }); return; }
    askReason(t('back_reason'), null, function (reason) {
      send(path + '/stage', { stage_id: target.id, reason: reason });
    });
  }
  /** @param {string} path @param {object} [body] */
  function send(path, body) {
    return api('POST', path, body === undefined ? {} : body).then(reload, fail);
  }

  /* ---------- the reason dialog ---------- */
  /**
   * @param {string} title @param {ApiJson[] | null} presets the reasons to pick from, if any
   * @param {(reason: string) => void} done
   */
  function askReason(title, presets, done) {
    var dialog = $('reason-dialog');
    var form = $('reason-form', HTMLFormElement);
    $('reason-title').textContent = title;
    var select = D.find('[name=preset]', HTMLSelectElement, form);
    var input = D.find('[name=reason]', HTMLInputElement, form);
    clear(select);
    show(select, !!presets);
    if (presets) {
      presets.forEach(function (r) { option(select, r.name, known(r.name)); });
      option(select, '', t('other'));
    }
    input.value = '';
    show(input, !presets);
    select.onchange = function () { show(input, !select.value); };
    form.onsubmit = function (ev) {
      ev.preventDefault();
      var reason = presets && select.value ? select.value : input.value.trim();
      if (!reason) { show(input, true); input.focus(); return; }
      show(dialog, false);
      done(reason);
    };
    show(dialog, true);
    (presets ? select : input).focus();
  }

  /* ---------- a deal's page ---------- */
  function renderDeal() {
    var d = S.deal;
    if (!d) return;
    $('d-title').textContent = d.title;
    var meta = $('d-meta');
    clear(meta);
    var contact = el('a', 'link', (d.contact ? d.contact.name : '') || (t('contact') + ' #' + d.contact_id));
    contact.href = '/inbox/contacts/' + d.contact_id;
    meta.appendChild(contact);
    var stage = known(d.stage ? d.stage.name : '');
    if (d.status === 'open') stage += ' · ' + t('status_open');
    meta.appendChild(el('span', '', ' · ' + stage + ' · ' + money(d.amount, d.currency) +
      (d.lost_reason ? ' · ' + known(d.lost_reason) : '')));
    var form = $('d-edit', HTMLFormElement);
    D.control(form, 'title').value = d.title;
    D.control(form, 'amount').value = d.amount;
    D.control(form, 'currency').value = d.currency;
    var owner = D.find('[name=owner]', HTMLSelectElement, form);
    clear(owner);
    option(owner, '', t('no_owner'), d.owner_id === null);
    S.operators.forEach(function (o) { option(owner, o.id, o.name, o.id === d.owner_id); });
    var stageSelect = $('d-stage', HTMLSelectElement);
    clear(stageSelect);
    var p = S.pipelines.filter(function (x) { return x.id === d.pipeline_id; }).pop();
    (p ? p.stages : []).forEach(/** @param {ApiJson} st */ function (st) {
      if (st.kind === 'open') option(stageSelect, st.id, known(st.name), st.id === d.stage_id);
    });
    var open = d.status === 'open';
    show(stageSelect, open); show($('d-move'), open); show($('d-won'), open); show($('d-lost'), open);
    show($('d-reopen'), !open);
    renderTasks(d.tasks);
    renderTimeline(d.timeline);
  }
  /** @param {ApiJson[]} tasks */
  function renderTasks(tasks) {
    var list = $('d-tasks');
    clear(list);
    tasks.filter(function (tk) { return tk.status === 'open'; }).forEach(function (tk) {
      var li = el('li');
      li.appendChild(el('span', 'when', tk.due_at ? when(tk.due_at) : ''));
      li.appendChild(el('span', '', window.HubLocale.taskTitle(tk, S.lang)));
      if (tk.overdue) li.appendChild(el('span', 'overdue', t('overdue')));
      var done = el('button', '', t('done'));
      done.type = 'button';
      done.onclick = function () { api('POST', '/api/v1/tasks/' + tk.id + '/complete').then(reload, fail); };
      li.appendChild(done);
      list.appendChild(li);
    });
  }
  /** @param {ApiJson[]} items */
  function renderTimeline(items) {
    var list = $('d-timeline');
    clear(list);
    items.slice().reverse().forEach(function (e) {
      var li = el('li');
      li.appendChild(el('span', 'when', when(e.at)));
      var it = e.item;
      if (e.type === 'stage_change') {
        var text = it.direction === 'initial' ? known(it.to_stage_name) + ' (' + t('created') + ')'
          : (it.from_stage_name ? known(it.from_stage_name) + ' → ' : '') + known(it.to_stage_name);
        li.appendChild(el('strong', '', t('stage_change')));
        li.appendChild(el('span', it.direction === 'backward' ? 'overdue' : '', text));
        if (it.reason) li.appendChild(el('span', 'muted', '«' + known(it.reason) + '»'));
        if (it.operator_name) li.appendChild(el('span', 'muted small', it.operator_name));
      } else if (e.type === 'conversation') {
        var ch = it.channel || {};
        li.appendChild(D.channelBadge(ch.type));
        var a = el('a', 'link', t('conversation') + ' · ' + (ch.name || ''));
        a.href = '/inbox#c' + it.id;
        li.appendChild(a);
        li.appendChild(el('span', 'muted small', it.last_message_preview || ''));
      } else if (e.type === 'email_hit') {
        // An open or click of an email of the deal: a machine's greyed, never called an open.
        li.appendChild(el('strong', it.verdict === 'human' ? '' : 'muted', t('hit_' + it.kind)));
        li.appendChild(el('span', '', '„' + it.subject + '“' + (it.link ? ' → ' + it.link : '')));
        if (it.verdict !== 'human') {
          var why = el('span', 'muted small', t('hit_' + it.verdict) + (it.client ? ' (' + it.client + ')' : ''));
          why.title = it.reason;
          li.appendChild(why);
        }
      } else {
        li.appendChild(el('strong', '', t('task')));
        li.appendChild(el('span', '', it.title + (it.status === 'done' ? ' ✓' : '')));
      }
      list.appendChild(li);
    });
  }
  /** @param {SubmitEvent} ev */
  function saveDeal(ev) {
    ev.preventDefault();
    var form = $('d-edit', HTMLFormElement);
    /** @type {{title: string, amount: string, currency: string, owner_id?: number}} */
    var body = {
      title: D.control(form, 'title').value, amount: D.control(form, 'amount').value.trim() || '0',
      currency: D.control(form, 'currency').value
    };
    var owner = D.control(form, 'owner').value;
    if (owner) body.owner_id = Number(owner);
    api('PATCH', '/api/v1/deals/' + S.dealId, body).then(function (d) {
      D.toast(t('saved'));
      S.deal.title = d.title;
      reload();
    }).catch(fail);
  }
  /** @param {SubmitEvent} ev */
  function addTask(ev) {
    ev.preventDefault();
    var form = $('task-form', HTMLFormElement);
    /** @type {{title: string, deal_id: number | null, due_at?: string}} */
    var body = { title: D.control(form, 'title').value, deal_id: S.dealId };
    var due = D.control(form, 'due').value;
    if (due) body.due_at = new Date(due).toISOString();
    api('POST', '/api/v1/tasks', body).then(function () { form.reset(); reload(); }).catch(fail);
  }

  /* ---------- live updates ---------- */
  function connect() {
    var proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var ws = new WebSocket(proto + '//' + location.host + '/ws/operator');
    S.ws = ws;
    ws.onmessage = function (msg) {
      var frame;
      try { frame = JSON.parse(msg.data); } catch (e) { return; }
      if (frame.type === 'event' && /^(deal|task)\./.test(frame.event)) reload();
      if (frame.type === 'resync') reload();
    };
    ws.onclose = function () { setTimeout(connect, 3000); };
  }

  /* ---------- start ---------- */
  function render() {
    if (S.dealId) renderDeal(); else renderBoard();
  }
  function bind() {
    var langs = document.querySelectorAll('[data-lang-switch]');
    for (var i = 0; i < langs.length; i++) {
      langs[i].addEventListener('click', function () {
        S.lang = S.lang === 'ru' ? 'en' : 'ru';
        D.saveLang(S.lang);
        applyLang();
      });
    }
    var board = $('board');
    board.addEventListener('dragstart', onDragStart);
    board.addEventListener('dragover', onDragOver);
    board.addEventListener('drop', onDrop);
    board.addEventListener('dragend', endDrag);
    var pipelines = $('f-pipeline', HTMLSelectElement);
    var owners = $('f-owner', HTMLSelectElement);
    var sources = $('f-source', HTMLSelectElement);
    pipelines.addEventListener('change', function () { S.filter.pipeline = pipelines.value; loadBoard(); });
    owners.addEventListener('change', function () { S.filter.owner = owners.value; loadBoard(); });
    sources.addEventListener('change', function () { S.filter.source = sources.value; loadBoard(); });
    D.find('#reason-form [data-cancel]').addEventListener('click', function () {
      show($('reason-dialog'), false);
    });
    $('tasks-btn').addEventListener('click', function () {
      show($('my-tasks'), $('my-tasks').hidden);
      renderMyTasks();
    });
    $('d-edit').addEventListener('submit', saveDeal);
    $('task-form').addEventListener('submit', addTask);
    $('d-move').addEventListener('click', function () {
      var target = stageById(Number($('d-stage', HTMLSelectElement).value));
      if (S.deal && target) moveDeal(S.deal, target);
    });
    $('d-won').addEventListener('click', function () { if (S.deal) moveDeal(S.deal, closing('won')); });
    $('d-lost').addEventListener('click', function () { if (S.deal) moveDeal(S.deal, closing('lost')); });
    $('d-reopen').addEventListener('click', function () {
      askReason(t('reopen_reason'), null, function (reason) {
        send('/api/v1/deals/' + S.dealId + '/reopen', { reason: reason });
      });
    });
  }
  /** @param {string} kind won or lost @returns {ApiJson} the deal's pipeline's stage of that kind */
  function closing(kind) {
    /** @type {ApiJson} */
    var found = null;
    S.pipelines.forEach(function (p) {
      if (p.id !== S.deal.pipeline_id) return;
      p.stages.forEach(/** @param {ApiJson} st */ function (st) { if (st.kind === kind && !found) found = st; });
    });
    return found;
  }
  function boot() {
    bind();
    applyLang();
    var m = /^\/inbox\/deals\/(\d+)$/.exec(location.pathname);
    S.dealId = m ? Number(m[1]) : null;
    api('GET', '/api/v1/auth/session').then(function (s) {
      S.csrf = s.csrf_token;
      S.me = s.operator;
      $('me').textContent = s.operator.name;
      return Promise.all([
        D.loadChannelTypes(),
        window.HubLocale.loadZone(),
        api('GET', '/api/v1/pipelines').then(function (d) { S.pipelines = d.items; }),
        api('GET', '/api/v1/operators').then(function (d) {
          S.operators = d.items.filter(/** @param {ApiJson} o */ function (o) { return o.active; });
        }),
        api('GET', '/api/v1/lost-reasons').then(function (d) { S.reasons = d.items; }),
        api('GET', '/api/v1/channels').then(function (d) {
          /** @type {Record<string, boolean>} */
          var types = {};
          d.items.forEach(/** @param {ApiJson} c */ function (c) { types[c.type] = true; });
          S.channelTypes = Object.keys(types).sort();
        })
      ]);
    }).then(function () {
      show($('app'), true);
      show($('board-pane'), !S.dealId);
      show($('deal-view'), !!S.dealId);
      var def = S.pipelines.filter(function (p) { return p.is_default; })[0];
      if (def) S.filter.pipeline = String(def.id);
      renderFilters();
      connect();
      if (!S.dealId) loadTasks();
      return S.dealId ? loadDeal() : loadBoard();
    }).catch(/** @param {HubError} err */ function (err) {
      if (err && err.status === 401) return;
      fail(err);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
