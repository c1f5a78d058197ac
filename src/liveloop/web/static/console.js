// The operator console's live view: KPI tiles, products and alerts of one show, pushed every second
// over /ws/console/shows/{id} (cookie-authenticated). The charts are in console-charts.js, the
// comment stream and live tools in console-room.js; both use the helpers on window.liveloopConsole.
// Every ratio arrives as {value, numerator, denominator, base}: each tile shows its denominator.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("console-config").textContent);
  const T = config.strings;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 15000;
  const PING_MS = 20000;
  const LINEUP_REFRESH_MS = 10000;

  const $ = (selector, root = document) => root.querySelector(selector);
  const fill = (template, values) =>
    template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));
  const locale = config.lang === "en" ? "en-US" : "zh-CN";
  const intFmt = new Intl.NumberFormat(locale);
  const moneyFmt = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const clockFmt = new Intl.DateTimeFormat(locale, {
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
    timeZone: config.timezone,
  });
  const secondsFmt = new Intl.DateTimeFormat(locale, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
    timeZone: config.timezone,
  });

  const fmt = {
    int: (n) => (typeof n === "number" && isFinite(n) ? intFmt.format(Math.round(n)) : "—"),
    money: (cents) => (typeof cents === "number" && isFinite(cents) ? `¥${moneyFmt.format(cents / 100)}` : "—"),
    pct: (v) => (typeof v === "number" && isFinite(v) ? `${(v * 100).toFixed(v < 0.1 ? 2 : 1)}%` : "—"),
    duration(seconds) {
      if (typeof seconds !== "number" || !isFinite(seconds)) return "—";
      const s = Math.round(seconds);
      const m = Math.floor(s / 60);
      const h = Math.floor(m / 60);
      if (config.lang === "en") return h ? `${h}h ${m % 60}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
      return h ? `${h}小时${m % 60}分` : m ? `${m}分${s % 60}秒` : `${s}秒`;
    },
    clock: (ms) => clockFmt.format(new Date(ms)),
    clockSeconds: (ms) => secondsFmt.format(new Date(ms)),
  };

  const el = {
    live: $("#live"),
    conn: $(".conn"),
    asOf: $(".as-of"),
    showState: $("[data-show-state]"),
    reviewLink: $(".review-link"),
    products: $(".products tbody"),
    productsEmpty: $(".products-empty"),
    alerts: $(".alert-list"),
    alertsEmpty: $(".alerts-empty"),
    toast: $(".toast"),
  };

  // ---- shared with console-room.js ------------------------------------------------------

  let toastTimer = null;
  function toast(message, kind = "ok") {
    el.toast.textContent = message;
    el.toast.dataset.kind = kind;
    el.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (el.toast.hidden = true), 4000);
  }

  // Same-origin REST call: the HttpOnly cookie travels with it and the console header lets the
  // server use it as the staff key. Resolves with the JSON body; rejects with the API's message.
  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { "X-Liveloop-Console": "1" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      if (response.status === 401) location.assign(loginUrl());
      const error = new Error((data && data.error && data.error.message) || `HTTP ${response.status}`);
      error.code = data && data.error && data.error.code;
      throw error;
    }
    return data;
  }

  function loginUrl() {
    const query = new URLSearchParams({ next: location.pathname + location.search });
    if (config.lang === "en") query.set("lang", "en");
    return `/console/login?${query}`;
  }

  function setShowState(state) {
    if (!state || state === config.state) return;
    config.state = state;
    el.live.dataset.state = state;
    el.showState.textContent = T[`state_${state}`] || state;
    el.showState.className = `state is-${state}`;
    el.reviewLink.hidden = state !== "ended";
    document.dispatchEvent(new CustomEvent("console:state", { detail: state }));
  }

  window.liveloopConsole = { config, T, fill, fmt, api, toast, setShowState, charts: null };

  // ---- metrics socket ---------------------------------------------------------------------

  const state = { ws: null, attempts: 0, stopped: false, timer: null, ping: null };

  function connect() {
    state.timer = null;
    if (state.stopped) return;
    setConn(state.attempts ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/console/shows/${config.showId}`);
    state.ws = ws;
    ws.addEventListener("open", () => {
      clearInterval(state.ping);
      state.ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"ping"}'), PING_MS);
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame && typeof frame === "object") onFrame(frame);
    });
    ws.addEventListener("close", (event) => onClose(ws, event.code));
  }

  function onClose(ws, code) {
    if (ws !== state.ws) return;
    state.ws = null;
    clearInterval(state.ping);
    if (state.stopped) return;
    if (code === 4001) return stop("signed_out");
    if (code === 4004) return stop("not_found");
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempts);
    state.attempts += 1;
    setConn("reconnecting");
    state.timer = setTimeout(connect, base * (0.8 + Math.random() * 0.4));
  }

  function stop(why) {
    state.stopped = true;
    setConn(why);
    if (why === "signed_out") {
      const link = document.createElement("a");
      link.href = loginUrl();
      link.textContent = ` → ${T.login_submit}`;
      el.conn.append(link);
    }
  }

  function setConn(key) {
    el.conn.dataset.conn = key;
    el.conn.textContent = T[`conn_${key}`] || T[key] || key;
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "hello":
        state.attempts = 0;
        setConn("live");
        if (frame.show) setShowState(frame.show.state);
        break;
      case "metrics":
        setConn("live");
        render(frame.metrics || {});
        if (Array.isArray(frame.alerts)) renderAlerts(frame.alerts);
        break;
      case "alerts":
        renderAlerts(frame.alerts || []);
        break;
      case "error":
        if (frame.code === "metrics.unavailable") setConn("metrics_unavailable");
        break;
      default:
        break;
    }
  }

  // ---- rendering --------------------------------------------------------------------------

  function ratioSub(ratio, numFmt = fmt.int, template = T.sub_ratio, extra = {}) {
    if (!ratio || typeof ratio !== "object") return "";
    return fill(template, {
      numerator: numFmt(ratio.numerator),
      denominator: fmt.int(ratio.denominator),
      base: T[`base_${ratio.base}`] || ratio.base || "",
      ...extra,
    });
  }

  function tile(key, value, sub) {
    const node = $(`[data-kpi="${key}"]`);
    if (!node) return;
    const valueNode = $(".kpi-value", node);
    if (valueNode.textContent !== value) {
      valueNode.textContent = value;
      node.classList.remove("is-changed");
      void node.offsetWidth; // restart the highlight animation
      node.classList.add("is-changed");
    }
    if (sub !== undefined) {
      $(".kpi-sub", node).textContent = sub;
      node.title = sub;
    }
  }

  const value = (ratio) => (ratio && typeof ratio === "object" ? ratio.value : null);

  function render(m) {
    const t = m.totals || {};
    setShowState(m.status);
    if (m.as_of) el.asOf.textContent = fill(T.updated_at, { time: secondsFmt.format(new Date(m.as_of)) });
    tile("ccu", fmt.int(t.ccu));
    tile("pcu", fmt.int(t.pcu));
    tile("uv", fmt.int(t.uv));
    tile("pv", fmt.int(t.pv));
    tile("avg_watch", fmt.duration(value(t.avg_watch_seconds)), ratioSub(t.avg_watch_seconds, fmt.duration));
    tile("interaction", fmt.pct(value(t.interaction_rate)), ratioSub(t.interaction_rate));
    tile("ctr", fmt.pct(value(t.ctr)), ratioSub(t.ctr));
    tile("gmv", fmt.money(t.gmv_cents), fill(T.sub_gmv, { orders: fmt.int(t.paid_orders) }));
    tile("gpm", fmt.money(value(t.gpm)), ratioSub(t.gpm, fmt.money, T.sub_gpm));
    const perBuyer = fmt.money(value(t.aov_per_buyer));
    tile("aov", fmt.money(value(t.aov_per_order)), ratioSub(t.aov_per_order, fmt.money, T.sub_aov, { per_buyer: perBuyer }));
    tile("conversion", fmt.pct(value(t.view_to_paid)), ratioSub(t.view_to_paid));
    const charts = window.liveloopConsole.charts; // console-charts.js
    if (charts) charts.render(m, t);
    renderProducts(m.products || [], m.explaining_product_id);
  }

  // ---- products ---------------------------------------------------------------------------

  const titles = new Map();
  let lineupFetched = 0;

  async function refreshLineup() {
    lineupFetched = Date.now();
    try {
      const lineup = await api("GET", `/api/v1/shows/${config.showId}/lineup`);
      for (const item of lineup.items || []) titles.set(item.product.id, item.product.title);
    } catch (e) {
      return; // titles stay as product ids until the next try
    }
    if (shown) renderProducts(...shown);
  }

  let shown = null; // the last products rendered, drawn again once their titles arrive

  function renderProducts(products, explaining) {
    shown = [products, explaining];
    if (products.some((p) => !titles.has(p.product_id)) && Date.now() - lineupFetched > LINEUP_REFRESH_MS) {
      refreshLineup();
    }
    const rows = products.slice().sort((a, b) => (b.gmv_cents || 0) - (a.gmv_cents || 0) || a.product_id - b.product_id);
    el.products.replaceChildren(
      ...rows.map((p) => {
        const tr = document.createElement("tr");
        const now = p.product_id === explaining || p.explaining === true;
        tr.dataset.productId = String(p.product_id);
        if (now) tr.className = "is-explaining";
        const name = document.createElement("td");
        name.className = "product-name";
        name.textContent = titles.get(p.product_id) || `#${p.product_id}`;
        if (now) {
          const badge = document.createElement("span");
          badge.className = "badge-explaining";
          badge.textContent = T.explaining;
          name.prepend(badge);
        }
        const cells = [
          fmt.int(p.exposure_uv),
          fmt.int(p.click_uv),
          fmt.pct(value(p.ctr)),
          fmt.int(p.paid_uv),
          fmt.money(p.gmv_cents),
        ].map((text, i) => {
          const td = document.createElement("td");
          td.className = "num";
          td.textContent = text;
          if (i === 2 && p.ctr) td.title = ratioSub(p.ctr);
          return td;
        });
        tr.append(name, ...cells);
        return tr;
      }),
    );
    el.productsEmpty.hidden = rows.length > 0;
  }

  // ---- alerts -----------------------------------------------------------------------------

  // An alert carries its text in both languages (message_zh, message_en) or in one (message).
  const inLanguage = (a, field) =>
    a[`${field}_${config.lang === "en" ? "en" : "zh"}`] || a[field] || a[`${field}_zh`] || "";

  function renderAlerts(alerts) {
    el.alerts.replaceChildren(
      ...alerts.slice(0, 50).map((a) => {
        const li = document.createElement("li");
        li.className = a.severity === "critical" ? "alert is-critical" : "alert";
        const head = document.createElement("p");
        head.className = "alert-head";
        const rule = document.createElement("span");
        rule.className = "alert-rule";
        rule.textContent = T[`rule_${a.rule}`] || a.rule || "";
        const at = document.createElement("time");
        at.className = "alert-at num";
        const when = Date.parse(a.at);
        at.textContent = isFinite(when) ? secondsFmt.format(new Date(when)) : "";
        head.append(rule, at);
        const message = document.createElement("p");
        message.className = "alert-message";
        message.textContent = inLanguage(a, "message");
        li.append(head, message);
        const figures = a.figures && typeof a.figures === "object" ? Object.entries(a.figures) : [];
        if (figures.length) {
          const dl = document.createElement("p");
          dl.className = "alert-figures";
          for (const [k, v] of figures) {
            const chip = document.createElement("span");
            chip.className = "chip";
            chip.textContent = `${k}: ${typeof v === "number" ? +v.toFixed(4) : typeof v === "object" ? JSON.stringify(v) : v}`;
            dl.append(chip);
          }
          li.append(dl);
        }
        const suggestion = inLanguage(a, "suggestion");
        if (suggestion) {
          const s = document.createElement("p");
          s.className = "alert-suggestion";
          s.textContent = fill(T.alert_suggestion, { text: suggestion });
          li.append(s);
        }
        return li;
      }),
    );
    el.alertsEmpty.hidden = alerts.length > 0;
  }

  // ---- start ------------------------------------------------------------------------------

  window.addEventListener("pagehide", () => {
    state.stopped = true;
    if (state.ws) state.ws.close(1000, "bye");
  });
  refreshLineup();
  // After every deferred script (console-charts.js registers the charts) has run.
  document.addEventListener("DOMContentLoaded", connect);
})();
