/**
 * Translation for the pages (payment page, console). Every string a person reads lives in one catalog per
 * language under `locales/<locale>/`, one file per page (`pay.ts`, `console.ts`), so each page's strings stay
 * together and a new language is one folder. English is the reference: its keys type the other catalogs, and a
 * key missing from one falls back to English rather than showing the key.
 */
import { en } from "./locales/en/index.js";
import { zhCN } from "./locales/zh-CN/index.js";

export const LOCALES = ["en", "zh-CN"] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = "en";

/** Each language's name in itself, for the language switch. */
export const LOCALE_NAMES: Record<Locale, string> = { en: "English", "zh-CN": "简体中文" };

export type Catalog = typeof en;
export type Namespace = keyof Catalog;
/** A catalog of another language: the same keys as English, any of them may still be missing. */
export type PartialCatalog = { [N in Namespace]?: Partial<Record<keyof Catalog[N], string>> };

const catalogs: Record<Locale, PartialCatalog> = { en, "zh-CN": zhCN };

/** `zh`, `zh-cn`, `zh-Hans-CN`… → the supported locale they name; undefined when none fits. */
export function matchLocale(tag: string | undefined): Locale | undefined {
  if (!tag) return undefined;
  const t = tag.trim().toLowerCase();
  if (t === "en" || t.startsWith("en-")) return "en";
  // Simplified Chinese is all we have: Traditional scripts and regions fall back to the default
  if (t === "zh" || t === "zh-cn" || t === "zh-sg" || t.startsWith("zh-hans")) return "zh-CN";
  return undefined;
}

/**
 * The page's language: an explicit choice (the `lang` query parameter or cookie) when supported, else the
 * best `Accept-Language` entry by q-value (RFC 9110 §12.5.4), else English.
 */
export function negotiateLocale(acceptLanguage: string | undefined, explicit?: string): Locale {
  const chosen = matchLocale(explicit);
  if (chosen) return chosen;
  const ranges = (acceptLanguage ?? "")
    .split(",")
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(";");
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      const weight = q ? Number(q.slice(2)) : 1;
      return { tag, weight: Number.isFinite(weight) ? weight : 0, index };
    })
    .filter((r) => r.tag && r.weight > 0)
    .sort((a, b) => b.weight - a.weight || a.index - b.index);
  for (const r of ranges) {
    const locale = matchLocale(r.tag);
    if (locale) return locale;
  }
  return DEFAULT_LOCALE;
}

export type Translate<N extends Namespace> = (key: keyof Catalog[N] & string, params?: Record<string, string | number>) => string;

/** `{name}` placeholders in a message, filled from `params` (unknown placeholders are left as written). */
export function interpolate(message: string, params?: Record<string, string | number>): string {
  if (!params) return message;
  return message.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** A page's strings in one language: a function for the server's templates. */
export function translator<N extends Namespace>(locale: Locale, namespace: N): Translate<N> {
  const messages = messagesFor(locale, namespace);
  return (key, params) => interpolate(messages[key], params);
}

/** The whole namespace in one language, English filling any gap: what a page's script receives as JSON. */
export function messagesFor<N extends Namespace>(locale: Locale, namespace: N): Record<keyof Catalog[N] & string, string> {
  const base = en[namespace] as Record<string, string>;
  const own = (catalogs[locale][namespace] ?? {}) as Record<string, string | undefined>;
  const merged: Record<string, string> = {};
  for (const key of Object.keys(base)) merged[key] = own[key] ?? base[key];
  return merged as Record<keyof Catalog[N] & string, string>;
}
