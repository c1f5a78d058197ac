// Co-host media on a LiveKit shop: live-rtc.js loads this file, then the SDK it names
// (vendor/livekit-client.umd.js, global LivekitClient), only when a seated viewer joins.
//
// A provider registers {sdk, session(grant, hooks)}; a session is used once, in this order:
//   start()    create the camera and microphone tracks (a rejection means no devices)
//   preview()  a <video> of one's own camera, or null
//   connect()  join the room with the grant and publish the tracks (a rejection means failed)
//   close()    leave and stop every track; may come at any point, even while start() runs
// hooks: {audio: a hidden node for remote speakers' audio elements, dropped(): the call broke
// after it was up, renew(): a promise of a fresh grant or null}.
"use strict";

(() => {
  const registry = (window.liveloopRtcProviders = window.liveloopRtcProviders || {});

  function session(grant, hooks) {
    const LK = window.LivekitClient;
    LK.setLogLevel("warn");
    let tracks = [];
    let room = null;
    let closed = false;

    async function start() {
      const created = await LK.createLocalTracks({
        audio: true,
        video: { resolution: LK.VideoPresets.h360.resolution },
      });
      if (closed) {
        for (const track of created) track.stop();
        return;
      }
      tracks = created;
    }

    function preview() {
      const camera = tracks.find((track) => track.kind === LK.Track.Kind.Video);
      return camera ? camera.attach() : null;
    }

    async function connect() {
      room = new LK.Room({ adaptiveStream: true, dynacast: true });
      room.on(LK.RoomEvent.TrackSubscribed, (track) => {
        if (track.kind === LK.Track.Kind.Audio) hooks.audio.append(track.attach());
      });
      room.on(LK.RoomEvent.TrackUnsubscribed, (track) => track.detach().forEach((node) => node.remove()));
      room.on(LK.RoomEvent.Disconnected, () => {
        if (!closed) hooks.dropped();
      });
      await room.connect(grant.url, grant.token);
      for (const track of tracks) {
        if (closed) return;
        await room.localParticipant.publishTrack(track);
      }
    }

    function close() {
      closed = true;
      if (room) room.disconnect().catch(() => {});
      for (const track of tracks) track.stop();
      tracks = [];
    }

    return { start, preview, connect, close };
  }

  registry.livekit = { sdk: "/static/vendor/livekit-client.umd.js", session };
})();
