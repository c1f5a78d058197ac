// Selling on the viewer page: the product bag (购物袋), the product being explained (讲解中), flash
// sales (秒杀) with their countdown, and buying: a `buy` frame (with a claimed coupon that fits), then
// the order and its (simulated or real) payment followed through the buyer order API.
"use strict";

(window.liveloopTools = window.liveloopTools || []).push((room, kit) => {
  const { T, fill } = room;
  const { h, money, duration, at, tick, sheet, toast, randomKey } = kit;
  const $ = (selector) => document.querySelector(selector);
  const bagList = $(".bag-list");
  const bagEmpty = $(".bag-empty");
  const orderBody = $(".order-body");
  const flashBox = $(".flash-cards");
  const explainingBox = $(".explaining-card");
  const buzz = $(".buzz");
  const rail = $(".tool-rail");
  const ORDER_POLL_MS = 1000;
  const ORDER_POLL_TRIES = 40;

  let products = normalize((room.config.live || {}).products || []);

  function errorText(frame) {
    switch (frame.code) {
      case "commerce.buyer_required":
      case "auth.missing_credentials":
        return T.error_buyer_required;
      case "commerce.sold_out":
        return T.error_sold_out;
      case "commerce.over_limit":
        return T.error_over_limit;
      case "commerce.sale_ended":
        return T.error_sale_ended;
      case "commerce.sale_not_active":
        return T.error_sale_not_active;
      case "offline":
        return T.error_offline;
      default:
        return fill(T.tool_failed, { message: frame.message || frame.code });
    }
  }

  // The showcase API and the page's own line-up name fields differently: one shape for the bag.
  function normalize(body) {
    const items = Array.isArray(body) ? body : body.items || body.products || [];
    return items
      .map((raw) => {
        const product = raw.product || raw;
        return {
          product_id: raw.product_id ?? product.id,
          name: raw.name ?? product.name ?? product.title ?? "",
          price_cents: raw.price_cents ?? product.price_cents,
          list_price_cents: raw.list_price_cents ?? product.list_price_cents ?? null,
          explaining: Boolean(raw.explaining),
        };
      })
      .filter((p) => Number.isInteger(p.product_id));
  }

  const productOf = (id) => products.find((p) => p.product_id === id) || null;
  const productName = (id) => (productOf(id) || {}).name || "";

  // ---- product signals: exposure (first sight), click; the showcase API dedups per viewer ----

  const signalled = new Set();
  let signalQueue = [];
  let signalTimer = null;

  function signal(kind, productId, surface) {
    const key = `${kind}:${productId}:${surface}`;
    // Only products of the live show's line-up: one outside it would refuse the whole batch.
    if (!room.config.showId || !productOf(productId) || signalled.has(key)) return;
    signalled.add(key);
    signalQueue.push({ kind, product_id: productId, surface });
    clearTimeout(signalTimer);
    signalTimer = setTimeout(flushSignals, 300);
  }

  function flushSignals() {
    const signals = signalQueue.splice(0, 50);
    if (signals.length) room.api(`/api/v1/shows/${room.config.showId}/showcase/signals`, { method: "POST", body: { signals } });
    if (signalQueue.length) signalTimer = setTimeout(flushSignals, 300);
  }

  // ---- the bag ----------------------------------------------------------------------------

  async function loadBag() {
    if (room.config.showId) {
      const answer = await room.api(`/api/v1/shows/${room.config.showId}/showcase`);
      if (answer.ok && answer.body) {
        const listed = normalize(answer.body);
        if (listed.length || !products.length) products = listed;
        const explaining = products.find((p) => p.explaining);
        if (explaining) showExplaining(explaining);
      }
    }
    renderBag();
    if (sheet.isOpen("bag")) for (const p of products) signal("exposure", p.product_id, "bag");
  }

  function renderBag() {
    bagEmpty.hidden = products.length > 0;
    bagList.replaceChildren(
      ...products.map((p, index) =>
        h(
          "li",
          { class: `bag-item ${p.explaining ? "is-explaining" : ""}`, dataset: { product: p.product_id } },
          h("span", { class: "bag-index", text: String(index + 1) }),
          h(
            "span",
            { class: "bag-text" },
            h("span", { class: "bag-name", text: p.name }),
            p.explaining ? h("span", { class: "card-badge", text: T.explaining }) : null,
            h(
              "span",
              { class: "bag-price" },
              fill(T.price, { amount: money(p.price_cents) }),
              p.list_price_cents && p.list_price_cents > p.price_cents
                ? h("s", { class: "bag-list-price", text: fill(T.price, { amount: money(p.list_price_cents) }) })
                : null,
            ),
          ),
          h("button", {
            type: "button",
            class: "primary bag-buy",
            text: T.buy,
            onclick: () => {
              signal("click", p.product_id, "bag");
              buy({ product_id: p.product_id }, p.name, p.price_cents);
            },
          }),
        ),
      ),
    );
  }

  $(".bag-button").addEventListener("click", () => {
    renderBag();
    sheet.open("bag");
    loadBag();
  });

  // ---- 讲解中 -------------------------------------------------------------------------------

  function showExplaining(data) {
    if (!data || !data.product_id) {
      explainingBox.hidden = true;
      explainingBox.replaceChildren();
      return;
    }
    const name = data.name || productName(data.product_id);
    explainingBox.replaceChildren(
      h(
        "div",
        { class: "card explaining", dataset: { product: data.product_id } },
        h("span", { class: "card-badge is-hot", text: T.explaining }),
        h("span", { class: "explaining-name", text: name }),
        h("span", { class: "explaining-price", text: fill(T.price, { amount: money(data.price_cents) }) }),
        h("button", {
          type: "button",
          class: "primary explaining-buy",
          text: T.buy,
          onclick: () => {
            signal("click", data.product_id, "pinned");
            buy({ product_id: data.product_id }, name, data.price_cents);
          },
        }),
      ),
    );
    explainingBox.hidden = false;
    signal("exposure", data.product_id, "pinned");
  }

  room.onItem("explaining", (data) => showExplaining(data));
  // The socket's hello says what is explained now (a late joiner, a reconnect).
  room.on("hello", (frame) => {
    if ("explaining" in frame) showExplaining(frame.explaining);
  });

  // ---- flash sales --------------------------------------------------------------------------

  const sales = new Map();

  function showSale(data) {
    const old = sales.get(data.sale_id);
    if (old) old.node.remove();
    const starts = at(data.starts_at);
    const ends = at(data.ends_at);
    const name = data.name || productName(data.product_id);
    const status = h("span", { class: "flash-countdown" });
    const button = h("button", { type: "button", class: "primary flash-buy", text: T.flash_buy });
    const node = h(
      "div",
      { class: "card flash-card", dataset: { sale: data.sale_id } },
      h("span", { class: "card-badge is-flash", text: T.flash_sale }),
      h(
        "span",
        { class: "flash-text" },
        h("span", { class: "flash-name", text: name }),
        h(
          "span",
          { class: "flash-line" },
          h("span", { class: "flash-price", text: fill(T.price, { amount: money(data.price_cents) }) }),
          // A late joiner's sale (the page's config) says how many units are left, not only how many.
          h("span", { class: "flash-stock", text: fill(T.flash_stock, { count: data.stock_left ?? data.stock }) }),
        ),
        status,
      ),
      button,
    );
    const entry = { data, node, status, button, ended: false };
    sales.set(data.sale_id, entry);
    button.addEventListener("click", () => buy({ flash_sale_id: data.sale_id }, name, data.price_cents, data.product_id));
    flashBox.append(node);
    tick(() => {
      if (!node.isConnected || entry.ended) return false;
      const now = Date.now();
      if (ends !== null && now >= ends) {
        endSale(data.sale_id);
        return false;
      }
      const waiting = starts !== null && now < starts;
      button.disabled = waiting;
      status.textContent = waiting
        ? fill(T.flash_starts_in, { time: duration(starts - now) })
        : ends !== null
          ? fill(T.flash_ends_in, { time: duration(ends - now) })
          : "";
      return undefined;
    });
  }

  function endSale(saleId) {
    const entry = sales.get(saleId);
    if (!entry || entry.ended) return;
    entry.ended = true;
    entry.button.disabled = true;
    entry.status.textContent = T.flash_ended;
    entry.node.classList.add("is-ended");
    setTimeout(() => {
      entry.node.remove();
      sales.delete(saleId);
    }, 5000);
  }

  room.onItem("flash_sale_started", (data) => showSale(data));
  room.onItem("flash_sale_ended", (data) => endSale(data.sale_id));

  // ---- buying -------------------------------------------------------------------------------

  // The newest claimed coupon (room.wallet, see live-coupons.js) that fits the product (or the whole
  // shop) and the threshold (满减).
  function couponFor(productId, priceCents) {
    return (
      room.wallet.find(
        (c) =>
          !c.used &&
          !c.unusable &&
          (c.product_id === null || c.product_id === undefined || c.product_id === productId) &&
          (!c.threshold_cents || (priceCents !== undefined && priceCents >= c.threshold_cents)) &&
          (at(c.valid_until) === null || at(c.valid_until) > Date.now()),
      ) || null
    );
  }

  let attempt = null; // the last buy: a retry of the same thing after a lost answer keeps its key

  async function buy(target, name, priceCents, productId = target.product_id) {
    const coupon = couponFor(productId, priceCents);
    const what = JSON.stringify({ ...target, coupon: coupon && coupon.id });
    const reuse = attempt && attempt.what === what && attempt.lost && Date.now() - attempt.at < 60000;
    attempt = { what, key: reuse ? attempt.key : randomKey(), at: Date.now(), lost: false };
    const current = attempt;
    renderOrder({ title: T.order_placing, name, busy: true });
    sheet.open("order");
    const frame = { type: "buy", ...target, quantity: 1, idempotency_key: current.key };
    if (coupon) frame.coupon_id = coupon.id;
    let ack;
    try {
      ack = await room.request(frame, 15000);
    } catch (error) {
      current.lost = error.code === "offline";
      if (coupon && String(error.code).startsWith("coupon.")) {
        coupon.unusable = true; // the order would go through without it: try again, once, plainly
        attempt = null;
        buy(target, name, priceCents, productId);
        return;
      }
      renderOrder({ title: T.order_failed, name, error: errorText(error) });
      return;
    }
    const order = ack.result.order;
    if (coupon && order.coupon_id === coupon.id) coupon.used = true;
    renderOrder({ title: T.order_placed, name, order });
    followOrder(order, name);
  }

  function renderOrder({ title, name, order, error, busy }) {
    const parts = [h("p", { class: `order-title ${error ? "is-error" : ""}`, text: title })];
    if (name) parts.push(h("p", { class: "order-name", text: name }));
    if (error) parts.push(h("p", { class: "order-error", role: "alert", text: error }));
    if (order) {
      parts.push(
        h("p", { class: "order-number", text: fill(T.order_number, { id: order.id }) }),
        h("p", { class: "order-amount", text: fill(T.order_amount, { amount: money(order.amount_cents) }) }),
        order.discount_cents
          ? h("p", { class: "order-discount", text: fill(T.order_discount, { amount: money(order.discount_cents) }) })
          : null,
        h("p", { class: "order-quantity", text: fill(T.order_quantity, { count: order.quantity }) }),
        h("p", { class: "order-state", dataset: { state: order.state }, text: stateText(order.state) }),
      );
      if (order.payment && order.payment.simulated) parts.push(h("p", { class: "order-simulated", text: T.order_simulated }));
    }
    orderBody.dataset.order = order ? String(order.id) : "";
    orderBody.classList.toggle("is-busy", Boolean(busy));
    orderBody.replaceChildren(...parts);
  }

  function stateText(state) {
    return (
      { created: T.order_pending, paid: T.order_paid, cancelled: T.order_cancelled, expired: T.order_expired }[state] ||
      state
    );
  }

  // The order is paid when the provider confirms (the simulator: after a short delay): read it again.
  async function followOrder(order, name) {
    if (!room.token) return;
    let current = order;
    for (let i = 0; i < ORDER_POLL_TRIES && current.state === "created"; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, ORDER_POLL_MS));
      const answer = await room.api(`/api/v1/buyer/orders/${order.id}`);
      if (answer.ok && answer.body) current = { ...order, ...answer.body, payment: answer.body.payment || order.payment };
    }
    if (orderBody.dataset.order !== String(order.id)) return; // the sheet shows another order now
    renderOrder({ title: T.order_placed, name, order: current });
    if (current.state === "created") orderBody.append(h("p", { class: "order-note", text: T.order_check_later }));
  }

  let buzzTimer = null;
  room.onItem("order_paid", (data) => {
    const name = productName(data.product_id);
    buzz.textContent = name ? fill(T.someone_bought, { name }) : T.someone_bought_any;
    buzz.hidden = false;
    clearTimeout(buzzTimer);
    buzzTimer = setTimeout(() => {
      buzz.hidden = true;
    }, 3000);
  });

  // The line-up changed (a "next product" poll closed): show the bag in its new order.
  room.onItem("lineup_reordered", () => {
    if (sheet.isOpen("bag")) loadBag();
  });

  // The show is over: nothing is explained or on sale any more.
  room.onItem("show_ended", () => {
    showExplaining(null);
    for (const saleId of [...sales.keys()]) endSale(saleId);
  });

  // A late joiner learns the bag from the showcase, and the flash sales already running (or counting
  // down) and the product explained now (讲解中) from the page's config: the same shapes as the
  // stream's items (GET /api/v1/rooms/{id}/live-tools serves them to apps).
  const live = room.config.live || {};
  for (const sale of live.flash_sales || []) showSale(sale);
  if (live.explaining) showExplaining(live.explaining);
  if (room.config.showId) loadBag();
});
