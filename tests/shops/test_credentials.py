"""API keys and viewer tokens: parsing, hashing, expiry, tampering, rotation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveloop.shops import credentials
from liveloop.shops.errors import ExpiredViewerToken, InvalidApiKey, InvalidViewerToken


def test_minted_keys_parse_and_match_only_their_hash() -> None:
    minted = credentials.mint_api_key()
    key_id, secret = credentials.parse_api_key(minted.plaintext)
    assert key_id == minted.key_id
    assert credentials.secret_matches(secret, minted.secret_hash)
    assert not credentials.secret_matches(secret + "x", minted.secret_hash)
    assert minted.secret_hash != secret


@given(st.text(max_size=120))
def test_random_strings_are_never_keys(raw: str) -> None:
    with pytest.raises(InvalidApiKey):
        credentials.parse_api_key(raw)


def sign(**overrides: object) -> str:
    args: dict[str, object] = {
        "shop_id": 7,
        "key": "k" * 43,
        "user_id": "alice",
        "nickname": "Alice",
        "ttl": timedelta(minutes=5),
    }
    args.update(overrides)
    token, _ = credentials.sign_viewer_token(**args)  # type: ignore[arg-type]
    return token


def test_viewer_token_round_trip_and_shop_header() -> None:
    token = sign()
    assert credentials.viewer_token_shop(token) == 7
    claims = credentials.verify_viewer_token(token, shop_id=7, keys=["k" * 43])
    assert (claims["sub"], claims["nick"]) == ("alice", "Alice")


def test_expired_tampered_and_foreign_tokens_are_refused() -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    with pytest.raises(ExpiredViewerToken):
        credentials.verify_viewer_token(sign(now=long_ago), shop_id=7, keys=["k" * 43])
    head, body, sig = sign().split(".")
    with pytest.raises(InvalidViewerToken):
        credentials.verify_viewer_token(f"{head}.{body}.{sig[::-1]}", shop_id=7, keys=["k" * 43])
    with pytest.raises(InvalidViewerToken):
        credentials.verify_viewer_token(sign(), shop_id=8, keys=["k" * 43])
    with pytest.raises(InvalidViewerToken):
        credentials.verify_viewer_token(sign(key="other" * 9), shop_id=7, keys=["k" * 43])
    with pytest.raises(InvalidViewerToken):
        credentials.viewer_token_shop("not-a-jwt")


def test_previous_key_still_verifies_after_rotation() -> None:
    token = sign(key="old" * 15)
    claims = credentials.verify_viewer_token(token, shop_id=7, keys=["new" * 15, "old" * 15])
    assert claims["sub"] == "alice"


def _segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_the_shop_is_read_from_the_header_alone_and_verification_checks_the_rest() -> None:
    head, body, sig = sign().split(".")
    garbled = f"{head}.{body[:-3]}!!!.{sig}"
    assert credentials.viewer_token_shop(garbled) == 7  # only picks the key to verify with
    with pytest.raises(InvalidViewerToken):
        credentials.verify_viewer_token(garbled, shop_id=7, keys=["k" * 43])
    foreign = _segment(b'{"alg":"HS256","typ":"JWT","kid":"shop:8"}')
    with pytest.raises(InvalidViewerToken):  # claims of shop 7 under a header naming shop 8
        credentials.verify_viewer_token(f"{foreign}.{body}.{sig}", shop_id=8, keys=["k" * 43])


@pytest.mark.parametrize(
    "header",
    [b'{"alg":"HS256"}', b'{"kid":7}', b'{"kid":"shop:"}', b'{"kid":"shop:-1"}', b'["shop:7"]', b"shop:7"],
)
def test_headers_naming_no_shop_are_refused(header: bytes) -> None:
    with pytest.raises(InvalidViewerToken):
        credentials.viewer_token_shop(f"{_segment(header)}.e30.c2ln")


@given(st.text(max_size=80) | st.binary(max_size=60).map(lambda raw: _segment(raw) + ".x.y"))
def test_any_string_names_a_shop_or_is_refused_as_a_viewer_token(raw: str) -> None:
    try:
        shop_id = credentials.viewer_token_shop(raw)
    except InvalidViewerToken:
        return
    assert shop_id >= 0
