// The hosted payment page's script: live status, countdown, copy, and paying with an injected EIP-1193
// wallet. Plain browser JS, no build step. Everything it shows goes through textContent (never innerHTML).
(function () {
  "use strict";
  var root = document.getElementById("pay");
  if (!root) return;
  var d = root.dataset;
  var chainId = Number(d.chainId);
  var native = d.native === "1";
  var terminal = { 4: 1, "-1": 1, "-2": 1, "-3": 1 };
  var last = null;
  var clockSkew = 0;
  var redirecting = false;
  var $ = function (id) {
    return document.getElementById(id);
  };
  var setText = function (id, text) {
    $(id).textContent = text;
  };

  // ---------------------------------------------------------------- status
  function describe(s) {
    var sym = " " + d.symbol;
    switch (s.state) {
      case 0:
        return ["Waiting for payment", "Send " + s.display.amount + sym + " to the address below."];
      case 1:
        return ["Underpaid", "Received " + s.display.seenAmount + sym + ". Still missing " + s.display.dueAmount + sym + "."];
      case 2:
      case 3: {
        var c =
          s.confirmations == null
            ? ""
            : s.requiredConfirmations == null
            ? " (" + s.confirmations + " blocks)"
            : " (" + Math.min(s.confirmations, s.requiredConfirmations) + "/" + s.requiredConfirmations + ")";
        return [s.state === 2 ? "Payment seen" : "Confirming", "Waiting for the network to confirm" + c + "."];
      }
      case 4:
        return ["Payment successful", s.redirectUrl ? "Returning to the shop in 3 seconds\u2026" : "Thank you. You may close this page."];
      case -1:
        return [
          "Payment failed",
          s.seenAmount !== "0"
            ? "Only " + s.display.seenAmount + sym + " arrived before the order closed. Contact the shop."
            : "Contact the shop.",
        ];
      case -2:
        return ["Expired", "This order expired. Do not send anything; ask the shop for a new link."];
      case -3:
        return ["Cancelled", "The shop cancelled this order. Do not send anything."];
      default:
        return ["Unknown state", String(s.state)];
    }
  }

  function render(s) {
    last = s;
    clockSkew = s.serverTime - Date.now();
    var text = describe(s);
    $("status").dataset.state = String(s.state);
    setText("status-title", text[0]);
    setText("status-detail", text[1]);
    var open = !terminal[String(s.state)];
    $("pay-wallet").disabled = !open || s.state >= 2 || !window.ethereum;
    root.classList.toggle("closed", !open);
    // enough arrived: nothing more to send, so no QR or wallet button that could make a second payment
    root.classList.toggle("paid", s.state === 2 || s.state === 3);
    if (open && s.state < 2) {
      setText("send-amount", s.display.dueAmount + " " + d.symbol);
      var stale = s.dueAmount !== d.dueRendered;
      $("qr").classList.toggle("hidden", stale);
      $("uri").classList.toggle("hidden", stale);
      $("qr-stale").classList.toggle("hidden", !stale);
    }
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
      setText("copy", "Copied");
      setTimeout(function () {
        setText("copy", "Copy");
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

  // ---------------------------------------------------------------- wallet (EIP-1193)
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

  function walletMessage(text) {
    setText("wallet-msg", text);
  }

  async function payWithWallet() {
    var eth = window.ethereum;
    if (!eth) return walletMessage("No browser wallet found. Scan the QR code with a wallet app instead.");
    var button = $("pay-wallet");
    button.disabled = true;
    try {
      walletMessage("Connecting to your wallet\u2026");
      var accounts = await eth.request({ method: "eth_requestAccounts" });
      if (!accounts || !accounts.length) throw new Error("The wallet shared no account");
      var from = accounts[0];
      var current = await eth.request({ method: "eth_chainId" });
      if (Number(current) !== chainId) {
        walletMessage("Switching your wallet to " + d.networkName + "\u2026");
        try {
          await eth.request({ method: "wallet_switchEthereumChain", params: [{ chainId: hex(chainId) }] });
        } catch (err) {
          if (err && err.code === 4902) throw new Error("Add " + d.networkName + " (chain " + chainId + ") to your wallet, then try again");
          throw err;
        }
      }
      var due = last && last.dueAmount !== "0" ? last.dueAmount : d.amount;
      var tx = native
        ? { from: from, to: d.receipt, value: hex(due) }
        : { from: from, to: d.token, value: "0x0", data: transferData(d.receipt, due) };
      walletMessage("Confirm the payment in your wallet\u2026");
      var hash = await eth.request({ method: "eth_sendTransaction", params: [tx] });
      walletMessage("Sent: " + hash + ". Waiting for the network\u2026");
    } catch (err) {
      var msg = err && err.code === 4001 ? "You rejected the request in your wallet." : (err && err.message) || String(err);
      walletMessage(msg);
      button.disabled = false;
    }
  }
  $("pay-wallet").addEventListener("click", function () {
    payWithWallet();
  });
  if (!window.ethereum) walletMessage("No browser wallet found: scan the QR code with a wallet app, or copy the address.");

  tick();
  setInterval(tick, 1000);
  poll();
})();
