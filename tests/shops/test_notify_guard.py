"""The SSRF guard of notify targets: no webhook to loopback, private, link-local or other
non-public addresses, neither when a target is saved nor when it is sent to (DNS may change).

Here private hosts are not allowed (the default); the fake receivers listen on 127.0.0.1, which is
exactly what must be refused.
"""

from __future__ import annotations

import httpx2
import pytest
from starlette.testclient import TestClient

from liveloop.adapters.memory import MemoryCounters
from liveloop.adapters.notify import HttpNotifier
from liveloop.core.container import Container
from liveloop.core.notify import (
    DeliveryStatus,
    Message,
    NonPublicAddress,
    NotifyKind,
    NotifyTarget,
    check_public_url,
    is_public_address,
    pinned_request,
)
from liveloop.shops import Role, get_principal
from liveloop.shops.errors import NotifyTargetNotPublic
from liveloop.shops.notify_targets import check_target_host, do_create_notify_target
from tests.conftest import ShopKeys, created, run_in_app
from tests.fake_http import Answer, FakeReceiver, serving

REFUSED = [
    "http://127.0.0.1:8080/hook",
    "http://127.1.2.3/hook",
    "http://10.0.0.5/hook",
    "https://172.16.3.4/hook",
    "https://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "http://[::1]:8080/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::5]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # loopback, written as IPv6
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT
    "http://localhost:8080/hook",  # a name that resolves to loopback
    "http://2130706433/hook",  # 127.0.0.1 as one number
]


def test_targets_on_non_public_hosts_are_refused(client: TestClient, shop: ShopKeys) -> None:
    for url in REFUSED:
        answer = client.post(
            "/api/v1/notify-targets", json={"kind": "webhook", "url": url}, headers=shop.headers()
        )
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["error"]["code"] == "shops.notify_target_not_public", url
    assert client.get("/api/v1/notify-targets", headers=shop.headers()).json() == []


def test_a_public_target_cannot_be_moved_inward(client: TestClient, shop: ShopKeys) -> None:
    # A name that does not resolve now is accepted: it is checked again when sent to.
    target = created(
        client.post(
            "/api/v1/notify-targets",
            json={"kind": "webhook", "url": "https://hooks.example.com/liveloop"},
            headers=shop.headers(),
        )
    )
    for url in ("http://169.254.169.254/", "http://[::1]/hook", "http://localhost/hook"):
        answer = client.patch(
            f"/api/v1/notify-targets/{target['id']}", json={"url": url}, headers=shop.headers(Role.OPERATOR)
        )
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["error"]["code"] == "shops.notify_target_not_public"
    [listed] = client.get("/api/v1/notify-targets", headers=shop.headers()).json()
    assert listed["url_masked"] == "https://hooks.example.com/liveloop"


def test_the_test_message_is_not_sent_to_a_private_host(client: TestClient, shop: ShopKeys) -> None:
    """A target stored before the guard (or while private hosts were allowed): the app's notifier
    refuses to send to it, and the receiver on loopback gets nothing."""
    with serving(FakeReceiver(default=Answer(200))) as receiver:

        async def stored(container: Container) -> int:
            principal = await get_principal(container.db, shop.keys[Role.OWNER])
            view = await do_create_notify_target(
                container.db,
                principal,
                kind=NotifyKind.WEBHOOK,
                url=receiver.url + "/hook",
                secret=None,
                enabled=True,
                allow_private_hosts=True,
            )
            return view.id

        target_id = run_in_app(client, stored)
        answer = client.post(f"/api/v1/notify-targets/{target_id}/test", headers=shop.headers())
        assert answer.status_code == 200
        assert receiver.received == []
    body = answer.json()
    assert (body["delivered"], body["status"], body["code"]) == (False, "failed_permanent", None)
    assert "127.0.0.1 is not a public internet address" in body["error"]


@pytest.mark.anyio
async def test_a_send_checks_the_address_again() -> None:
    """DNS changed since the target was saved: the send resolves again and refuses, sending nothing."""
    answers = {"hooks.shop.example": ["93.184.215.14"]}

    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    url = "http://hooks.shop.example/hook"
    await check_target_host(url, allow_private_hosts=False, resolve=resolve)  # public when saved
    with serving(FakeReceiver(default=Answer(200))) as receiver:
        answers["hooks.shop.example"] = ["127.0.0.1"]  # rebound to loopback
        sender = HttpNotifier(MemoryCounters(), resolve=resolve)
        try:
            delivery = await sender.send(NotifyTarget(NotifyKind.WEBHOOK, url), Message("t", "m"))
            direct = await sender.send(
                NotifyTarget(NotifyKind.WEBHOOK, receiver.url + "/hook"), Message("t", "m")
            )
        finally:
            await sender.close()
        assert receiver.received == []
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED_PERMANENT, 1)
    assert delivery.error is not None
    assert "127.0.0.1" in delivery.error
    assert direct.status is DeliveryStatus.FAILED_PERMANENT


@pytest.mark.anyio
async def test_allowing_private_hosts_lets_a_send_through() -> None:
    with serving(FakeReceiver(default=Answer(200))) as receiver:
        sender = HttpNotifier(MemoryCounters(), allow_private_hosts=True)
        try:
            delivery = await sender.send(
                NotifyTarget(NotifyKind.WEBHOOK, receiver.url + "/h"), Message("t", "m")
            )
        finally:
            await sender.close()
        assert len(receiver.received) == 1
    assert delivery.delivered
    await check_target_host("http://127.0.0.1/h", allow_private_hosts=True)


@pytest.mark.anyio
async def test_the_save_check_resolves_names() -> None:
    async def to(*addresses: str):  # type: ignore[no-untyped-def]
        async def resolve(host: str, port: int) -> list[str]:
            return list(addresses)

        return resolve

    public = await to("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    await check_target_host("https://hooks.shop.example/x", allow_private_hosts=False, resolve=public)
    mixed = await to("93.184.215.14", "10.1.2.3")  # one inward answer is enough to refuse
    with pytest.raises(NotifyTargetNotPublic):
        await check_target_host("https://hooks.shop.example/x", allow_private_hosts=False, resolve=mixed)
    with pytest.raises(NonPublicAddress):
        await check_public_url("https://hooks.shop.example/x", resolve=await to("169.254.169.254"))


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.255.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 around 127.0.0.1
        ("224.0.0.1", False),
        ("255.255.255.255", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("url", "address", "sent_to", "host", "sni"),
    [
        ("https://hooks.shop.example/h?k=1", "93.184.215.14", "https://93.184.215.14/h?k=1",
         "hooks.shop.example", "hooks.shop.example"),
        ("http://hooks.shop.example:8080/h", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
         "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8080/h", "hooks.shop.example:8080", None),
    ],
)  # fmt: skip
async def test_a_send_connects_to_the_address_it_checked(
    url: str, address: str, sent_to: str, host: str, sni: str | None
) -> None:
    """DNS rebinding: the second lookup (httpx's own) could answer loopback after the check said
    public. The send goes to the checked address, with the name as Host and TLS server name."""
    lookups: list[str] = []

    async def resolve(name: str, port: int) -> list[str]:
        lookups.append(name)
        return [address] if len(lookups) == 1 else ["127.0.0.1"]  # rebound after the first answer

    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(answer))
    sender = HttpNotifier(MemoryCounters(), client=client, resolve=resolve)
    try:
        delivery = await sender.send(NotifyTarget(NotifyKind.WEBHOOK, url), Message("t", "m"))
    finally:
        await client.aclose()
    assert delivery.delivered
    assert lookups == ["hooks.shop.example"]  # looked up once, by the check
    (request,) = seen
    assert str(request.url) == sent_to
    assert request.headers["Host"] == host
    assert request.extensions.get("sni_hostname") == sni


def test_a_literal_address_is_sent_as_it_is() -> None:
    pinned = pinned_request("https://93.184.215.14:8443/h", "93.184.215.14")
    assert (pinned.url, pinned.headers, pinned.extensions) == ("https://93.184.215.14:8443/h", {}, {})
