"""The administrative tree: Street → Community → Grid → Building (with units)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, relationship

from webapp.models.base import INTERNAL, PUBLIC, Base, UTCDateTime, classified, utcnow


class Street(Base):
    """街道 (street office area)."""

    __tablename__ = "streets"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=PUBLIC)
    code: Mapped[str] = classified(String(32), unique=True, privacy=PUBLIC)
    name: Mapped[str] = classified(String(100), privacy=PUBLIC)
    district: Mapped[str] = classified(String(100), default="", privacy=PUBLIC)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)

    communities: Mapped[list[Community]] = relationship(
        back_populates="street", order_by="Community.code"
    )


class Community(Base):
    """社区."""

    __tablename__ = "communities"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=PUBLIC)
    street_id: Mapped[int] = classified(ForeignKey("streets.id"), index=True, privacy=PUBLIC)
    code: Mapped[str] = classified(String(32), unique=True, privacy=PUBLIC)
    name: Mapped[str] = classified(String(100), privacy=PUBLIC)
    office_address: Mapped[str] = classified(String(200), default="", privacy=PUBLIC)
    office_phone: Mapped[str] = classified(String(32), default="", privacy=PUBLIC)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)

    street: Mapped[Street] = relationship(back_populates="communities")
    grids: Mapped[list[Grid]] = relationship(back_populates="community", order_by="Grid.code")


class Grid(Base):
    """网格: a few hundred households walked by one grid worker. Records belong to the grid."""

    __tablename__ = "grids"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=PUBLIC)
    community_id: Mapped[int] = classified(ForeignKey("communities.id"), index=True, privacy=PUBLIC)
    code: Mapped[str] = classified(String(32), unique=True, privacy=PUBLIC)
    name: Mapped[str] = classified(String(100), privacy=PUBLIC)
    boundary: Mapped[str] = classified(Text, default="", privacy=PUBLIC)  # "幸福路以东、和平街以北"
    change_seq: Mapped[int] = classified(BigInteger, default=0, index=True, privacy=INTERNAL)

    community: Mapped[Community] = relationship(back_populates="grids")
    buildings: Mapped[list[Building]] = relationship(back_populates="grid", order_by="Building.id")


class Building(Base):
    """楼栋. `name` is the address residents say without unit and room ("幸福里3号楼")."""

    __tablename__ = "buildings"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=PUBLIC)
    grid_id: Mapped[int] = classified(ForeignKey("grids.id"), index=True, privacy=PUBLIC)
    name: Mapped[str] = classified(String(100), privacy=PUBLIC)
    address: Mapped[str] = classified(String(200), privacy=PUBLIC)
    unit_count: Mapped[int] = classified(Integer, default=1, privacy=PUBLIC)
    floor_count: Mapped[int] = classified(Integer, default=6, privacy=PUBLIC)
    change_seq: Mapped[int] = classified(BigInteger, default=0, index=True, privacy=INTERNAL)

    grid: Mapped[Grid] = relationship(back_populates="buildings")
