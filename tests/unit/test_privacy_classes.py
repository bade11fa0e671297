from webapp.models import Base, Privacy


def test_every_column_has_a_privacy_class():
    unclassified = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.info.get("privacy") not in set(Privacy)
    ]
    assert unclassified == []


def test_health_disability_id_numbers_and_low_income_are_sensitive():
    residents = Base.metadata.tables["residents"].columns
    for name in ("id_number", "disabled", "low_income", "notes"):
        assert residents[name].info["privacy"] == Privacy.SENSITIVE, name
    assert Base.metadata.tables["elderly_checks"].columns["health_notes"].info["privacy"] == (
        Privacy.SENSITIVE
    )


def test_names_and_phones_are_personal():
    residents = Base.metadata.tables["residents"].columns
    assert residents["name"].info["privacy"] == Privacy.PERSONAL
    assert residents["phone"].info["privacy"] == Privacy.PERSONAL
