// Talking with the host on the viewer page: Q&A (ask, upvote, the queue ordered by votes and age,
// answered and pinned questions) and co-hosting (连麦: request a seat, cancel, see the decision;
// once seated, live-rtc.js joins the media).
// Asking, upvoting and seat requests go over the socket; the queue is read from the viewer API.
"use strict";

(window.liveloopTools = window.liveloopTools || []).push((room, kit) => {
  const { T, fill } = room;
  const { h, sheet, toast } = kit;
  const $ = (selector) => document.querySelector(selector);
  const roomId = room.config.roomId;
  const SEAT_POLL_MS = 5000;
  const SEAT_KEY = `liveloop.seat.${roomId}`;

  function errorText(frame) {
    const details = frame.details || {};
    switch (frame.code) {
      case "interactions.sign_in_required":
      case "rooms.viewer_account_required":
        return T.tool_sign_in;
      case "interactions.question_rate_limited":
        return fill(T.qa_rate_limited, { seconds: Math.max(1, Math.ceil(Number(details.retry_after_seconds) || 0)) });
      case "interactions.question_empty":
        return T.error_empty;
      case "interactions.question_blocked":
        return T.error_blocked;
      case "interactions.muted":
        return T.error_muted;
      case "interactions.own_question":
        return T.qa_own;
      case "interactions.already_upvoted":
        return T.qa_already_upvoted;
      case "rooms.seats_full":
        return T.seat_full;
      case "offline":
        return T.error_offline;
      default:
        return fill(T.tool_failed, { message: frame.message || frame.code });
    }
  }

  $(".more-button").addEventListener("click", () => sheet.open("more"));

  // ---- Q&A --------------------------------------------------------------------------------

  const form = $(".qa-form");
  const input = $(".qa-input");
  const note = $(".qa-note");
  const openList = $(".qa-open");
  const answeredList = $(".qa-answered");
  const answeredTitle = $(".qa-answered-title");
  const openTitle = $(".qa-open-title");
  const empty = $(".qa-empty");
  const upvoted = new Set();
  const heard = []; // answered questions seen on the stream (all a guest can list)

  function questionItem(q, answered) {
    const votes = h("span", { class: "qa-votes", text: String(q.votes || 0) });
    const canUpvote = !answered && !q.mine && !upvoted.has(q.id) && room.token;
    const children = [
      q.pinned ? h("span", { class: "card-badge", text: T.pinned }) : null,
      q.mine ? h("span", { class: "card-badge is-mine", text: T.qa_mine }) : null,
      h("span", { class: "qa-name", text: q.nickname }),
      h("span", { class: "qa-text", text: q.text }),
      q.answer ? h("span", { class: "qa-answer", text: fill(T.qa_answer, { answer: q.answer }) }) : null,
    ];
    const upvote = answered
      ? null
      : h("button", {
          type: "button",
          class: "qa-upvote",
          "aria-label": `${T.qa_upvote} ${q.text}`,
          disabled: !canUpvote,
          onclick: (event) => doUpvote(q, event.currentTarget, votes),
        }, T.qa_upvote, " ", votes);
    return h("li", { class: `qa-item ${q.pinned ? "is-pinned" : ""}`, dataset: { question: q.id } }, h("span", { class: "qa-body" }, children), upvote);
  }

  function render(queue) {
    openList.replaceChildren(...queue.open.map((q) => questionItem(q, false)));
    answeredList.replaceChildren(...queue.answered.map((q) => questionItem(q, true)));
    empty.hidden = queue.open.length > 0 || queue.answered.length > 0;
    openTitle.hidden = queue.open.length === 0 && queue.answered.length > 0;
    answeredTitle.hidden = queue.answered.length === 0;
  }

  async function refresh() {
    if (!room.token) {
      note.textContent = T.qa_sign_in;
      note.hidden = false;
      input.disabled = true;
      form.querySelector(".qa-submit").disabled = true;
      render({ open: [], answered: heard });
      return;
    }
    const answer = await room.api(`/api/v1/viewer/rooms/${roomId}/questions?limit=50`);
    if (answer.ok && answer.body) render(answer.body);
  }

  async function doUpvote(q, button, votes) {
    button.disabled = true;
    try {
      const ack = await room.request({ type: "upvote", question_id: q.id });
      upvoted.add(q.id);
      votes.textContent = String(ack.result.votes);
    } catch (error) {
      if (error.code === "interactions.already_upvoted") upvoted.add(q.id);
      else button.disabled = false;
      toast(errorText(error));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      toast(T.error_empty);
      return;
    }
    const submit = form.querySelector(".qa-submit");
    submit.disabled = true;
    try {
      await room.request({ type: "ask", text });
      input.value = "";
      toast(T.qa_asked);
      await refresh();
    } catch (error) {
      toast(errorText(error));
    } finally {
      submit.disabled = false;
    }
  });

  $(".qa-open-button").addEventListener("click", () => {
    sheet.open("qa");
    refresh();
  });

  room.onItem("question_answered", (data) => {
    heard.unshift({ id: data.question_id, nickname: data.nickname, text: data.text, answer: data.answer, votes: 0 });
    heard.splice(20);
    if (sheet.isOpen("qa")) refresh();
    return fill(T.qa_answered_notice, { name: data.nickname || "", text: data.text || "", answer: data.answer || "" });
  });
  for (const kind of ["question_pinned", "question_unpinned"]) {
    room.onItem(kind, () => {
      if (sheet.isOpen("qa")) refresh();
    });
  }

  // ---- co-host (连麦) ------------------------------------------------------------------------

  const seatState = $(".seat-state");
  const seatAction = $(".seat-action");
  const pill = $(".seat-pill");
  const stage = $(".rtc-stage");
  let seat = null; // {request_id, state}
  let watching = false;
  let mediaWanted = false; // seated in a room whose shop has an RTC provider
  let media = null; // the call's state from live-rtc.js: connecting, live, failed, app_only
  const mediaText = {
    connecting: T.rtc_connecting,
    live: T.rtc_live,
    failed: T.rtc_not_connected,
    app_only: T.rtc_app_only,
  };

  function renderSeat() {
    const state = seat ? seat.state : null;
    const open = state === "requested" || state === "approved";
    const text = {
      requested: T.seat_requested,
      approved: T.seat_approved,
      rejected: T.seat_rejected,
      ended: T.seat_ended,
    }[state];
    const onAir = state === "approved" && media ? mediaText[media] : null;
    seatState.textContent = onAir || text || T.seat_hint;
    seatAction.textContent = state === "requested" ? T.seat_cancel : state === "approved" ? T.seat_leave : T.seat_request;
    seatAction.classList.toggle("is-open", open);
    pill.hidden = !open;
    pill.textContent = onAir || text || "";
    pill.dataset.state = state || "";
    pill.dataset.media = (state === "approved" && media) || "";
    syncMedia();
    try {
      if (open) sessionStorage.setItem(SEAT_KEY, String(seat.request_id));
      else sessionStorage.removeItem(SEAT_KEY);
    } catch (e) {
      // not remembered across reloads
    }
  }

  // The media joins while seated and leaves when the seat ends; live-rtc.js (and the provider's
  // SDK it brings) loads on the first seat only.
  function syncMedia() {
    const want = Boolean(stage && stage.dataset.rtc && room.token && seat && seat.state === "approved");
    if (want === mediaWanted) return;
    mediaWanted = want;
    if (!want) {
      media = null;
      if (window.liveloopRtc) window.liveloopRtc.leave();
      return;
    }
    const version = encodeURIComponent(stage.dataset.v || "");
    loadScript(`/static/live-rtc.js?v=${version}`).then(
      () => {
        if (!mediaWanted) return;
        window.liveloopRtc.join({ room, kit, stage, version: stage.dataset.v || "", onState: setMedia });
      },
      () => {
        if (mediaWanted) setMedia("failed");
        toast(T.rtc_failed);
      },
    );
  }

  function setMedia(state) {
    if (media === state) return;
    media = state;
    renderSeat();
  }

  const scripts = new Map(); // src -> its load (dropped on failure, so a later seat tries again)
  function loadScript(src) {
    if (!scripts.has(src)) {
      scripts.set(
        src,
        new Promise((resolve, reject) => {
          const node = h("script", { src });
          node.addEventListener("load", () => resolve());
          node.addEventListener("error", () => {
            scripts.delete(src);
            node.remove();
            reject(new Error(`could not load ${src}`));
          });
          document.head.append(node);
        }),
      );
    }
    return scripts.get(src);
  }

  function rememberedSeat() {
    try {
      return sessionStorage.getItem(SEAT_KEY);
    } catch (e) {
      return null;
    }
  }

  async function requestSeat() {
    try {
      const ack = await room.request({ type: "seat_request" });
      seat = ack.result;
      watch();
    } catch (error) {
      if (error.code === "rooms.seat_request_open") await loadSeat();
      else toast(errorText(error));
    }
    renderSeat();
  }

  async function cancelSeat() {
    try {
      const ack = await room.request({ type: "seat_cancel", request_id: seat.request_id });
      seat = ack.result;
    } catch (error) {
      toast(errorText(error));
      await loadSeat();
    }
    renderSeat();
  }

  async function loadSeat() {
    if (!room.token) return;
    const answer = await room.api(`/api/v1/viewer/rooms/${roomId}/seat-requests/mine`);
    if (answer.ok && answer.body) {
      const before = seat && seat.state;
      seat = { request_id: answer.body.id, state: answer.body.state };
      if (before === "requested" && seat.state === "rejected") toast(T.seat_rejected);
      if (seat.state === "requested") watch();
    }
    renderSeat();
  }

  // A rejection is not announced to the room: ask for the decision while the request waits.
  async function watch() {
    if (watching) return;
    watching = true;
    while (seat && seat.state === "requested") {
      await new Promise((resolve) => setTimeout(resolve, SEAT_POLL_MS));
      if (!seat || seat.state !== "requested") break;
      watching = false;
      await loadSeat();
      if (watching) return;
      watching = true;
    }
    watching = false;
  }

  seatAction.addEventListener("click", () => {
    if (room.guest) {
      toast(T.tool_sign_in);
      return;
    }
    if (seat && (seat.state === "requested" || seat.state === "approved")) cancelSeat();
    else requestSeat();
  });

  room.onItem("cohost_seated", (data) => {
    if (seat && seat.request_id === data.request_id) {
      seat = { request_id: data.request_id, state: "approved" };
      renderSeat();
    }
    return fill(T.seat_notice, { name: data.nickname || "" });
  });
  room.onItem("cohost_left", (data) => {
    if (seat && seat.request_id === data.request_id) {
      seat = { request_id: data.request_id, state: "ended" };
      renderSeat();
    }
    return fill(T.seat_left_notice, { name: data.nickname || "" });
  });

  // Back from the back-forward cache: live-rtc.js left the call on pagehide; join again if seated.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    mediaWanted = false;
    media = null;
    renderSeat();
  });

  // Only a request this tab made can be open: asking otherwise would mostly answer 404.
  const remembered = rememberedSeat();
  renderSeat();
  if (room.token && remembered) loadSeat();
});
