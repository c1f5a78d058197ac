"""Notify targets over the API: create/list/delete, URL validation, secrets never shown, the test message."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from starlette.testclient import TestClient

from liveloop.core.notify import NotifyKind
from liveloop.settings import Settings
from liveloop.shops import Role
from liveloop.shops.errors import InvalidNotifyTarget
from liveloop.shops.notify_targets import MAX_NOTIFY_TARGETS, check_target_url, mask_url
from tests.conftest import ShopKeys, created
from tests.fake_http import Answer, FakeReceiver, serving

ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The fake receivers listen on 127.0.0.1, so this module allows private notify hosts
    (the guard itself: tests/shops/test_notify_guard.py)."""
    return settings.model_copy(update={"notify_allow_private_hosts": True})


def test_create_list_delete(client: TestClient, shop: ShopKeys) -> None:
    owner = shop.headers()
    robot = created(
        client.post("/api/v1/notify-targets", json={"kind": "wecom", "url": ROBOT}, headers=owner)
    )
    assert robot["kind"] == "wecom"
    assert robot["enabled"] is True
    assert robot["has_secret"] is False
    # The robot's key is a secret: only its last 4 characters are shown.
    assert robot["url_masked"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=****5aaa"
    hook = created(
        client.post(
            "/api/v1/notify-targets",
            json={
                "kind": "webhook",
                "url": "https://ops.example.com/hook",
                "secret": "s" * 32,
                "enabled": False,
            },
            headers=shop.headers(Role.OPERATOR),
        )
    )
    assert hook["has_secret"] is True
    assert "secret" not in hook
    assert hook["enabled"] is False
    listed = client.get("/api/v1/notify-targets", headers=owner).json()
    assert [t["id"] for t in listed] == [robot["id"], hook["id"]]
    assert "0ec2sifa" not in client.get("/api/v1/notify-targets", headers=owner).text
    assert client.delete(f"/api/v1/notify-targets/{robot['id']}", headers=owner).status_code == 204
    assert [t["id"] for t in client.get("/api/v1/notify-targets", headers=owner).json()] == [hook["id"]]
    again = client.delete(f"/api/v1/notify-targets/{robot['id']}", headers=owner)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "shops.notify_target_not_found"


BAD_URLS = [
    ("wecom", "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"),  # not https
    ("wecom", "https://evil.example.com/cgi-bin/webhook/send?key=abc"),  # not WeCom's host
    ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"),  # no key
    ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc&debug=1"),  # extra query
    ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/message/send?key=abc"),  # not the robot path
    ("wecom", "https://qyapi.weixin.qq.com:8443/cgi-bin/webhook/send?key=abc"),  # odd port
    ("webhook", "ftp://example.com/hook"),
    ("webhook", "javascript:alert(1)"),
    ("webhook", "https:///no-host"),
    ("webhook", "https://user:pass@example.com/hook"),  # credentials in the URL
    ("webhook", "https://example.com/hook#frag"),
    ("webhook", "https://example.com:99999/hook"),  # port out of range
    ("webhook", "not a url"),
]


def test_bad_urls_are_refused(client: TestClient, shop: ShopKeys) -> None:
    for kind, url in BAD_URLS:
        answer = client.post(
            "/api/v1/notify-targets", json={"kind": kind, "url": url}, headers=shop.headers()
        )
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["error"]["code"] == "shops.invalid_notify_target", url
    assert client.get("/api/v1/notify-targets", headers=shop.headers()).json() == []


def test_body_validation(client: TestClient, shop: ShopKeys) -> None:
    owner = shop.headers()
    cases = [
        {"kind": "sms", "url": "https://example.com"},
        {"kind": "webhook"},
        {"kind": "webhook", "url": "https://example.com/h", "secret": "short"},
        {"kind": "webhook", "url": "https://example.com/" + "a" * 1000},
        {"kind": "webhook", "url": "https://example.com/h", "extra": 1},
    ]
    for body in cases:
        answer = client.post("/api/v1/notify-targets", json=body, headers=owner)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["code"] == "request.validation_error", body
    # A WeCom robot has no secret (its key is in the URL).
    answer = client.post(
        "/api/v1/notify-targets", json={"kind": "wecom", "url": ROBOT, "secret": "x" * 16}, headers=owner
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "shops.invalid_notify_target"


def test_a_shop_has_a_bounded_number_of_targets(client: TestClient, shop: ShopKeys) -> None:
    for i in range(MAX_NOTIFY_TARGETS):
        created(
            client.post(
                "/api/v1/notify-targets",
                json={"kind": "webhook", "url": f"https://example.com/{i}"},
                headers=shop.headers(),
            )
        )
    answer = client.post(
        "/api/v1/notify-targets",
        json={"kind": "webhook", "url": "https://example.com/x"},
        headers=shop.headers(),
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "shops.too_many_notify_targets"


def test_another_shops_target_is_not_found(client: TestClient, shop: ShopKeys, other_shop: ShopKeys) -> None:
    theirs = created(
        client.post(
            "/api/v1/notify-targets",
            json={"kind": "webhook", "url": "https://theirs.example.com/hook"},
            headers=other_shop.headers(),
        )
    )
    for method, path in (("DELETE", ""), ("POST", "/test")):
        answer = client.request(
            method, f"/api/v1/notify-targets/{theirs['id']}{path}", headers=shop.headers()
        )
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "shops.notify_target_not_found"
    assert client.get("/api/v1/notify-targets", headers=shop.headers()).json() == []
    assert [t["id"] for t in client.get("/api/v1/notify-targets", headers=other_shop.headers()).json()] == [
        theirs["id"]
    ]


def test_hosts_and_moderators_may_not_manage_targets(client: TestClient, shop: ShopKeys) -> None:
    for role in (Role.HOST, Role.MODERATOR):
        answer = client.get("/api/v1/notify-targets", headers=shop.headers(role))
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "auth.permission_denied"


def test_test_message_reaches_a_webhook_signed(client: TestClient, shop: ShopKeys) -> None:
    secret = "webhook-secret-123456"
    with serving(FakeReceiver(default=Answer(200))) as receiver:
        target = created(
            client.post(
                "/api/v1/notify-targets",
                json={"kind": "webhook", "url": receiver.url + "/liveloop", "secret": secret},
                headers=shop.headers(),
            )
        )
        answer = client.post(f"/api/v1/notify-targets/{target['id']}/test", headers=shop.headers())
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "delivered": True,
            "status": "delivered",
            "attempts": 1,
            "code": 200,
            "error": None,
        }
        [request] = receiver.received
    assert request.path == "/liveloop"
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-liveloop-signature"], expected)
    body = request.json()
    assert isinstance(body, dict)
    assert (body["type"], body["shop_id"], body["target_id"]) == ("liveloop.test", shop.shop_id, target["id"])


def test_test_message_reports_a_failure_without_retrying(client: TestClient, shop: ShopKeys) -> None:
    with serving(FakeReceiver(default=Answer(503))) as receiver:
        target = created(
            client.post(
                "/api/v1/notify-targets",
                json={"kind": "webhook", "url": receiver.url + "/down"},
                headers=shop.headers(),
            )
        )
        answer = client.post(f"/api/v1/notify-targets/{target['id']}/test", headers=shop.headers())
        assert len(receiver.received) == 1
    assert answer.status_code == 200
    assert answer.json() == {
        "delivered": False,
        "status": "failed_retryable",
        "attempts": 1,
        "code": 503,
        "error": "HTTP 503",
    }


def test_url_rules_and_masking() -> None:
    assert check_target_url(NotifyKind.WECOM, ROBOT) == ROBOT
    assert (
        check_target_url(NotifyKind.WEBHOOK, "http://10.0.0.5:8080/hook?x=1")
        == "http://10.0.0.5:8080/hook?x=1"
    )
    with pytest.raises(InvalidNotifyTarget):
        check_target_url(NotifyKind.WECOM, ROBOT.replace("https", "http"))
    assert (
        mask_url("https://h.example.com/p?token=abcdefghijkl&a=b")
        == "https://h.example.com/p?token=****ijkl&a=****"
    )


def test_a_target_is_edited_with_the_rules_of_create(client: TestClient, shop: ShopKeys) -> None:
    owner = shop.headers()
    hook = created(
        client.post(
            "/api/v1/notify-targets",
            json={"kind": "webhook", "url": "https://ops.example.com/hook", "secret": "s" * 16},
            headers=owner,
        )
    )
    path = f"/api/v1/notify-targets/{hook['id']}"
    moved = client.patch(
        path,
        json={"url": "https://ops.example.com/v2?token=abcdefghijkl"},
        headers=shop.headers(Role.OPERATOR),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json() | {"created_at": None} == {
        "id": hook["id"],
        "kind": "webhook",
        "url_masked": "https://ops.example.com/v2?token=****ijkl",
        "has_secret": True,  # left out: unchanged
        "enabled": True,
        "created_at": None,
    }
    off = client.patch(path, json={"enabled": False, "secret": None}, headers=owner).json()
    assert (off["enabled"], off["has_secret"], off["url_masked"]) == (
        False,
        False,
        moved.json()["url_masked"],
    )
    assert client.patch(path, json={}, headers=owner).json() == off  # nothing given: nothing changes
    assert client.get("/api/v1/notify-targets", headers=owner).json() == [off]

    refused = [
        ({"url": "ftp://ops.example.com/hook"}, "shops.invalid_notify_target"),
        ({"url": "https://user:pass@ops.example.com/hook"}, "shops.invalid_notify_target"),
        ({"secret": "short"}, "request.validation_error"),
        ({"kind": "wecom"}, "request.validation_error"),  # the kind does not change
        ({"enabled": "yes please"}, "request.validation_error"),
    ]
    for body, code in refused:
        answer = client.patch(path, json=body, headers=owner)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["code"] == code, body
    assert client.get("/api/v1/notify-targets", headers=owner).json() == [off]

    robot = created(
        client.post("/api/v1/notify-targets", json={"kind": "wecom", "url": ROBOT}, headers=owner)
    )
    robot_path = f"/api/v1/notify-targets/{robot['id']}"
    for body in ({"secret": "x" * 16}, {"url": "https://ops.example.com/hook"}):
        answer = client.patch(robot_path, json=body, headers=owner)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["code"] == "shops.invalid_notify_target"
    new_key = ROBOT.replace("0ec2sifa5aaa", "0ec2sifa5bbb")
    assert (
        client.patch(robot_path, json={"url": new_key}, headers=owner).json()["url_masked"].endswith("5bbb")
    )


def test_editing_needs_the_permission_and_the_shop(
    client: TestClient, shop: ShopKeys, other_shop: ShopKeys
) -> None:
    body = {"kind": "webhook", "url": "https://theirs.example.com/hook"}
    theirs = created(client.post("/api/v1/notify-targets", json=body, headers=other_shop.headers()))
    mine = created(client.post("/api/v1/notify-targets", json=body, headers=shop.headers()))
    answer = client.patch(
        f"/api/v1/notify-targets/{theirs['id']}", json={"enabled": False}, headers=shop.headers()
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "shops.notify_target_not_found"
    for role in (Role.HOST, Role.MODERATOR):
        answer = client.patch(
            f"/api/v1/notify-targets/{mine['id']}", json={"enabled": False}, headers=shop.headers(role)
        )
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "auth.permission_denied"
    assert [
        t["enabled"] for t in client.get("/api/v1/notify-targets", headers=other_shop.headers()).json()
    ] == [True]
    assert [t["enabled"] for t in client.get("/api/v1/notify-targets", headers=shop.headers()).json()] == [
        True
    ]
