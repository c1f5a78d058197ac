// Polls on the viewer page: a card with the options while a poll is open, its live results (the
// vote's ack, then `poll_tally` items) once the viewer voted, and the final result when it closes.
"use strict";

(window.liveloopTools = window.liveloopTools || []).push((room, kit) => {
  const { T, fill } = room;
  const { h, duration, at, tick, toast } = kit;
  const pollBox = document.querySelector(".poll-cards");
  const CLOSED_SHOWN_MS = 20000;

  function errorText(frame) {
    switch (frame.code) {
      case "interactions.sign_in_required":
        return T.tool_sign_in;
      case "interactions.already_voted":
        return T.poll_already_voted;
      case "interactions.poll_closed":
      case "interactions.poll_not_open":
        return T.poll_closed;
      case "offline":
        return T.error_offline;
      default:
        return fill(T.tool_failed, { message: frame.message || frame.code });
    }
  }

  // ---- polls ------------------------------------------------------------------------------

  const polls = new Map();

  function showPoll(data) {
    if (polls.has(data.poll_id)) return;
    const options = (data.options || []).map((option, index) =>
      h(
        "button",
        { type: "button", class: "poll-option", dataset: { option: index } },
        h("span", { class: "poll-option-text", text: option.text }),
        h("span", { class: "poll-option-pct" }),
      ),
    );
    const foot = h("p", { class: "poll-foot" });
    const node = h(
      "section",
      { class: "card poll-card", dataset: { poll: data.poll_id }, "aria-label": T.poll },
      h("p", { class: "card-head" }, h("span", { class: "card-badge", text: T.poll }), h("span", { class: "poll-question", text: data.question })),
      h("div", { class: "poll-options" }, options),
      foot,
    );
    const entry = {
      data,
      node,
      options,
      foot,
      counts: data.counts || options.map(() => 0),
      total: data.total || 0,
      voted: null,
      closed: false,
      closes: at(data.closes_at),
    };
    options.forEach((button, index) => button.addEventListener("click", () => vote(entry, index)));
    polls.set(data.poll_id, entry);
    pollBox.append(node);
    renderPoll(entry);
    if (entry.closes !== null) {
      tick(() => {
        if (!node.isConnected || entry.closed) return false;
        renderPoll(entry);
        return undefined;
      });
    }
  }

  function renderPoll(entry) {
    const reveal = entry.voted !== null || entry.closed;
    entry.node.classList.toggle("is-revealed", reveal);
    entry.node.classList.toggle("is-closed", entry.closed);
    entry.options.forEach((button, index) => {
      const count = entry.counts[index] || 0;
      const pct = entry.total ? Math.round((count * 100) / entry.total) : 0;
      button.style.setProperty("--pct", reveal ? `${pct}%` : "0%");
      button.querySelector(".poll-option-pct").textContent = reveal ? `${pct}%` : "";
      button.disabled = reveal;
      button.classList.toggle("is-mine", entry.voted === index);
      button.setAttribute("aria-pressed", String(entry.voted === index));
    });
    let foot = fill(T.poll_votes, { count: entry.total });
    if (entry.closed) foot = `${T.poll_closed} · ${foot}`;
    else if (entry.closes !== null && entry.closes > Date.now()) {
      foot = `${foot} · ${fill(T.poll_closes_in, { time: duration(entry.closes - Date.now()) })}`;
    }
    entry.foot.textContent = foot;
  }

  async function vote(entry, index) {
    try {
      const ack = await room.request({ type: "vote", poll_id: entry.data.poll_id, option: index });
      entry.voted = index;
      setCounts(entry, ack.result.tally.counts, ack.result.tally.total);
    } catch (error) {
      if (error.code === "interactions.already_voted") entry.voted = -1;
      else if (error.code === "interactions.poll_closed") entry.closed = true;
      toast(errorText(error));
      renderPoll(entry);
    }
  }

  function setCounts(entry, counts, total) {
    // Tallies only grow while a poll is open: never step back to an older one.
    if (!entry.closed && total < entry.total) return;
    entry.counts = counts;
    entry.total = total;
    renderPoll(entry);
  }

  room.onItem("poll_opened", (data) => showPoll(data));
  room.onItem("poll_tally", (data) => {
    const entry = polls.get(data.poll_id);
    if (entry && !entry.closed) setCounts(entry, data.counts || [], data.total || 0);
  });
  room.onItem("poll_closed", (data) => {
    const entry = polls.get(data.poll_id);
    if (!entry) return null;
    entry.closed = true;
    const result = data.result || {};
    entry.counts = result.counts || entry.counts;
    entry.total = result.total || 0;
    renderPoll(entry);
    setTimeout(() => {
      entry.node.remove();
      polls.delete(data.poll_id);
    }, CLOSED_SHOWN_MS);
    return null;
  });

  for (const poll of (room.config.live || {}).polls || []) showPoll(poll);
});
