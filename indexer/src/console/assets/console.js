// The merchant console's only script: sign-in with the wallet, payout approval with the wallet, small helpers.
// Served from our origin (CSP script-src 'self'); strings come from the page's JSON data block.
(() => {
  "use strict";
  const $ = (selector, root = document) => root.querySelector(selector);
  const messages = (() => {
    try {
      return JSON.parse($("#console-i18n")?.textContent || "{}");
    } catch {
      return {};
    }
  })();
  const t = (key, params) =>
    (messages[key] || key).replace(/\{(\w+)\}/g, (whole, name) => (params && name in params ? String(params[name]) : whole));
  const csrf = $('meta[name="csrf-token"]')?.content || "";

  /** The injected EIP-1193 wallet, or an error the person can act on. */
  const wallet = () => {
    if (!window.ethereum || typeof window.ethereum.request !== "function") throw new Error(t("js.noWallet"));
    return window.ethereum;
  };
  const walletError = (e) => {
    if (e && e.code === 4001) return t("js.rejected");
    return (e && e.message) || String(e);
  };
  const utf8Hex = (text) => "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");

  async function postJson(url, body, token) {
    const res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": token },
      body: JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error || res.statusText);
    return data;
  }

  // ------------------------------------------------------------------ sign-in with Ethereum
  const signinBox = $("#signin-box");
  const signinButton = $("#signin");
  if (signinBox && signinButton) {
    const msg = $("#signin-msg");
    signinButton.addEventListener("click", async () => {
      signinButton.disabled = true;
      try {
        msg.textContent = t("js.connecting");
        const provider = wallet();
        const [address] = await provider.request({ method: "eth_requestAccounts" });
        if (!address) throw new Error(t("js.noAccount"));
        const chainId = parseInt(await provider.request({ method: "eth_chainId" }), 16);
        const token = signinBox.dataset.token;
        const { message } = await postJson(signinBox.dataset.nonceUrl, { address, chainId }, token);
        msg.textContent = t("js.signMessage");
        const signature = await provider.request({ method: "personal_sign", params: [utf8Hex(message), address] });
        msg.textContent = t("js.checking");
        const { redirect } = await postJson(signinBox.dataset.verifyUrl, { message, signature }, token);
        window.location.assign(redirect);
      } catch (e) {
        msg.textContent = walletError(e);
        signinButton.disabled = false;
      }
    });
  }

  // ------------------------------------------------------------------ payout approval
  const dialog = $("#approve-dialog");
  const approveBox = $("#approve-box");
  if (dialog && approveBox) {
    const dlgMsg = $("#dlg-msg");
    const signButton = $("#dlg-sign");
    const batchIntro = $("#dlg-batch-intro");
    const batchWrap = $("#dlg-batch");
    const batchItems = $("#dlg-items");
    const batchMsg = $("#batch-msg");
    const selectedButton = $("#approve-selected");
    const gatewaySigns = approveBox.dataset.keyMode === "gateway";
    /** the rows the person is approving, and the batch's typed data when they go under one signature */
    let chosen = [];
    let batchTyped = null;
    const showOne = (on) => dialog.querySelectorAll(".dlg-one").forEach((el) => (el.hidden = !on));
    const show = () => {
      dlgMsg.textContent = "";
      signButton.disabled = false;
      dialog.showModal();
      signButton.focus();
    };
    const open = (rows) => {
      chosen = rows;
      batchTyped = null;
      const row = rows[0];
      $("#dlg-to").textContent = row.dataset.to;
      $("#dlg-amount").textContent = row.dataset.amount;
      $("#dlg-chain").textContent = row.dataset.chain;
      $("#dlg-payout-id").textContent = row.dataset.payoutId;
      $("#dlg-signer").textContent = row.dataset.signer;
      showOne(true);
      batchIntro.hidden = true;
      batchWrap.hidden = true;
      show();
    };
    /** Several payouts (or a withdrawal of several recipients): the gateway builds the batch; every item is listed. */
    const openBatch = async (rows) => {
      chosen = rows;
      batchMsg.textContent = "";
      try {
        const b = await postJson(
          approveBox.dataset.batchUrl,
          { items: rows.map((r) => ({ kind: r.dataset.kind, id: r.dataset.id })) },
          csrf,
        );
        batchTyped = b.typed;
        batchItems.replaceChildren(
          ...b.payouts.map((p) => {
            const tr = document.createElement("tr");
            for (const [text, cls] of [
              [p.kind, ""],
              [p.ref, ""],
              [p.to, "to"],
              [p.amount, "num amount"],
              [p.payoutId, "num"],
            ]) {
              const td = document.createElement("td");
              td.textContent = text;
              if (cls) td.className = cls;
              tr.append(td);
            }
            return tr;
          }),
        );
        batchIntro.textContent = t("js.batchIntro", { count: b.count });
        $("#dlg-chain").textContent = b.chain;
        $("#dlg-signer").textContent = approveBox.dataset.signer;
        showOne(false);
        batchIntro.hidden = false;
        batchWrap.hidden = false;
        show();
      } catch (e) {
        batchMsg.textContent = walletError(e);
      }
    };
    const checked = () => Array.from(document.querySelectorAll("input[data-select]:checked"), (c) => c.closest("tr"));
    document.querySelectorAll("input[data-select]").forEach((c) =>
      c.addEventListener("change", () => {
        if (selectedButton && !selectedButton.dataset.never) selectedButton.disabled = checked().length === 0;
      }),
    );
    selectedButton?.addEventListener("click", () => {
      const rows = checked();
      if (rows.length === 0) batchMsg.textContent = t("js.noneSelected");
      else void (rows.length === 1 && Number(rows[0].dataset.lines) <= 1 ? open(rows) : openBatch(rows));
    });
    document.querySelectorAll("button[data-approve]").forEach((b) =>
      b.addEventListener("click", () => {
        const row = b.closest("tr");
        void (Number(row.dataset.lines) > 1 ? openBatch([row]) : open([row]));
      }),
    );
    $("#dlg-cancel").addEventListener("click", () => dialog.close());
    signButton.addEventListener("click", async () => {
      signButton.disabled = true;
      try {
        let signature;
        if (!gatewaySigns) {
          const provider = wallet();
          const accounts = await provider.request({ method: "eth_requestAccounts" });
          const account = accounts && accounts[0];
          const signer = approveBox.dataset.signer || chosen[0].dataset.signer;
          if (!account || account.toLowerCase() !== signer.toLowerCase())
            throw new Error(t("js.wrongAccount", { signer, account: account || "—" }));
          dlgMsg.textContent = batchTyped ? t("js.signBatch") : t("js.signPayout");
          signature = await provider.request({ method: "eth_signTypedData_v4", params: [account, batchTyped || chosen[0].dataset.typed] });
        }
        dlgMsg.textContent = t("js.checking");
        await postJson(
          approveBox.dataset.approveUrl,
          { items: chosen.map((r) => ({ kind: r.dataset.kind, id: r.dataset.id })), signature },
          csrf,
        );
        window.location.assign(window.location.pathname + "?done=approved");
      } catch (e) {
        dlgMsg.textContent = walletError(e);
        signButton.disabled = false;
      }
    });
  }

  // ------------------------------------------------------------------ small helpers
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    const question = button && button.dataset ? button.dataset.confirm : undefined;
    if (question && !window.confirm(question)) event.preventDefault();
  });
  document.querySelectorAll("button[data-copy]").forEach((b) =>
    b.addEventListener("click", async () => {
      const text = document.getElementById(b.dataset.copy)?.textContent || "";
      try {
        await navigator.clipboard.writeText(text);
        b.textContent = t("js.copied");
      } catch {
        b.textContent = t("js.copyFailed");
      }
    }),
  );
  $("#print")?.addEventListener("click", () => window.print());
})();
