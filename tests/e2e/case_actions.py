"""Finding an action's form on the case page: the action the status calls for is first and open
(section.next-action); the others sit under 更多操作, each in its own details box."""

from __future__ import annotations


def action_box(page, verb: str):
    """The form container of the action whose button says `verb`, opened if it was folded."""
    first = page.locator("section.next-action")
    if first.count() and first.locator("h2").inner_text().strip() == verb:
        return first
    more = page.locator("details.more-actions")
    if more.get_attribute("open") is None:
        more.locator("> summary").click()
    more.locator("details.action-box summary", has_text=verb).click()
    return more.locator("details.action-box[open]", has_text=verb)
