"""Demo notices: a few realistic ones per community, written after the rest of the demo data.

Deterministic (same data and `today`, same rows) and free of Flask: it runs on the session the
generator was given. Each community gets a 公示 of 低保 households listing real residents' names
(which the public site must show masked), a 停水通知 naming its grid worker's work phone (public
by design), and an 活动; each street a street-wide 政策 解读. The first community also gets an
ended 公示 and a draft, so the staff list shows more than one state.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.changes import last_change_seq
from webapp.demo.clock import local_time
from webapp.models import (
    Building,
    Community,
    Grid,
    Membership,
    Notice,
    NoticeCategory,
    NoticeStatus,
    Resident,
    Role,
    ScopeKind,
    Street,
    User,
)

WEEKDAYS = "一二三四五六日"


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _staff_by_scope(session: Session, role: Role, kind: ScopeKind) -> dict[int, int]:
    rows = session.execute(
        select(Membership.scope_id, func.min(Membership.user_id))
        .where(Membership.role == role, Membership.scope_kind == kind)
        .group_by(Membership.scope_id)
    )
    return {scope_id: user_id for scope_id, user_id in rows}


def _low_income_rows(session: Session, community: Community, limit: int) -> list[tuple[str, int]]:
    """(name of the household's 低保 member listed first, household size) for a few households."""
    grid_ids = select(Grid.id).where(Grid.community_id == community.id)
    firsts = session.execute(
        select(Resident.household_id, func.min(Resident.id))
        .where(
            Resident.grid_id.in_(grid_ids),
            Resident.low_income.is_(True),
            Resident.moved_out.is_(False),
        )
        .group_by(Resident.household_id)
        .order_by(func.min(Resident.id))
        .limit(limit)
    ).all()
    if not firsts:
        return []
    names = dict(
        session.execute(
            select(Resident.id, Resident.name).where(Resident.id.in_([rid for _, rid in firsts]))
        ).all()
    )
    sizes = dict(
        session.execute(
            select(Resident.household_id, func.count(Resident.id))
            .where(Resident.household_id.in_([hid for hid, _ in firsts]))
            .group_by(Resident.household_id)
        ).all()
    )
    return [(names[rid], sizes[hid]) for hid, rid in firsts]


def _publicity_body(
    community: Community,
    street: Street,
    rows: list[tuple[str, int]],
    start: date,
    end: date,
    purpose: str = "拟纳入城乡最低生活保障",
    kind: str = "城市低保",
) -> str:
    lines = [
        "根据《社会救助暂行办法》和最低生活保障审核确认办法，经本人申请、入户调查、"
        f"民主评议，以下家庭{purpose}，现予公示。",
        "",
        "序号 姓名 家庭人口 救助类别",
    ]
    lines += [f"{i} {name} {size}人 {kind}" for i, (name, size) in enumerate(rows, 1)]
    lines += [
        "",
        f"公示期：{_cn_date(start)}至{_cn_date(end)}。公示期间如有异议，"
        f"请向{community.name}居委会或{street.name}民政办反映。",
        f"监督电话：{community.office_phone}",
        "",
        f"{community.name}居民委员会",
    ]
    return "\n".join(lines)


def load_demo_notices(session: Session, today: date) -> int:
    """Add the demo notices; return how many. The caller commits."""
    community_staff = _staff_by_scope(session, Role.COMMUNITY_STAFF, ScopeKind.COMMUNITY)
    street_staff = _staff_by_scope(session, Role.STREET_STAFF, ScopeKind.STREET)
    admin_id = session.scalar(select(func.min(User.id)))
    # Demo data is in place before any phone pulls, so the notices share the last number handed
    # out: a first pull (a snapshot) sends them whatever their sequence number.
    seq = last_change_seq(session)
    added: list[Notice] = []

    def add(street: Street, author: int, communities: list[Community], **fields) -> None:
        written = fields.pop("written", None) or fields.get("publish_at") or local_time(today, 8)
        notice = Notice(
            street_id=street.id,
            author_id=author,
            communities=communities,
            created_at=written,
            updated_at=written,
            change_seq=seq,
            **fields,
        )
        session.add(notice)
        added.append(notice)

    streets = session.scalars(select(Street).order_by(Street.id)).all()
    for street in streets:
        street_author = street_staff.get(street.id, admin_id)
        add(
            street,
            street_author,
            [],
            title=f"{today.year + 1}年度城乡居民基本医疗保险参保缴费政策解读",
            category=NoticeCategory.POLICY,
            status=NoticeStatus.PUBLISHED,
            publish_at=local_time(today - timedelta(days=7), 9),
            body="\n".join(
                [
                    f"{today.year + 1}年度城乡居民医保集中参保缴费期为"
                    f"{_cn_date(date(today.year, 9, 1))}至{_cn_date(date(today.year, 12, 31))}，"
                    "个人缴费标准为每人每年380元。",
                    "",
                    "一、缴费方式：可通过“楚税通”或“国家医保服务平台”APP、银行网点或社区代收点缴费。",
                    "二、资助政策：低保对象、特困人员、低保边缘家庭成员的个人缴费部分由政府按规定给予资助，"
                    "无需另行申请。",
                    "三、新生儿在出生后90天内参保缴费的，自出生之日起享受待遇。",
                    "四、错过集中缴费期的，将设置待遇等待期，请尽早参保。",
                    "",
                    "政策咨询：12393（医保服务热线）",
                    f"{street.name}社会保障服务中心",
                ]
            ),
        )
        communities = session.scalars(
            select(Community).where(Community.street_id == street.id).order_by(Community.id)
        ).all()
        for index, community in enumerate(communities):
            author = community_staff.get(community.id, street_author)
            first_grid = session.scalar(
                select(Grid).where(Grid.community_id == community.id).order_by(Grid.code)
            )
            worker = None
            compound = community.name.removesuffix("社区")
            if first_grid is not None:
                worker_id = session.scalar(
                    select(func.min(Membership.user_id)).where(
                        Membership.role == Role.GRID_WORKER,
                        Membership.scope_kind == ScopeKind.GRID,
                        Membership.scope_id == first_grid.id,
                    )
                )
                worker = session.get(User, worker_id) if worker_id else None
                building = session.scalar(
                    select(Building.name)
                    .where(Building.grid_id == first_grid.id)
                    .order_by(Building.id)
                )
                if building:
                    compound = re.sub(r"\d+号楼$", "", building) or compound

            start, end = today - timedelta(days=2), today + timedelta(days=5)
            rows = _low_income_rows(session, community, 5)
            if rows:
                add(
                    street,
                    author,
                    [community],
                    title=f"{community.name}{today.year}年第四季度最低生活保障拟保障对象公示",
                    category=NoticeCategory.PUBLICITY,
                    status=NoticeStatus.PUBLISHED,
                    publish_at=local_time(start, 9),
                    period_start=start,
                    period_end=end,
                    body=_publicity_body(community, street, rows, start, end),
                )

            cut = today + timedelta(days=2)
            contact = (
                f"如有疑问，请联系本网格网格员{worker.display_name}，电话{worker.work_phone}。"
                if worker is not None and worker.work_phone
                else f"如有疑问，请联系社区居委会，电话{community.office_phone}。"
            )
            add(
                street,
                author,
                [community],
                title=f"关于{compound}片区临时停水的通知",
                category=NoticeCategory.NOTICE,
                status=NoticeStatus.PUBLISHED,
                publish_at=local_time(today - timedelta(days=1), 8, 30),
                body="\n".join(
                    [
                        "各位居民：",
                        f"因市政供水管网维修，{_cn_date(cut)}（星期{WEEKDAYS[cut.weekday()]}）"
                        f"9:00至17:00，{compound}1号楼至8号楼将暂停供水。请提前做好储水准备，"
                        "停水期间请关好水龙头。恢复供水初期水质可能浑浊，请放水片刻后再使用。",
                        contact,
                        "",
                        f"{community.name}居民委员会",
                    ]
                ),
            )

            clinic = today + timedelta(days=6)
            add(
                street,
                author,
                [community],
                title="“暖冬送健康”义诊进社区",
                category=NoticeCategory.EVENT,
                status=NoticeStatus.PUBLISHED,
                publish_at=local_time(today - timedelta(days=4), 10),
                body="\n".join(
                    [
                        f"{_cn_date(clinic)}上午9:00—11:30，{community.name}联合社区卫生服务中心"
                        "在社区广场开展义诊活动，提供量血压、测血糖、中医健康咨询和家庭医生签约服务。",
                        "65岁以上老人请携带身份证和医保卡，可现场预约免费体检。",
                        "活动免费，欢迎居民参加。",
                    ]
                ),
            )

            if index == 0 and rows:
                old_start, old_end = today - timedelta(days=40), today - timedelta(days=33)
                add(
                    street,
                    author,
                    [community],
                    title=f"{community.name}{today.year}年第三季度临时救助对象公示",
                    category=NoticeCategory.PUBLICITY,
                    status=NoticeStatus.PUBLISHED,
                    publish_at=local_time(old_start, 9),
                    period_start=old_start,
                    period_end=old_end,
                    body=_publicity_body(
                        community,
                        street,
                        rows[-2:],
                        old_start,
                        old_end,
                        "拟给予临时救助",
                        "临时救助",
                    ),
                )
                add(
                    street,
                    author,
                    [community],
                    title="“银龄茶话会”报名通知",
                    category=NoticeCategory.EVENT,
                    status=NoticeStatus.DRAFT,
                    written=local_time(today - timedelta(days=1), 16),
                    body="社区将于下月初举办“银龄茶话会”，欢迎60岁以上居民报名参加。"
                    "报名时间和地点待定。",
                )

    session.flush()
    return len(added)
