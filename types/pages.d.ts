// What the operator pages' scripts (hub/inbox/static) share through `window`, for TypeScript's
// checker (tsconfig.json; `make check`). Each script keeps its own types in JSDoc; these are the
// contracts between them: dom.js's helpers (window.HubDom) and the inbox's interface for its
// feature scripts (window.HubInbox, built by inbox.js and used by canned.js, attachments.js…).

/** The languages of the pages; each page keeps its texts in one table per language. */
type Lang = 'en' | 'ru';
type Texts = Record<Lang, Record<string, string>>;

/**
 * A JSON answer of the hub's API. Its shape is the one /api/openapi.json gives for the route;
 * the pages read it as the API documents it rather than through types repeated here.
 */
type ApiJson = any;

/** An answer other than 2xx: the hub's {"error": {code, message}}, with the HTTP status. */
interface HubError extends Error {
  status?: number;
  code?: string;
  /** The hub's own (English) message; ``message`` is the operator's words for it. */
  detail?: string;
}

interface HubDomApi {
  pickLang(): Lang;
  saveLang(lang: Lang): void;
  format(text: string, vars?: Record<string, string | number>): string;
  defaultName(name: string, lang: Lang): string;
  $<T extends HTMLElement = HTMLElement>(id: string, kind?: { new (): T; prototype: T }): T;
  find<T extends HTMLElement = HTMLElement>(
    selector: string,
    kind?: { new (): T; prototype: T },
    root?: ParentNode,
  ): T;
  all(selector: string, root?: ParentNode): HTMLElement[];
  control(
    form: HTMLFormElement,
    name: string,
  ): HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
  targetAttr(ev: Event, name: string): string | null;
  targetClosest(ev: Event, selector: string): HTMLElement | null;
  el<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    cls?: string,
    text?: string | number | null,
  ): HTMLElementTagNameMap[K];
  clear(node: Node): void;
  show(node: HTMLElement, yes: boolean): void;
  translate(t: (key: string) => string): void;
  toast(message: string): void;
  request(method: string, path: string, body?: unknown, csrf?: string): Promise<ApiJson>;
  /** Fetches the hub's channel types once, for ``channelBadge``. */
  loadChannelTypes(): Promise<void>;
  /** A channel type's badge, as its registration on the server describes it. */
  channelBadge(type?: string): HTMLSpanElement;
  /** A channel type's name as its registration on the server gives it. */
  channelTitle(type?: string): string;
  /** Whether a channel type can do something (``capabilities`` of /api/v1/channel-types). */
  channelCan(type: string | undefined, capability: string): boolean;
}

/** locale.js: moments in the company's time zone, and the operator's words for API errors. */
interface HubLocaleApi {
  setZone(tz: string | null | undefined): void;
  /** Asks GET /api/v1/locale for the company's zone (HUB_TIMEZONE). */
  loadZone(): Promise<void>;
  /** kind: 'datetime' (default), 'date', 'time', 'day', 'short'. */
  when(value: string | number | Date | null | undefined, lang: Lang, kind?: string): string;
  /** YYYY-MM-DD of the moment in the company's zone. */
  dayKey(value: string | number | Date): string;
  /** A datetime-local value read on the company's wall clock. */
  fromWall(local: string): Date | null;
  /** A moment as a datetime-local value on the company's wall clock. */
  toWall(d: Date): string;
  errorText(code: string | undefined, status: number | undefined, message: string, lang: Lang): string;
  /** A task's title in the language: the hub's own «Call back <phone>» told in Russian too. */
  taskTitle(task: ApiJson, lang: Lang): string;
  /** A channel type's name in the language (its registration's title for other types). */
  channelType(type: string, lang: Lang): string;
  /** A touch's or visitor's city and country ("Moscow, Russia"), '' when not known. */
  place(seen: ApiJson, lang: Lang): string;
  /** A link giving the credit the GeoIP database's licence asks for, or null. */
  creditLink(): HTMLAnchorElement | null;
  zone(): string | null;
}

/** What a feature script may read of the inbox's state. */
interface InboxView {
  lang: Lang;
  csrf: string;
  me: ApiJson;
  current: number | null;
  contact: ApiJson;
  messages: ApiJson[];
  mode: string;
  /** The list's filter; a start hook may pick the assignee tab. */
  filter: { assignee: string; status: string; channel: string; q: string };
  /** The conversations listed (as the API and events told them). */
  convs: ApiJson[];
  /** The open conversation once loaded (null while it loads). */
  conv: ApiJson;
  /** The operator socket, while connected. */
  ws: WebSocket | null;
}

interface HubInboxApi {
  api(method: string, path: string, body?: unknown): Promise<ApiJson>;
  t(key: string, vars?: Record<string, string | number>): string;
  $: HubDomApi['$'];
  find: HubDomApi['find'];
  el: HubDomApi['el'];
  clear: HubDomApi['clear'];
  show: HubDomApi['show'];
  control: HubDomApi['control'];
  targetAttr: HubDomApi['targetAttr'];
  targetClosest: HubDomApi['targetClosest'];
  fail(err: unknown): void;
  toast(message?: string): void;
  /** A channel type's name in the operator's language. */
  channelTypeName(type: string): string;
  /** How a channel knows a contact (an identity of the card), in words. */
  identityText(identity: ApiJson): string;
  /** A moment in the company's zone, in the operator's language (HubLocale.when). */
  when(value: string | number | Date | null | undefined, kind?: string): string;
  state(): InboxView;
  addTexts(texts: Texts): void;
  contactChanged(contact: ApiJson): void;
  applyLang(): void;
  reloadContact(): void;
  /** Show this conversation (one the page has just made, e.g. a new email). */
  openConversation(id: number): void;
  /** Decorates each rendered message. */
  onMessage(fn: (node: HTMLElement, message: ApiJson) => void): void;
  /** Fields to add to a message being sent. */
  onSend(fn: () => Record<string, unknown>): void;
  /** After a message was stored. */
  onSent(fn: () => void): void;
  rerenderMessages(): void;
  /** Decorates each rendered activity (a system line of the conversation). */
  onActivity(fn: (node: HTMLElement, message: ApiJson) => void): void;
  /** Runs before the first list loads; may set state().filter.assignee. */
  onStart(fn: () => Promise<unknown>): void;
  rerenderList(): void;
  /** The count the page's title shows in front of its name: «(3) Входящие». */
  setTitleCount(n: number): void;
  /** A sound, and a desktop notification if allowed and the page is not looked at. */
  alert(what: string, name: string, body: string, convId: number | null): void;
  contactName(contact: ApiJson, id?: number): string;
}

/** An operator event, also told to the page's feature scripts as a 'hub:event'. */
interface HubEventDetail {
  name: string;
  data: ApiJson;
}

/** What the admin area's shell (admin.js) gives its sections' scripts (admin-*.js). */
interface HubAdminApi {
  t(key: string, vars?: Record<string, string | number>): string;
  addTexts(texts: Texts): void;
  lang(): Lang;
  /** A JSON request with the session cookie and the CSRF token. */
  api(method: string, path: string, body?: unknown): Promise<ApiJson>;
  /** Shows an error's message in the toast. */
  fail(err: unknown): void;
  toast(message: string): void;
  /** The operators and teams the area last read (sections share them). */
  operators(): ApiJson[];
  teams(): ApiJson[];
  /** Reads operators and teams again, then renders every section. */
  reload(): Promise<void>;
  /** A section renders into its element whenever the data or the language changes. */
  section(id: string, render: (box: HTMLElement) => void, load?: () => Promise<void>): void;
  /** A labelled form field: label text above the control. */
  field(label: string, control: HTMLElement, hint?: string): HTMLLabelElement;
  /** A button of the area's style. */
  button(text: string, cls?: string): HTMLButtonElement;
  /** Shows a secret or a password once, with a copy button, until dismissed. */
  showOnce(title: string, value: string, note?: string): void;
  /** Adds to each team's card (admin-routing.js: its automatic assignment). */
  onTeamCard(fn: (team: ApiJson, card: HTMLElement) => void): void;
  /** What was added with onTeamCard, for a team's card being drawn. */
  teamCardHooks(): Array<(team: ApiJson, card: HTMLElement) => void>;
}

interface Window {
  HubDom: HubDomApi;
  /** Absent outside the admin area. */
  HubAdmin?: HubAdminApi;
  HubLocale: HubLocaleApi;
  /** Absent on a page without the inbox (a feature script then does nothing). */
  HubInbox?: HubInboxApi;
  /** Safari before 14.1. */
  webkitAudioContext?: typeof AudioContext;
}

interface DocumentEventMap {
  'hub:event': CustomEvent<HubEventDetail>;
  'hub:conversation-opened': CustomEvent<null>;
  'hub:contact-rendered': CustomEvent<null>;
  /** Events were lost: the page refetched its list; feature scripts refetch theirs. */
  'hub:resync': CustomEvent<null>;
  /** The page's language changed (its own parts are drawn again already). */
  'hub:lang': CustomEvent<null>;
  /** The contact page was drawn: its contact as GET /api/v1/contacts/{id} answered. */
  'hub:contact-page': CustomEvent<{ id: number; contact: ApiJson }>;
}
