// @ts-check
/* "The operator is typing", told to the customer: while an operator writes a reply (never an
 * internal note) in a conversation whose channel shows typing to its customers (its type's
 * capabilities), the page says so over the operator socket at most every 2.5 s, and says stop
 * once the text is sent or cleared, turns into a note, or is left for another conversation. The
 * hub relays it to the customer (hub/inbox/typing.py); the widget shows "Anna is typing…".
 * Built on window.HubInbox (inbox.js). */
(function () {
  'use strict';
  if (!window.HubInbox) return;
  var H = window.HubInbox;
  var EVERY_MS = 2500;
  /** @type {number | null} the conversation whose customer was told the operator types */
  var told = null;
  var lastStart = 0;

  /** @param {number} convId @param {boolean} active */
  function tell(convId, active) {
    var ws = H.state().ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(JSON.stringify({ type: 'typing', conversation_id: convId, active: active }));
      return true;
    } catch (e) { return false; }
  }
  function stop() {
    if (told !== null) tell(told, false);
    told = null;
    lastStart = 0;
  }
  /** The open conversation, if its customer may be told: a reply, on a channel that shows it. */
  function target() {
    var s = H.state();
    var c = s.conv;
    if (s.mode === 'note' || s.current === null || !c || c.id !== s.current || !c.channel) return null;
    return window.HubDom.channelCan(c.channel.type, 'typing') ? s.current : null;
  }
  function onInput() {
    var id = target();
    var text = H.$('body', HTMLTextAreaElement).value.trim();
    if (id === null || !text) return stop();
    if (told !== null && told !== id) stop();
    if (Date.now() - lastStart < EVERY_MS) return;
    if (tell(id, true)) { told = id; lastStart = Date.now(); }
  }

  H.$('body').addEventListener('input', onInput);
  H.find('.mode', HTMLElement, H.$('composer')).addEventListener('click', function (ev) {
    if (H.targetAttr(ev, 'data-mode') === 'note') stop();
  });
  H.onSent(stop);
  document.addEventListener('hub:conversation-opened', stop);
})();
