"""Staff pages for notices. Thin: the rules are in webapp.notices.services."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp import clock
from webapp.audit import record_audit
from webapp.auth.scope import role_required
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import Notice, NoticeAttachment, NoticeCategory, Role, User
from webapp.notices import bp, files, publicity, services
from webapp.notices.services import NoticeForm, NoticeState, PublishRefused
from webapp.ops import Invalid, OutOfScope

WRITERS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF)
STAFF_FILE_CACHE_CONTROL = "private, max-age=3600"


def _today(now):
    return now.astimezone(SHANGHAI).date()


def _notice_or_404(notice_id: int, editable: bool = False) -> Notice:
    """The notice, or an audited 404 that says nothing about it."""
    try:
        if editable:
            return services.get_editable_notice(current_user, notice_id)
        return services.get_notice(current_user, notice_id)
    except OutOfScope:
        record_audit(
            "access_denied", actor=current_user, target_type="notices", target_id=notice_id
        )
        db.session.commit()
        abort(404)


@bp.get("")
@role_required(*WRITERS)
def notice_list():
    raw_state = request.args.get("state", "")
    state = NoticeState(raw_state) if raw_state in NoticeState.__members__.values() else None
    now = clock.now()
    notices = services.staff_list(current_user, state, now)
    return render_template(
        "notices/list.html",
        notices=notices,
        state=state,
        states={n.id: services.state_of(n, now) for n in notices},
        publicity={n.id: services.publicity_state(n, _today(now)) for n in notices},
    )


def _form_page(notice: Notice | None, form: NoticeForm, errors: dict, findings=(), status=200):
    authority = services.authority_of(current_user)
    return (
        render_template(
            "notices/form.html",
            notice=notice,
            form=form,
            errors=errors,
            findings=findings,
            streets=services.writable_streets(authority),
            communities=services.writable_communities(authority),
            may_whole_street=bool(authority.street_ids),
            attachments=services.attachments_of(notice) if notice is not None else [],
            state=services.state_of(notice, clock.now()) if notice is not None else None,
        ),
        status,
    )


@bp.get("/new")
@role_required(*WRITERS)
def new_notice():
    authority = services.authority_of(current_user)
    form = NoticeForm(category=NoticeCategory.NOTICE)
    # Community staff can only write for their community: start with it ticked.
    if not authority.street_ids and len(authority.community_ids) == 1:
        form.community_ids = [str(next(iter(authority.community_ids)))]
    else:
        form.whole_street = bool(authority.street_ids)
    return _form_page(None, form, {})


@bp.post("/new")
@role_required(*WRITERS)
def create_notice():
    return _save(None)


@bp.get("/<int:notice_id>/edit")
@role_required(*WRITERS)
def edit_notice(notice_id: int):
    notice = _notice_or_404(notice_id, editable=True)
    if services.state_of(notice, clock.now()) not in (NoticeState.DRAFT, NoticeState.SCHEDULED):
        flash(_("Only drafts and scheduled notices can be edited."), "info")
        return redirect(url_for("notices.notice_page", notice_id=notice.id), 303)
    return _form_page(notice, NoticeForm.from_notice(notice), {})


@bp.post("/<int:notice_id>/edit")
@role_required(*WRITERS)
def update_notice(notice_id: int):
    return _save(_notice_or_404(notice_id, editable=True))


def _save(notice: Notice | None):
    form = NoticeForm.from_form(request.form)
    try:
        notice = services.save_notice(
            current_user, notice, form, request.files.getlist("attachments")
        )
        db.session.commit()
    except Invalid as error:
        db.session.rollback()
        return _form_page(notice, form, error.errors, status=422)
    except PublishRefused as refused:
        db.session.rollback()
        return _form_page(notice, form, {}, findings=refused.findings, status=422)
    if request.form.get("then") == "publish":
        return _publish(notice)
    flash(_("Saved."), "success")
    return redirect(url_for("notices.notice_page", notice_id=notice.id), 303)


@bp.get("/<int:notice_id>")
@role_required(*WRITERS)
def notice_page(notice_id: int):
    return _notice_view(_notice_or_404(notice_id))


def _notice_view(notice: Notice, refused: list | None = None, errors: dict | None = None):
    now = clock.now()
    state = services.state_of(notice, now)
    attachments = services.attachments_of(notice)
    findings = refused
    if findings is None and state in (NoticeState.DRAFT, NoticeState.SCHEDULED):
        findings = services.findings_for(notice, attachments, now)
    author = db.session.get(User, notice.author_id)
    return (
        render_template(
            "notices/view.html",
            notice=notice,
            state=state,
            publicity_state=services.publicity_state(notice, _today(now)),
            attachments=attachments,
            findings=findings or [],
            refused=refused is not None,
            errors=errors or {},
            public_body=publicity.masked_body(notice),
            may_edit=services.may_edit(current_user, notice),
            author=author,
            will_schedule=notice.publish_at is not None and notice.publish_at > now,
        ),
        422 if refused is not None or errors else 200,
    )


@bp.post("/<int:notice_id>/publish")
@role_required(*WRITERS)
def publish_notice(notice_id: int):
    return _publish(_notice_or_404(notice_id, editable=True))


def _publish(notice: Notice):
    try:
        services.publish(current_user, notice)
        db.session.commit()
    except PublishRefused as refused:
        db.session.commit()  # the refusal's audit row; the notice itself is unchanged
        return _notice_view(notice, refused=refused.findings)
    except Invalid as error:
        db.session.rollback()
        return _notice_view(notice, errors=error.errors)
    if services.state_of(notice, clock.now()) is NoticeState.SCHEDULED:
        flash(
            _(
                "Scheduled: residents will see it from %(when)s.",
                when=notice.publish_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            ),
            "success",
        )
    else:
        flash(_("Published. Residents can see it now."), "success")
    return redirect(url_for("notices.notice_page", notice_id=notice.id), 303)


@bp.post("/<int:notice_id>/withdraw")
@role_required(*WRITERS)
def withdraw_notice(notice_id: int):
    notice = _notice_or_404(notice_id, editable=True)
    try:
        services.withdraw(current_user, notice)
        db.session.commit()
    except Invalid as error:
        db.session.rollback()
        return _notice_view(notice, errors=error.errors)
    flash(_("Withdrawn. It is no longer on the public site."), "success")
    return redirect(url_for("notices.notice_page", notice_id=notice.id), 303)


@bp.post("/<int:notice_id>/delete")
@role_required(*WRITERS)
def delete_notice(notice_id: int):
    notice = _notice_or_404(notice_id, editable=True)
    try:
        services.delete_draft(current_user, notice)
        db.session.commit()
    except Invalid as error:
        db.session.rollback()
        return _notice_view(notice, errors=error.errors)
    flash(_("Draft deleted."), "success")
    return redirect(url_for("notices.notice_list"), 303)


@bp.get("/<int:notice_id>/files/<uuid:file_id>")
@role_required(*WRITERS)
def notice_file(notice_id: int, file_id: uuid.UUID):
    notice = _notice_or_404(notice_id)
    attachment = db.session.scalar(
        select(NoticeAttachment).where(
            NoticeAttachment.id == file_id, NoticeAttachment.notice_id == notice.id
        )
    )
    if attachment is None:
        abort(404)
    return files.send_notice_file(attachment, STAFF_FILE_CACHE_CONTROL)
