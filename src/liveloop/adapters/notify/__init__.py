"""Outbound channels: WeCom group robots and generic (HMAC-signed) webhooks over httpx2."""

from liveloop.adapters.notify.http import HttpNotifier, RetryPolicy

__all__ = ["HttpNotifier", "RetryPolicy"]
