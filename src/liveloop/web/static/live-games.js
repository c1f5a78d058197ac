// The room's games on the viewer page: red packets (红包) and the lucky bag (福袋, a comment lottery).
// Staff open them; they arrive as stream items (or in the page's config for a late joiner); the
// viewer acts over the socket (grab, enter_lottery, comment, follow). Polls are in live-polls.js.
"use strict";

(window.liveloopTools = window.liveloopTools || []).push((room, kit) => {
  const { T, fill } = room;
  const { h, money, duration, at, tick, sheet, toast } = kit;
  const rail = document.querySelector(".tool-rail");
  const lotteryBody = document.querySelector(".lottery-body");
  const FOLLOW_KEY = `liveloop.followed.${room.config.roomId}`;

  function errorText(frame) {
    switch (frame.code) {
      case "interactions.sign_in_required":
      case "protocol.login_required":
        return T.tool_sign_in;
      case "interactions.already_grabbed":
        return T.red_packet_already;
      case "interactions.red_packet_empty":
        return T.red_packet_too_slow;
      case "interactions.red_packet_expired":
        return T.red_packet_expired;
      case "interactions.red_packet_not_open":
        return T.red_packet_not_open;
      case "interactions.already_entered":
        return T.lottery_already_entered;
      case "interactions.keyword_entry_only":
        return T.lottery_keyword_only;
      case "interactions.lottery_closed":
        return T.lottery_closed;
      case "offline":
        return T.error_offline;
      default:
        return fill(T.tool_failed, { message: frame.message || frame.code });
    }
  }

  const later = (fn, ms) => setTimeout(fn, ms);

  // ---- red packets ------------------------------------------------------------------------

  const packets = new Map();

  function showPacket(data) {
    if (packets.has(data.packet_id)) return;
    const opens = at(data.opens_at);
    const expires = at(data.expires_at);
    if (expires !== null && expires <= Date.now()) return;
    const status = h("span", { class: "tile-status" });
    const button = h("button", { type: "button", class: "tile-action", text: T.grab });
    const node = h(
      "div",
      { class: "tile red-packet", dataset: { packet: data.packet_id } },
      h("span", { class: "tile-icon", "aria-hidden": "true" }),
      h("span", { class: "tile-title", text: T.red_packet }),
      h("span", { class: "tile-sub", text: fill(T.red_packet_total, { amount: money(data.total_cents), count: data.count }) }),
      status,
      button,
    );
    const entry = { data, node, status, button, done: false };
    packets.set(data.packet_id, entry);
    button.addEventListener("click", () => grab(entry));
    rail.append(node);
    tick(() => {
      if (!node.isConnected) return false;
      const now = Date.now();
      if (expires !== null && now >= expires) {
        dropPacket(entry, 0);
        return false;
      }
      if (entry.done) return undefined;
      const waiting = opens !== null && now < opens;
      status.textContent = waiting ? fill(T.red_packet_opens_in, { time: duration(opens - now) }) : "";
      button.disabled = waiting || entry.busy === true;
      return undefined;
    });
  }

  async function grab(entry) {
    entry.busy = true;
    entry.button.disabled = true;
    try {
      const ack = await room.request({ type: "grab", packet_id: entry.data.packet_id });
      settlePacket(entry, fill(T.red_packet_got, { amount: money(ack.result.amount_cents) }), "won");
    } catch (error) {
      const final = ["interactions.red_packet_empty", "interactions.already_grabbed", "interactions.red_packet_expired"];
      if (final.includes(error.code)) settlePacket(entry, errorText(error), "lost");
      else toast(errorText(error));
    } finally {
      entry.busy = false;
    }
  }

  function settlePacket(entry, text, outcome) {
    entry.done = true;
    entry.status.textContent = text;
    entry.node.dataset.outcome = outcome;
    entry.button.hidden = true;
  }

  function dropPacket(entry, delay) {
    later(() => {
      entry.node.remove();
      packets.delete(entry.data.packet_id);
    }, delay);
  }

  room.onItem("red_packet", (data) => showPacket(data));
  room.onItem("red_packet_grabbed", (data) =>
    fill(T.red_packet_grabbed_notice, { name: data.nickname || "", amount: money(data.amount_cents) }),
  );
  room.onItem("red_packet_finished", (data) => {
    const entry = packets.get(data.packet_id);
    if (!entry) return null;
    if (!entry.done) settlePacket(entry, T.red_packet_too_slow, "lost");
    dropPacket(entry, 6000);
    return null;
  });

  // ---- the lucky bag (福袋) ------------------------------------------------------------------

  let lottery = null;

  function followed() {
    try {
      return localStorage.getItem(FOLLOW_KEY) === "1";
    } catch (e) {
      return false;
    }
  }

  function showLottery(data) {
    if (lottery) lottery.tile.remove();
    const status = h("span", { class: "tile-status" });
    const tile = h(
      "button",
      { type: "button", class: "tile lottery-tile", "aria-label": T.lottery, dataset: { lottery: data.lottery_id } },
      h("span", { class: "tile-icon", "aria-hidden": "true" }),
      h("span", { class: "tile-title", text: T.lottery }),
      h("span", { class: "tile-sub", text: data.prize }),
      status,
    );
    tile.addEventListener("click", () => {
      renderLottery();
      sheet.open("lottery");
    });
    const entry = { data, tile, status, entered: false, result: null, closes: at(data.closes_at) };
    lottery = entry;
    rail.prepend(tile);
    tick(() => {
      if (lottery !== entry) return false;
      if (entry.result) {
        status.textContent = T.lottery_view_result;
        return false;
      }
      const left = entry.closes === null ? 0 : entry.closes - Date.now();
      status.textContent = left > 0 ? fill(T.lottery_closes_in, { time: duration(left) }) : T.lottery_drawing;
      const countdown = lotteryBody.querySelector(".lottery-countdown");
      if (countdown && sheet.isOpen("lottery")) countdown.textContent = status.textContent;
      return undefined;
    });
    if (sheet.isOpen("lottery")) renderLottery();
  }

  function rulesOf(data) {
    const rules = data.rules || [];
    const items = rules.map((rule) => {
      if (rule.kind === "keyword") return fill(T.lottery_rule_keyword, { keyword: rule.keyword });
      if (rule.kind === "follow") return T.lottery_rule_follow;
      if (rule.kind === "watch_time") return fill(T.lottery_rule_watch, { minutes: rule.minutes });
      return rule.kind;
    });
    if (!rules.some((rule) => rule.kind === "keyword")) items.unshift(T.lottery_rule_none);
    items.push(T.lottery_rule_present);
    return items;
  }

  function renderLottery() {
    const entry = lottery;
    if (!entry) return;
    const data = entry.data;
    const parts = [
      h("p", { class: "lottery-prize", text: fill(T.lottery_prize, { prize: data.prize }) }),
    ];
    if (data.winners_count) parts.push(h("p", { class: "lottery-meta", text: fill(T.lottery_winners, { count: data.winners_count }) }));
    if (entry.result) parts.push(...resultParts(entry));
    else parts.push(...entryParts(entry));
    lotteryBody.replaceChildren(...parts);
  }

  function entryParts(entry) {
    const data = entry.data;
    const rules = data.rules || [];
    const keyword = rules.find((rule) => rule.kind === "keyword");
    const needsFollow = rules.some((rule) => rule.kind === "follow");
    const actions = h("div", { class: "sheet-actions" });
    if (!entry.entered) {
      const label = keyword ? T.lottery_send_keyword : T.lottery_enter;
      actions.append(h("button", { type: "button", class: "primary lottery-enter", text: label, onclick: () => enter(entry, keyword) }));
    }
    if (needsFollow) {
      const done = followed();
      actions.append(
        h("button", {
          type: "button",
          class: "secondary lottery-follow",
          text: done ? T.lottery_followed : T.lottery_follow,
          disabled: done,
          onclick: follow,
        }),
      );
    }
    return [
      h("p", { class: "lottery-countdown", text: entry.status.textContent }),
      h("h3", { class: "sheet-subtitle", text: T.lottery_rules }),
      h("ul", { class: "lottery-rules" }, rulesOf(data).map((text) => h("li", { text }))),
      h("p", { class: `lottery-entry ${entry.entered ? "is-entered" : ""}`, text: entry.entered ? T.lottery_entered : T.lottery_not_entered }),
      actions,
    ];
  }

  function resultParts(entry) {
    const result = entry.result;
    const winners = result.winners || [];
    const me = room.viewer && room.viewer.id;
    const won = winners.some((w) => w.viewer_id === me);
    const verdict = h("p", { class: "lottery-verdict" });
    verify(result.seed, result.seed_hash).then((ok) => {
      if (ok !== null) verdict.textContent = ok ? T.lottery_verified : T.lottery_verify_failed;
      verdict.classList.toggle("is-bad", ok === false);
    });
    return [
      h("h3", { class: "sheet-subtitle", text: T.lottery_result }),
      h("p", { class: `lottery-outcome ${won ? "is-won" : ""}`, text: won ? T.lottery_you_won : entry.entered ? T.lottery_not_won : "" }),
      winners.length
        ? h("ol", { class: "lottery-winners" }, winners.map((w) => h("li", { text: w.nickname || w.viewer_id })))
        : h("p", { class: "sheet-empty", text: T.lottery_no_winners }),
      h("p", { class: "lottery-meta", text: fill(T.lottery_entries, { count: result.entries_count || 0 }) }),
      h(
        "dl",
        { class: "lottery-proof" },
        h("dt", { text: T.lottery_seed_hash }),
        h("dd", { text: result.seed_hash || "" }),
        h("dt", { text: T.lottery_seed }),
        h("dd", { text: result.seed || "" }),
      ),
      verdict,
    ];
  }

  // sha256(seed bytes) == seed_hash, as `liveloop lottery verify` checks it; null: cannot tell here.
  async function verify(seed, hash) {
    if (!seed || !hash || !/^[0-9a-f]{64}$/.test(seed) || !(crypto.subtle && crypto.subtle.digest)) return null;
    const bytes = new Uint8Array(seed.match(/../g).map((b) => parseInt(b, 16)));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("") === hash;
  }

  async function enter(entry, keyword) {
    if (room.guest) {
      toast(T.tool_sign_in);
      return;
    }
    try {
      if (keyword) {
        // The keyword lottery is entered by commenting it: the comment's ack says whether it did.
        await room.request({ type: "comment", text: keyword.keyword });
      } else {
        await room.request({ type: "enter_lottery", lottery_id: entry.data.lottery_id });
      }
      markEntered(entry.data.lottery_id);
    } catch (error) {
      if (error.code === "interactions.already_entered") markEntered(entry.data.lottery_id);
      else toast(errorText(error));
    }
  }

  function follow() {
    if (room.guest) {
      toast(T.tool_sign_in);
      return;
    }
    if (!room.send({ type: "follow" })) {
      toast(T.error_offline);
      return;
    }
    try {
      localStorage.setItem(FOLLOW_KEY, "1");
    } catch (e) {
      // remembered for this page only
    }
    renderLottery();
  }

  function markEntered(lotteryId) {
    if (!lottery || lottery.data.lottery_id !== lotteryId) return;
    lottery.entered = true;
    renderLottery();
  }

  room.on("ack", (frame) => {
    if (frame.result && frame.result.lottery_id) markEntered(frame.result.lottery_id);
  });
  room.onItem("lottery_opened", (data) => showLottery(data));
  room.onItem("lottery_drawn", (data) => {
    if (!lottery || lottery.data.lottery_id !== data.lottery_id) showLottery(data);
    lottery.result = data;
    lottery.status.textContent = T.lottery_view_result;
    renderLottery();
    const me = room.viewer && room.viewer.id;
    const winners = data.winners || [];
    if (winners.some((w) => w.viewer_id === me)) {
      toast(T.lottery_you_won, 5000);
      sheet.open("lottery");
    }
    const names = winners.map((w) => w.nickname).filter(Boolean).slice(0, 5).join(T.name_separator);
    return names ? fill(T.lottery_drawn_notice, { names, prize: data.prize || "" }) : null;
  });
  room.onItem("lottery_cancelled", (data) => {
    if (!lottery || lottery.data.lottery_id !== data.lottery_id) return null;
    lottery.tile.remove();
    lottery = null;
    if (sheet.isOpen("lottery")) sheet.close();
    return T.lottery_cancelled;
  });

  // ---- what was open before this page loaded -----------------------------------------------

  const live = room.config.live || {};
  for (const packet of live.red_packets || []) showPacket(packet);
  if (live.lottery) showLottery(live.lottery);
});
