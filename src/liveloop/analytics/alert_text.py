"""What each alert says, in zh-CN and en: the message (with its figures) and a suggested action."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from liveloop.analytics.alert_model import Figure, Rule

__all__ = ["Text", "text_for"]


@dataclass(frozen=True, slots=True)
class Text:
    message_zh: str
    message_en: str
    suggestion_zh: str
    suggestion_en: str


def _pct(value: Figure) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "-"


def _low_ctr(f: Mapping[str, Figure]) -> Text:
    product = f"#{f['product_id']}"
    base_zh = "本店近30天讲解商品" if f["baseline_source"] == "shop_30d" else "本场已讲解商品"
    base_en = (
        "the shop's explained products over 30 days" if f["baseline_source"] == "shop_30d" else "this show"
    )
    return Text(
        message_zh=(
            f"讲解中的商品 {product} 点击率偏低：近{f['window_minutes']}分钟点击率 {_pct(f['ctr'])}"
            f"（{f['window_clicks']}/{f['window_exposures']} 曝光人数），低于{base_zh}中位数 "
            f"{_pct(f['ctr_baseline'])} 的 {_pct(f['low_ctr_ratio'])}（阈值 {_pct(f['ctr_threshold'])}）；"
            f"在线人数 {f['ccu']}（阈值 {f['ccu_threshold']}）。"
        ),
        message_en=(
            f"Low CTR on the product being explained ({product}): {_pct(f['ctr'])} over the last "
            f"{f['window_minutes']} min ({f['window_clicks']}/{f['window_exposures']} exposure UV), under "
            f"{_pct(f['low_ctr_ratio'])} of the median of {base_en} ({_pct(f['ctr_baseline'])}, threshold "
            f"{_pct(f['ctr_threshold'])}), with {f['ccu']} viewers online (threshold {f['ccu_threshold']})."
        ),
        suggestion_zh=f"强调商品 {product} 的核心卖点并上身/上手演示，或为它发放优惠券、限时价。",
        suggestion_en=(
            f"Stress product {product}'s selling point and demo it, "
            "or drop a coupon or a limited-time price for it."
        ),
    )


def _traffic_drop(f: Mapping[str, Figure]) -> Text:
    return Text(
        message_zh=(
            f"在线人数下滑：当前 {f['ccu']} 人，{f['window_minutes']} 分钟前 {f['ccu_before']} 人，"
            f"低于 {_pct(f['traffic_drop_ratio'])}（阈值 {f['ccu_threshold']}）。"
        ),
        message_en=(
            f"Traffic drop: {f['ccu']} viewers online, down from {f['ccu_before']} "
            f"{f['window_minutes']} min ago, under {_pct(f['traffic_drop_ratio'])} of it "
            f"(threshold {f['ccu_threshold']})."
        ),
        suggestion_zh="发红包或抽奖留住观众，切换到爆款或开启限时秒杀，并把直播间推送到私域社群。",
        suggestion_en=(
            "Hold viewers with a red packet or a lottery, switch to a best seller or start a flash sale, "
            "and push the room to your private groups."
        ),
    )


def _conversion_stall(f: Mapping[str, Figure]) -> Text:
    return Text(
        message_zh=(
            f"成交转化停滞：近{f['window_minutes']}分钟点击-成交转化率 {_pct(f['click_to_paid_window'])}"
            f"（{f['window_paid']}/{f['window_clicks']} 人），不到全场 {_pct(f['click_to_paid_show'])} 的 "
            f"{_pct(f['stall_ratio'])}（阈值 {_pct(f['click_to_paid_threshold'])}）。"
        ),
        message_en=(
            f"Conversion stall: click-to-paid {_pct(f['click_to_paid_window'])} over the last "
            f"{f['window_minutes']} min ({f['window_paid']}/{f['window_clicks']} UV), under "
            f"{_pct(f['stall_ratio'])} of the show's {_pct(f['click_to_paid_show'])} "
            f"(threshold {_pct(f['click_to_paid_threshold'])})."
        ),
        suggestion_zh="检查库存、价格和支付流程是否正常；口播下单步骤，或用限时优惠、优惠券促成交。",
        suggestion_en=(
            "Check stock, price and checkout; walk viewers through ordering, or close with a time-limited "
            "offer or a coupon."
        ),
    )


_TEXTS = {
    Rule.LOW_CTR_EXPLAINING: _low_ctr,
    Rule.TRAFFIC_DROP: _traffic_drop,
    Rule.CONVERSION_STALL: _conversion_stall,
}


def text_for(rule: Rule, figures: Mapping[str, Figure]) -> Text:
    return _TEXTS[rule](figures)
