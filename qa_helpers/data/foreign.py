"""Fixtures of three foreign export shapes a new user is likely to bring, generated, never copied.

None is the kit's own sample: English headers, durations in minutes, hours or ``mm:ss``, CSAT on the
ticket row, the team on the row and no roster, no complaints, field visits or QA reviews.

* :func:`write_helpdesk_export` — a ticket CSV shaped like the columns Zendesk Support documents for
  its ticket export and ticket metrics (``Id``, ``Requester``, ``Assignee``, ``Group``, ``Status``
  new/open/pending/hold/solved/closed, ``Priority`` low/normal/high/urgent, ``Via``, ``Satisfaction
  Score`` good/bad/offered/unoffered, ``Reopens``, ``Replies``, ``First reply time in minutes``,
  ``Full resolution time in minutes``, ``Requester wait time in minutes``...), plus the custom
  fields accounts typically add (an issue-category drop-down, a region, the Time Tracking app's
  ``Total time spent (sec)``).
* :func:`write_call_log` — a semicolon-delimited call-detail export of a contact-centre ACD, shaped
  like documented CDR / call-detail downloads (queue or skill per call, call start and end, queue
  wait as ``mm:ss``, ring time in seconds, talk time as ``h:mm:ss``, hold and after-call work in
  seconds, a duration in decimal-comma minutes, abandoned / transferred flags, a disposition, a
  post-call IVR survey 1-5 and a 0-10 recommendation question). It carries no agent column (some
  exports leave agent-level data out): the queue is the team.
* :func:`write_ticket_export_hours` — a ticket CSV shaped like a Freshdesk ticket export (``Ticket ID``,
  ``Source`` Email/Portal/Phone/Chat/Feedback Widget, ``Group`` names with spaces, times written day
  first, ``First response time (in hrs)``, ``Agent`` / ``Customer interactions``, ``Survey results``
  on a five-level text scale, the customer's ``Full name``, ``Email``, ``Contact ID`` and company).
  No ready mapping exists for it: it is the test of what ``qakit map`` drafts for an unknown shape.

All plant a known number of realistic defects and PII tokens and return them, so tests can hold
ingest to exact quarantine counts and check that no token reaches the archive. Names, e-mails
(``example.*`` domains) and phone numbers (the fictional 555-01xx range) are generated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

START, END = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-06-30 23:59:59")
EXPORTED_AT = pd.Timestamp("2025-07-01 08:00")  # unsolved tickets are the ones not solved by then

FIRST_NAMES = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
               "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
               "Carlos", "Maria", "Wei", "Priya", "Ahmed", "Fatima", "Kenji", "Olga", "Luis", "Grace"]
LAST_NAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
              "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin",
              "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King"]
ORGANIZATIONS = ["Northwind Traders", "Contoso Ltd", "Fabrikam Inc", "Tailspin Toys", "Litware Inc",
                 "Adventure Works", "Proseware", "Wide World Importers", "Blue Yonder Airlines", "Fourth Coffee",
                 "Alpine Ski House", "Coho Winery", "Lucerne Publishing", "Margie's Travel", "Trey Research"]
# Agents' names come from other pools than customers': an assignee never shares a customer's name.
AGENT_FIRST_NAMES = ["Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Drew",
                     "Reese", "Skyler", "Rowan", "Emerson"]
AGENT_LAST_NAMES = ["Rivera", "Nguyen", "Patel", "Kowalski", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva",
                    "Novak", "Haddad", "Brennan", "Castillo", "Ferreira"]
AREA_CODES = [206, 212, 312, 415, 617, 646, 713, 303]

# Zendesk group names are free text; these are path-safe because the kit uses team names as folder names.
HELPDESK_GROUPS = ["Billing", "Support", "Onboarding", "Escalations"]
HELPDESK_VIA = {"Email": 0.38, "Web form": 0.24, "Chat": 0.15, "Phone call (incoming)": 0.12,
                "Twitter": 0.03, "Facebook": 0.03, "Mobile": 0.05}
HELPDESK_CATEGORIES = {"Billing": 0.30, "Technical issue": 0.35, "How-to question": 0.20, "Account setup": 0.10,
                       "Other": 0.05}
HELPDESK_PRIORITIES = {"Low": 0.15, "Normal": 0.60, "High": 0.17, "Urgent": 0.04, "": 0.04}
HELPDESK_REGIONS = {"North America": 0.55, "EMEA": 0.25, "APAC": 0.15, "LATAM": 0.05}
HELPDESK_COLUMNS = [
    "Id", "Requester", "Requester id", "Requester email", "Organization", "Assignee", "Group", "Subject",
    "Description", "Tags", "Status", "Priority", "Via", "Ticket type", "Issue category", "Region",
    "Created at", "Updated at", "Assigned at", "Solved at", "Resolution time", "Satisfaction Score",
    "Satisfaction Comment", "Group stations", "Assignee stations", "Reopens", "Replies",
    "First reply time in minutes", "First resolution time in minutes", "Full resolution time in minutes",
    "Agent wait time in minutes", "Requester wait time in minutes", "On hold time in minutes",
    "Total time spent (sec)",
]
HELPDESK_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Minutes to first reply (median, log-sd) and from first reply to solve, by channel.
FIRST_REPLY_MIN = {"Email": (150, 0.9), "Web form": (200, 0.9), "Chat": (2, 0.7), "Phone call (incoming)": (0, 0),
                   "Twitter": (60, 0.8), "Facebook": (60, 0.8), "Mobile": (180, 0.9)}
SOLVE_MIN = {"Email": (600, 1.2), "Web form": (700, 1.2), "Chat": (30, 1.0), "Phone call (incoming)": (20, 1.0),
             "Twitter": (300, 1.1), "Facebook": (300, 1.1), "Mobile": (600, 1.2)}
SUBJECTS = {
    "Billing": ["Charged twice this month", "Question about my invoice", "Refund request", "Wrong amount billed"],
    "Technical issue": ["Cannot log in", "App crashes on start", "Sync not working", "Error 500 on checkout"],
    "How-to question": ["How do I export my data?", "Where can I change my plan?", "How to add a user"],
    "Account setup": ["Need help setting up my account", "Activation link expired", "Onboarding call"],
    "Other": ["Feedback", "Partnership enquiry", "General question"],
}
DESCRIPTIONS = {
    "Billing": ["I was charged twice for the same subscription, please refund one of the payments.",
                "The invoice for last month shows a higher amount than my plan."],
    "Technical issue": ["Since the last update I cannot log in, the page keeps reloading.",
                        "The app crashes right after the splash screen.\nReinstalling did not help."],
    "How-to question": ["How can I export all my records to a spreadsheet?",
                        "I would like to upgrade my plan but cannot find the option."],
    "Account setup": ["The activation e-mail never arrived, can you resend it?",
                      "We are a new customer and need help configuring the account."],
    "Other": ["Just wanted to share some feedback about the new design.", "Who can I talk to about a partnership?"],
}
GOOD_COMMENTS = ["Quick and friendly, thanks!", "Solved my problem.", "Great support."]
BAD_COMMENTS = ["Took far too long.", "Still not fixed.", "Nobody called me back."]

CALL_QUEUES = {"Billing": 0.30, "Tech_Support": 0.40, "Sales": 0.15, "Retention": 0.15}
IVR_OPTIONS = {"1 Billing": 0.3, "2 Technical support": 0.38, "3 Orders": 0.14, "4 New connection": 0.1,
               "0 Operator": 0.08}
DISPOSITIONS = {"Resolved": 0.45, "Information given": 0.20, "Callback promised": 0.10,
                "Escalated to tier 2": 0.10, "Not resolved": 0.10, "Wrong number": 0.05}
CALL_NOTES = ["Customer asked about the last bill.", "Reset the router remotely, works now.",
              "Explained the tariff options.", "Promised a callback tomorrow.", "Escalated, ticket opened.", ""]
CALL_LOG_COLUMNS = [
    "Call ID", "Start time", "End time", "Direction", "Queue", "Caller number", "Dialed number", "IVR option",
    "Language", "Queue wait (mm:ss)", "Ring time (s)", "Talk time", "Hold time (s)", "ACW (s)", "Duration (min)",
    "Abandoned", "Transferred", "Disposition", "Survey score", "Survey NPS", "Notes",
]
CALL_TIME_FORMAT = "%d.%m.%Y %H:%M:%S"
CENTRE_NUMBER = "+1 800 555 0100"


# ---------------------------------------------------------------- shared pieces

def _pick(rng: np.random.Generator, weights: dict, n: int) -> np.ndarray:
    keys = list(weights)
    p = np.array(list(weights.values()), dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), n, p=p / p.sum())]


def _times(rng: np.random.Generator, n: int) -> pd.Series:
    """Creation times in the first half of 2025, busier on weekdays and in office hours, sorted."""
    days = pd.date_range(START, END.normalize(), freq="D")
    weekday = np.array([1.2, 1.1, 1.05, 1.0, 0.95, 0.45, 0.35])[days.day_of_week]
    hours = np.array([1, 1, 1, 1, 1, 2, 4, 12, 35, 55, 60, 52, 38, 45, 55, 55, 48, 36, 26, 18, 12, 8, 4, 2], float)
    day = rng.choice(len(days), n, p=weekday / weekday.sum())
    hour = rng.choice(24, n, p=hours / hours.sum())
    seconds = rng.integers(0, 3600, n)
    stamps = days.values[day] + (hour * 3600 + seconds).astype("timedelta64[s]")
    return pd.Series(np.sort(stamps)).astype("datetime64[s]")


def _lognormal(rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return np.asarray(median, float) * np.exp(rng.normal(0.0, 1.0, len(median)) * np.asarray(sigma, float))


def _fmt(times: pd.Series, fmt: str) -> pd.Series:
    return times.dt.strftime(fmt).fillna("")


def _phone(rng: np.random.Generator) -> tuple[str, str]:
    """A fictional US number (555-01xx) in one of the ways people write it, and its ten digits."""
    area, line = int(rng.choice(AREA_CODES)), int(rng.integers(100, 200))
    digits = f"{area}5550{line:03d}"
    shapes = [f"({area}) 555-0{line:03d}", f"{area}-555-0{line:03d}", f"+1 {area} 555 0{line:03d}",
              f"{area}.555.0{line:03d}"]
    return shapes[int(rng.integers(len(shapes)))], digits


def _insert_copies(rng: np.random.Generator, frame: pd.DataFrame, sources: list[int]) -> pd.DataFrame:
    """Exact copies of the rows at ``sources``, each inserted somewhere after its original (an export
    paged twice over the same rows)."""
    rows = frame.to_dict("records")
    for source in sorted(sources, reverse=True):
        at = int(rng.integers(source + 1, len(rows) + 1))
        rows.insert(at, dict(rows[source]))
    return pd.DataFrame(rows, columns=frame.columns)


def _disjoint(rng: np.random.Generator, eligible: np.ndarray, counts: dict[str, int],
              taken: set[int]) -> dict[str, np.ndarray]:
    """Positions for each kind of defect, drawn from ``eligible`` and never sharing a row."""
    pool = np.array([i for i in np.flatnonzero(eligible) if i not in taken])
    chosen = rng.choice(pool, sum(counts.values()), replace=False)
    out, start = {}, 0
    for kind, k in counts.items():
        out[kind] = np.sort(chosen[start:start + k])
        start += k
    taken.update(int(i) for i in chosen)
    return out


# ---------------------------------------------------------------- the help-desk ticket export

def _customers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    first = rng.choice(FIRST_NAMES, n)
    last = rng.choice(LAST_NAMES, n)
    org = np.where(rng.random(n) < 0.35, rng.choice(ORGANIZATIONS, n), "")
    domain = np.where(org != "", "example.com", rng.choice(["example.org", "example.net"], n))
    return pd.DataFrame({
        "name": [f"{f} {s}" for f, s in zip(first, last)],
        "first": first, "last": last,
        "id": [str(361_000_000_000 + 7919 * k) for k in range(n)],
        "email": [f"{f.lower()}.{s.lower()}{k}@{d}" for k, (f, s, d) in enumerate(zip(first, last, domain))],
        "organization": org,
    })


def _agents(rng: np.random.Generator) -> tuple[list[str], dict[str, list[str]]]:
    """Assignees and the groups they take tickets in; four of them work in two groups."""
    names = [f"{f} {s}" for f, s in zip(rng.choice(AGENT_FIRST_NAMES, 14, replace=False),
                                         rng.choice(AGENT_LAST_NAMES, 14, replace=False))]
    groups = {}
    for i, name in enumerate(names):
        home = HELPDESK_GROUPS[i % len(HELPDESK_GROUPS)]
        groups[name] = [home] + ([HELPDESK_GROUPS[(i + 1) % len(HELPDESK_GROUPS)]] if i < 4 else [])
    return names, groups


def write_helpdesk_export(path: str | Path, n: int = 2000, seed: int = 0) -> dict:
    """Write a Zendesk-style ticket export (CSV, UTF-8, comma, English headers) with planted defects.

    One row per ticket: requester name, id and e-mail; assignee and group (team on the row, no roster;
    four assignees work in two groups); status, priority, channel (``Via``), an issue category and a
    region; created / updated / assigned / solved times; satisfaction score (Good, Bad, Offered,
    Unoffered) and comment on the row; reopens, replies and durations in minutes (first reply, first
    and full resolution, agent and requester wait, on hold), ``Resolution time`` in hours and the Time
    Tracking app's ``Total time spent (sec)``. Descriptions can span lines.

    Planted (on distinct rows): tickets solved before they were created, an unknown priority
    (``Critical``), a blank ``Id`` on a rated ticket, exact duplicate rows (one of them rated), and
    the real-life case of *New* tickets nobody has picked up yet (no assignee, no reply).

    Parameters
    ----------
    path : path-like
        The CSV file to write (its folder is created).
    n : int
        Rows in the file, duplicates included.
    seed : int
        Same seed, same bytes.

    Returns
    -------
    dict
        ``rows`` (data rows in the file), ``columns``, ``planted`` (per source ``tickets`` /
        ``surveys``: count of each defect kind that reaches that source), ``rated`` (rows with a
        Good / Bad score, the survey source's raw rows), ``new_tickets`` and ``pii`` (each planted
        token with its column and kind).
    """
    rng = np.random.default_rng(seed)
    n_copies = 2
    m = n - n_copies
    customers = _customers(rng, max(50, m // 3))
    agents, agent_groups = _agents(rng)

    created = _times(rng, m)
    via = _pick(rng, HELPDESK_VIA, m)
    category = _pick(rng, HELPDESK_CATEGORIES, m)
    who = rng.integers(0, len(customers), m)
    assignee = rng.choice(agents, m)
    group = np.array([agent_groups[a][0] if len(agent_groups[a]) == 1 or rng.random() < 0.7 else agent_groups[a][1]
                      for a in assignee], dtype=object)
    frt_median = np.array([FIRST_REPLY_MIN[v][0] for v in via], float)
    frt = np.round(_lognormal(rng, frt_median, [FIRST_REPLY_MIN[v][1] for v in via]))
    solve = _lognormal(rng, [SOLVE_MIN[v][0] for v in via], [SOLVE_MIN[v][1] for v in via])
    reopens = np.where(rng.random(m) < 0.08, 1 + (rng.random(m) < 0.12), 0)
    solve = solve * (1 + 1.5 * reopens)
    solved = created + pd.to_timedelta(np.round((frt + solve) * 60), unit="s")

    status = np.where(solved + pd.Timedelta(days=4) <= EXPORTED_AT, "Closed", "Solved").astype(object)
    unsolved = (solved > EXPORTED_AT).to_numpy() | (rng.random(m) < 0.05)
    status[unsolved] = rng.choice(["Open", "Pending", "Hold"], int(unsolved.sum()), p=[0.5, 0.35, 0.15])
    # New: created in the export's last two days and not picked up by anyone yet.
    new = ((EXPORTED_AT - created) < pd.Timedelta(days=2)).to_numpy() & (rng.random(m) < 0.5)
    status[new] = "New"
    is_solved = np.isin(status, ["Solved", "Closed"])
    # Reopened tickets that are open again keep the time of their earlier solve.
    keeps_old_solve = unsolved & ~new & (reopens > 0)

    score = np.full(m, "Unoffered", dtype=object)
    offered = is_solved & (rng.random(m) < 0.75)
    score[offered] = "Offered"
    hours = ((solved - created).dt.total_seconds() / 3600).to_numpy()
    p_good = 1 / (1 + np.exp(-(2.6 - 1.4 * reopens - 0.25 * np.log1p(hours))))
    answered = offered & (rng.random(m) < 0.35)
    score[answered] = np.where(rng.random(int(answered.sum())) < p_good[answered], "Good", "Bad")
    comment = np.full(m, "", dtype=object)
    commented = answered & (rng.random(m) < 0.45)
    comment[commented] = [str(rng.choice(GOOD_COMMENTS if s == "Good" else BAD_COMMENTS)) for s in score[commented]]

    cust = customers.iloc[who].reset_index(drop=True)
    priority = _pick(rng, HELPDESK_PRIORITIES, m)
    full_min = np.round((solved - created).dt.total_seconds().to_numpy() / 60)
    first_res = np.where(reopens > 0, np.round(full_min * rng.uniform(0.2, 0.6, m)), full_min)
    spent = np.round(_lognormal(rng, np.where(via == "Chat", 600, 420), np.full(m, 0.7)) + 300 * reopens)
    updated = np.where(status == "Closed", solved + pd.Timedelta(days=4) + pd.to_timedelta(rng.integers(0, 7200, m), "s"),
                       np.where(is_solved, solved + pd.to_timedelta(rng.integers(0, 86400, m), "s"),
                                created + (EXPORTED_AT - created) * rng.uniform(0.1, 0.9, m)))
    updated = pd.Series(updated).astype("datetime64[s]").clip(upper=EXPORTED_AT)
    assigned = created + pd.to_timedelta(np.minimum(frt * 60, rng.integers(30, 1800, m)), unit="s")

    def minutes(values: np.ndarray, present: np.ndarray) -> list[str]:
        return [str(int(v)) if p else "" for v, p in zip(values, present)]

    def description(c: str) -> str:
        return str(rng.choice(DESCRIPTIONS[c]))

    frame = pd.DataFrame({
        "Id": "",  # numbered below, in creation order
        "Requester": cust["name"], "Requester id": cust["id"], "Requester email": cust["email"],
        "Organization": cust["organization"],
        "Assignee": np.where(new, "", assignee), "Group": np.where(new, "", group),
        "Subject": [str(rng.choice(SUBJECTS[c])) for c in category],
        "Description": [description(c) for c in category],
        "Tags": [" ".join(t for t in (c.lower().replace(" ", "_").replace("-", "_"),
                                       "vip" if rng.random() < 0.05 else "") if t) for c in category],
        "Status": status, "Priority": priority, "Via": via,
        "Ticket type": np.where(category == "Technical issue", "Incident",
                                np.where(category == "Billing", "Problem", "Question")),
        "Issue category": category, "Region": _pick(rng, HELPDESK_REGIONS, m),
        "Created at": _fmt(created, HELPDESK_TIME_FORMAT),
        "Updated at": _fmt(updated, HELPDESK_TIME_FORMAT),
        "Assigned at": np.where(new, "", _fmt(assigned, HELPDESK_TIME_FORMAT)),
        "Solved at": np.where(is_solved | keeps_old_solve, _fmt(solved, HELPDESK_TIME_FORMAT), ""),
        "Resolution time": minutes(np.round(full_min / 60), is_solved),
        "Satisfaction Score": score, "Satisfaction Comment": comment,
        "Group stations": np.where(new, "0", np.where(group != np.array([agent_groups[a][0] for a in assignee]),
                                                      "2", "1")),
        "Assignee stations": np.where(new, "0", (1 + (rng.random(m) < 0.1)).astype(str)),
        "Reopens": reopens.astype(str),
        "Replies": np.where(new, 0, 1 + rng.poisson(0.8, m) + reopens).astype(str),
        "First reply time in minutes": minutes(frt, ~new),
        "First resolution time in minutes": minutes(first_res, is_solved),
        "Full resolution time in minutes": minutes(full_min, is_solved),
        "Agent wait time in minutes": minutes(np.round(solve * 0.4), is_solved),
        "Requester wait time in minutes": minutes(np.round(frt + solve * 0.5), is_solved),
        "On hold time in minutes": minutes(np.where(rng.random(m) < 0.1, np.round(solve * 0.2), 0), is_solved),
        "Total time spent (sec)": minutes(spent, ~new),
    })
    frame["Id"] = [str(48_213 + i) for i in range(m)]

    # ---- defects, each on its own clean rows
    taken: set[int] = set(np.flatnonzero(new).tolist())
    rated = np.isin(score, ["Good", "Bad"])
    defects = _disjoint(rng, is_solved & ~rated, {"solved_before_created": 3, "unknown_priority": 2}, taken)
    defects |= _disjoint(rng, rated, {"blank_id": 1}, taken)
    for i in defects["solved_before_created"]:
        # a migration artefact: the solve stamp lands before creation; Zendesk leaves the metrics empty then
        frame.loc[i, "Solved at"] = (created[i] - pd.Timedelta(hours=int(rng.integers(2, 72)))).strftime(
            HELPDESK_TIME_FORMAT)
        frame.loc[i, ["Full resolution time in minutes", "First resolution time in minutes", "Resolution time"]] = ""
    frame.loc[defects["unknown_priority"], "Priority"] = "Critical"
    frame.loc[defects["blank_id"], "Id"] = ""

    # ---- PII in free text: phone numbers, e-mails, the requester's name in capitals or as "Last, First"
    pii = []
    clean = np.array([i for i in range(m) if i not in taken and not new[i]])
    kinds = ["phone", "email", "name_upper", "name_last_first"]
    for k, i in enumerate(np.sort(rng.choice(clean, max(8, m // 40), replace=False))):
        kind = kinds[k % len(kinds)]
        if kind == "phone":
            token, _ = _phone(rng)
            text = f"Please call me back at {token} after 5pm."
        elif kind == "email":
            token = f"{cust.loc[i, 'first'].lower()}.home{int(rng.integers(10, 99))}@example.net"
            text = f"You can also reach me at {token}."
        elif kind == "name_upper":
            token = cust.loc[i, "name"].upper()
            text = f"THIS IS {token} AGAIN, STILL WAITING."
        else:
            token = f"{cust.loc[i, 'last']}, {cust.loc[i, 'first']}"
            text = f"Account holder: {token}."
        frame.loc[i, "Description"] = f"{text} {frame.loc[i, 'Description']}"
        pii.append({"column": "Description", "kind": kind, "token": token})
    for i in np.sort(rng.choice(np.array([i for i in np.flatnonzero(commented) if i not in taken]), 4, replace=False)):
        token, _ = _phone(rng)
        frame.loc[i, "Satisfaction Comment"] = f"{frame.loc[i, 'Satisfaction Comment']} Call me on {token}."
        pii.append({"column": "Satisfaction Comment", "kind": "phone", "token": token})

    # ---- exact duplicates: one rated, one not, never of a defect row
    sources = [int(rng.choice([i for i in np.flatnonzero(rated) if i not in taken])),
               int(rng.choice([i for i in np.flatnonzero(is_solved & ~rated) if i not in taken]))]
    frame = _insert_copies(rng, frame, sources)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame[HELPDESK_COLUMNS].to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    n_rated = int(frame["Satisfaction Score"].isin(["Good", "Bad"]).sum())
    return {
        "file": str(path), "rows": len(frame), "columns": list(HELPDESK_COLUMNS),
        "planted": {
            "tickets": {"solved_before_created": 3, "unknown_priority": 2, "blank_id": 1, "duplicate_row": 2,
                        "new_unassigned": int(new.sum())},
            "surveys": {"blank_id": 1, "duplicate_row": 1},
        },
        "rated": n_rated, "new_tickets": int(new.sum()), "pii": pii,
        "groups": sorted(set(frame["Group"]) - {""}),
        "agents_in_two_groups": sorted(a for a, g in agent_groups.items() if len(g) == 2),
    }


# ---------------------------------------------------------------- the contact-centre call log

def _mmss(seconds: np.ndarray) -> list[str]:
    seconds = np.minimum(np.round(seconds).astype(int), 59 * 60 + 59)
    return [f"{s // 60:02d}:{s % 60:02d}" for s in seconds]


def _hmmss(seconds: np.ndarray) -> list[str]:
    seconds = np.round(seconds).astype(int)
    return [f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" for s in seconds]


def write_call_log(path: str | Path, n: int = 2000, seed: int = 0) -> dict:
    """Write a contact-centre call-detail export (CSV, UTF-8 with BOM, ``;``-delimited) with planted defects.

    One row per call: an Asterisk-style unique id, start and end as ``dd.mm.yyyy HH:MM:SS``, direction,
    queue (the team; there is no agent column), caller and dialled number, IVR menu option, language,
    queue wait ``mm:ss``, ring time in seconds, talk time ``h:mm:ss``, hold and after-call work in
    seconds, duration in decimal-comma minutes, abandoned and transferred ``Y``/``N``, a disposition,
    the post-call IVR survey (1-5) and a 0-10 recommendation score, and agent notes. Callers who
    withhold their number show as ``anonymous``.

    Planted (on distinct rows): calls that end before they start, an IVR option added mid-period that
    no mapping knows (``7 Promotions``), a blank ``Call ID`` on a surveyed call, survey keypad presses
    outside 1-5, exact duplicate rows (one of them surveyed); abandoned calls are counted too.

    Parameters
    ----------
    path : path-like
        The file to write.
    n : int
        Rows in the file, duplicates included.
    seed : int
        Same seed, same bytes.

    Returns
    -------
    dict
        ``rows``, ``columns``, ``planted`` per source (``tickets`` = answered calls, ``surveys`` =
        surveyed calls), ``answered`` and ``abandoned`` row counts, ``surveyed`` (rows with a survey
        score, the survey source's raw rows) and ``pii``.
    """
    rng = np.random.default_rng(seed + 7_777)
    n_copies = 2
    m = n - n_copies
    start = _times(rng, m)
    numbers = [_phone(rng) for _ in range(max(50, m // 4))]
    who = rng.integers(0, len(numbers), m)
    outbound = rng.random(m) < 0.06
    withheld = ~outbound & (rng.random(m) < 0.03)
    abandoned = ~outbound & (rng.random(m) < 0.09)
    answered = ~abandoned

    def shape(i: int) -> str:  # the same customer's number as different switches write it
        digits = numbers[who[i]][1]
        forms = [f"+1{digits}", digits, f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}"]
        return forms[int(rng.integers(len(forms)))]

    customer = [shape(i) for i in range(m)]
    caller = np.where(outbound, CENTRE_NUMBER, np.where(withheld, "anonymous", customer))
    dialed = np.where(outbound, customer, CENTRE_NUMBER)
    wait = np.where(outbound, 0, _lognormal(rng, np.full(m, 45.0), np.full(m, 1.0)))
    wait = np.where(abandoned, _lognormal(rng, np.full(m, 90.0), np.full(m, 0.8)), wait)
    ring = np.where(answered, rng.integers(3, 21, m), 0)
    talk = np.where(answered, _lognormal(rng, np.full(m, 300.0), np.full(m, 0.6)), 0)
    hold = np.where(answered & (rng.random(m) < 0.3), _lognormal(rng, np.full(m, 60.0), np.full(m, 0.7)), 0)
    acw = np.where(answered, _lognormal(rng, np.full(m, 45.0), np.full(m, 0.5)), 0)
    wait, talk, hold, acw = (np.round(x) for x in (np.minimum(wait, 3599), talk, hold, acw))
    end = start + pd.to_timedelta(wait + ring + talk + hold, unit="s")
    disposition = np.where(answered, _pick(rng, DISPOSITIONS, m), "Abandoned")
    transferred = answered & (rng.random(m) < 0.08)
    surveyed = answered & ~outbound & (disposition != "Wrong number") & (rng.random(m) < 0.22)
    good = np.isin(disposition, ["Resolved", "Information given"]) & ~transferred
    score = np.where(good, rng.choice([1, 2, 3, 4, 5], m, p=[.03, .04, .11, .32, .50]),
                     rng.choice([1, 2, 3, 4, 5], m, p=[.18, .17, .25, .25, .15]))
    nps = np.clip(np.round(score * 2 - rng.normal(0.5, 1.2, m)), 0, 10).astype(int)
    takes_nps = surveyed & (rng.random(m) < 0.75)
    notes = np.where(answered, rng.choice(CALL_NOTES, m), "")

    frame = pd.DataFrame({
        "Call ID": [f"{int(t.timestamp())}.{4000 + i}" for i, t in enumerate(start)],
        "Start time": _fmt(start, CALL_TIME_FORMAT), "End time": _fmt(end, CALL_TIME_FORMAT),
        "Direction": np.where(outbound, "Outbound", "Inbound"),
        "Queue": _pick(rng, CALL_QUEUES, m), "Caller number": caller, "Dialed number": dialed,
        "IVR option": np.where(outbound, "", _pick(rng, IVR_OPTIONS, m)),
        "Language": np.where(rng.random(m) < 0.2, "ES", "EN"),
        "Queue wait (mm:ss)": _mmss(wait), "Ring time (s)": ring.astype(int).astype(str),
        "Talk time": _hmmss(talk), "Hold time (s)": hold.astype(int).astype(str),
        "ACW (s)": acw.astype(int).astype(str),
        "Duration (min)": [f"{v:.2f}".replace(".", ",") for v in (wait + ring + talk + hold) / 60],
        "Abandoned": np.where(abandoned, "Y", "N"), "Transferred": np.where(transferred, "Y", "N"),
        "Disposition": disposition,
        "Survey score": np.where(surveyed, score.astype(str), ""),
        "Survey NPS": np.where(takes_nps, nps.astype(str), ""),
        "Notes": notes,
    })
    # Outbound callbacks have no IVR menu: they are filed under the operator option.
    frame.loc[outbound, "IVR option"] = "0 Operator"

    taken: set[int] = set()
    plain = answered & ~surveyed
    resolved = np.isin(disposition, ["Resolved", "Information given"])  # only these calls have a resolution time
    defects = _disjoint(rng, plain & resolved, {"ends_before_start": 3}, taken)
    defects |= _disjoint(rng, plain, {"unknown_ivr_option": 2}, taken)
    defects |= _disjoint(rng, surveyed, {"blank_id": 1, "survey_out_of_range": 2}, taken)
    for i in defects["ends_before_start"]:
        # the switch wrote the end in the wrong clock (one hour back) for a short call
        frame.loc[i, "End time"] = (start[i] - pd.Timedelta(minutes=int(rng.integers(5, 55)))).strftime(CALL_TIME_FORMAT)
    frame.loc[defects["unknown_ivr_option"], "IVR option"] = "7 Promotions"
    frame.loc[defects["blank_id"], "Call ID"] = ""
    frame.loc[defects["survey_out_of_range"], "Survey score"] = ["9", "0"]

    pii = []
    clean = np.array([i for i in np.flatnonzero(answered) if i not in taken])
    for k, i in enumerate(np.sort(rng.choice(clean, max(6, m // 50), replace=False))):
        if k % 2 == 0:
            token, _ = _phone(rng)
            text = f"Caller gave a new contact number {token}."
        else:
            token = f"{str(rng.choice(FIRST_NAMES)).lower()}{int(rng.integers(10, 99))}@example.org"
            text = f"Send the confirmation to {token}."
        frame.loc[i, "Notes"] = f"{text} {frame.loc[i, 'Notes']}".strip()
        pii.append({"column": "Notes", "kind": "phone" if k % 2 == 0 else "email", "token": token})

    sources = [int(rng.choice([i for i in np.flatnonzero(surveyed) if i not in taken])),
               int(rng.choice([i for i in np.flatnonzero(plain) if i not in taken]))]
    frame = _insert_copies(rng, frame, sources)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame[CALL_LOG_COLUMNS].to_csv(path, index=False, sep=";", encoding="utf-8-sig", lineterminator="\n")
    is_answered = frame["Abandoned"].eq("N")
    return {
        "file": str(path), "rows": len(frame), "columns": list(CALL_LOG_COLUMNS),
        "planted": {
            "tickets": {"ends_before_start": 3, "unknown_ivr_option": 2, "blank_id": 1, "duplicate_row": 2},
            "surveys": {"blank_id": 1, "survey_out_of_range": 2, "duplicate_row": 1},
        },
        "answered": int(is_answered.sum()), "abandoned": int((~is_answered).sum()),
        "surveyed": int(frame["Survey score"].ne("").sum()),
        "withheld": int(frame["Caller number"].eq("anonymous").sum()),
        "queues": sorted(set(frame["Queue"])), "pii": pii,
    }


# ---------------------------------------------------------------- a ticket export with durations in hours

# Freshdesk-style group names are free text with spaces: the draft must make them path-safe.
HOURS_GROUPS = ["Tier 1 Support", "Billing Desk", "Technical Escalations", "VIP & Key Accounts"]
HOURS_SOURCES = {"Email": 0.34, "Portal": 0.22, "Phone": 0.16, "Chat": 0.12, "Feedback Widget": 0.06,
                 "Outbound Email": 0.04, "Twitter": 0.03, "Facebook": 0.03}
HOURS_TYPES = {"Question": 0.35, "Incident": 0.28, "Problem": 0.10, "Refund": 0.17, "Feature Request": 0.10}
HOURS_PRIORITIES = {"Low": 0.25, "Medium": 0.45, "High": 0.22, "Urgent": 0.08}
HOURS_PRODUCTS = {"Fibre Broadband": 0.45, "Mobile Plan": 0.35, "TV Package": 0.20}
# hours to the first response (median, log-sd) by source; hours from there to the resolution
FIRST_RESPONSE_H = {"Email": (3.0, 0.9), "Portal": (4.0, 0.9), "Phone": (0.05, 0.5), "Chat": (0.03, 0.6),
                    "Feedback Widget": (6.0, 0.8), "Outbound Email": (0.5, 0.6), "Twitter": (1.5, 0.8),
                    "Facebook": (1.5, 0.8)}
SURVEY_SCALE = ["Extremely satisfied", "Satisfied", "Neutral", "Not satisfied", "Extremely dissatisfied"]
DUE_HOURS = {"Urgent": 4, "High": 8, "Medium": 24, "Low": 48}
HOURS_NOTES = ["Asked for the invoice to be resent.", "Router restarted remotely.", "Escalated to the network team.",
               "Waiting for the customer's screenshots.", "Refund approved by billing.", "", "", ""]
HOURS_COLUMNS = [
    "Ticket ID", "Subject", "Status", "Priority", "Source", "Type", "Agent", "Group", "Created time", "Due by Time",
    "Resolved time", "Closed time", "Last updated time", "First response time (in hrs)", "Resolution time (in hrs)",
    "Agent interactions", "Customer interactions", "Resolution status", "Survey results", "Product", "Full name",
    "Email", "Contact ID", "Company Name", "Internal note",
]
HOURS_TIME_FORMAT = "%d-%m-%Y %H:%M:%S"  # day first


def write_ticket_export_hours(path: str | Path, n: int = 2000, seed: int = 0) -> dict:
    """Write a Freshdesk-style ticket export (CSV, UTF-8, comma) with durations in hours and planted defects.

    One row per ticket: ``Ticket ID``, status (Open, Pending, Resolved, Closed), priority
    (Low .. Urgent), ``Source`` (Email, Portal, Phone, Chat, Feedback Widget, ...), a ``Type``, the
    agent's name and a group whose name has spaces (agents work in up to two groups); times written
    day first (``31-01-2025 14:05:09``): created, due, resolved, closed, last updated; first response
    and resolution time in decimal hours; agent and customer interaction counts; an SLA status; the
    customer satisfaction survey on the row as a five-level text scale (``Extremely satisfied`` ..
    ``Extremely dissatisfied``); the customer's full name, e-mail, contact id and company; and an
    internal note that sometimes holds a phone number, an e-mail or the customer's name in capitals.

    Planted (on distinct rows): tickets resolved before they were created, exact duplicate rows (one of
    them rated), and new tickets nobody has picked up yet (no agent, no first response).

    Parameters
    ----------
    path : path-like
        The CSV file to write (its folder is created).
    n : int
        Rows in the file, duplicates included.
    seed : int
        Same seed, same bytes.

    Returns
    -------
    dict
        ``rows``, ``columns``, ``planted`` (per source ``tickets`` / ``surveys``: count of each defect
        kind), ``rated`` (rows with a survey answer), ``new_tickets``, ``groups``,
        ``agents_in_two_groups``, ``names`` and ``emails`` (the customers') and ``pii`` (each planted
        token with its column and kind).
    """
    rng = np.random.default_rng(seed + 31_337)
    n_copies = 2
    m = n - n_copies
    customers = _customers(rng, max(40, m // 4))
    agents, _ = _agents(rng)
    agents = agents[:12]
    agent_groups = {a: [HOURS_GROUPS[i % 4]] + ([HOURS_GROUPS[(i + 2) % 4]] if i % 3 == 0 else [])
                    for i, a in enumerate(agents)}

    created = _times(rng, m)
    source = _pick(rng, HOURS_SOURCES, m)
    kind = _pick(rng, HOURS_TYPES, m)
    priority = _pick(rng, HOURS_PRIORITIES, m)
    who = rng.integers(0, len(customers), m)
    agent = rng.choice(agents, m)
    group = np.array([str(rng.choice(agent_groups[a])) for a in agent], dtype=object)
    first_h = np.round(_lognormal(rng, [FIRST_RESPONSE_H[s][0] for s in source],
                                  [FIRST_RESPONSE_H[s][1] for s in source]), 2)
    resolve_h = np.round(first_h + _lognormal(rng, np.full(m, 18.0), np.full(m, 1.0)), 2)
    resolved = created + pd.to_timedelta(np.round(resolve_h * 3600), unit="s")
    status = np.where(resolved + pd.Timedelta(days=3) <= EXPORTED_AT, "Closed", "Resolved").astype(object)
    unsolved = (resolved > EXPORTED_AT).to_numpy() | (rng.random(m) < 0.06)
    status[unsolved] = rng.choice(["Open", "Pending"], int(unsolved.sum()), p=[0.6, 0.4])
    new = ((EXPORTED_AT - created) < pd.Timedelta(days=3)).to_numpy() & (rng.random(m) < 0.6) | (
        unsolved & (rng.random(m) < 0.15))
    status[new] = "Open"
    is_solved = np.isin(status, ["Resolved", "Closed"])

    rated = is_solved & (rng.random(m) < 0.4)
    # slower resolutions are rated lower
    mood = rng.normal(0, 1, m) - 0.35 * np.log1p(resolve_h) + 1.3
    level = np.clip(np.digitize(mood, [-0.9, -0.3, 0.3, 0.9]), 0, 4)
    survey = np.where(rated, np.array(SURVEY_SCALE, dtype=object)[4 - level], "")
    closed = resolved + pd.Timedelta(days=3) + pd.to_timedelta(rng.integers(0, 3600, m), unit="s")
    updated = np.where(status == "Closed", closed,
                       np.where(is_solved, resolved + pd.to_timedelta(rng.integers(60, 7200, m), unit="s"),
                                created + (EXPORTED_AT - created) * rng.uniform(0.1, 0.9, m)))
    updated = pd.Series(updated).astype("datetime64[s]").clip(upper=EXPORTED_AT)
    due = created + pd.to_timedelta([DUE_HOURS[p] * 3600 for p in priority], unit="s")
    cust = customers.iloc[who].reset_index(drop=True)
    product = _pick(rng, HOURS_PRODUCTS, m)

    frame = pd.DataFrame({
        "Ticket ID": [str(70_001 + i) for i in range(m)],
        "Subject": [f"{t}: {p.lower()}" for t, p in zip(kind, product)],
        "Status": status, "Priority": priority, "Source": source, "Type": kind,
        "Agent": np.where(new, "", agent), "Group": group,
        "Created time": _fmt(created, HOURS_TIME_FORMAT), "Due by Time": _fmt(due, HOURS_TIME_FORMAT),
        "Resolved time": np.where(is_solved, _fmt(resolved, HOURS_TIME_FORMAT), ""),
        "Closed time": np.where(status == "Closed", _fmt(closed, HOURS_TIME_FORMAT), ""),
        "Last updated time": _fmt(updated, HOURS_TIME_FORMAT),
        "First response time (in hrs)": np.where(new, "", [f"{v:.2f}" for v in first_h]),
        "Resolution time (in hrs)": np.where(is_solved, [f"{v:.2f}" for v in resolve_h], ""),
        "Agent interactions": np.where(new, 0, 1 + rng.poisson(1.2, m)).astype(str),
        "Customer interactions": (1 + rng.poisson(0.7, m)).astype(str),
        "Resolution status": np.where(is_solved, np.where(
            resolve_h <= np.array([DUE_HOURS[p] for p in priority]), "Within SLA", "SLA Violated"), ""),
        "Survey results": survey,
        "Product": product,
        "Full name": cust["name"], "Email": cust["email"],
        "Contact ID": [str(81_000_000_000 + 131 * int(k)) for k in who],
        "Company Name": cust["organization"],
        "Internal note": rng.choice(HOURS_NOTES, m),
    })

    taken: set[int] = set(np.flatnonzero(new).tolist())
    defects = _disjoint(rng, is_solved & ~rated, {"resolved_before_created": 2}, taken)
    for i in defects["resolved_before_created"]:
        # a clock set a day wrong on import: resolved before created; the hours are left empty then
        frame.loc[i, "Resolved time"] = (created[i] - pd.Timedelta(hours=int(rng.integers(3, 30)))).strftime(
            HOURS_TIME_FORMAT)
        frame.loc[i, "Resolution time (in hrs)"] = ""

    pii = []
    clean = np.array([i for i in range(m) if i not in taken])
    for k, i in enumerate(np.sort(rng.choice(clean, max(8, m // 40), replace=False))):
        if k % 3 == 0:
            token, _ = _phone(rng)
            text = f"Customer asked to be called back on {token}."
        elif k % 3 == 1:
            token = f"{cust.loc[i, 'first'].lower()}.work{int(rng.integers(10, 99))}@example.org"
            text = f"Send the confirmation to {token}."
        else:
            token = cust.loc[i, "name"].upper()
            text = f"Spoke to {token} on the phone."
        frame.loc[i, "Internal note"] = f"{text} {frame.loc[i, 'Internal note']}".strip()
        pii.append({"column": "Internal note", "kind": ["phone", "email", "name_upper"][k % 3], "token": token})

    sources = [int(rng.choice([i for i in np.flatnonzero(rated) if i not in taken])),
               int(rng.choice([i for i in np.flatnonzero(is_solved & ~rated) if i not in taken]))]
    frame = _insert_copies(rng, frame, sources)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame[HOURS_COLUMNS].to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return {
        "file": str(path), "rows": len(frame), "columns": list(HOURS_COLUMNS),
        "planted": {"tickets": {"resolved_before_created": 2, "duplicate_row": 2, "new_unassigned": int(new.sum())},
                    "surveys": {"duplicate_row": 1}},
        "rated": int(frame["Survey results"].ne("").sum()), "new_tickets": int(new.sum()),
        "groups": sorted(set(frame["Group"])),
        "agents_in_two_groups": sorted(a for a, g in agent_groups.items() if len(g) == 2),
        "names": sorted(set(frame["Full name"])), "emails": sorted(set(frame["Email"])), "pii": pii,
    }
