// The viewer page of a live room: one socket (/ws/rooms/{id}, protocol v1), rendered without a framework.
// The page URL may carry ?token= (a viewer token from the shop's app) and ?source= (traffic source);
// without a token the viewer is a guest known by a device id kept in localStorage.
// The live tools (polls, red packets, lotteries, the product bag, Q&A, co-host) live in live-*.js:
// each registers an installer in window.liveloopTools and gets the `room` API defined below.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("live-config").textContent);
  const T = config.strings;

  const MAX_COMMENTS = 100;
  const LIKE_INTERVAL_MS = 200; // at most one like frame per interval, carrying every tap since
  const MAX_LIKES_PER_FRAME = 500;
  const PING_INTERVAL_MS = 20000;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 15000;
  const ENTRANCE_MS = 3000;
  const ERROR_MS = 4000;
  const DEVICE_KEY = "liveloop.device_id";
  // Close codes after which reconnecting cannot help: say why and stop.
  const FINAL_CLOSES = {
    4001: "closed_unauthorized",
    4003: "closed_banned",
    4004: "closed_room_not_found",
    4009: "closed_kicked",
    4400: "closed_unsupported",
  };

  const $ = (selector) => document.querySelector(selector);
  const el = {
    room: $("#room"),
    status: $(".status"),
    online: $('[data-count="online"]'),
    likes: $('[data-count="likes"]'),
    comments: $(".comments"),
    newMessages: $(".new-messages"),
    entrance: $(".entrance"),
    pinned: $(".pinned"),
    pinnedText: $(".pinned-text"),
    form: $(".composer"),
    input: $(".composer-input"),
    send: $(".send"),
    error: $(".composer-error"),
    like: $(".like"),
    liveBadge: $(".live-badge"),
    showTitle: $(".show-title-text"),
    placeholder: $(".placeholder"),
    video: $(".player-video"),
    unmute: $(".unmute"),
  };

  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  const source = params.get("source");

  const state = {
    ws: null,
    epoch: null,
    offset: null,
    attempts: 0,
    stopped: false,
    leaving: false,
    guest: !token,
    reconnectTimer: null,
    pingTimer: null,
    likesShown: 0,
    pendingLikes: 0,
    lastLikeSent: 0,
    likeTimer: null,
    refSeq: 0,
    sendingRef: null,
    sendingTimer: null,
    errorTimer: null,
    entrance: { names: [], total: 0, timer: null },
    viewer: null,
    pending: new Map(), // ref -> {resolve, reject, timer} of the tools' requests
  };

  const fill = (template, values) =>
    template.replace(/\{(\w+)\}/g, (match, key) => (key in values ? String(values[key]) : match));

  function formatCount(n) {
    if (config.lang === "en") {
      if (n >= 1e6) return `${(n / 1e6).toFixed(1).replace(/\.0$/, "")}M`;
      if (n >= 1e4) return `${(n / 1e3).toFixed(1).replace(/\.0$/, "")}K`;
      return String(n);
    }
    if (n >= 1e8) return `${(n / 1e8).toFixed(1).replace(/\.0$/, "")}亿`;
    if (n >= 1e4) return `${(n / 1e4).toFixed(1).replace(/\.0$/, "")}万`;
    return String(n);
  }

  function deviceId() {
    let id = null;
    try {
      id = localStorage.getItem(DEVICE_KEY);
    } catch (e) {
      id = null; // storage disabled (private mode): a new guest per page load
    }
    if (!id || !/^[0-9a-f]{32}$/.test(id)) {
      const bytes = new Uint8Array(16);
      crypto.getRandomValues(bytes);
      id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      try {
        localStorage.setItem(DEVICE_KEY, id);
      } catch (e) {
        // keep the id for this page only
      }
    }
    return id;
  }

  // ---- connection -------------------------------------------------------------------------

  function socketUrl() {
    const query = new URLSearchParams({ v: "1" });
    if (token) query.set("token", token);
    else query.set("device_id", deviceId());
    if (source) query.set("source", source);
    if (state.epoch !== null && state.offset !== null) {
      query.set("resume_epoch", state.epoch);
      query.set("resume_offset", String(state.offset));
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws/rooms/${config.roomId}?${query}`;
  }

  const isOpen = () => state.ws !== null && state.ws.readyState === WebSocket.OPEN;

  function sendFrame(frame) {
    if (!isOpen()) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  function connect() {
    state.reconnectTimer = null;
    if (state.stopped) return;
    setStatus(state.attempts ? "reconnecting" : "connecting");
    const ws = new WebSocket(socketUrl());
    state.ws = ws;
    ws.addEventListener("open", () => {
      clearInterval(state.pingTimer);
      state.pingTimer = setInterval(() => sendFrame({ type: "ping" }), PING_INTERVAL_MS);
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame && typeof frame === "object") handleFrame(frame);
    });
    ws.addEventListener("close", (event) => onClose(ws, event.code));
  }

  function onClose(ws, code) {
    if (ws !== state.ws) return;
    state.ws = null;
    clearInterval(state.pingTimer);
    endSending();
    for (const ref of [...state.pending.keys()]) {
      settle({ type: "error", ref, code: "offline", message: T.error_offline });
    }
    if (state.stopped || state.leaving) return;
    const final = FINAL_CLOSES[code];
    if (final) {
      stop(T[final]);
      return;
    }
    // Exponential backoff with jitter, 1 s .. 15 s; the next socket resumes from (epoch, offset).
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempts);
    const delay = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, base * (0.8 + Math.random() * 0.4)));
    state.attempts += 1;
    setStatus("reconnecting");
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function stop(message) {
    state.stopped = true;
    clearTimeout(state.reconnectTimer);
    clearInterval(state.pingTimer);
    clearTimeout(state.likeTimer);
    el.room.dataset.state = "stopped";
    el.status.textContent = message;
    el.status.hidden = false;
    setComposer(false, message);
    el.like.disabled = true;
    if (state.ws !== null) state.ws.close(1000, "bye");
  }

  function setStatus(key) {
    el.room.dataset.state = key || "live";
    el.status.hidden = !key;
    if (key) el.status.textContent = T[key];
  }

  // ---- frames -----------------------------------------------------------------------------

  function handleFrame(frame) {
    switch (frame.type) {
      case "hello":
        state.guest = Boolean(frame.viewer && frame.viewer.guest);
        state.viewer = frame.viewer || null;
        setComposer(!state.guest, state.guest ? T.sign_in_to_comment : T.say_something);
        emit("hello", frame);
        break;
      case "snapshot":
        el.comments.replaceChildren();
        renderItems(frame.comments || []);
        startOver(frame, true);
        break;
      case "resume":
        renderItems(frame.items || []);
        startOver(frame, false);
        break;
      case "tick":
        renderItems(frame.items || []);
        mergeCounts(frame.counts, false);
        if ("pinned" in frame) setPinned(frame.pinned);
        if (frame.entered) showEntered(frame.entered);
        break;
      case "ack":
        if (settle(frame)) break;
        if (frame.ref && frame.ref === state.sendingRef) {
          el.input.value = "";
          hideError();
          endSending();
        }
        if (frame.result) emit("ack", frame); // a comment that entered the room's lottery
        break;
      case "error":
        if (settle(frame)) break;
        onError(frame);
        break;
      default:
        break; // pong, and frame types added later
    }
    if (typeof frame.epoch === "string" && typeof frame.offset === "number") {
      state.epoch = frame.epoch;
      state.offset = frame.offset;
    }
  }

  function startOver(frame, reset) {
    state.attempts = 0;
    setStatus(null);
    mergeCounts(frame.counts, reset);
    setPinned(frame.pinned);
    flushLikes();
  }

  function mergeCounts(counts, reset) {
    if (!counts) return;
    if (typeof counts.online === "number") setCount(el.online, counts.online);
    if (typeof counts.likes === "number") {
      // Likes only grow: keep this viewer's own taps on screen until the server count includes them.
      state.likesShown = reset ? counts.likes + state.pendingLikes : Math.max(state.likesShown, counts.likes);
      setCount(el.likes, state.likesShown);
    }
  }

  function setCount(node, value) {
    node.dataset.value = String(value);
    node.textContent = formatCount(value);
  }

  function renderItems(items) {
    const stick = nearBottom();
    let added = false;
    for (const item of items) {
      const data = item.data || {};
      switch (data.type) {
        case "comment":
        case "host_message":
          added = addComment(item) || added;
          break;
        case "comment_deleted":
          removeComment(data.offset);
          break;
        case "show_started":
          onShowStarted(data);
          added = addNotice(fill(T.show_started_notice, { title: data.title || "" })) || added;
          break;
        case "show_ended":
          onShowEnded();
          dispatchItem(data);
          added = addNotice(T.show_ended_notice) || added;
          break;
        default: {
          // Live-tool items; pinned/unpinned: the frame's own "pinned" field is the state to show.
          const notice = dispatchItem(data);
          if (notice) added = addNotice(notice) || added;
          break;
        }
      }
    }
    if (!added) return;
    while (el.comments.children.length > MAX_COMMENTS) el.comments.firstElementChild.remove();
    if (stick) scrollToBottom();
    else el.newMessages.hidden = false;
  }

  function addComment(item) {
    if (el.comments.querySelector(`[data-offset="${item.offset}"]`)) return false;
    const data = item.data;
    const host = data.type === "host_message";
    const li = document.createElement("li");
    li.className = host ? "comment is-host" : "comment";
    li.dataset.offset = String(item.offset);
    const badge = host ? T.host : data.staff ? T.staff : null;
    if (badge) {
      const b = document.createElement("span");
      b.className = "badge";
      b.textContent = badge;
      li.append(b);
    }
    const who = host ? data.staff : data.viewer;
    const name = document.createElement("span");
    name.className = "comment-name";
    name.textContent = (who && who.nickname) || "";
    const text = document.createElement("span");
    text.className = "comment-text";
    text.textContent = data.text || "";
    li.append(name, text);
    el.comments.append(li);
    return true;
  }

  function addNotice(message) {
    const li = document.createElement("li");
    li.className = "comment notice";
    li.textContent = message;
    el.comments.append(li);
    return true;
  }

  function removeComment(offset) {
    const node = el.comments.querySelector(`[data-offset="${Number(offset)}"]`);
    if (node) node.remove();
  }

  function nearBottom() {
    const c = el.comments;
    return c.scrollHeight - c.scrollTop - c.clientHeight < 48;
  }

  function scrollToBottom() {
    el.comments.scrollTop = el.comments.scrollHeight;
    el.newMessages.hidden = true;
  }

  function setPinned(message) {
    const text = message && message.text;
    el.pinned.hidden = !text;
    el.pinnedText.textContent = text || "";
  }

  function showEntered(entered) {
    const e = state.entrance;
    const names = (entered.shown || []).map((v) => v.nickname).filter(Boolean);
    e.total += names.length + (entered.more || 0);
    e.names = [...new Set([...e.names, ...names])].slice(-2);
    const joined = e.names.join(T.name_separator);
    const others = Math.max(0, e.total - e.names.length);
    el.entrance.textContent = others
      ? fill(T.entered_many, { names: joined, count: e.total, others })
      : fill(T.entered_one, { names: joined });
    el.entrance.hidden = false;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      el.entrance.hidden = true;
      e.names = [];
      e.total = 0;
    }, ENTRANCE_MS);
  }

  // ---- show and player --------------------------------------------------------------------

  function onShowStarted(data) {
    if (data.title) el.showTitle.textContent = data.title;
    if (el.liveBadge) el.liveBadge.hidden = false;
    if (el.video && !el.video.hidden) return;
    // The page was rendered before the show had a stream: offer a reload to pick it up.
    showPlaceholder(data.title || T.show_soon, null);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "reload";
    button.textContent = T.show_started_reload;
    button.addEventListener("click", () => location.reload());
    el.placeholder.append(button);
  }

  function onShowEnded() {
    if (el.liveBadge) el.liveBadge.hidden = true;
    if (el.video) {
      el.video.pause();
      el.video.hidden = true;
      if (el.unmute) el.unmute.hidden = true;
    }
    showPlaceholder(T.show_ended, T.show_ended_hint);
  }

  function showPlaceholder(title, hint) {
    el.placeholder.hidden = false;
    el.placeholder.querySelectorAll(".placeholder-title, .placeholder-hint, .reload").forEach((n) => n.remove());
    const h = document.createElement("p");
    h.className = "placeholder-title";
    h.textContent = title;
    el.placeholder.append(h);
    if (hint) {
      const p = document.createElement("p");
      p.className = "placeholder-hint";
      p.textContent = hint;
      el.placeholder.append(p);
    }
  }

  function setUpPlayer() {
    const hls = el.placeholder.dataset.player === "hls" ? el.placeholder.dataset.src : null;
    if (hls && document.createElement("video").canPlayType("application/vnd.apple.mpegurl")) {
      // Safari (and recent Chrome) play HLS natively; elsewhere the placeholder says to use the app.
      const video = document.createElement("video");
      video.className = "player-video";
      Object.assign(video, { src: hls, autoplay: true, muted: true, playsInline: true });
      const unmute = document.createElement("button");
      unmute.type = "button";
      unmute.className = "unmute";
      unmute.textContent = T.unmute;
      el.placeholder.before(video, unmute);
      el.placeholder.hidden = true;
      el.video = video;
      el.unmute = unmute;
    }
    if (!el.video) return;
    const failed = () => {
      el.video.hidden = true;
      if (el.unmute) el.unmute.hidden = true;
      showPlaceholder(el.showTitle.textContent, hls ? T.hls_needs_app : T.video_failed);
    };
    if (el.video.error) failed();
    el.video.addEventListener("error", failed);
    if (el.unmute) {
      el.unmute.addEventListener("click", () => {
        el.video.muted = false;
        el.video.play().catch(() => {});
        el.unmute.hidden = true;
      });
    }
  }

  // ---- composer ---------------------------------------------------------------------------

  function setComposer(enabled, placeholder) {
    el.input.disabled = !enabled;
    el.send.disabled = !enabled;
    el.input.placeholder = placeholder;
    el.input.setAttribute("aria-label", placeholder);
    el.form.classList.toggle("is-disabled", !enabled);
  }

  function endSending() {
    state.sendingRef = null;
    clearTimeout(state.sendingTimer);
    if (!state.stopped && !state.guest) el.send.disabled = false;
  }

  function showError(message) {
    el.error.textContent = message;
    el.error.hidden = false;
    clearTimeout(state.errorTimer);
    state.errorTimer = setTimeout(hideError, ERROR_MS);
  }

  function hideError() {
    el.error.hidden = true;
  }

  function errorMessage(frame) {
    const details = frame.details || {};
    const seconds = Math.max(1, Math.ceil(Number(details.retry_after_seconds) || 0));
    switch (frame.code) {
      case "interactions.slow_mode":
        return fill(T.error_slow_mode, { seconds });
      case "interactions.rate_limited":
        return fill(T.error_rate_limited, { seconds });
      case "interactions.muted":
        return T.error_muted;
      case "interactions.comment_blocked":
        return T.error_blocked;
      case "interactions.comment_empty":
        return T.error_empty;
      case "interactions.comment_too_long":
        return T.error_too_long;
      case "protocol.login_required":
        return T.error_login_required;
      default:
        return fill(T.error_generic, { message: frame.message || frame.code });
    }
  }

  function onError(frame) {
    if (frame.ref && frame.ref === state.sendingRef) endSending();
    const code = String(frame.code || "");
    // A refused socket (banned, old version) gets an error frame and then its close: the close says why.
    if (code === "interactions.banned" || code === "protocol.unsupported_version") return;
    if (code.startsWith("interactions.") || code.startsWith("protocol.")) showError(errorMessage(frame));
  }

  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (state.guest || state.stopped || state.sendingRef) return;
    const text = el.input.value.trim();
    if (!text) {
      showError(T.error_empty);
      return;
    }
    const ref = `c${++state.refSeq}`;
    if (!sendFrame({ type: "comment", text, ref })) {
      showError(T.error_offline);
      return;
    }
    state.sendingRef = ref;
    el.send.disabled = true;
    state.sendingTimer = setTimeout(endSending, 10000); // no answer (socket stalled): let them retry
  });

  // ---- likes ------------------------------------------------------------------------------

  function flushLikes() {
    clearTimeout(state.likeTimer);
    state.likeTimer = null;
    if (!state.pendingLikes || !isOpen()) return; // kept until the socket is back
    const count = Math.min(state.pendingLikes, MAX_LIKES_PER_FRAME);
    state.pendingLikes -= count;
    state.lastLikeSent = Date.now();
    sendFrame({ type: "like", count });
    if (state.pendingLikes) scheduleLikes();
  }

  function scheduleLikes() {
    if (state.likeTimer !== null) return;
    const wait = Math.max(0, state.lastLikeSent + LIKE_INTERVAL_MS - Date.now());
    state.likeTimer = setTimeout(flushLikes, wait);
  }

  function floatHeart() {
    const plus = document.createElement("span");
    plus.className = "float-plus";
    plus.textContent = "+1";
    plus.style.setProperty("--dx", `${Math.round(Math.random() * 36 - 18)}px`);
    plus.addEventListener("animationend", () => plus.remove());
    el.like.append(plus);
    while (el.like.querySelectorAll(".float-plus").length > 12) el.like.querySelector(".float-plus").remove();
  }

  el.like.addEventListener("click", () => {
    if (state.stopped) return;
    state.pendingLikes = Math.min(state.pendingLikes + 1, 10 * MAX_LIKES_PER_FRAME);
    state.likesShown += 1;
    setCount(el.likes, state.likesShown);
    floatHeart();
    scheduleLikes();
  });

  // ---- the live tools' API -----------------------------------------------------------------

  const itemHandlers = new Map();
  const listeners = new Map();

  function settle(frame) {
    const pending = frame.ref ? state.pending.get(frame.ref) : undefined;
    if (!pending) return false;
    state.pending.delete(frame.ref);
    clearTimeout(pending.timer);
    if (frame.type === "ack") pending.resolve(frame);
    else pending.reject(frame);
    return true;
  }

  function emit(event, payload) {
    for (const fn of listeners.get(event) || []) fn(payload);
  }

  function dispatchItem(data) {
    let notice = null;
    for (const fn of itemHandlers.get(data.type) || []) notice = fn(data) || notice;
    return notice;
  }

  const room = {
    config,
    T,
    fill,
    token,
    get guest() {
      return state.guest;
    },
    get viewer() {
      return state.viewer;
    },
    send: sendFrame,
    wallet: [], // coupons claimed on this page (the claim route's answers), newest first
    // Send a frame with a fresh ref: resolves with its ack, rejects with its error frame.
    request(frame, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const ref = `t${++state.refSeq}`;
        if (!sendFrame({ ...frame, ref })) {
          reject({ type: "error", code: "offline", message: T.error_offline });
          return;
        }
        const timer = setTimeout(() => {
          state.pending.delete(ref);
          reject({ type: "error", code: "offline", message: T.error_offline });
        }, timeoutMs);
        state.pending.set(ref, { resolve, reject, timer });
      });
    },
    onItem(type, fn) {
      if (!itemHandlers.has(type)) itemHandlers.set(type, []);
      itemHandlers.get(type).push(fn);
    },
    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, []);
      listeners.get(event).push(fn);
    },
    // A line in the comment feed (results of the tools: "X got 8.88").
    notice(message) {
      const stick = nearBottom();
      addNotice(message);
      while (el.comments.children.length > MAX_COMMENTS) el.comments.firstElementChild.remove();
      if (stick) scrollToBottom();
    },
    // JSON over this server's API, with the viewer token when there is one: {ok, status, body}.
    async api(path, { method = "GET", body } = {}) {
      const headers = { Accept: "application/json" };
      if (token) headers.Authorization = `Bearer ${token}`;
      else headers["X-Device-Id"] = deviceId(); // a guest, as on the socket
      if (body !== undefined) headers["Content-Type"] = "application/json";
      try {
        const response = await fetch(path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          credentials: "omit",
          cache: "no-store",
        });
        const text = await response.text();
        let parsed = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch (e) {
          parsed = null;
        }
        return { ok: response.ok, status: response.status, body: parsed };
      } catch (e) {
        return { ok: false, status: 0, body: null };
      }
    },
  };

  // ---- start ------------------------------------------------------------------------------

  el.comments.addEventListener("scroll", () => {
    if (nearBottom()) el.newMessages.hidden = true;
  });
  el.newMessages.addEventListener("click", scrollToBottom);
  window.addEventListener("online", () => {
    if (state.reconnectTimer !== null) {
      clearTimeout(state.reconnectTimer);
      connect();
    }
  });
  // Leave cleanly (the room counts us out at once); a page restored from the back-forward cache
  // picks up where it left off.
  window.addEventListener("pagehide", () => {
    state.leaving = true;
    clearTimeout(state.reconnectTimer);
    if (state.ws !== null) state.ws.close(1000, "bye");
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted || !state.leaving) return;
    state.leaving = false;
    if (!state.stopped && state.ws === null) connect();
  });

  setComposer(false, token ? T.say_something : T.sign_in_to_comment);
  setUpPlayer();
  for (const install of window.liveloopTools || []) install(room, window.liveloopKit);
  connect();
})();
