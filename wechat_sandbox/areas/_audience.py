"""The followers, tags and blacklist of a sandbox account, shared by the ``users`` and ``tags``
areas (a module starting with ``_`` is not loaded as an area of its own).

An account can hold a million followers cheaply: ``generated`` followers are OpenIDs made on
demand from the account and an index (``openid_at``), not a million dicts; only what differs
from the defaults (a remark, tags, an unsubscription, a QR scene) is stored, per OpenID. The
list order is the generated followers by index, then those subscribed by hand in order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from wechat_sandbox.core import AppState

AREA = "audience"
#: when generated followers subscribed (fixed, so that runs agree): 2024-01-01 00:00 UTC + index
GENERATED_EPOCH = 1_704_067_200


@dataclass
class Audience:
    prefix: str
    generated: int = 0
    extra: list[str] = field(default_factory=list)
    extra_index: dict[str, int] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    #: per-OpenID differences from a generated follower: remark, tagid_list, subscribe_scene…
    info: dict[str, dict] = field(default_factory=dict)
    blacklist: dict[str, None] = field(default_factory=dict)
    tags: dict[int, str] = field(default_factory=dict)
    tag_counts: dict[int, int] = field(default_factory=dict)
    next_tag_id: int = 100
    qrcodes: dict[str, dict] = field(default_factory=dict)  # ticket -> code

    def openid_at(self, index: int) -> str:
        return f"o{self.prefix}{index:020d}"

    def position(self, openid: str) -> int | None:
        """Where ``openid`` is in the list order, or None when the account never had it."""
        if openid.startswith("o" + self.prefix) and len(openid) == 28:
            digits = openid[8:]
            if digits.isdigit() and int(digits) < self.generated:
                return int(digits)
        index = self.extra_index.get(openid)
        return None if index is None else self.generated + index

    def is_follower(self, openid: str) -> bool:
        return self.position(openid) is not None and openid not in self.gone

    def total(self) -> int:
        return self.generated + len(self.extra) - len(self.gone)

    def page(self, after: str, limit: int) -> list[str]:
        """Up to ``limit`` followers after ``after`` ('' = from the start), skipping the gone."""
        start = 0
        if after:
            pos = self.position(after)
            start = 0 if pos is None else pos + 1
        end = self.generated + len(self.extra)
        out: list[str] = []
        index = start
        while index < end and len(out) < limit:
            openid = self.openid_at(index) if index < self.generated else self.extra[index - self.generated]
            if openid not in self.gone:
                out.append(openid)
            index += 1
        return out

    def subscribe(
        self, openid: str, *, at: int, scene: str = "ADD_SCENE_QR_CODE", qr_scene_str: str = ""
    ) -> None:
        if self.position(openid) is None:
            self.extra_index[openid] = len(self.extra)
            self.extra.append(openid)
        self.gone.discard(openid)
        self.info.setdefault(openid, {}).update(
            {"subscribe_time": at, "subscribe_scene": scene, "qr_scene_str": qr_scene_str}
        )

    def unsubscribe(self, openid: str) -> None:
        if self.position(openid) is not None:
            self.gone.add(openid)
            for tag_id in self.info.get(openid, {}).pop("tagid_list", []):
                self.tag_counts[tag_id] -= 1

    def user_tags(self, openid: str) -> list[int]:
        return list(self.info.get(openid, {}).get("tagid_list", []))

    def user_info(self, openid: str) -> dict:
        """``user/info``'s answer for a follower (no nickname or avatar since 2021-12-27)."""
        if not self.is_follower(openid):
            return {"subscribe": 0, "openid": openid}
        own = self.info.get(openid, {})
        pos = self.position(openid) or 0
        return {
            "subscribe": 1,
            "openid": openid,
            "language": "zh_CN",
            "subscribe_time": own.get("subscribe_time", GENERATED_EPOCH + pos),
            "unionid": f"u{self.prefix}{pos:020d}",
            "remark": own.get("remark", ""),
            "groupid": 0,
            "tagid_list": list(own.get("tagid_list", [])),
            "subscribe_scene": own.get("subscribe_scene", "ADD_SCENE_SEARCH"),
            "qr_scene": own.get("qr_scene", 0),
            "qr_scene_str": own.get("qr_scene_str", ""),
        }


def audience(app: AppState) -> Audience:
    """The account's audience (read and change it under ``Sandbox._lock``)."""
    prefix = hashlib.sha256(app.appid.encode()).hexdigest()[:7]
    return app.area_state(AREA, lambda: Audience(prefix=prefix))
