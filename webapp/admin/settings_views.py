"""Settings an admin changes: the care schedule's check intervals (DESIGN.md §3)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from webapp.admin import bp
from webapp.audit import record_audit
from webapp.auth.scope import role_required
from webapp.extensions import db
from webapp.models import Role
from webapp.rounds.care import (
    CARE_INTERVALS_KEY,
    DEFAULT_CARE_INTERVALS,
    MAX_INTERVAL_DAYS,
    care_intervals,
    save_care_intervals,
)

CARE_RULE_LABELS = {
    "living_alone_80_plus": _l("Living alone and aged 80 or over"),
    "living_alone_or_empty_nest": _l("Living alone or empty nest"),
    "age_80_plus": _l("Aged 80 or over"),
    "other_care": _l("Disabled, low income or special care"),
    "community_correction": _l("Community correction"),
    "severe_disability": _l("Severe disability (grade 1–2)"),
    "party_lost_contact": _l("Party member out of contact"),
    "veteran": _l("Veteran"),
}


class DaysField(IntegerField):
    """Whole days; says so in the user's language when the input is not a number."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_("Enter a whole number of days.")) from error


def _days_field(rule: str) -> DaysField:
    return DaysField(
        CARE_RULE_LABELS[rule],
        validators=[
            InputRequired(_l("Enter a number of days (0 turns the rule off).")),
            NumberRange(
                min=0,
                max=MAX_INTERVAL_DAYS,
                message=_l("Enter a number of days from 0 to 365."),
            ),
        ],
        render_kw={"min": 0, "max": MAX_INTERVAL_DAYS, "inputmode": "numeric"},
    )


class CareIntervalsForm(FlaskForm):
    living_alone_80_plus = _days_field("living_alone_80_plus")
    living_alone_or_empty_nest = _days_field("living_alone_or_empty_nest")
    age_80_plus = _days_field("age_80_plus")
    other_care = _days_field("other_care")
    community_correction = _days_field("community_correction")
    severe_disability = _days_field("severe_disability")
    party_lost_contact = _days_field("party_lost_contact")
    veteran = _days_field("veteran")

    def rule_fields(self):
        return [(getattr(self, rule), DEFAULT_CARE_INTERVALS[rule]) for rule in CARE_RULE_LABELS]


@bp.route("/settings/care", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def care_settings():
    """探访周期: how many days between elderly checks, per care rule."""
    form = CareIntervalsForm(data=care_intervals() if request.method == "GET" else None)
    if form.validate_on_submit():
        before = care_intervals()
        after = save_care_intervals({rule: getattr(form, rule).data for rule in CARE_RULE_LABELS})
        record_audit(
            "setting_changed",
            actor=current_user,
            target_type="setting",
            target_id=CARE_INTERVALS_KEY,
            before=before,
            after=after,
        )
        db.session.commit()
        return redirect(url_for("admin.care_settings", saved=1), 303)
    status = 422 if form.errors else 200
    return render_template(
        "admin/care_settings.html", form=form, saved=request.args.get("saved") == "1"
    ), status
