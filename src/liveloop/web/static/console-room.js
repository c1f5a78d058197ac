// The console's comment stream and live tools. The stream is the room's own socket
// (/ws/rooms/{room}, protocol v1) joined as staff with a 5-minute socket token fetched for each
// connection: staff are not counted as viewers. Delete and pin are staff frames on that socket;
// mute, ban and every live tool are the ordinary REST routes (cookie session, see console.js).
"use strict";

(() => {
  const { config, T, fill, api, toast, setShowState } = window.liveloopConsole;
  const MAX_COMMENTS = 200;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 15000;
  const PING_MS = 20000;
  const ARM_MS = 4000;
  const MUTE_SECONDS = 600;
  const FINAL = { 4001: true, 4003: true, 4004: true, 4400: true };

  const $ = (selector, root = document) => root.querySelector(selector);
  const el = {
    list: $(".comment-list"),
    empty: $(".comments-empty"),
    status: $(".stream-status"),
    pinned: $(".pinned"),
    pinnedText: $(".pinned-text"),
    say: $(".host-say"),
  };
  const room = { ws: null, epoch: null, offset: null, attempts: 0, timer: null, ping: null, stopped: false };
  const pending = new Map(); // ref -> {resolve, reject}
  let refSeq = 0;

  // ---- room socket ------------------------------------------------------------------------

  async function connect() {
    room.timer = null;
    if (room.stopped) return;
    let token;
    try {
      token = (await api("POST", "/api/v1/socket-tokens")).token;
    } catch (e) {
      return retry();
    }
    const query = new URLSearchParams({ v: "1", token });
    if (room.epoch !== null && room.offset !== null) {
      query.set("resume_epoch", room.epoch);
      query.set("resume_offset", String(room.offset));
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/rooms/${config.roomId}?${query}`);
    room.ws = ws;
    ws.addEventListener("open", () => {
      clearInterval(room.ping);
      room.ping = setInterval(() => send({ type: "ping" }), PING_MS);
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
    ws.addEventListener("close", (event) => {
      if (ws !== room.ws) return;
      room.ws = null;
      clearInterval(room.ping);
      for (const { reject } of pending.values()) reject(new Error(T.stream_reconnecting));
      pending.clear();
      if (!room.stopped && !FINAL[event.code]) retry();
    });
  }

  function retry() {
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** room.attempts);
    room.attempts += 1;
    el.status.textContent = T.stream_reconnecting;
    el.status.hidden = false;
    room.timer = setTimeout(connect, delay * (0.8 + Math.random() * 0.4));
  }

  function send(frame) {
    if (!room.ws || room.ws.readyState !== WebSocket.OPEN) return false;
    room.ws.send(JSON.stringify(frame));
    return true;
  }

  // A staff frame answered by an ack (resolve) or an error with the same ref (reject).
  function request(frame) {
    const ref = `k${++refSeq}`;
    return new Promise((resolve, reject) => {
      if (!send({ ...frame, ref })) return reject(new Error(T.stream_reconnecting));
      pending.set(ref, { resolve, reject });
    });
  }

  function onFrame(frame) {
    if (frame.ref && pending.has(frame.ref) && (frame.type === "ack" || frame.type === "error")) {
      const { resolve, reject } = pending.get(frame.ref);
      pending.delete(frame.ref);
      if (frame.type === "ack") resolve(frame);
      else reject(new Error(frame.message || frame.code));
    }
    switch (frame.type) {
      case "snapshot":
        el.list.replaceChildren();
        addItems(frame.comments || []);
        started(frame);
        break;
      case "resume":
        addItems(frame.items || []);
        started(frame);
        break;
      case "tick":
        addItems(frame.items || []);
        if ("pinned" in frame) setPinned(frame.pinned);
        break;
      default:
        break;
    }
    if (typeof frame.epoch === "string" && typeof frame.offset === "number") {
      room.epoch = frame.epoch;
      room.offset = frame.offset;
    }
  }

  function started(frame) {
    room.attempts = 0;
    el.status.hidden = true;
    setPinned(frame.pinned);
  }

  // ---- comments ---------------------------------------------------------------------------

  function addItems(items) {
    const stick = el.list.scrollHeight - el.list.scrollTop - el.list.clientHeight < 48;
    for (const item of items) {
      const data = item.data || {};
      if (data.type === "comment" || data.type === "host_message") addComment(item);
      else if (data.type === "comment_deleted") removeComment(data.offset);
      else if (data.type === "show_started") setShowState("live");
      else if (data.type === "show_ended") setShowState("ended");
      else if (data.type === "lottery_opened") lotteryId = data.lottery_id;
      else if (data.type === "lottery_drawn" || data.type === "lottery_cancelled") {
        if (data.lottery_id === lotteryId) lotteryId = null;
      } else if (data.type === "poll_opened") pollId = data.poll_id;
      else if (data.type === "poll_closed" && data.poll_id === pollId) pollId = null;
    }
    syncTools();
    while (el.list.children.length > MAX_COMMENTS) el.list.firstElementChild.remove();
    el.empty.hidden = el.list.children.length > 0;
    if (stick) el.list.scrollTop = el.list.scrollHeight;
  }

  function button(label, action, extra = "") {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `btn btn-tiny btn-ghost ${extra}`.trim();
    b.dataset.action = action;
    b.textContent = label;
    return b;
  }

  function addComment(item) {
    if (el.list.querySelector(`[data-offset="${item.offset}"]`)) return;
    const data = item.data;
    const host = data.type === "host_message";
    const who = (host ? data.staff : data.viewer) || {};
    const li = document.createElement("li");
    li.className = host ? "comment is-host" : data.staff ? "comment is-staff" : "comment";
    li.dataset.offset = String(item.offset);
    if (!host && !data.staff && who.id) li.dataset.viewerId = who.id;
    li.dataset.nickname = who.nickname || "";
    const line = document.createElement("p");
    line.className = "comment-line";
    if (host || data.staff) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = host ? T.host : T.staff;
      line.append(badge);
    }
    const name = document.createElement("span");
    name.className = "comment-name";
    name.textContent = who.nickname || "";
    const text = document.createElement("span");
    text.className = "comment-text";
    text.textContent = data.text || "";
    line.append(name, text);
    li.append(line);
    if (config.can.moderate) {
      const actions = document.createElement("div");
      actions.className = "comment-actions";
      actions.append(button(T.mod_delete, "delete"), button(T.mod_pin, "pin"));
      if (li.dataset.viewerId) actions.append(button(T.mod_mute, "mute"), button(T.mod_ban, "ban", "btn-danger-text"));
      li.append(actions);
    }
    el.list.append(li);
  }

  function removeComment(offset) {
    const node = el.list.querySelector(`[data-offset="${Number(offset)}"]`);
    if (node) node.remove();
    el.empty.hidden = el.list.children.length > 0;
  }

  function setPinned(message) {
    const text = message && message.text;
    el.pinned.hidden = !text;
    el.pinnedText.textContent = text || "";
  }

  // Two clicks for what cannot be undone: the first arms the button for a few seconds.
  function armed(b, label, hint) {
    if (b.classList.contains("is-armed")) {
      b.classList.remove("is-armed");
      b.textContent = b.dataset.label;
      return true;
    }
    b.dataset.label = b.textContent;
    b.classList.add("is-armed");
    b.textContent = label;
    toast(hint, "warn");
    setTimeout(() => {
      if (!b.classList.contains("is-armed")) return;
      b.classList.remove("is-armed");
      b.textContent = b.dataset.label;
    }, ARM_MS);
    return false;
  }

  async function moderate(b) {
    const li = b.closest(".comment");
    const pinBar = b.closest(".pinned");
    const offset = li ? Number(li.dataset.offset) : null;
    const viewerId = li ? li.dataset.viewerId : null;
    const name = li ? li.dataset.nickname : "";
    switch (b.dataset.action) {
      case "delete":
        await request({ type: "moderate", action: "delete", offset });
        return T.done_deleted;
      case "pin":
        await request({ type: "moderate", action: "pin", offset });
        return T.done_pinned;
      case "unpin":
        if (!pinBar) return null;
        await request({ type: "moderate", action: "unpin" });
        return T.done_unpinned;
      case "mute":
        await api("POST", `/api/v1/rooms/${config.roomId}/mutes`, { viewer_id: viewerId, seconds: MUTE_SECONDS });
        return fill(T.done_muted, { name });
      case "ban":
        if (!armed(b, T.confirm_ban, fill(T.confirm_ban_hint, { name }))) return null;
        await api("POST", `/api/v1/rooms/${config.roomId}/bans`, { viewer_id: viewerId, reason: "console" });
        return fill(T.done_banned, { name });
      default:
        return null;
    }
  }

  document.addEventListener("click", async (event) => {
    const b = event.target.closest("[data-action]");
    if (!b || b.disabled) return;
    b.disabled = true;
    try {
      const done = await moderate(b);
      if (done) toast(done);
    } catch (e) {
      toast(fill(T.tool_error, { message: e.message }), "error");
    } finally {
      b.disabled = false;
    }
  });

  el.say.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = el.say.elements.text;
    const text = input.value.trim();
    if (!text) return;
    try {
      await request({ type: "host_message", text });
      input.value = "";
    } catch (e) {
      toast(fill(T.tool_error, { message: e.message }), "error");
    }
  });

  // ---- live tools -------------------------------------------------------------------------

  let pollId = null;
  let lotteryId = null;
  const tool = (name) => $(`[data-tool="${name}"]`);

  function syncTools() {
    const start = tool("start");
    if (!start) return;
    start.disabled = config.state !== "scheduled";
    tool("end").disabled = config.state !== "live";
    tool("close-poll").disabled = pollId === null;
    tool("draw").disabled = lotteryId === null;
  }

  const tools = {
    async start() {
      setShowState((await api("POST", `/api/v1/shows/${config.showId}/start`)).state);
      return T.done_started;
    },
    async end(b) {
      if (!armed(b, T.confirm_end, T.confirm_end_hint)) return null;
      setShowState((await api("POST", `/api/v1/shows/${config.showId}/end`)).state);
      return T.done_ended;
    },
    async "close-poll"() {
      await api("POST", `/api/v1/polls/${pollId}/close`);
      pollId = null;
      return T.done_poll_closed;
    },
    async draw() {
      const drawn = await api("POST", `/api/v1/lotteries/${lotteryId}/draw`);
      lotteryId = null;
      const names = (drawn.winners || []).map((w) => w.nickname).join(T.name_separator);
      return fill(T.done_drawn, { winners: names || T.no_winners });
    },
  };

  const forms = {
    async poll(form) {
      const options = form.elements.options.value.split("\n").map((s) => s.trim()).filter(Boolean);
      if (options.length < 2 || options.length > 6) throw new Error(T.poll_need_options);
      const body = { question: form.elements.question.value.trim(), options: options.map((text) => ({ text })) };
      const poll = await api("POST", `/api/v1/rooms/${config.roomId}/polls`, body);
      await api("POST", `/api/v1/polls/${poll.id}/open`, {});
      pollId = poll.id;
      return T.done_poll;
    },
    async "red-packet"(form) {
      const total = Math.round(Number(form.elements.total.value) * 100);
      const count = Math.round(Number(form.elements.count.value));
      await api("POST", `/api/v1/rooms/${config.roomId}/red-packets`, { total_cents: total, count });
      return T.done_red_packet;
    },
    async lottery(form) {
      const body = {
        prize: form.elements.prize.value.trim(),
        winners_count: Math.round(Number(form.elements.winners.value)),
        duration_seconds: Math.round(Number(form.elements.minutes.value) * 60),
      };
      lotteryId = (await api("POST", `/api/v1/rooms/${config.roomId}/lotteries`, body)).id;
      return T.done_lottery;
    },
  };

  async function run(action, target, control) {
    control.disabled = true;
    try {
      const done = await action(target);
      if (done) toast(done);
      return Boolean(done);
    } catch (e) {
      toast(fill(T.tool_error, { message: e.message }), "error");
      return false;
    } finally {
      control.disabled = false;
      syncTools();
    }
  }

  document.addEventListener("click", (event) => {
    const b = event.target.closest("[data-tool]");
    if (b && !b.disabled && tools[b.dataset.tool]) run(tools[b.dataset.tool], b, b);
  });
  document.querySelectorAll("[data-form]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const submit = form.querySelector('button[type="submit"]');
      if (await run(forms[form.dataset.form], form, submit)) form.reset();
    });
  });
  document.addEventListener("console:state", syncTools);

  window.addEventListener("pagehide", () => {
    room.stopped = true;
    if (room.ws) room.ws.close(1000, "bye");
  });
  syncTools();
  connect();
})();
