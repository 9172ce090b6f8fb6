import { PayApiError } from "./errors.js";
import { signRequest } from "./signing.js";
import type {
  ApproveParams,
  Bill,
  BillParams,
  CreatePaymentOrderParams,
  CreateQrCodeParams,
  MerchantQrCode,
  MerchantSettings,
  MerchantSettingsUpdate,
  SettlementApplyParams,
  SettlementOrder,
  SettlementRef,
  WebhookAttemptsParams,
  WebhookLog,
  CreateRefundOrderParams,
  CreateUserParams,
  EventIdResult,
  PaymentOrder,
  PaymentRef,
  RechargeListParams,
  RechargeOrder,
  RechargePage,
  RefundOrder,
  RefundRef,
  RejectParams,
  User,
  UserRef,
  WithdrawApplyParams,
  WithdrawOrder,
  WithdrawRef,
} from "./types.js";

export type PayClientOptions = {
  /** the gateway's origin (and path prefix, if it sits behind one), e.g. `https://pay.example.com` */
  baseUrl: string;
  /** X-PAY-KEY, `pk_…` */
  apiKey: string;
  /** the API secret, `sk_…` (never sent; it keys the HMAC) */
  apiSecret: string;
  /** per request; default 15 s */
  timeoutMs?: number;
  /** default: the global fetch */
  fetch?: typeof fetch;
};

type Params = Record<string, string | number | bigint | boolean | undefined | null>;

/** The typed merchant API. Every call is signed; a non-200 envelope throws {@link PayApiError}. */
export type PayClient = {
  payment: {
    create(p: CreatePaymentOrderParams): Promise<PaymentOrder>;
    detail(ref: PaymentRef): Promise<PaymentOrder>;
    cancel(ref: PaymentRef): Promise<PaymentOrder>;
    notify(ref: PaymentRef): Promise<EventIdResult>;
  };
  refund: {
    create(p: CreateRefundOrderParams): Promise<RefundOrder>;
    detail(ref: RefundRef): Promise<RefundOrder>;
    approve(p: RefundRef & ApproveParams): Promise<RefundOrder>;
    reject(p: RefundRef & RejectParams): Promise<RefundOrder>;
    notify(ref: RefundRef): Promise<EventIdResult>;
  };
  user: {
    create(p: CreateUserParams): Promise<User>;
    detail(ref: UserRef): Promise<User>;
  };
  recharge: {
    list(p?: RechargeListParams): Promise<RechargePage>;
    detail(p: { rechargeOrderId: string }): Promise<RechargeOrder>;
    notify(p: { rechargeOrderId: string }): Promise<EventIdResult>;
  };
  withdraw: {
    apply(p: WithdrawApplyParams): Promise<WithdrawOrder>;
    detail(ref: WithdrawRef): Promise<WithdrawOrder>;
    approve(p: WithdrawRef & ApproveParams): Promise<WithdrawOrder>;
    reject(p: WithdrawRef & RejectParams): Promise<WithdrawOrder>;
    notify(ref: WithdrawRef): Promise<EventIdResult>;
  };
  settlement: {
    /** settle part of the merchant's vault balance to its own address (pending approval) */
    apply(p: SettlementApplyParams): Promise<SettlementOrder>;
    detail(ref: SettlementRef): Promise<SettlementOrder>;
    approve(p: SettlementRef & ApproveParams): Promise<SettlementOrder>;
    reject(p: SettlementRef & RejectParams): Promise<SettlementOrder>;
    notify(ref: SettlementRef): Promise<EventIdResult>;
  };
  merchant: {
    settings(): Promise<MerchantSettings>;
    updateSettings(p: MerchantSettingsUpdate): Promise<MerchantSettings>;
    /** the new whsec_… is shown once, here */
    rotateWebhookSecret(): Promise<{ webhookSecret: string }>;
  };
  qrcode: {
    /** a static merchant QR: a permanent payment link where the payer types the amount */
    create(p: CreateQrCodeParams): Promise<MerchantQrCode>;
  };
  webhook: {
    /** the webhook events of one event or order and every delivery attempt */
    attempts(p: WebhookAttemptsParams): Promise<WebhookLog>;
  };
  bill: {
    /** the statement as JSON */
    json(p: BillParams): Promise<Bill>;
    /** the statement as CSV text */
    csv(p: BillParams): Promise<string>;
  };
  /**
   * Any other signed call (routes newer than this SDK): GET sends `params` as the query string,
   * POST as the JSON body. Returns the envelope's `data`.
   */
  request<T = unknown>(method: "GET" | "POST", path: string, params?: Params): Promise<T>;
};

const query = (p: Params = {}) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== null) q.append(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
};

export function createPayClient(o: PayClientOptions): PayClient {
  const base = new URL(o.baseUrl.endsWith("/") ? o.baseUrl : `${o.baseUrl}/`);
  const doFetch = o.fetch ?? globalThis.fetch;
  const timeoutMs = o.timeoutMs ?? 15_000;

  async function send(method: "GET" | "POST", path: string, params?: Params, raw = false): Promise<unknown> {
    const url = new URL(`api/mer/${path.replace(/^\/+/, "")}${method === "GET" ? query(params) : ""}`, base);
    // bigint amounts or ids go out as decimal strings
    const body = method === "POST" ? JSON.stringify(params ?? {}, (_, v) => (typeof v === "bigint" ? v.toString() : v)) : "";
    const target = url.pathname + url.search;
    const endpoint = `${method} ${url.pathname}`;
    const headers: Record<string, string> = signRequest({ apiKey: o.apiKey, apiSecret: o.apiSecret, method, target, body });
    if (method === "POST") headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await doFetch(url, { method, headers, body: method === "POST" ? body : undefined, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new PayApiError(0, `no answer from the gateway: ${(e as Error).message}`, 0, endpoint);
    }
    const text = await res.text();
    const isJson = (res.headers.get("content-type") ?? "").includes("application/json");
    if (raw && res.ok && !isJson) return text;
    let env: { code?: unknown; msg?: unknown; data?: unknown };
    try {
      env = JSON.parse(text);
    } catch {
      throw new PayApiError(0, `not a JSON answer (HTTP ${res.status}): ${text.slice(0, 200)}`, res.status, endpoint);
    }
    if (typeof env?.code !== "number") throw new PayApiError(0, `not the {code,msg,data} envelope (HTTP ${res.status})`, res.status, endpoint);
    if (env.code !== 200) throw new PayApiError(env.code, String(env.msg ?? ""), res.status, endpoint);
    return env.data;
  }
  const get = <T>(path: string) => (p?: object) => send("GET", path, p as Params) as Promise<T>;
  const post = <T>(path: string) => (p?: object) => send("POST", path, p as Params) as Promise<T>;

  return {
    payment: {
      create: post("payment/createPaymentOrder"),
      detail: get("payment/detail"),
      cancel: post("payment/cancel"),
      notify: post("payment/notify"),
    },
    refund: {
      create: post("refund/createRefundOrder"),
      detail: get("refund/detail"),
      approve: post("refund/approve"),
      reject: post("refund/reject"),
      notify: post("refund/notify"),
    },
    user: { create: post("user/create"), detail: get("user/detail") },
    recharge: { list: get("recharge/list"), detail: get("recharge/detail"), notify: post("recharge/notify") },
    withdraw: {
      apply: post("withdraw/apply"),
      detail: get("withdraw/detail"),
      approve: post("withdraw/approve"),
      reject: post("withdraw/reject"),
      notify: post("withdraw/notify"),
    },
    settlement: {
      apply: post("settlement/apply"),
      detail: get("settlement/detail"),
      approve: post("settlement/approve"),
      reject: post("settlement/reject"),
      notify: post("settlement/notify"),
    },
    merchant: {
      settings: () => send("GET", "merchant/settings") as Promise<MerchantSettings>,
      updateSettings: post("merchant/settings/update"),
      rotateWebhookSecret: () => send("POST", "merchant/webhookSecret/rotate", {}) as Promise<{ webhookSecret: string }>,
    },
    qrcode: { create: post("qrcode/create") },
    webhook: { attempts: get("webhook/attempts") },
    bill: {
      json: (p) => send("GET", "bill", { ...p, format: "json" }) as Promise<Bill>,
      csv: (p) => send("GET", "bill", { ...p, format: "csv" }, true) as Promise<string>,
    },
    request: (method, path, params) => send(method, path, params) as Promise<any>,
  };
}
