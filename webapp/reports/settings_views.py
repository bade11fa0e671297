"""考评 grade thresholds, set by an admin (the lowest score of 好, 较好 and 一般)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange, ValidationError

from webapp.audit import record_audit
from webapp.auth.scope import role_required
from webapp.extensions import db
from webapp.models import Role
from webapp.reports import bp
from webapp.reports.evaluation import (
    GRADES_KEY,
    formula_text,
    grade_thresholds,
    save_grade_thresholds,
)


def _score_field(label) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(_l("Enter a score from 0 to 100.")),
            NumberRange(min=0, max=100, message=_l("Enter a score from 0 to 100.")),
        ],
        render_kw={"min": 0, "max": 100, "inputmode": "numeric"},
    )


class GradeThresholdsForm(FlaskForm):
    good = _score_field(_l("Lowest score for “Good”"))
    fairly_good = _score_field(_l("Lowest score for “Fairly good”"))
    average = _score_field(_l("Lowest score for “Average”"))

    def validate_average(self, field):
        values = [self.good.data, self.fairly_good.data, field.data]
        if None in values:
            return
        if not values[0] > values[1] > values[2]:
            raise ValidationError(_l("Each grade needs a lower score than the one above it."))


@bp.route("/admin/settings/evaluation", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def evaluation_settings():
    form = GradeThresholdsForm(data=grade_thresholds() if request.method == "GET" else None)
    if form.validate_on_submit():
        before = grade_thresholds()
        after = save_grade_thresholds(
            {
                "good": form.good.data,
                "fairly_good": form.fairly_good.data,
                "average": form.average.data,
            }
        )
        record_audit(
            "setting_changed",
            actor=current_user,
            target_type="setting",
            target_id=GRADES_KEY,
            before=before,
            after=after,
        )
        db.session.commit()
        return redirect(url_for("reports.evaluation_settings", saved=1), 303)
    return render_template(
        "reports/evaluation_settings.html",
        form=form,
        formula=formula_text(),
        saved=request.args.get("saved") == "1",
    ), (422 if form.errors else 200)
