import { PayApiError } from "./errors.js";
import { signRequest } from "./signing.js";
import type {
  ApproveParams,
  Bill,
  BillParams,
  Chain,
  CreatedPaymentOrder,
  CreatePaymentOrderParams,
  CreateQrCodeParams,
  CreateRefundParams,
  Currency,
  Id,
  ListParams,
  MerchantQrCode,
  MerchantSettings,
  MerchantSettingsUpdate,
  Page,
  PayInfo,
  PayInfoUpdate,
  PaymentOrder,
  PaymentRef,
  PayoutBatchApproved,
  PayoutBatchRefs,
  PayoutBatchTypedData,
  Recharge,
  Refund,
  RefundRef,
  RejectParams,
  Settlement,
  SettlementApplyParams,
  SettlementRef,
  User,
  WebhookAttemptsParams,
  WebhookLog,
  Withdrawal,
  WithdrawApplyParams,
  WithdrawRef,
} from "./types.js";

export type PayClientOptions = {
  /** the gateway's origin (and path prefix, if it sits behind one), e.g. `https://pay.example.com`; the API is at /api/mer/ under it */
  baseUrl: string;
  /** X-PAY-KEY */
  apiKey: string;
  /** the API secret (never sent; it keys the HMAC) */
  apiSecret: string;
  /** per request; default 15 s */
  timeoutMs?: number;
  /** default: the global fetch */
  fetch?: typeof fetch;
};

type Params = Record<string, unknown>;

/** The typed merchant API: Pay Protocol's routes and the gateway's additions. Every call is signed; a non-200 envelope throws {@link PayApiError}. */
export type PayClient = {
  conf: {
    chains(): Promise<Chain[]>;
    currencies(p?: { chainId?: Id }): Promise<Currency[]>;
  };
  payment: {
    create(p: CreatePaymentOrderParams): Promise<CreatedPaymentOrder>;
    detail(ref: PaymentRef): Promise<PaymentOrder>;
    list(p?: ListParams): Promise<Page<PaymentOrder>>;
    payInfo(ref: PaymentRef): Promise<PayInfo>;
    /** move an open order to another chain or currency of its quote */
    updatePayInfo(p: { outTradeNo: string; chainId: Id; currencyId: Id }): Promise<PayInfoUpdate>;
    /** one more callback */
    notify(ref: PaymentRef): Promise<void>;
    cancel(ref: PaymentRef): Promise<PaymentOrder>;
  };
  refund: {
    create(p: CreateRefundParams): Promise<{ refundId: number }>;
    detail(ref: RefundRef): Promise<Refund>;
    list(p?: ListParams): Promise<Page<Refund>>;
    notify(ref: RefundRef): Promise<void>;
    approve(p: RefundRef & ApproveParams): Promise<Refund>;
    reject(p: RefundRef & RejectParams): Promise<Refund>;
  };
  user: {
    /** answers the userId */
    create(p: { uuid: string }): Promise<number>;
    detail(p: { userId?: Id; uuid?: string; chainId?: Id }): Promise<User>;
  };
  recharge: {
    list(p?: ListParams & { uuid?: string; userId?: Id }): Promise<Page<Recharge>>;
    detail(p: { rechargeId: Id }): Promise<Recharge>;
    notify(p: { rechargeId: Id }): Promise<void>;
  };
  withdraw: {
    apply(p: WithdrawApplyParams): Promise<{ withdrawId: number }>;
    detail(ref: WithdrawRef): Promise<Withdrawal>;
    list(p?: ListParams): Promise<Page<Withdrawal>>;
    notify(ref: WithdrawRef): Promise<void>;
    approve(p: WithdrawRef & ApproveParams): Promise<Withdrawal>;
    reject(p: WithdrawRef & RejectParams): Promise<Withdrawal>;
  };
  settlement: {
    /** settle part of the merchant's vault balance to its own address (pending approval) */
    apply(p: SettlementApplyParams): Promise<{ settlementId: number }>;
    detail(ref: SettlementRef): Promise<Settlement>;
    list(p?: ListParams): Promise<Page<Settlement>>;
    notify(ref: SettlementRef): Promise<void>;
    approve(p: SettlementRef & ApproveParams): Promise<Settlement>;
    reject(p: SettlementRef & RejectParams): Promise<Settlement>;
  };
  /** several pending refunds, withdrawals and settlements (one chain) approved with ONE PayoutBatch signature */
  payout: {
    batchTypedData(p: PayoutBatchRefs): Promise<PayoutBatchTypedData>;
    /** `signature` over batchTypedData's payoutTypedData; none when the gateway holds the payout key */
    batchApprove(p: PayoutBatchRefs & { signature?: string }): Promise<PayoutBatchApproved>;
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
    /** the callback events of one event or order and every delivery attempt */
    attempts(p: WebhookAttemptsParams): Promise<WebhookLog>;
  };
  bill: {
    json(p: BillParams): Promise<Bill>;
    csv(p: BillParams): Promise<string>;
  };
  /**
   * Any other signed call: GET sends `params` as the query string, POST as the JSON body. Returns the
   * envelope's `data`.
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
    const requestPath = url.pathname + url.search;
    const endpoint = `${method} ${url.pathname}`;
    const headers: Record<string, string> = { ...signRequest({ apiKey: o.apiKey, apiSecret: o.apiSecret, method, requestPath, body }) };
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
    if (typeof env?.code !== "number")
      throw new PayApiError(0, `not the {code,msg,data} envelope (HTTP ${res.status})`, res.status, endpoint);
    if (env.code !== 200) throw new PayApiError(env.code, String(env.msg ?? ""), res.status, endpoint);
    return env.data;
  }
  const get =
    <T>(path: string) =>
    (p?: object) =>
      send("GET", path, p as Params) as Promise<T>;
  const post =
    <T>(path: string) =>
    (p?: object) =>
      send("POST", path, p as Params) as Promise<T>;
  const notify = (path: string) => async (p?: object) => {
    await send("GET", path, p as Params);
  };

  return {
    conf: { chains: get("conf/list/chain"), currencies: get("conf/list/currency") },
    payment: {
      create: post("payment/createPaymentOrder"),
      detail: get("payment/detail"),
      list: get("payment/list"),
      payInfo: get("payment/payInfo"),
      updatePayInfo: post("payment/payInfo/update"),
      notify: notify("payment/notify"),
      cancel: post("payment/cancel"),
    },
    refund: {
      create: post("refund/createRefundOrder"),
      detail: get("refund/detail"),
      list: get("refund/list"),
      notify: notify("refund/notify"),
      approve: post("refund/approve"),
      reject: post("refund/reject"),
    },
    user: { create: post("user/create"), detail: get("user/detail") },
    recharge: { list: get("recharge/list"), detail: get("recharge/detail"), notify: notify("recharge/notify") },
    withdraw: {
      apply: post("withdraw/apply"),
      detail: get("withdraw/detail"),
      list: get("withdraw/list"),
      notify: notify("withdraw/notify"),
      approve: post("withdraw/approve"),
      reject: post("withdraw/reject"),
    },
    payout: {
      // GET: the ids go comma-separated in the query string
      batchTypedData: (p) =>
        send("GET", "payout/batch/typedData", {
          refundIds: p.refundIds?.join(","),
          withdrawIds: p.withdrawIds?.join(","),
          settlementIds: p.settlementIds?.join(","),
        }) as Promise<PayoutBatchTypedData>,
      batchApprove: (p) => send("POST", "payout/batch/approve", p) as Promise<PayoutBatchApproved>,
    },
    settlement: {
      apply: post("settlement/apply"),
      detail: get("settlement/detail"),
      list: get("settlement/list"),
      notify: notify("settlement/notify"),
      approve: post("settlement/approve"),
      reject: post("settlement/reject"),
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
