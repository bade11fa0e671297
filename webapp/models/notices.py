"""Notices (公告/公示) scoped to a street or to some of its communities (DESIGN.md §6)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Date, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, relationship

from webapp.models.base import INTERNAL, PUBLIC, Base, UTCDateTime, classified, utcnow
from webapp.models.org import Community


class NoticeCategory(enum.StrEnum):
    PUBLICITY = "publicity"  # 公示
    NOTICE = "notice"  # 通知
    EVENT = "event"  # 活动
    POLICY = "policy"  # 政策


class NoticeStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


notice_communities = Table(
    "notice_communities",
    Base.metadata,
    Column(
        "notice_id",
        ForeignKey("notices.id"),
        primary_key=True,
        info={"privacy": "public"},
    ),
    Column(
        "community_id",
        ForeignKey("communities.id"),
        primary_key=True,
        info={"privacy": "public"},
    ),
)


class Notice(Base):
    """Empty `communities` means the whole street."""

    __tablename__ = "notices"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=PUBLIC)
    street_id: Mapped[int] = classified(ForeignKey("streets.id"), index=True, privacy=PUBLIC)
    title: Mapped[str] = classified(String(200), privacy=PUBLIC)
    body: Mapped[str] = classified(Text, privacy=PUBLIC)
    category: Mapped[str] = classified(String(16), privacy=PUBLIC)
    status: Mapped[str] = classified(
        String(16), default=NoticeStatus.DRAFT, index=True, privacy=PUBLIC
    )
    publish_at: Mapped[datetime | None] = classified(UTCDateTime, index=True, privacy=PUBLIC)
    period_start: Mapped[date | None] = classified(Date, privacy=PUBLIC)
    period_end: Mapped[date | None] = classified(Date, privacy=PUBLIC)
    author_id: Mapped[int] = classified(ForeignKey("users.id"), privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    updated_at: Mapped[datetime] = classified(
        UTCDateTime, default=utcnow, onupdate=utcnow, privacy=INTERNAL
    )
    change_seq: Mapped[int] = classified(BigInteger, default=0, index=True, privacy=INTERNAL)

    communities: Mapped[list[Community]] = relationship(secondary=notice_communities)
