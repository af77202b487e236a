/**
 * The part of `oidc-provider` 8's API that ztgate uses. The package ships no type declarations;
 * these follow its documentation (docs/README.md of panva/node-oidc-provider v8) and sources.
 */
declare module 'oidc-provider' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface AdapterPayload {
    [key: string]: unknown;
    readonly grantId?: string;
    readonly userCode?: string;
    readonly uid?: string;
    consumed?: number;
  }

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export type AdapterConstructor = new (model: string) => Adapter;

  export type ClaimsRecord = Record<string, unknown> & { sub: string };

  export interface Account {
    accountId: string;
    claims(
      use: string,
      scope: string,
      claims: unknown,
      rejected: string[],
    ): ClaimsRecord | Promise<ClaimsRecord>;
  }

  export interface ClientModel {
    readonly clientId: string;
    readonly clientName?: string;
  }

  export interface OidcSessionModel {
    readonly accountId?: string;
    readonly acr?: string;
    readonly amr?: string[];
    readonly uid: string;
    grantIdFor(clientId: string): string | undefined;
    /** seconds since the epoch of the sign-in (`loginTs`) */
    authTime(): number | undefined;
  }

  export interface OidcContext {
    readonly client?: ClientModel;
    readonly session?: OidcSessionModel;
    readonly params?: Record<string, unknown>;
    readonly requestParamScopes: Set<string>;
    readonly requestParamClaims: Set<string>;
    readonly result?: { consent?: { grantId?: string } } & Record<string, unknown>;
    readonly provider: Provider;
    readonly acr?: string;
    readonly route?: string;
  }

  export interface KoaContext {
    readonly oidc: OidcContext;
    readonly method: string;
    readonly path: string;
    readonly host: string;
    readonly req: IncomingMessage;
    readonly res: ServerResponse;
    status: number;
    body: unknown;
    type: string;
    set(name: string, value: string): void;
    get(name: string): string;
    readonly response: { get(name: string): string; set(name: string, value: string): void };
  }

  export interface InteractionDetails {
    readonly uid: string;
    readonly prompt: {
      readonly name: string;
      readonly reasons: readonly string[];
      readonly details: Record<string, unknown>;
    };
    readonly params: Record<string, unknown>;
    readonly session?: {
      readonly accountId: string;
      readonly uid: string;
      readonly cookie: string;
      readonly acr?: string;
      readonly amr?: string[];
    };
    readonly grantId?: string;
    readonly returnTo: string;
    readonly exp: number;
  }

  export interface InteractionResults {
    login?: { accountId: string; acr?: string; amr?: string[]; remember?: boolean; ts?: number };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  export class Grant {
    constructor(properties: { accountId?: string; clientId?: string });
    readonly jti?: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    save(ttl?: number): Promise<string>;
    static find(id: string): Promise<Grant | undefined>;
  }

  export class Check {
    constructor(
      reason: string,
      description: string,
      check: (ctx: KoaContext) => boolean | Promise<boolean>,
      details?: (ctx: KoaContext) => Record<string, unknown>,
    );
    static readonly REQUEST_PROMPT: true;
    static readonly NO_NEED_TO_PROMPT: false;
  }

  export interface Prompt {
    readonly name: string;
    readonly checks: Check[] & { get(reason: string): Check | undefined };
  }

  export interface InteractionPolicy extends Array<Prompt> {
    get(name: string): Prompt | undefined;
  }

  export const interactionPolicy: {
    base(): InteractionPolicy;
    Check: typeof Check;
  };

  export type Configuration = Record<string, unknown>;

  export class Provider extends EventEmitter {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    proxy: boolean;
    readonly Grant: typeof Grant;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
  }

  export default Provider;
}
