import liveloop.realtime


def test_the_public_surface_is_pinned() -> None:
    assert sorted(liveloop.realtime.__all__) == [
        "HubConfig",
        "Lane",
        "OutFrame",
        "Peer",
        "QueuePeer",
        "RoomHistory",
        "RoomHub",
        "SLOW_CONSUMER_CODE",
        "SLOW_CONSUMER_REASON",
        "StreamItem",
        "TickStats",
        "TransportLike",
        "TransportPeer",
        "encode_close_frame",
        "encode_text_frame",
    ]
    for name in liveloop.realtime.__all__:
        assert hasattr(liveloop.realtime, name)
