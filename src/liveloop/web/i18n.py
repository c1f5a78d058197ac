"""UI strings of the viewer pages, one table per language (zh-CN first: the audience is in China).

Placeholders are ``{name}`` and are filled by the template or by ``live.js``. Both tables must
have the same keys (a test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from liveloop.web.i18n_tools import TOOLS_EN, TOOLS_ZH

DEFAULT_LANGUAGE: Final = "zh-CN"

_ZH: Final = {
    # page
    "page_title": "{room} · 直播间",
    "live_badge": "直播中",
    "show_soon": "直播即将开始",
    "show_soon_hint": "主播正在准备中，稍后再来看看吧",
    "show_ended": "直播已结束",
    "show_ended_hint": "感谢观看，下次再见",
    "show_started_reload": "直播开始了，点击观看",
    "hls_needs_app": "该直播流（HLS）需要在商家 App 内观看",
    "format_needs_app": "该直播流格式需要在商家 App 内观看",
    "video_failed": "视频加载失败，请稍后重试",
    "unmute": "点击开启声音",
    "switch_language": "English",
    "switch_language_label": "切换到英文",
    # counters
    "online": "在线人数",
    "likes": "点赞",
    # stream
    "comments": "评论区",
    "pinned": "置顶",
    "host": "主播",
    "staff": "官方",
    "entered_one": "欢迎 {names} 进入直播间",
    "entered_many": "欢迎 {names} 等 {count} 人进入直播间",
    "name_separator": "、",
    "show_started_notice": "直播开始了：{title}",
    "show_ended_notice": "直播已结束",
    "new_messages": "有新消息",
    # composer
    "say_something": "说点什么…",
    "send": "发送",
    "sign_in_to_comment": "登录后才能发言",
    "like_button": "点赞",
    # connection
    "connecting": "连接中…",
    "reconnecting": "已断开，正在重连…",
    "closed_unauthorized": "登录已失效，请从 App 重新进入直播间",
    "closed_banned": "你已被禁止进入该直播间",
    "closed_kicked": "你已被移出直播间",
    "closed_room_not_found": "直播间不存在",
    "closed_unsupported": "页面版本过旧，请刷新",
    # comment errors
    "error_slow_mode": "慢速模式：{seconds} 秒后可再次发言",
    "error_rate_limited": "发言太频繁，{seconds} 秒后可再次发言",
    "error_muted": "你已被禁言",
    "error_blocked": "评论包含不当内容，未能发送",
    "error_empty": "说点什么再发送吧",
    "error_too_long": "评论太长了",
    "error_login_required": "登录后才能发言",
    "error_offline": "网络未连接，稍后再试",
    "error_generic": "发送失败：{message}",
    # co-host media (连麦), once seated
    "rtc_connecting": "连麦接通中…",
    "rtc_live": "连麦中",
    "rtc_not_connected": "连麦未接通",
    "rtc_app_only": "请在 App 内连麦",
    "rtc_preview": "我的画面",
    "rtc_failed": "连麦连接失败，请稍后重试",
    "rtc_dropped": "连麦连接已断开",
    "rtc_device_denied": "无法使用摄像头或麦克风，请在浏览器中允许后重试",
    "rtc_unsupported": "当前浏览器不支持连麦，请在商家 App 内连麦",
    "rtc_needs_app": "该直播间的连麦需要在商家 App 内进行",
    # 404
    "not_found_title": "直播间不存在",
    "not_found_hint": "这个链接可能已失效，或直播间已被关闭。",
}

_EN: Final = {
    "page_title": "{room} · Live",
    "live_badge": "LIVE",
    "show_soon": "The show starts soon",
    "show_soon_hint": "The host is getting ready. Check back in a moment.",
    "show_ended": "The show has ended",
    "show_ended_hint": "Thanks for watching. See you next time.",
    "show_started_reload": "The show has started. Tap to watch",
    "hls_needs_app": "This stream (HLS) plays in the shop's app player",
    "format_needs_app": "This stream format plays in the shop's app player",
    "video_failed": "The video could not be loaded. Try again later.",
    "unmute": "Tap to unmute",
    "switch_language": "中文",
    "switch_language_label": "Switch to Chinese",
    "online": "online",
    "likes": "likes",
    "comments": "Comments",
    "pinned": "Pinned",
    "host": "Host",
    "staff": "Staff",
    "entered_one": "{names} joined",
    "entered_many": "{names} and {others} more joined",
    "name_separator": ", ",
    "show_started_notice": "The show has started: {title}",
    "show_ended_notice": "The show has ended",
    "new_messages": "New messages",
    "say_something": "Say something…",
    "send": "Send",
    "sign_in_to_comment": "Sign in to comment",
    "like_button": "Like",
    "connecting": "Connecting…",
    "reconnecting": "Reconnecting…",
    "closed_unauthorized": "Your sign-in has expired. Reopen the live room from the app.",
    "closed_banned": "You are banned from this live room.",
    "closed_kicked": "You were removed from this live room.",
    "closed_room_not_found": "This live room does not exist.",
    "closed_unsupported": "This page is out of date. Please reload.",
    "error_slow_mode": "Slow mode: you can comment again in {seconds} s",
    "error_rate_limited": "Too fast: you can comment again in {seconds} s",
    "error_muted": "You are muted",
    "error_blocked": "This comment was not sent: it contains blocked words",
    "error_empty": "Type something first",
    "error_too_long": "That comment is too long",
    "error_login_required": "Sign in to comment",
    "error_offline": "Not connected. Try again in a moment.",
    "error_generic": "Not sent: {message}",
    "rtc_connecting": "Joining the call…",
    "rtc_live": "On mic",
    "rtc_not_connected": "Call not connected",
    "rtc_app_only": "Co-host in the app",
    "rtc_preview": "Your camera",
    "rtc_failed": "Could not connect the co-host call. Try again later.",
    "rtc_dropped": "The co-host call was disconnected",
    "rtc_device_denied": "Camera or microphone unavailable: allow them in your browser and try again",
    "rtc_unsupported": "This browser cannot co-host: use the shop's app",
    "rtc_needs_app": "Co-hosting in this room works in the shop's app",
    "not_found_title": "This live room does not exist",
    "not_found_hint": "The link may have expired, or the room was closed.",
}

STRINGS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {"zh-CN": MappingProxyType(_ZH | TOOLS_ZH), "en": MappingProxyType(_EN | TOOLS_EN)}
)

#: The ``lang`` query value that picks each language, and the other language to offer.
_OTHER: Final = MappingProxyType({"zh-CN": "en", "en": "zh-CN"})
_ALIASES: Final = MappingProxyType({"en": "en", "zh": "zh-CN", "zh-cn": "zh-CN"})


def pick_language(value: str | None) -> str:
    """The page language for a ``?lang=`` value: ``en`` for English, else zh-CN."""
    return _ALIASES.get((value or "").strip().lower(), DEFAULT_LANGUAGE)


def other_language(lang: str) -> str:
    return _OTHER[lang]


def ui_strings(lang: str) -> Mapping[str, str]:
    return STRINGS[lang]
