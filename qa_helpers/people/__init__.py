"""People: the coaching log and its effect, the training and QA programme (issue 14 parts 2 and 5).

The QA team keeps two registers beside ``actions.yml`` in the config folder, as CSV files a manager
edits in a spreadsheet (both optional):

``coaching.csv``
    one row per one-to-one session: ``session_id, agent_id, coach, date, topic, agreed_action,
    follow_up_date, follow_up_done`` and optionally ``kpi`` (what the session should move; the
    coaching rule's KPI when empty).
``training.csv``
    one row per trainee and course: ``course_id, course, date, hours, agent_id, score, passed`` and
    optionally ``certified``.

:mod:`qa_helpers.people.registers` reads and checks them (a bad cell is a one-line
:class:`~qa_helpers.errors.RegisterError` naming file, row and column); :mod:`~qa_helpers.people.coaching`
tracks sessions (open, overdue follow-ups, cases never coached) and tests whether each session worked;
:mod:`~qa_helpers.people.training` gives the programme's figures (pass rate, hours, certification, QA pass
rate and coverage) against their targets, the trainees' before/after and the non-KPI acceptance criteria.
"""
