"""The live room's real-time core: room streams, per-tick frames, peers and their backpressure."""

from liveloop.realtime.frames import encode_close_frame, encode_text_frame
from liveloop.realtime.hub import SLOW_CONSUMER_CODE, SLOW_CONSUMER_REASON, HubConfig, RoomHub, TickStats
from liveloop.realtime.peers import OutFrame, Peer, QueuePeer, TransportLike, TransportPeer
from liveloop.realtime.stream import Lane, RoomHistory, StreamItem

__all__ = [
    "SLOW_CONSUMER_CODE",
    "SLOW_CONSUMER_REASON",
    "HubConfig",
    "Lane",
    "OutFrame",
    "Peer",
    "QueuePeer",
    "RoomHistory",
    "RoomHub",
    "StreamItem",
    "TickStats",
    "TransportLike",
    "TransportPeer",
    "encode_close_frame",
    "encode_text_frame",
]
