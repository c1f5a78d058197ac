"""The client side of ``liveloop bench fanout``: thousands of thin WebSocket viewers in ONE process.

Run by :mod:`liveloop.sim.fanout` as ``python -m liveloop.sim.viewers`` (a separate process from
the server, so the two share the machine but not an event loop). It talks to its parent over
stdin/stdout, one JSON object per line:

- first line in: the :class:`Plan` (port, room, tokens, how many viewers, probes, ...);
- ``{"cmd": "connect", "count": k}`` opens the next ``k`` sockets and waits until each has its
  snapshot (it is then attached to the room); answers ``{"event": "connected", ...}``;
- ``{"cmd": "load", ...}`` runs the load for ``duration`` seconds, then drains; answers
  ``{"event": "result", ...}`` (see :meth:`Crowd.load`);
- ``{"cmd": "quit"}`` closes every socket and exits.

Sockets are bare ``asyncio.Protocol`` objects, like ``baselines/ws_clients.py``: a raw RFC 6455
handshake, masked client frames, and a minimal reader of server frames (unmasked). Every viewer
walks the frame headers to count frames, bytes and logical messages (a tick's items are counted
with ``bytes.count(b'"lane":')`` on the payload, without decoding it), answers the server's pings,
and fully decodes only the rare non-tick frames (hello, snapshot, ack, error, pong). A sample of
*probe* viewers (default 200, spread evenly over the connection order, so over the order the hub
writes in) also decodes every tick with orjson and records the arrival time of each bench comment.
Comment texts carry their send time, ``"bench <seq> <monotonic ns>"``; senders and probes live in
this process, so both ends read the same clock.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from liveloop.sim.crowd import Crowd, Plan, percentiles
from liveloop.sim.procstat import cpu_seconds, raise_nofile_limit
from liveloop.sim.wsproto import client_frame

__all__ = ["Plan", "client_frame", "cpu_seconds", "main", "percentiles", "raise_nofile_limit"]


def _emit(body: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(body) + "\n")
    sys.stdout.flush()


async def _run() -> None:
    loop = asyncio.get_running_loop()

    async def read() -> dict[str, Any]:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return {"cmd": "quit"}
        body: dict[str, Any] = json.loads(line)
        return body

    crowd = Crowd(Plan(**await read()))
    try:
        while True:
            cmd = await read()
            match cmd["cmd"]:
                case "connect":
                    _emit(await crowd.connect(int(cmd["count"])))
                case "load":
                    _emit(await crowd.load(cmd))
                case "quit":
                    break
                case other:
                    _emit({"event": "error", "message": f"unknown command {other!r}"})
    finally:
        await crowd.close()


def main() -> None:
    raise_nofile_limit()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        asyncio.run(_run())
    else:
        uvloop.run(_run())


if __name__ == "__main__":
    main()
