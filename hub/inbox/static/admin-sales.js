// @ts-check
/* The admin area's sales settings: pipelines (made, renamed, made the default) and their
 * stages (added, renamed, moved, removed), and the lost reasons (added, renamed, retired).
 * The working hours are admin-hours.js. */
(function () {
  'use strict';
  var A = window.HubAdmin;
  var D = window.HubDom;
  if (!A) return;
  var H = A;
  var el = D.el, t = H.t;

  H.addTexts({
    en: {
      pipelines: 'Pipelines', pipeline_new: 'New pipeline', pipeline_name: 'Pipeline name',
      stages_hint: 'Open stages, one per line; won and lost are added', default_pipeline: 'Default',
      make_default: 'Make default', rename: 'Rename', stage_add: 'Add a stage', stage_name: 'Stage name',
      up: 'Move up', down: 'Move down', remove: 'Remove', kind_open: 'open', kind_won: 'won', kind_lost: 'lost',
      lost_reasons: 'Lost reasons', reason_add: 'Add a reason', reason_name: 'Reason', retire: 'Retire',
      create: 'Create', save: 'Save', add: 'Add', saved: 'Saved',
      won_default: 'Won', lost_default: 'Lost'
    },
    ru: {
      pipelines: 'Воронки', pipeline_new: 'Новая воронка', pipeline_name: 'Название воронки',
      stages_hint: 'Открытые этапы, по одному в строке; «успешно» и «проиграна» добавятся сами', default_pipeline: 'Основная',
      make_default: 'Сделать основной', rename: 'Переименовать', stage_add: 'Добавить этап', stage_name: 'Название этапа',
      up: 'Выше', down: 'Ниже', remove: 'Удалить', kind_open: 'открытый', kind_won: 'успех', kind_lost: 'провал',
      lost_reasons: 'Причины отказа', reason_add: 'Добавить причину', reason_name: 'Причина', retire: 'Убрать',
      create: 'Создать', save: 'Сохранить', add: 'Добавить', saved: 'Сохранено',
      won_default: 'Успешно', lost_default: 'Проиграна'
    }
  });

  /** @type {{pipelines: ApiJson[], reasons: ApiJson[]}} */
  var P = { pipelines: [], reasons: [] };

  function loadSales() {
    return Promise.all([H.api('GET', '/api/v1/pipelines'), H.api('GET', '/api/v1/lost-reasons')]).then(function (all) {
      P.pipelines = all[0].items;
      P.reasons = all[1].items;
    });
  }
  function refresh() { return loadSales().then(H.reload); }
  /** @param {Promise<ApiJson>} done */
  function then(done) { done.then(refresh).catch(H.fail); }

  /** @param {string} value @param {string} placeholder */
  function input(value, placeholder) {
    var node = el('input');
    /* The attribute too (a row is found by its stage's name); a default stored in English reads
     * as the inbox shows it to a Russian reader, and saving that row stores it so. */
    node.defaultValue = D.defaultName(value, H.lang());
    node.placeholder = placeholder;
    return node;
  }

  /** @param {ApiJson} stage @param {number} index among the open stages @param {number} count of open stages */
  function stageRow(stage, index, count) {
    var row = el('div', 'stage-row');
    row.setAttribute('data-stage', String(stage.id));
    row.appendChild(el('span', 'kind', t('kind_' + stage.kind)));
    var name = input(stage.name, t('stage_name'));
    name.setAttribute('aria-label', t('stage_name'));
    row.appendChild(name);
    var save = H.button(t('save'));
    save.setAttribute('data-action', 'rename');
    save.addEventListener('click', function () { then(H.api('PATCH', '/api/v1/stages/' + stage.id, { name: name.value })); });
    row.appendChild(save);
    if (stage.kind === 'open') {
      var up = H.button('↑');
      up.title = t('up');
      up.disabled = index === 0;
      up.addEventListener('click', function () { then(H.api('PATCH', '/api/v1/stages/' + stage.id, { position: index - 1 })); });
      var down = H.button('↓');
      down.title = t('down');
      down.disabled = index === count - 1;
      down.addEventListener('click', function () { then(H.api('PATCH', '/api/v1/stages/' + stage.id, { position: index + 1 })); });
      var remove = H.button(t('remove'), 'danger');
      remove.setAttribute('data-action', 'remove');
      remove.disabled = count === 1;
      remove.addEventListener('click', function () { then(H.api('DELETE', '/api/v1/stages/' + stage.id)); });
      row.appendChild(up);
      row.appendChild(down);
      row.appendChild(remove);
    }
    return row;
  }

  /** @param {ApiJson} p */
  function pipelineCard(p) {
    var card = el('div', 'card pipeline');
    card.setAttribute('data-pipeline', String(p.id));
    var head = el('div', 'card-head');
    var name = input(p.name, t('pipeline_name'));
    name.className = 'grow';
    name.setAttribute('aria-label', t('pipeline_name'));
    head.appendChild(name);
    var rename = H.button(t('rename'));
    rename.addEventListener('click', function () { then(H.api('PATCH', '/api/v1/pipelines/' + p.id, { name: name.value })); });
    head.appendChild(rename);
    if (p.is_default) head.appendChild(el('span', 'pill', t('default_pipeline')));
    else {
      var make = H.button(t('make_default'));
      make.addEventListener('click', function () { then(H.api('PATCH', '/api/v1/pipelines/' + p.id, { is_default: true })); });
      head.appendChild(make);
    }
    card.appendChild(head);
    var open = p.stages.filter(/** @param {ApiJson} s */ function (s) { return s.kind === 'open'; });
    p.stages.forEach(/** @param {ApiJson} s */ function (s) {
      card.appendChild(stageRow(s, open.indexOf(s), open.length));
    });
    var add = el('form', 'stage-row stage-add');
    var stage = input('', t('stage_name'));
    stage.required = true;
    stage.setAttribute('aria-label', t('stage_name'));
    add.appendChild(stage);
    var go = el('button', '', t('stage_add'));
    go.type = 'submit';
    add.appendChild(go);
    add.addEventListener('submit', function (ev) {
      ev.preventDefault();
      then(H.api('POST', '/api/v1/pipelines/' + p.id + '/stages', { name: stage.value }));
    });
    card.appendChild(add);
    return card;
  }

  function newPipeline() {
    var card = el('div', 'card');
    card.appendChild(el('h3', '', t('pipeline_new')));
    var form = el('form', 'admin-form');
    form.id = 'new-pipeline';
    var name = input('', t('pipeline_name'));
    name.required = true;
    form.appendChild(H.field(t('pipeline_name'), name));
    var stages = el('textarea');
    stages.rows = 3;
    stages.required = true;
    form.appendChild(H.field(t('stages_hint'), stages));
    var go = el('button', 'primary', t('create'));
    go.type = 'submit';
    form.appendChild(go);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var list = stages.value.split('\n').map(function (s) { return s.trim(); }).filter(Boolean);
      then(H.api('POST', '/api/v1/pipelines', { name: name.value, stages: list, won_name: t('won_default'), lost_name: t('lost_default') }));
    });
    card.appendChild(form);
    return card;
  }

  function reasonsCard() {
    var card = el('div', 'card reasons');
    card.appendChild(el('h3', '', t('lost_reasons')));
    P.reasons.forEach(function (r) {
      var row = el('div', 'stage-row');
      row.setAttribute('data-reason', String(r.id));
      var name = input(r.name, t('reason_name'));
      name.setAttribute('aria-label', t('reason_name'));
      row.appendChild(name);
      var save = H.button(t('save'));
      save.addEventListener('click', function () { then(H.api('PATCH', '/api/v1/lost-reasons/' + r.id, { name: name.value })); });
      var retire = H.button(t('retire'), 'danger');
      retire.addEventListener('click', function () { then(H.api('PATCH', '/api/v1/lost-reasons/' + r.id, { active: false })); });
      row.appendChild(save);
      row.appendChild(retire);
      card.appendChild(row);
    });
    var add = el('form', 'stage-row');
    var name = input('', t('reason_name'));
    name.required = true;
    name.setAttribute('aria-label', t('reason_name'));
    add.appendChild(name);
    var go = el('button', '', t('reason_add'));
    go.type = 'submit';
    add.appendChild(go);
    add.addEventListener('submit', function (ev) {
      ev.preventDefault();
      then(H.api('POST', '/api/v1/lost-reasons', { name: name.value }));
    });
    card.appendChild(add);
    return card;
  }

  H.section('pipelines', function (box) {
    box.appendChild(el('h2', '', t('pipelines')));
    P.pipelines.forEach(function (p) { box.appendChild(pipelineCard(p)); });
    box.appendChild(newPipeline());
    box.appendChild(reasonsCard());
  }, loadSales);
})();
