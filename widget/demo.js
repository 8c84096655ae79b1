// @ts-check
/* The demo site's own script, as any site that embeds the widget has some: a price calculator
 * that must keep working beside the widget. The hub serves it at /demo.js for its demo page. */
(function () {
  'use strict';
  const model = document.getElementById('calc-model');
  const montage = document.getElementById('calc-montage');
  const btn = document.getElementById('calc-btn');
  const out = document.getElementById('calc-total');
  if (!(model instanceof HTMLSelectElement) || !(montage instanceof HTMLInputElement) || !btn || !out) return;
  btn.addEventListener('click', function () {
    let total = Number(model.value);
    if (montage.checked) total += 18000;
    out.textContent = total.toLocaleString('ru-RU') + ' ₽';
  });
})();
