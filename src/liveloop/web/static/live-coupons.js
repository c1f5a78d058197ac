// Coupons on the viewer page: a tile for each drop into the room (发券) with its claim button. A
// claimed coupon goes into `room.wallet`, where buying (live-shop.js) picks one that fits the order.
"use strict";

(window.liveloopTools = window.liveloopTools || []).push((room, kit) => {
  const { T, fill } = room;
  const { h, at, tick, toast } = kit;
  const rail = document.querySelector(".tool-rail");
  const drops = new Map();

  function showDrop(data) {
    if (drops.has(data.drop_id)) return;
    const expires = at(data.expires_at);
    if (expires !== null && expires <= Date.now()) return;
    const kind = T[`coupon_kind_${data.kind}`] || T.coupon;
    // A drop from the page's config (a late joiner) says how many are left; a fresh one offers them all.
    const left = data.left ?? data.quantity;
    const status = h("span", { class: "tile-status", text: left ? fill(T.coupon_left, { count: left }) : "" });
    const button = h("button", { type: "button", class: "tile-action", text: T.coupon_claim });
    const node = h(
      "div",
      { class: "tile coupon-tile", dataset: { drop: data.drop_id } },
      h("span", { class: "tile-icon", "aria-hidden": "true" }),
      h("span", { class: "tile-title", text: kind }),
      h("span", { class: "tile-sub", text: data.name || "" }),
      status,
      button,
    );
    const entry = { data, node, status, button };
    drops.set(data.drop_id, entry);
    button.addEventListener("click", () => claim(entry));
    rail.append(node);
    if (expires !== null) {
      tick(() => {
        if (!node.isConnected) return false;
        if (Date.now() >= expires) {
          node.remove();
          drops.delete(data.drop_id);
          return false;
        }
        return undefined;
      });
    }
  }

  async function claim(entry) {
    if (!room.token) {
      toast(T.tool_sign_in);
      return;
    }
    entry.button.disabled = true;
    const answer = await room.api(`/api/v1/coupon-drops/${entry.data.drop_id}/claim`, { method: "POST" });
    const code = answer.body && answer.body.error ? answer.body.error.code : "";
    let text = null;
    if (answer.ok && answer.body && answer.body.id) room.wallet.unshift(answer.body);
    if (answer.ok || code === "coupon.limit_reached") text = T.coupon_claimed;
    else if (answer.status === 404) text = T.coupon_unavailable;
    else if (code === "coupon.sold_out" || code === "coupon.drop_closed") text = T.coupon_gone;
    else if (code === "coupon.expired") text = T.coupon_expired;
    if (text === null) {
      entry.button.disabled = false; // a retry may succeed: offline, or not (yet) back in the room
      if (code === "rooms.not_present") toast(T.coupon_not_in_room);
      else toast(answer.status === 0 ? T.error_offline : fill(T.tool_failed, { message: code || answer.status }));
      return;
    }
    entry.status.textContent = text;
    entry.button.hidden = true;
    entry.node.dataset.outcome = answer.ok || code === "coupon.limit_reached" ? "won" : "lost";
    if (answer.ok) toast(text);
  }

  room.onItem("coupon_dropped", (data) => showDrop(data));
  // Drops opened before the viewer came in arrive with the page (same shape as the stream's item).
  for (const drop of (room.config.live || {}).coupon_drops || []) showDrop(drop);
});
