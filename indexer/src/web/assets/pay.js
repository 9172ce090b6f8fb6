// The hosted payment page's script: live status, countdown, copy, receipt, and paying with a browser wallet
// found by EIP-6963 discovery (a picker when several announce themselves), else window.ethereum (EIP-1193).
// Plain browser JS, no build step. Its strings come in the page's language from data-messages; everything
// it shows goes through textContent (never innerHTML).
(function () {
  "use strict";
  var root = document.getElementById("pay");
  if (!root) return;
  var d = root.dataset;
  var M = JSON.parse(d.messages || "{}");
  var chainId = Number(d.chainId);
  var native = d.native === "1";
  var terminal = { 4: 1, "-1": 1, "-2": 1, "-3": 1 };
  var last = null;
  var clockSkew = 0;
  var redirecting = false;
  /** transactions this page sent, until the chain shows them */
  var sentHashes = [];
  /** EIP-6963 announcements: { info: { uuid, name, icon, rdns }, provider } */
  var wallets = [];
  var $ = function (id) {
    return document.getElementById(id);
  };
  var setText = function (id, text) {
    $(id).textContent = text;
  };
  // a catalog message with its {placeholders} filled
  function t(key, params) {
    var m = M[key] || key;
    return m.replace(/\{(\w+)\}/g, function (whole, name) {
      return params && name in params ? String(params[name]) : whole;
    });
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // ---------------------------------------------------------------- status
  var TITLES = {
    0: "stateUnpaid",
    1: "stateUnderpaid",
    2: "stateSeen",
    3: "stateConfirming",
    4: "stateSuccess",
    "-1": "stateFailed",
    "-2": "stateExpired",
    "-3": "stateCancelled",
  };
  function describe(s) {
    var sym = " " + d.symbol;
    switch (s.state) {
      case 0:
        return t("detailUnpaid", { amount: s.display.amount + sym });
      case 1:
        return t("detailUnderpaid", { seen: s.display.seenAmount + sym, due: s.display.dueAmount + sym });
      case 2:
      case 3:
        if (s.confirmations == null) return t("detailConfirming");
        if (s.requiredConfirmations == null) return t("detailBlocks", { count: s.confirmations });
        return t("detailConfirmations", { count: Math.min(s.confirmations, s.requiredConfirmations), required: s.requiredConfirmations });
      case 4:
        return s.redirectUrl ? t("detailSuccessRedirect") : t("detailSuccess");
      case -1:
        return s.seenAmount !== "0" ? t("detailFailedPartial", { seen: s.display.seenAmount + sym }) : t("detailFailed");
      case -2:
        return t("detailExpired");
      case -3:
        return t("detailCancelled");
      default:
        return String(s.state);
    }
  }

  // `base`: the explorer of the transfer's own chain (the status says it); else the order's chain's
  function explorerLink(hash, base) {
    var code = el("code", "hash", hash);
    var explorer = base === undefined ? d.explorer : base;
    if (!explorer) return code;
    var a = el("a", "tx-link");
    a.href = explorer + "/tx/" + hash;
    a.rel = "noopener noreferrer";
    a.target = "_blank";
    a.appendChild(code);
    return a;
  }

  function renderTransfers(s) {
    var list = $("tx-list");
    list.textContent = "";
    var known = {};
    (s.transfers || []).forEach(function (x) {
      known[x.txHash.toLowerCase()] = 1;
      var label =
        x.kind === "wrong_token"
          ? t("txWrongToken")
          : x.late
            ? t("txLate", { amount: x.amount + " " + d.symbol })
            : t(x.status === "confirmed" ? "txConfirmed" : "txSeen", { amount: x.amount + " " + d.symbol });
      var li = el("li");
      li.appendChild(explorerLink(x.txHash, x.explorerUrl));
      li.appendChild(el("span", "tx-state", label));
      list.appendChild(li);
    });
    sentHashes.forEach(function (h) {
      if (known[h.toLowerCase()]) return;
      var li = el("li");
      li.appendChild(explorerLink(h));
      li.appendChild(el("span", "tx-state", t("txSent")));
      list.appendChild(li);
    });
    $("txs").classList.toggle("hidden", !list.firstChild || s.state === 4);
  }

  function renderReceipt(s) {
    var show = s.state === 4;
    $("receipt-card").classList.toggle("hidden", !show);
    if (!show) return;
    setText("receipt-amount", s.display.paidAmount + " " + d.symbol);
    var when = new Date(s.closedAt || s.serverTime);
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(d.locale, { dateStyle: "medium", timeStyle: "medium" }).format(when);
    } catch (e) {
      fmt = when.toISOString();
    }
    setText("receipt-time", fmt);
    var txCell = $("receipt-tx");
    txCell.textContent = "";
    var paid = (s.transfers || []).filter(function (x) {
      return x.kind === "payment" && !x.late;
    });
    paid.forEach(function (x) {
      var line = el("span", "receipt-line");
      line.appendChild(explorerLink(x.txHash, x.explorerUrl));
      txCell.appendChild(line);
    });
  }

  function render(s) {
    last = s;
    clockSkew = s.serverTime - Date.now();
    var open = !terminal[String(s.state)];
    $("status").dataset.state = String(s.state);
    setText("status-title", t(TITLES[String(s.state)] || "stateUnknown"));
    setText("status-detail", describe(s));
    $("pay-wallet").disabled = !open || s.state >= 2 || !hasWallet();
    root.classList.toggle("closed", !open);
    // enough arrived: nothing more to send, so no QR, address hints or wallet button that could make a second payment
    root.classList.toggle("paid", s.state === 2 || s.state === 3);
    if (!open || s.state >= 2) {
      setText("wallet-msg", "");
      $("wallet-picker").classList.add("hidden");
    }
    if (open && s.state < 2) {
      setText("send-amount", s.display.dueAmount + " " + d.symbol);
      var stale = s.dueAmount !== d.dueRendered;
      $("qr").classList.toggle("hidden", stale);
      $("uri").classList.toggle("hidden", stale);
      $("qr-stale").classList.toggle("hidden", !stale);
    }
    renderTransfers(s);
    renderReceipt(s);
    var back = !open && s.shopUrl && /^https?:\/\//.test(s.shopUrl);
    $("back").classList.toggle("hidden", !back);
    if (back) $("back-link").href = s.shopUrl;
    if (s.state === 4 && s.redirectUrl && !redirecting && /^https?:\/\//.test(s.redirectUrl)) {
      redirecting = true;
      setTimeout(function () {
        window.location.assign(s.redirectUrl);
      }, 3000);
    }
  }

  function poll() {
    fetch(d.statusUrl, { cache: "no-store", headers: { accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("status " + r.status);
        return r.json();
      })
      .then(function (s) {
        render(s);
        if (!terminal[String(s.state)]) setTimeout(poll, 1500);
      })
      .catch(function () {
        setTimeout(poll, 4000);
      });
  }

  // ---------------------------------------------------------------- countdown
  function tick() {
    var left = Math.max(0, Math.floor((Number(d.expireAt) - (Date.now() + clockSkew)) / 1000));
    var h = Math.floor(left / 3600),
      m = Math.floor((left % 3600) / 60),
      sec = left % 60;
    var two = function (n) {
      return (n < 10 ? "0" : "") + n;
    };
    setText("countdown", last && terminal[String(last.state)] ? "--:--" : (h ? h + ":" : "") + two(m) + ":" + two(sec));
  }

  // ---------------------------------------------------------------- copy
  $("copy").addEventListener("click", function () {
    var addr = d.receipt;
    var done = function () {
      setText("copy", t("copied"));
      setTimeout(function () {
        setText("copy", t("copy"));
      }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(addr).then(done, select);
    else select();
    function select() {
      var range = document.createRange();
      range.selectNodeContents($("receipt"));
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
  });

  // ---------------------------------------------------------------- wallets (EIP-6963, then EIP-1193's window.ethereum)
  function hasWallet() {
    return wallets.length > 0 || !!window.ethereum;
  }
  window.addEventListener("eip6963:announceProvider", function (event) {
    var w = event.detail;
    if (!w || !w.info || !w.provider || typeof w.provider.request !== "function") return;
    for (var i = 0; i < wallets.length; i++) if (wallets[i].info.uuid === w.info.uuid) return;
    wallets.push(w);
    if (last) render(last);
    if (wallets.length === 1 && $("wallet-msg").textContent === t("noWallet")) setText("wallet-msg", "");
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));

  function hex(n) {
    return "0x" + BigInt(n).toString(16);
  }
  function word(h) {
    return h.replace(/^0x/, "").toLowerCase().padStart(64, "0");
  }
  // transfer(address,uint256) = 0xa9059cbb
  function transferData(to, amount) {
    return "0xa9059cbb" + word(to) + word(BigInt(amount).toString(16));
  }

  /** an error of this page's own, shown as it is (not as the wallet's) */
  function ownError(text) {
    var e = new Error(text);
    e.own = true;
    return e;
  }
  function walletMessage(text) {
    setText("wallet-msg", text);
  }

  function showPicker() {
    var list = $("wallet-list");
    list.textContent = "";
    wallets.forEach(function (w) {
      var b = el("button", "wallet-choice");
      b.type = "button";
      b.dataset.rdns = w.info.rdns || "";
      if (typeof w.info.icon === "string" && /^data:image\//.test(w.info.icon)) {
        var img = el("img");
        img.src = w.info.icon;
        img.alt = "";
        img.width = 24;
        img.height = 24;
        b.appendChild(img);
      }
      b.appendChild(el("span", null, w.info.name || w.info.rdns || "Wallet"));
      b.addEventListener("click", function () {
        $("wallet-picker").classList.add("hidden");
        payWithWallet(w.provider);
      });
      var li = el("li");
      li.appendChild(b);
      list.appendChild(li);
    });
    $("wallet-picker").classList.remove("hidden");
    var first = list.querySelector("button");
    if (first) first.focus();
  }

  async function payWithWallet(eth) {
    var button = $("pay-wallet");
    button.disabled = true;
    try {
      walletMessage(t("connecting"));
      var accounts = await eth.request({ method: "eth_requestAccounts" });
      if (!accounts || !accounts.length) throw ownError(t("noAccount"));
      var from = accounts[0];
      var current = await eth.request({ method: "eth_chainId" });
      if (Number(current) !== chainId) {
        walletMessage(t("switching", { network: d.networkName }));
        try {
          await eth.request({ method: "wallet_switchEthereumChain", params: [{ chainId: hex(chainId) }] });
        } catch (err) {
          if (err && err.code === 4902) throw ownError(t("addNetwork", { network: d.networkName, chainId: chainId }));
          throw err;
        }
      }
      var due = last && last.dueAmount !== "0" ? last.dueAmount : d.amount;
      var tx = native
        ? { from: from, to: d.receipt, value: hex(due) }
        : { from: from, to: d.token, value: "0x0", data: transferData(d.receipt, due) };
      walletMessage(t("confirmInWallet"));
      var hash = await eth.request({ method: "eth_sendTransaction", params: [tx] });
      if (typeof hash === "string") sentHashes.push(hash);
      walletMessage(t("sent"));
      if (last) renderTransfers(last);
    } catch (err) {
      var msg =
        err && err.code === 4001
          ? t("rejected")
          : err && err.own
            ? err.message
            : t("walletError", { message: (err && err.message) || String(err) });
      walletMessage(msg);
      button.disabled = false;
    }
  }
  $("pay-wallet").addEventListener("click", function () {
    if (wallets.length > 1) return showPicker();
    var eth = wallets.length === 1 ? wallets[0].provider : window.ethereum;
    if (!eth) return walletMessage(t("noWallet"));
    payWithWallet(eth);
  });

  render(JSON.parse(d.status));
  if (!hasWallet() && !terminal[String(last.state)] && last.state < 2) walletMessage(t("noWallet"));
  tick();
  setInterval(tick, 1000);
  if (!terminal[String(last.state)]) setTimeout(poll, 1500);
})();
