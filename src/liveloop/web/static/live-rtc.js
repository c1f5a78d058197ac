// Co-host media (连麦) on the viewer page: once the viewer holds a seat, join the shop's RTC room
// with the token this server issues, publish camera and microphone, show a small preview of
// oneself and play the other speakers' audio; leave when the seat ends or the page goes away.
// live-qa.js loads this file only when a seated viewer needs it, and this file loads the LiveKit
// SDK (vendor/livekit-client.umd.js) only then too. Agora shops co-host in the app: the page says
// so. Every failure ends in a toast and the "not connected" state, never a broken page.
"use strict";

(() => {
  const SDK = "/static/vendor/livekit-client.umd.js";
  const STYLE = "/static/live-rtc.css";
  let current = null; // the call under way: {ctx, lk, tracks, tile, audio, player, joined}

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

  function showPreview(call, LK) {
    const { kit, stage, room } = call.ctx;
    const camera = call.tracks.find((track) => track.kind === LK.Track.Kind.Video);
    const video = camera ? camera.attach() : null;
    if (video) video.classList.add("rtc-video");
    call.tile = kit.h(
      "figure",
      { class: "rtc-tile", "aria-label": room.T.rtc_preview },
      video || kit.h("span", { class: "rtc-no-video", "aria-hidden": "true" }),
      kit.h("figcaption", { class: "rtc-caption", text: room.T.rtc_preview }),
    );
    call.audio = kit.h("div", { class: "rtc-audio", hidden: true });
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
    if (call.lk) call.lk.disconnect().catch(() => {});
    for (const track of call.tracks) track.stop();
    call.tracks = [];
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

  // ctx: {room, kit, stage, version, onState(state)} with state one of "connecting", "live",
  // "failed", "app_only" or null (left). A second join while one is under way does nothing.
  async function join(ctx) {
    if (current) return;
    const call = { ctx, lk: null, tracks: [], tile: null, audio: null, player: null, joined: false };
    current = call;
    const { room } = ctx;
    const T = room.T;
    ctx.onState("connecting");
    if (!window.RTCPeerConnection || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      fail(call, T.rtc_unsupported);
      return;
    }
    const answer = await room.api(`/api/v1/viewer/rooms/${room.config.roomId}/rtc-token`);
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
    if (grant.provider !== "livekit" || !grant.url) {
      current = null;
      ctx.kit.toast(T.rtc_needs_app, 5000);
      ctx.onState("app_only");
      return;
    }
    try {
      const version = encodeURIComponent(ctx.version);
      await Promise.all([
        load("script", { src: `${SDK}?v=${version}` }),
        load("link", { rel: "stylesheet", href: `${STYLE}?v=${version}` }),
      ]);
    } catch (error) {
      fail(call, T.rtc_failed);
      return;
    }
    if (!isOn(call)) return;
    const LK = window.LivekitClient;
    LK.setLogLevel("warn");
    try {
      call.tracks = await LK.createLocalTracks({ audio: true, video: { resolution: LK.VideoPresets.h360.resolution } });
    } catch (error) {
      fail(call, T.rtc_device_denied);
      return;
    }
    if (!isOn(call)) {
      for (const track of call.tracks) track.stop();
      return;
    }
    showPreview(call, LK);
    quietPlayer(call);
    const lk = new LK.Room({ adaptiveStream: true, dynacast: true });
    call.lk = lk;
    lk.on(LK.RoomEvent.TrackSubscribed, (track) => {
      if (track.kind === LK.Track.Kind.Audio && call.audio) call.audio.append(track.attach());
    });
    lk.on(LK.RoomEvent.TrackUnsubscribed, (track) => track.detach().forEach((node) => node.remove()));
    lk.on(LK.RoomEvent.Disconnected, () => {
      if (call.joined) fail(call, T.rtc_dropped);
    });
    try {
      await lk.connect(grant.url, grant.token);
      if (!isOn(call)) return;
      for (const track of call.tracks) await lk.localParticipant.publishTrack(track);
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
