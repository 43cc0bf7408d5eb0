/**
 * The parts of `@xmpp/client` 0.14 and `@xmpp/xml` that wfe uses. The
 * package ships no types, and `@types/xmpp__client` drags in ~34 packages.
 * Keep this to what the code calls; widen it when new code needs more.
 */
declare module '@xmpp/xml' {
  /** An ltx element, as built by `xml()` and as received off the wire. */
  export class Element {
    constructor(name: string, attrs?: Record<string, string | undefined>);
    name: string;
    attrs: Record<string, string | undefined>;
    children: Array<Element | string>;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    text(): string;
    toString(): string;
  }

  export type Child = Element | string | null | undefined | false;

  export function xml(
    name: string,
    attrs?: Record<string, string | number | undefined> | null,
    ...children: Array<Child | Child[]>
  ): Element;

  export default xml;
}

declare module '@xmpp/client' {
  import type { Element } from '@xmpp/xml';

  export { xml } from '@xmpp/xml';
  export type { Element } from '@xmpp/xml';

  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }

  export function jid(address: string): JID;

  /** Authenticates with the given credentials and SASL mechanism. */
  export type Authenticate = (
    credentials: { username: string; password: string },
    mechanism: string,
  ) => Promise<void>;

  export interface ClientOptions {
    /** `xmpp://host:port`, `xmpps://host:port` or a WebSocket URL. */
    service: string;
    domain: string;
    resource?: string;
    username?: string;
    password?: string;
    /** Picks the mechanism; `mechanisms` are those both sides support. */
    credentials?: (
      authenticate: Authenticate,
      mechanisms: string[],
      fast: unknown,
      entity: Client,
    ) => Promise<void>;
    /** Stream open/close timeout in ms. @default 2000 */
    timeout?: number;
  }

  export type Status =
    | 'offline'
    | 'connecting'
    | 'connect'
    | 'opening'
    | 'open'
    | 'online'
    | 'closing'
    | 'close'
    | 'disconnecting'
    | 'disconnect';

  /** What an iq handler sees: the stanza and its single child element. */
  export interface IqContext {
    stanza: Element;
    element: Element;
    from: JID | null;
    to: JID | null;
    id: string;
    type: string;
  }

  /** A handler answers with a child element, or nothing for an empty result. */
  export type IqHandler = (
    context: IqContext,
  ) => Element | void | Promise<Element | void>;

  /** A transport class; `socketParameters` says whether it handles a URL. */
  export interface Transport {
    new (...args: never[]): unknown;
    prototype: { socketParameters(service: string): object | undefined };
  }

  export interface Client {
    jid: JID | null;
    status: Status;
    options: ClientOptions;
    transports: Transport[];
    /** A net.Socket, or a wrapper around a TLS one; null when closed. */
    socket: unknown;
    isSecure(): boolean;
    start(): Promise<JID>;
    stop(): Promise<unknown>;
    send(element: Element): Promise<void>;
    on(event: 'online', listener: (jid: JID) => void): this;
    on(event: 'offline' | 'disconnect', listener: () => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'stanza', listener: (stanza: Element) => void): this;
    on(event: 'status', listener: (status: Status) => void): this;
    off(event: string, listener: (...args: never[]) => void): this;
    once(event: string, listener: (...args: never[]) => void): this;
    iqCaller: {
      /** Resolves with the result iq; rejects on an error iq or timeout. */
      request(stanza: Element, timeoutMs?: number): Promise<Element>;
    };
    iqCallee: {
      get(ns: string, name: string, handler: IqHandler): void;
      set(ns: string, name: string, handler: IqHandler): void;
    };
    reconnect: {
      /** Wait before reconnecting, in ms. @default 1000 */
      delay: number;
      start(): void;
      stop(): void;
      on(event: 'reconnecting' | 'reconnected', listener: () => void): void;
      on(event: 'error', listener: (err: Error) => void): void;
    };
  }

  export function client(options: ClientOptions): Client;
}
