// @ts-check
/* Nothing new goes unnoticed: the operator's own unread counts (opening a conversation reads
 * it, in his other tabs too), the tabs' counts and the title's "(3) Inbox", the tab the
 * inbox opens on, a sound and a desktop notification for a customer message in a conversation
 * of his, and the tasks due today with a live notice when one falls due. A feature script on
 * HubInbox; the counts come from GET /api/v1/conversations/counts. */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  H.addTexts({
    en: {
      due_tasks: 'Tasks due today', task_done: 'Done', task_due: 'Task due',
      task_overdue: 'overdue', new_message: 'New message', tab_unread: '{n} unread'
    },
    ru: {
      due_tasks: 'Задачи на сегодня', task_done: 'Готово', task_due: 'Пора выполнить задачу',
      task_overdue: 'просрочена', new_message: 'Новое сообщение', tab_unread: 'непрочитанных: {n}'
    }
  });
  var TABS = { mine: 'me', unassigned: 'unassigned', all: 'all' };

  /* ---------- the tabs' counts, the title, the landing tab ---------- */
  /** @type {ApiJson} the last counts the hub gave */
  var counts = null;
  /** @type {number | undefined} */
  var countsTimer;
  var countsBusy = false;
  var countsAgain = false;

  function renderCounts() {
    if (!counts) return;
    Object.keys(TABS).forEach(function (tab) {
      var box = H.find('[data-tab-count="' + tab + '"]');
      var c = counts.tabs[tab];
      box.textContent = c.total ? String(c.total) : '';
      box.classList.toggle('has-unread', c.unread > 0);
      box.title = c.unread > 0 ? H.t('tab_unread', { n: c.unread }) : '';
    });
    H.setTitleCount(counts.unread);
  }
  /** @returns {Promise<void>} */
  function loadCounts() {
    if (countsBusy) { countsAgain = true; return Promise.resolve(); }
    countsBusy = true;
    return H.api('GET', '/api/v1/conversations/counts').then(function (c) {
      counts = c;
      renderCounts();
    }).catch(function () { /* the counts wait for the next change */ }).then(function () {
      countsBusy = false;
      if (countsAgain) { countsAgain = false; scheduleCounts(); }
    });
  }
  /** Counts follow the events, at most once a second however busy the hub is. */
  function scheduleCounts() {
    if (countsTimer !== undefined) return;
    countsTimer = setTimeout(function () { countsTimer = undefined; loadCounts(); }, 1000);
  }
  // Before the first list: an operator with nothing in Mine lands on Unassigned.
  // A tab he picked meanwhile stays picked.
  H.onStart(function () {
    var before = H.state().filter.assignee;
    return loadCounts().then(function () {
      var filter = H.state().filter;
      if (counts && counts.landing === 'unassigned' && filter.assignee === before && before === 'me') {
        filter.assignee = 'unassigned';
      }
    });
  });

  /* ---------- unread of the operator ---------- */
  /** @param {number} id @returns {ApiJson} */
  function listed(id) {
    var convs = H.state().convs;
    for (var i = 0; i < convs.length; i++) if (convs[i].id === id) return convs[i];
    return null;
  }
  function looking() { return !document.hidden; }
  /** @type {Record<string, boolean>} reads under way, by conversation */
  var reading = {};
  /** @param {number} id */
  function markRead(id) {
    var row = listed(id);
    if (row && row.my_unread_count > 0) { row.my_unread_count = 0; H.rerenderList(); }
    if (reading[id]) return;
    reading[id] = true;
    H.api('POST', '/api/v1/conversations/' + id + '/read', {}).then(function (r) {
      var now = listed(id);
      if (now) { now.my_unread_count = r.my_unread_count; H.rerenderList(); }
      scheduleCounts();
    }).catch(function () { /* a conversation gone from view: nothing to clear */ }).then(function () {
      delete reading[id];
    });
  }
  document.addEventListener('hub:conversation-opened', function () {
    var id = H.state().current;
    if (id !== null && looking()) markRead(id);
  });
  document.addEventListener('visibilitychange', function () {
    var id = H.state().current;
    if (id !== null && looking()) markRead(id);
  });

  /** @param {ApiJson} data a message.created of a customer message */
  function customerWrote(data) {
    var conv = data.conversation;
    var id = data.conversation_id;
    var me = H.state().me;
    var open = H.state().current === id && looking();
    if (open) {
      markRead(id);
    } else {
      var row = listed(id);
      // Events carry the conversation's count, not his: his grows by one, never past it.
      if (row && row.my_unread_count !== undefined) {
        row.my_unread_count = Math.min(row.my_unread_count + 1, row.unread_count);
        H.rerenderList();
      }
    }
    if (conv && me && conv.assignee_id === me.id && !open) {
      var body = data.message && data.message.body ? String(data.message.body).slice(0, 140) : '';
      H.alert(H.t('new_message'), H.contactName(conv.contact, conv.contact_id), body, id);
    }
  }

  document.addEventListener('hub:event', function (ev) {
    var name = ev.detail.name;
    var data = ev.detail.data || {};
    if (data.conversation && name !== 'conversation.read') {
      // A reply answers everything before it: his count is never more than the conversation's.
      var row = listed(data.conversation.id);
      if (row && row.my_unread_count > row.unread_count) {
        row.my_unread_count = row.unread_count;
        H.rerenderList();
      }
    }
    if (name === 'message.created' && data.message && data.message.kind === 'incoming') {
      customerWrote(data);
    } else if (name === 'conversation.read') {
      var read = listed(data.conversation_id);
      if (read) { read.my_unread_count = data.my_unread_count; H.rerenderList(); }
    } else if (name === 'task.due') {
      taskDue(data.task);
    } else if (name === 'task.updated') {
      scheduleTasks();
    }
    if (name.indexOf('conversation.') === 0 || (name === 'message.created' && data.conversation)) {
      scheduleCounts();
    }
  });

  /* ---------- tasks due today ---------- */
  /** @type {number | undefined} */
  var tasksTimer;
  function endOfToday() {
    var d = new Date();
    return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).toISOString();
  }
  function loadTasks() {
    if (!H.state().me) return;
    H.api('GET', '/api/v1/tasks?assignee=me&limit=50&due_before=' + encodeURIComponent(endOfToday()))
      .then(function (d) { renderTasks(d.items || []); })
      .catch(function () { /* the list waits for the next change */ });
  }
  function scheduleTasks() {
    clearTimeout(tasksTimer);
    tasksTimer = setTimeout(loadTasks, 300);
  }
  /** @param {ApiJson} task */
  function taskLink(task) {
    if (task.deal_id) return '/inbox/deals/' + task.deal_id;
    return task.contact_id ? '/inbox/contacts/' + task.contact_id : null;
  }
  /** @type {ApiJson[]} the tasks shown, drawn again in another language */
  var shownTasks = [];
  /** @param {ApiJson[]} items */
  function renderTasks(items) {
    shownTasks = items;
    var list = H.$('due-list');
    H.clear(list);
    items.forEach(function (task) {
      var overdue = task.due_at && Date.parse(task.due_at) < Date.now();
      var li = H.el('li', 'due-task' + (overdue ? ' overdue' : ''));
      li.setAttribute('data-task', String(task.id));
      var href = taskLink(task);
      var title = H.el(href ? 'a' : 'span', 'due-title', window.HubLocale.taskTitle(task, H.state().lang));
      if (href && title instanceof HTMLAnchorElement) title.href = href;
      li.appendChild(title);
      var when = task.due_at ? new Date(task.due_at).toLocaleTimeString(H.state().lang, { hour: '2-digit', minute: '2-digit' }) : '';
      if (overdue) {
        when = new Date(task.due_at).toLocaleString(H.state().lang, { dateStyle: 'short', timeStyle: 'short' }) + ', ' + H.t('task_overdue');
      }
      li.appendChild(H.el('span', 'muted small', when));
      var done = H.el('button', 'link small', H.t('task_done'));
      done.type = 'button';
      done.setAttribute('data-complete', String(task.id));
      li.appendChild(done);
      list.appendChild(li);
    });
    H.$('due-count').textContent = items.length ? String(items.length) : '';
    H.show(H.$('due-tasks'), items.length > 0);
  }
  /** @param {ApiJson} task */
  function taskDue(task) {
    if (!task) return;
    var title = window.HubLocale.taskTitle(task, H.state().lang);
    H.toast(H.t('task_due') + ': ' + title);
    H.alert(H.t('task_due'), title, '', null);
    loadTasks();
  }
  H.$('due-list').addEventListener('click', function (ev) {
    var id = H.targetAttr(ev, 'data-complete');
    if (!id) return;
    H.api('POST', '/api/v1/tasks/' + id + '/complete').then(loadTasks).catch(H.fail);
  });
  H.onStart(function () { loadTasks(); return Promise.resolve(); });
  document.addEventListener('hub:resync', function () { loadCounts(); loadTasks(); });
  document.addEventListener('hub:lang', function () { if (H.state().me) renderTasks(shownTasks); });
})();
