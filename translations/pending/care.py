# ruff: noqa: E501  (one translation per line reads better than wrapped strings)
"""Chinese for the strings of the care schedule, the worker home and its worklists, and the care
settings page. Merged into translations/zh_Hans_CN by `python scripts/i18n_fill.py <this file>`."""

ZH = {
    # worker home (templates/rounds/home.html)
    "Today at a glance": "今日概览",
    "Checks due": "到期探访",
    "%(n)d overdue": "逾期 %(n)d 人",
    "Cases waiting on me": "待我处理的事件",
    "Not visited this quarter": "本季度未走访",
    "Elderly checks due": "到期的老人探访",
    "See all %(n)d": "查看全部 %(n)d 条",
    "Grid overview": "网格概况",
    # due checks (templates/rounds/_due_checks.html, due_checks.html)
    "No checks are due today.": "今天没有到期的探访。",
    "You could visit the households you have not visited this quarter.": "可以去走访本季度还没走访的住户。",
    "Never checked": "从未探访",
    "Due today": "今天到期",
    "1 day overdue": "逾期1天",
    "%(n)d days overdue": "逾期%(n)d天",
    "Last check %(date)s": "上次探访 %(date)s",
    "every %(n)d days": "每%(n)d天一次",
    "Due today and overdue, the longest overdue first. Tap a name to open the household.": "今天到期和已逾期的探访，逾期最久的排在前面。点姓名打开该户。",
    # waiting cases (templates/rounds/_waiting_cases.html, waiting_cases.html)
    "No case is waiting on you.": "没有等待您处理的事件。",
    "Problems you record that cannot be settled on the spot will appear here.": "您登记的、现场未能解决的问题会显示在这里。",
    "Resolved: a follow-up visit is due": "已办结，待回访",
    "Due %(date)s": "限办 %(date)s",
    "Cases your grid is handling, and resolved cases waiting for your follow-up visit.": "本网格正在处理的事件，以及已办结、等您回访的事件。",
    # unvisited households (templates/rounds/_unvisited.html, unvisited.html)
    "Every household has been visited this quarter.": "本季度所有住户都已走访。",
    "Keep up the elderly checks and follow-up visits.": "请继续做好老人探访和回访。",
    "Last visit %(date)s": "上次走访 %(date)s",
    "Never visited": "从未走访",
    "%(n)d lived-in households have had no visit since %(date)s.": "%(date)s 以来，有 %(n)d 户在住住户还没有走访。",
    "Pages": "分页",
    "Previous": "上一页",
    "Next": "下一页",
    "Page %(page)d of %(pages)d": "第 %(page)d / %(pages)d 页",
    # care settings (webapp/admin/settings_views.py, templates/admin/care_settings.html)
    "Care check intervals": "探访周期",
    "Living alone and aged 80 or over": "独居且80岁以上",
    "Living alone or empty nest": "独居或空巢",
    "Aged 80 or over": "80岁以上",
    "Disabled, low income or special care": "残疾、低保或优抚对象",
    "Enter a whole number of days.": "请输入整数天数。",
    "Enter a number of days (0 turns the rule off).": "请输入天数（0 表示不启用该规则）。",
    "Enter a number of days from 0 to 365.": "请输入 0 到 365 之间的天数。",
    "How many days may pass between two checks on a resident. Where several rules apply, the shortest interval wins. 0 turns a rule off. Floating population and minors have no scheduled check.": "两次探访之间最多间隔多少天。一位居民同时符合几条规则时，按最短的周期。填 0 表示不启用该规则。流动人口和未成年人不安排定期探访。",
    "Saved. Due dates now follow the new intervals.": "已保存。到期日期已按新的周期计算。",
    "Please correct the fields marked below.": "请修改下面标出的内容。",
    "Default: %(n)d days": "默认 %(n)d 天",
    "Save": "保存",
}
