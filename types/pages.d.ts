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
  /** Whether a channel type can do something (``capabilities`` of /api/v1/channel-types). */
  channelCan(type: string | undefined, capability: string): boolean;
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
  state(): InboxView;
  addTexts(texts: Texts): void;
  contactChanged(contact: ApiJson): void;
  applyLang(): void;
  reloadContact(): void;
  /** Show this conversation (one the page has just made, e.g. a new email). */
  openConversation(id: number): void;
  /** Decorates each rendered message. */
  onMessage(fn: (node: HTMLElement, message: ApiJson) => void): void;
  /** Tell an activity in the page's language: a string, or null when it is not the script's. */
  onActivity(fn: (message: ApiJson) => string | null): void;
  /** Fields to add to a message being sent. */
  onSend(fn: () => Record<string, unknown>): void;
  /** After a message was stored. */
  onSent(fn: () => void): void;
  rerenderMessages(): void;
}

/** An operator event, also told to the page's feature scripts as a 'hub:event'. */
interface HubEventDetail {
  name: string;
  data: ApiJson;
}

interface Window {
  HubDom: HubDomApi;
  /** Absent on a page without the inbox (a feature script then does nothing). */
  HubInbox?: HubInboxApi;
  /** Safari before 14.1. */
  webkitAudioContext?: typeof AudioContext;
}

interface DocumentEventMap {
  'hub:event': CustomEvent<HubEventDetail>;
  'hub:conversation-opened': CustomEvent<null>;
  'hub:contact-rendered': CustomEvent<null>;
}
