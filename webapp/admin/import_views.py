"""导入台账: download the template, upload a filled one, read the preview, import. Admin and
community staff, each within their scope; the checking and the writing run off the request path
(webapp/admin/imports.py) and the page polls the job row."""

from __future__ import annotations

import uuid

from flask import abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.admin import bp, imports
from webapp.auth.scope import role_required
from webapp.extensions import db
from webapp.models import ImportStatus, RegisterImport

RUNNING = (ImportStatus.QUEUED, ImportStatus.CHECKING, ImportStatus.COMMITTING)
POLL_SECONDS = 1


def _own_job(job_id: uuid.UUID) -> RegisterImport:
    """An import is seen only by who uploaded it: its errors describe their register."""
    job = db.session.get(RegisterImport, job_id)
    if job is None or job.user_id != current_user.id:
        abort(404)
    return job


@bp.get("/imports")
@role_required(*imports.IMPORT_ROLES)
def imports_page():
    recent = db.session.scalars(
        db.select(RegisterImport)
        .where(RegisterImport.user_id == current_user.id)
        .order_by(RegisterImport.created_at.desc())
        .limit(10)
    ).all()
    return render_template("admin/imports.html", recent=recent, error=None)


@bp.get("/imports/template.xlsx")
@role_required(*imports.IMPORT_ROLES)
def import_template():
    response = make_response(imports.template_workbook(imports.import_scope(current_user)))
    response.headers["Content-Type"] = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response.headers["Content-Disposition"] = (
        "attachment; filename=register-template.xlsx; filename*=UTF-8''%E5%B1%85%E6%B0%91"
        "%E7%99%BB%E8%AE%B0%E6%A8%A1%E6%9D%BF.xlsx"
    )
    return response


@bp.post("/imports")
@role_required(*imports.IMPORT_ROLES)
def upload_import():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_error(_("Choose the filled-in .xlsx file."))
    data = upload.read(imports.MAX_BYTES + 1)
    try:
        job = imports.start_import(current_user, data, upload.filename)
    except imports.FileProblem as problem:
        db.session.rollback()
        return _upload_error(str(problem))
    db.session.commit()
    imports.run_in_background(job.id)
    return redirect(url_for("admin.import_page", job_id=job.id), 303)


def _upload_error(message: str):
    return render_template("admin/imports.html", recent=[], error=message), 422


@bp.get("/imports/<uuid:job_id>")
@role_required(*imports.IMPORT_ROLES)
def import_page(job_id: uuid.UUID):
    job = _own_job(job_id)
    context = {"job": job, "running": job.status in RUNNING, "poll_seconds": POLL_SECONDS}
    if request.headers.get("HX-Request"):
        return render_template("admin/_import_status.html", **context)
    return render_template("admin/import.html", **context)


@bp.post("/imports/<uuid:job_id>/commit")
@role_required(*imports.IMPORT_ROLES)
def commit_import(job_id: uuid.UUID):
    job = _own_job(job_id)
    if job.status != ImportStatus.READY:
        abort(409)
    imports.request_commit(current_user, job)
    db.session.commit()
    imports.run_in_background(job.id, commit=True)
    return redirect(url_for("admin.import_page", job_id=job.id), 303)
