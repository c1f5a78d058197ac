// Co-host media on an Agora shop: live-rtc.js loads this file, then the SDK it names
// (vendor/AgoraRTC_N-production.js, global AgoraRTC), only when a seated viewer joins. The
// session's contract is the one live-rtc-livekit.js states.
//
// The grant carries what client.join needs: the App ID (public), the channel (grant.room), the
// token and the user account it was built for (grant.identity, a string uid). Agora ends a
// user's rights when the token lapses (a seated guest's lasts minutes), so the session asks the
// server for a fresh grant when the SDK warns and renews the token in place; no fresh grant (the
// seat ended, or the server cannot be asked) counts as a dropped call.
"use strict";

(() => {
  const registry = (window.liveloopRtcProviders = window.liveloopRtcProviders || {});
  // The SDK retries an access point it cannot reach without end; the page gives up after this,
  // as LiveKit's SDK does on a signalling socket that never opens.
  const JOIN_DEADLINE_MS = 15000;
  const LOG_ERRORS_ONLY = 3;

  function withDeadline(promise, ms) {
    let timer = null;
    const expired = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error("join timed out")), ms);
    });
    return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
  }

  function session(grant, hooks) {
    const AgoraRTC = window.AgoraRTC;
    AgoraRTC.setLogLevel(LOG_ERRORS_ONLY);
    let tracks = [];
    let client = null;
    let joined = false;
    let closed = false;

    async function start() {
      const created = await AgoraRTC.createMicrophoneAndCameraTracks({}, { encoderConfig: "360p_1" });
      if (closed) {
        for (const track of created) track.close();
        return;
      }
      tracks = created;
    }

    // A plain <video> on the camera's own MediaStreamTrack: the same tile as LiveKit's, and none
    // of the inline styles the SDK's track.play() would set.
    function preview() {
      const camera = tracks.find((track) => track.trackMediaType === "video");
      if (!camera) return null;
      const video = document.createElement("video");
      Object.assign(video, { muted: true, autoplay: true, playsInline: true });
      video.srcObject = new MediaStream([camera.getMediaStreamTrack()]);
      return video;
    }

    async function renew() {
      const fresh = await hooks.renew();
      if (closed) return;
      if (!fresh) {
        hooks.dropped();
        return;
      }
      await client.renewToken(fresh.token);
    }

    function listen() {
      client.on("user-published", async (user, mediaType) => {
        if (mediaType !== "audio") return; // the host's video is the show's own player
        try {
          await client.subscribe(user, "audio");
          if (!closed && user.audioTrack) user.audioTrack.play();
        } catch (error) {
          // the speaker left meanwhile: nothing to play
        }
      });
      client.on("connection-state-change", (state) => {
        if (state === "DISCONNECTED" && joined && !closed) hooks.dropped();
      });
      client.on("token-privilege-will-expire", () => {
        renew().catch(() => {
          if (!closed) hooks.dropped();
        });
      });
      client.on("token-privilege-did-expire", () => {
        if (!closed) hooks.dropped();
      });
    }

    async function connect() {
      client = AgoraRTC.createClient({ mode: "rtc", codec: "vp8" });
      listen();
      await withDeadline(client.join(grant.app_id, grant.room, grant.token, grant.identity), JOIN_DEADLINE_MS);
      if (closed) return;
      joined = true;
      await client.publish(tracks);
    }

    function close() {
      closed = true;
      for (const track of tracks) track.close();
      tracks = [];
      if (client) client.leave().catch(() => {});
    }

    return { start, preview, connect, close };
  }

  registry.agora = { sdk: "/static/vendor/AgoraRTC_N-production.js", session };
})();
