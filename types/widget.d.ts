// The website widget's one global (widget/hub-widget.js, documented in docs/widget.md), for
// TypeScript's checker (tsconfig.json; `make check`).

/** What Hub.identify() takes: a site's own user, with the hash that proves it (docs/widget.md). */
interface HubIdentity {
  identifier?: string;
  identifier_hash?: string;
  name?: string;
  email?: string;
}

interface HubWidgetApi {
  open(): void;
  close(): void;
  identify(identity: HubIdentity): Promise<boolean>;
}

interface Window {
  /**
   * The widget's API once its script ran; before that a page may have left calls to make in
   * `Hub.q`, each `[name, args]`.
   */
  Hub?: Partial<HubWidgetApi> & { q?: unknown };
}

// The widget's own types, kept here rather than in the file every visitor downloads.

/** A JSON answer of the hub's visitor API (its shapes: /api/openapi.json). */
type WidgetJson = any;

/** What every visitor API call resolves to; nothing throws (status 0: no network). */
interface WidgetAnswer {
  ok: boolean;
  status: number;
  data: WidgetJson;
  code: string;
}

/** A message kept in localStorage until the hub acks it (re-sent with the same id). */
interface Outgoing {
  id: string;
  body: string;
  t: number;
}

/** A file the visitor attached, kept in memory until the hub has it (a reload forgets it). */
interface OutgoingFile {
  id: string;
  file: File;
  t: number;
}

/** A message's bubble: its time, text, order in the list and, while pending, its client id. */
type Bubble = HTMLDivElement & { _t: number; _body: string; _o: number; _cid?: string; _seen: number };
/** An input (or a form's general line) with the element that shows its error. */
type Checked = HTMLElement & { _er: HTMLElement };
type CheckedInput = HTMLInputElement & { _er: HTMLElement };
/** The pre-chat and "call me back" forms, with their general error line. */
type WidgetForm = HTMLFormElement & { _gen: Checked };

interface WidgetState {
  vt: string | null;
  channel: WidgetJson;
  contact: WidgetJson;
  online: boolean;
  isOpen: boolean;
  want: boolean;
  identity: HubIdentity | null;
  msgs: Map<number, Bubble>;
  pend: Map<string, Bubble>;
  lastId: number;
  read: number | null;
  opName: string;
  ws: WebSocket | null;
  ready: boolean;
  gen: number;
  attempt: number;
  fails: number;
  rest: boolean;
  sent: Map<string, number>;
  holdUntil: number;
  prechat: boolean;
  view: string;
  lastTyping: number;
  lastFrame: number;
  greetUnread: boolean;
  greetEl: Bubble | null;
  /** The resolution the visitor is asked to rate; done once he rated it. */
  rating: { resolution_id: number; done: boolean } | null;
  score: number;
  /** When the company answers (``working_hours`` of the session and ``ready``), or null. */
  hours: WidgetJson;
  /** Nobody answered the visitor's last message within the channel's ``reply_wait_s``. */
  noAnswer: boolean;
  /** Refused for good (a site that is not allowed, an unknown token): the widget does nothing. */
  halted: boolean;
}

/** The widget's parts, made by build(). */
interface WidgetParts {
  r: HTMLDivElement;
  bd: HTMLSpanElement;
  la: HTMLButtonElement;
  teName: HTMLElement;
  teText: HTMLSpanElement;
  te: HTMLDivElement;
  ti: HTMLDivElement;
  sub: HTMLSpanElement;
  hd: HTMLDivElement;
  cn: HTMLDivElement;
  li: HTMLDivElement;
  ty: HTMLDivElement;
  ta: HTMLTextAreaElement;
  at: HTMLButtonElement;
  rt: HTMLDivElement;
  rtQ: HTMLDivElement;
  rtStars: HTMLDivElement;
  rtText: HTMLInputElement;
  rtGo: HTMLButtonElement;
  rtEr: HTMLDivElement;
  fin: HTMLInputElement;
  sd: HTMLButtonElement;
  chat: HTMLDivElement;
  pre: WidgetForm;
  cb: WidgetForm;
  win: HTMLDivElement;
  ofText: HTMLDivElement;
  ofForm: HTMLFormElement;
  of: HTMLDivElement;
}
