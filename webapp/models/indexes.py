"""Indexes for the query shapes of district-scale pages (DESIGN.md §10), kept beside each other so
the reason for each is in one place. Each names the page or command it serves.
"""

from sqlalchemy import Index

from webapp.models.cases import Case, CaseEvent
from webapp.models.people import Household
from webapp.models.records import Visit

# Worker home, "households not visited this quarter, first 5": one grid's households in walking
# order. Without it PostgreSQL walks the whole households-by-building index (75–172 ms at
# district scale) to find one grid's first five.
households_by_grid_and_building = Index(
    "ix_households_grid_id_building_id", Household.grid_id, Household.building_id
)

# The "not visited since the quarter began" anti-join and the last-visit dates: a household's
# visits by time, without reading two years of them.
visits_by_household_and_time = Index(
    "ix_visits_household_id_visited_at", Visit.household_id, Visit.visited_at
)

# Triage board and pulls: a scope's open cases, without the closed ones of two years.
cases_by_grid_and_status = Index("ix_cases_home_grid_id_status", Case.home_grid_id, Case.status)

# `sla tick`: active cases whose yellow threshold has passed.
cases_by_status_and_warning = Index("ix_cases_status_warn_at", Case.status, Case.warn_at)

# Supervision dashboards and the public page: the period's 办结 (`resolve`) and 回访
# (`follow_up`) entries. Without it both read all ~1.6 M timeline entries of a district
# (~300 ms each for one street-month).
case_events_by_action_and_time = Index("ix_case_events_action_at", CaseEvent.action, CaseEvent.at)

# Dashboards' visit coverage: an area's visits of the quarter, without reading every visit its
# grids ever had (~46,000 rows read to keep ~1,400 for one street-month).
visits_by_grid_and_time = Index("ix_visits_grid_id_visited_at", Visit.grid_id, Visit.visited_at)
