"""Staff notices (DESIGN.md §6): write, schedule, publish, withdraw, delete; every query scoped;
publishing refuses personal numbers and says where; 公示 names are previewed masked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.integration import notices_world as nw
from tests.integration.notices_world import (
    RESIDENT_ID,
    WORKER_PHONE,
    action,
    make_notice,
    notice_id_from,
    post_notice,
    publicity_notice,
)
from webapp.extensions import db
from webapp.i18n import local_today
from webapp.masking import mask_name
from webapp.models import AuditLog, Notice, NoticeStatus, utcnow
from webapp.notices.publicity import mask_publicity_text

world = nw.world
signed_in = nw.signed_in


def reload(notice_id: int) -> Notice:
    db.session.expire_all()
    return db.session.get(Notice, notice_id)


# --- writing and the life of a notice ----------------------------------------------------------


def test_community_staff_write_a_draft_for_their_community(world, signed_in):
    client = signed_in("staff_c1")
    c1 = world.communities["C1"]
    notice_id = notice_id_from(post_notice(client, community_ids=[str(c1.id)]))
    notice = reload(notice_id)
    assert notice.status == NoticeStatus.DRAFT
    assert [c.id for c in notice.communities] == [c1.id]
    assert notice.street_id == world.streets["S"].id
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "关于幸福里片区临时停水的通知" in page


def test_the_list_filters_by_status_and_has_an_empty_state(world, signed_in):
    client = signed_in("street_s")
    make_notice(world.users["street_s"], world.streets["S"], title="已发布的通知")
    make_notice(world.users["street_s"], world.streets["S"], title="草稿通知", status="draft")
    everything = client.get("/notices").get_data(as_text=True)
    assert "已发布的通知" in everything and "草稿通知" in everything
    drafts = client.get("/notices?state=draft").get_data(as_text=True)
    assert "草稿通知" in drafts and "已发布的通知" not in drafts
    withdrawn = client.get("/notices?state=withdrawn").get_data(as_text=True)
    assert 'class="empty"' in withdrawn


def test_publishing_makes_a_draft_public_with_a_303(world, signed_in):
    client = signed_in("staff_c1")
    notice_id = notice_id_from(post_notice(client, community_ids=[str(world.communities["C1"].id)]))
    response = action(client, notice_id, "publish")
    assert response.status_code == 303
    notice = reload(notice_id)
    assert notice.status == NoticeStatus.PUBLISHED
    assert notice.publish_at <= utcnow()
    board = client.get(f"/public/c/{world.communities['C1'].id}").get_data(as_text=True)
    assert f"/public/notices/{notice_id}" in board
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "notice_published"))


def test_save_and_publish_in_one_step(world, signed_in):
    client = signed_in("street_s")
    response = post_notice(client, target="street", then="publish")
    notice_id = notice_id_from(response)
    notice = reload(notice_id)
    assert notice.status == NoticeStatus.PUBLISHED and notice.communities == []


def test_a_future_publish_at_schedules_the_notice(world, signed_in):
    client = signed_in("street_s")
    tomorrow = (local_today() + timedelta(days=2)).isoformat() + "T08:00"
    notice_id = notice_id_from(post_notice(client, target="street", publish_at=tomorrow))
    assert action(client, notice_id, "publish").status_code == 303
    notice = reload(notice_id)
    assert notice.status == NoticeStatus.PUBLISHED and notice.publish_at > utcnow()
    page = client.get(f"/notices/{notice_id}").get_data(as_text=True)
    assert "nbadge-scheduled" in page
    scheduled = client.get("/notices?state=scheduled").get_data(as_text=True)
    assert f"/notices/{notice_id}" in scheduled
    assert f"/notices/{notice_id}" not in client.get("/notices?state=published").get_data(
        as_text=True
    )


def test_a_scheduled_notice_can_be_edited_and_is_checked_again(world, signed_in):
    client = signed_in("street_s")
    later = (local_today() + timedelta(days=2)).isoformat() + "T08:00"
    notice = make_notice(
        world.users["street_s"],
        world.streets["S"],
        publish_at=utcnow() + timedelta(days=2),
        body="原文",
    )
    fine = post_notice(
        client, f"/notices/{notice.id}/edit", target="street", publish_at=later, body="新文"
    )
    assert fine.status_code == 303
    assert reload(notice.id).body == "新文"
    refused = post_notice(
        client,
        f"/notices/{notice.id}/edit",
        target="street",
        publish_at=later,
        body=f"身份证{RESIDENT_ID}",
    )
    assert refused.status_code == 422
    assert "<mark>1101**********1235</mark>" in refused.get_data(as_text=True)
    assert reload(notice.id).body == "新文"


def test_a_visible_notice_cannot_be_edited(world, signed_in):
    client = signed_in("street_s")
    notice = make_notice(world.users["street_s"], world.streets["S"], body="原文")
    assert client.get(f"/notices/{notice.id}/edit").status_code == 303
    response = post_notice(client, f"/notices/{notice.id}/edit", target="street", body="改")
    assert response.status_code == 422
    assert reload(notice.id).body == "原文"


def test_withdrawing_takes_a_notice_off_the_public_site(world, signed_in):
    client = signed_in("staff_c1")
    notice = make_notice(
        world.users["staff_c1"], world.streets["S"], [world.communities["C1"]], title="要撤回"
    )
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "data-confirm=" in page and f"/notices/{notice.id}/withdraw" in page
    assert action(client, notice.id, "withdraw").status_code == 303
    assert reload(notice.id).status == NoticeStatus.WITHDRAWN
    assert client.get(f"/public/notices/{notice.id}").status_code == 404


def test_a_draft_can_be_deleted_and_a_published_notice_cannot(world, signed_in):
    client = signed_in("staff_c1")
    c1 = [world.communities["C1"]]
    draft = make_notice(world.users["staff_c1"], world.streets["S"], c1, status="draft")
    published = make_notice(world.users["staff_c1"], world.streets["S"], c1)
    response = action(client, draft.id, "delete")
    assert response.status_code == 303 and response.headers["Location"].endswith("/notices")
    assert reload(draft.id) is None
    assert action(client, published.id, "delete").status_code == 422
    assert reload(published.id) is not None


def test_a_publicity_notice_needs_its_period(world, signed_in):
    client = signed_in("staff_c1")
    c1 = str(world.communities["C1"].id)
    response = post_notice(client, category="publicity", community_ids=[c1])
    assert response.status_code == 422
    assert 'id="period-error"' in response.get_data(as_text=True)
    today = local_today()
    backwards = post_notice(
        client,
        category="publicity",
        community_ids=[c1],
        period_start=today.isoformat(),
        period_end=(today - timedelta(days=1)).isoformat(),
    )
    assert backwards.status_code == 422
    fine = post_notice(
        client,
        category="publicity",
        community_ids=[c1],
        period_start=today.isoformat(),
        period_end=(today + timedelta(days=7)).isoformat(),
    )
    assert fine.status_code == 303


def test_publicity_state_is_shown(world, signed_in):
    client = signed_in("staff_c1")
    ongoing = publicity_notice(world)
    today = local_today()
    ended = publicity_notice(
        world, period_start=today - timedelta(days=20), period_end=today - timedelta(days=13)
    )
    upcoming = publicity_notice(
        world, period_start=today + timedelta(days=1), period_end=today + timedelta(days=8)
    )
    for notice, badge in ((ongoing, "ongoing"), (ended, "ended"), (upcoming, "upcoming")):
        page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
        assert f"pbadge-{badge}" in page


# --- the publishing guard through the pages -----------------------------------------------------


def test_publishing_refuses_an_id_number_and_shows_where(world, signed_in):
    client = signed_in("staff_c1")
    c1 = str(world.communities["C1"].id)
    body = f"经核实，张三明（身份证{RESIDENT_ID}）符合条件。"
    notice_id = notice_id_from(post_notice(client, community_ids=[c1], body=body))
    response = action(client, notice_id, "publish")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    assert '<li data-kind="id_number" data-field="body">' in page
    assert "<mark>1101**********1235</mark>" in page
    warning = page.split('class="guard guard-blocked"')[1].split("</section>")[0]
    assert RESIDENT_ID not in warning  # the warning itself does not repeat the number
    assert reload(notice_id).status == NoticeStatus.DRAFT
    refusal = db.session.scalar(select(AuditLog).where(AuditLog.action == "notice_publish_refused"))
    assert refusal is not None and refusal.detail["kinds"] == ["id_number"]


def test_publishing_refuses_a_residents_mobile_in_the_title(world, signed_in):
    client = signed_in("street_s")
    notice_id = notice_id_from(
        post_notice(client, target="street", title="失物招领 联系13812345678")
    )
    response = action(client, notice_id, "publish")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<li data-kind="mobile" data-field="title">' in page
    assert "<mark>138****5678</mark>" in page
    assert reload(notice_id).status == NoticeStatus.DRAFT


def test_publishing_refuses_a_bank_card_number(world, signed_in):
    client = signed_in("street_s")
    notice_id = notice_id_from(
        post_notice(client, target="street", body="捐款账户：6222 0212 3456 7894（工商银行）")
    )
    response = action(client, notice_id, "publish")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<li data-kind="bank_card" data-field="body">' in page
    assert "<mark>6222********7894</mark>" in page


def test_a_grid_workers_published_work_phone_may_be_published(world, signed_in):
    client = signed_in("staff_c1")
    c1 = str(world.communities["C1"].id)
    body = f"如有疑问请联系网格员宋海波，电话{WORKER_PHONE}，或社区居委会027-87654321。"
    notice_id = notice_id_from(post_notice(client, community_ids=[c1], body=body))
    assert action(client, notice_id, "publish").status_code == 303


def test_the_staff_page_checks_a_draft_before_publishing(world, signed_in):
    client = signed_in("staff_c1")
    c1 = [world.communities["C1"]]
    clean = make_notice(world.users["staff_c1"], world.streets["S"], c1, status="draft")
    dirty = make_notice(
        world.users["staff_c1"], world.streets["S"], c1, status="draft", body="电话13812345678"
    )
    assert "guard-ok" in client.get(f"/notices/{clean.id}").get_data(as_text=True)
    assert "guard-blocked" in client.get(f"/notices/{dirty.id}").get_data(as_text=True)


# --- 公示 names ------------------------------------------------------------------------------


def test_publicity_names_are_masked_in_the_staff_preview(world, signed_in):
    client = signed_in("staff_c1")
    notice = publicity_notice(world, status="draft")
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    preview = page.split("notice-body")[1].split("</div>")[0]
    assert "张*明" in preview and "张三明" not in preview
    assert "赵*年" in preview  # not a resident, but in the 姓名 column
    assert "李*家庭" in preview  # a resident named in a sentence
    assert "宋海波" in preview  # the grid worker is public, not a resident
    assert "城市低保" in preview and "特此公示" in preview


def test_masking_rules_on_their_own():
    names = {"张三明", "李四", "欧阳小明"}
    body = "\n".join(
        [
            "序号\t姓名\t家庭人口\t保障类别",
            "1\t张三明\t3人\t低保",
            "2\t钱多多\t2人\t低保",
            "特此公示",
            "欧阳小明、李四两户另行公示。",
            "姓名：孙悟空、猪八戒",
        ]
    )
    masked = mask_publicity_text(body, names).split("\n")
    assert masked[1] == "1\t张*明\t3人\t低保"
    assert masked[2] == "2\t钱*多\t2人\t低保"
    assert masked[3] == "特此公示"
    assert masked[4] == f"{mask_name('欧阳小明')}、李*两户另行公示。"
    assert masked[5] == "姓名：孙*空、猪*戒"


# --- scope -------------------------------------------------------------------------------------


def test_community_staff_cannot_see_or_touch_another_communitys_notice(world, signed_in):
    other = make_notice(
        world.users["staff_c2"], world.streets["S"], [world.communities["C2"]], status="draft"
    )
    client = signed_in("staff_c1")
    assert client.get(f"/notices/{other.id}").status_code == 404
    assert client.get(f"/notices/{other.id}/edit").status_code == 404
    assert action(client, other.id, "publish").status_code == 404
    assert action(client, other.id, "delete").status_code == 404
    assert post_notice(client, f"/notices/{other.id}/edit").status_code == 404
    assert reload(other.id).status == NoticeStatus.DRAFT
    assert f"/notices/{other.id}" not in client.get("/notices").get_data(as_text=True)


def test_community_staff_read_but_cannot_edit_a_street_wide_notice(world, signed_in):
    street_wide = make_notice(world.users["street_s"], world.streets["S"], title="全街道通知")
    client = signed_in("staff_c1")
    assert client.get(f"/notices/{street_wide.id}").status_code == 200
    assert client.get(f"/notices/{street_wide.id}/edit").status_code == 404
    assert action(client, street_wide.id, "withdraw").status_code == 404


def test_community_staff_can_only_target_their_community(world, signed_in):
    client = signed_in("staff_c1")
    c2 = str(world.communities["C2"].id)
    assert post_notice(client, community_ids=[c2]).status_code == 422
    assert post_notice(client, target="street").status_code == 422
    assert db.session.scalar(select(Notice.id)) is None


def test_street_staff_see_every_community_of_their_street(world, signed_in):
    c1 = make_notice(
        world.users["staff_c1"], world.streets["S"], [world.communities["C1"]], title="一社区"
    )
    c2 = make_notice(
        world.users["staff_c2"], world.streets["S"], [world.communities["C2"]], title="二社区"
    )
    elsewhere = make_notice(
        world.users["staff_t"], world.streets["T"], [world.communities["C3"]], title="别街道"
    )
    client = signed_in("street_s")
    listing = client.get("/notices").get_data(as_text=True)
    assert f"/notices/{c1.id}" in listing and f"/notices/{c2.id}" in listing
    assert f"/notices/{elsewhere.id}" not in listing
    assert client.get(f"/notices/{c2.id}/edit").status_code == 303  # visible: view, not edit
    assert client.get(f"/notices/{elsewhere.id}").status_code == 404


def test_grid_workers_and_anonymous_visitors_have_no_notice_pages(world, signed_in, client):
    assert signed_in("worker_g1").get("/notices").status_code == 403
    response = client.get("/notices")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
