// Co-host media (连麦) on the viewer page: once the viewer holds a seat, join the shop's RTC room
// with the token this server issues, publish camera and microphone, show a small preview of
// oneself and play the other speakers' audio; leave when the seat ends or the page goes away.
// live-qa.js loads this file only when a seated viewer needs it. This file is the flow every
// provider shares; the provider's own code (live-rtc-livekit.js, live-rtc-agora.js) and its SDK
// (vendor/) load only then too. A provider the page does not know is left to the app. Every
// failure ends in a toast and the "not connected" state, never a broken page.
"use strict";

(() => {
  const STYLE = "/static/live-rtc.css";
  // What each provider's join needs from the token answer, and the file that brings its code.
  const PROVIDERS = {
    livekit: { file: "/static/live-rtc-livekit.js", ready: (grant) => Boolean(grant.url) },
    agora: {
      file: "/static/live-rtc-agora.js",
      ready: (grant) => Boolean(grant.app_id && grant.room && grant.identity),
    },
  };
  // Provider files register here: {sdk, session(grant, hooks)} (see live-rtc-livekit.js).
  const registry = (window.liveloopRtcProviders = window.liveloopRtcProviders || {});
  let current = null; // the call under way: {ctx, session, tile, audio, player, joined}

  // One load per URL (a failed one may be tried again on the next seat).
  const loads = new Map();
  function load(tag, attrs) {
    const key = attrs.src || attrs.href;
    if (!loads.has(key)) {
      loads.set(
        key,
        new Promise((resolve, reject) => {
          const node = Object.assign(document.createElement(tag), attrs);
          node.addEventListener("load", () => resolve());
          node.addEventListener("error", () => {
            loads.delete(key);
            node.remove();
            reject(new Error(`could not load ${key}`));
          });
          document.head.append(node);
        }),
      );
    }
    return loads.get(key);
  }

  function isOn(call) {
    return current === call;
  }

  function showPreview(call) {
    const { kit, stage, room } = call.ctx;
    const video = call.session.preview();
    if (video) video.classList.add("rtc-video");
    call.tile = kit.h(
      "figure",
      { class: "rtc-tile", "aria-label": room.T.rtc_preview },
      video || kit.h("span", { class: "rtc-no-video", "aria-hidden": "true" }),
      kit.h("figcaption", { class: "rtc-caption", text: room.T.rtc_preview }),
    );
    stage.replaceChildren(call.tile, call.audio);
    stage.hidden = false;
  }

  // The show's own player would echo the host into the microphone a few seconds late.
  function quietPlayer(call) {
    const player = document.querySelector(".player-video");
    if (!player) return;
    call.player = { node: player, muted: player.muted };
    player.muted = true;
  }

  function teardown(call) {
    if (call.session) call.session.close();
    const { stage } = call.ctx;
    stage.replaceChildren();
    stage.hidden = true;
    if (call.player) call.player.node.muted = call.player.muted;
  }

  function fail(call, message) {
    if (!isOn(call)) return;
    current = null;
    teardown(call);
    call.ctx.kit.toast(message, 5000);
    call.ctx.onState("failed");
  }

  function tokenUrl(room) {
    return `/api/v1/viewer/rooms/${room.config.roomId}/rtc-token`;
  }

  // A fresh grant for a provider whose rights lapse during the call (Agora): null when the server
  // no longer seats the viewer or cannot be asked (the provider then counts the call as dropped).
  async function renew(call) {
    const answer = await call.ctx.room.api(tokenUrl(call.ctx.room));
    if (!isOn(call)) return null;
    const grant = answer.ok ? answer.body : null;
    return grant && grant.token && grant.can_publish ? grant : null;
  }

  // ctx: {room, kit, stage, version, onState(state)} with state one of "connecting", "live",
  // "failed", "app_only" or null (left). A second join while one is under way does nothing.
  async function join(ctx) {
    if (current) return;
    const call = { ctx, session: null, tile: null, audio: null, player: null, joined: false };
    current = call;
    const { room } = ctx;
    const T = room.T;
    ctx.onState("connecting");
    if (!window.RTCPeerConnection || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      fail(call, T.rtc_unsupported);
      return;
    }
    const answer = await room.api(tokenUrl(room));
    if (!isOn(call)) return;
    const grant = answer.ok ? answer.body : null;
    if (!grant || !grant.token) {
      fail(call, T.rtc_failed);
      return;
    }
    if (!grant.can_publish) {
      fail(call, T.rtc_failed); // no longer seated as far as the server knows
      return;
    }
    const known = Object.hasOwn(PROVIDERS, grant.provider) ? PROVIDERS[grant.provider] : null;
    if (!known || !known.ready(grant)) {
      current = null;
      ctx.kit.toast(T.rtc_needs_app, 5000);
      ctx.onState("app_only");
      return;
    }
    let provider = null;
    try {
      const version = encodeURIComponent(ctx.version);
      await load("script", { src: `${known.file}?v=${version}` });
      provider = registry[grant.provider];
      await Promise.all([
        load("script", { src: `${provider.sdk}?v=${version}` }),
        load("link", { rel: "stylesheet", href: `${STYLE}?v=${version}` }),
      ]);
    } catch (error) {
      fail(call, T.rtc_failed);
      return;
    }
    if (!isOn(call)) return;
    call.audio = ctx.kit.h("div", { class: "rtc-audio", hidden: true });
    call.session = provider.session(grant, {
      audio: call.audio,
      dropped: () => {
        if (call.joined) fail(call, T.rtc_dropped);
      },
      renew: () => renew(call),
    });
    try {
      await call.session.start();
    } catch (error) {
      fail(call, T.rtc_device_denied);
      return;
    }
    if (!isOn(call)) return; // left meanwhile: teardown closed the session and its tracks
    showPreview(call);
    quietPlayer(call);
    try {
      await call.session.connect();
    } catch (error) {
      fail(call, T.rtc_failed); // unreachable server, refused token, or the seat ended meanwhile
      return;
    }
    if (!isOn(call)) return;
    call.joined = true;
    ctx.onState("live");
  }

  function leave() {
    const call = current;
    if (!call) return;
    current = null;
    teardown(call);
    call.ctx.onState(null);
  }

  window.addEventListener("pagehide", leave);
  window.liveloopRtc = { join, leave };
})();
