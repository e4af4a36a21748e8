"""Sample generator: a year of service data with known truth, exported the messy way.

The simulation (DESIGN.md §4): teams of different quality nested in departments, agents
nested in teams, weekday and hour seasonality, channel, category and customer-type mix,
survey non-response, complaints, field visits, QA reviews with a shared calibration
subset, and improvement actions with planted effects. The exports then get the defects a
real helpdesk produces, and customer PII in free text.

Everything that was planted is written to ``truth.json`` beside the exports, so tests can
check that the kit finds what is there and nothing that is not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

YEAR = 2025
REVIEWERS = ["R01", "R02", "R03", "R04", "R05"]
REVIEWER_BIAS = {"R01": 0.0, "R02": 0.3, "R03": 0.0, "R04": -0.5, "R05": 0.1}
RUBRIC_ITEMS = ["voice_quality", "courtesy", "problem_solving", "proactiveness", "compliance"]
TABLES = ("agents", "tickets", "surveys", "complaints", "field_visits", "qa_reviews")

CHANNEL_ZH = {"phone": "电话", "chat": "在线", "email": "邮件", "social": "社交媒体", "onsite": "上门"}
CATEGORY_ZH = {
    "billing_dispute": "账单争议",
    "fault_repair": "故障报修",
    "consultation": "业务咨询",
    "installation": "安装开通",
    "other": "其他",
}
CUSTOMER_TYPE_ZH = {"enterprise": "企业", "individual": "个人"}
PRIORITY_ZH = {"high": "高", "medium": "中", "low": "低"}
CAUSE_ZH = {"people": "人员", "process": "流程", "tools": "工具", "environment": "环境"}
SURVEY_SOURCE_ZH = {"survey": "问卷回访", "review": "网络评价"}
# Survey sub-scores (issue 15, h-survey): item -> SD of its own noise (smaller: closer to overall CSAT),
# and the export's header for each.
SURVEY_ITEMS = {"q_speed": 0.85, "q_attitude": 0.85, "q_resolution": 0.45, "q_professionalism": 0.85}
SURVEY_ITEMS_ZH = {"q_speed": "响应速度评分", "q_attitude": "服务态度评分", "q_resolution": "问题解决评分",
                   "q_professionalism": "专业程度评分"}


@dataclass(frozen=True)
class Team:
    """A simulated team: ``quality`` is a latent score on the logit scale (higher is better)."""

    name: str
    department: str
    quality: float
    agents: int


BASE_TEAMS = [
    Team("HL-A", "hotline", 0.6, 16),
    Team("HL-B", "hotline", -0.4, 16),
    Team("HL-C", "hotline", -0.3, 15),
    Team("HL-D", "hotline", 0.1, 15),
    Team("FS-1", "field", -0.1, 13),
    Team("FS-2", "field", 0.4, 12),
]

# Planted improvement actions. config/actions.yml describes the same actions for the kit.
ACTIONS = [
    {
        "action_id": "ACT-01",
        "team": "HL-B",
        "start": "2025-07-07",
        "effects": {"csat": 0.9, "fcr": 0.7},  # logit shifts from the start date
        "channels": None,
        "control_teams": ["HL-C"],
        "description": "First-contact-resolution training; HL-C is the comparable untreated team",
    },
    {
        "action_id": "ACT-02",
        "team": "HL-D",
        "start": "2025-09-01",
        "effects": {"first_response_s": 0.55},  # multiplies chat first-response times
        "channels": ["chat"],
        "control_teams": ["HL-A"],
        "description": "Chat quick-reply templates: only chat first response gets faster",
    },
    {
        "action_id": "ACT-03",
        "team": "FS-1",
        "start": "2025-05-05",
        "effects": {"arrival_minutes": -12.0},  # shifts engineers' arrival vs promised time
        "channels": ["onsite"],
        "control_teams": ["FS-2"],
        "description": "Dispatch route planning: engineers arrive earlier",
    },
]
PLACEBO = {"team": "HL-C", "start": "2025-07-07", "metrics": ["csat", "fcr"]}
# Agents with a planted slump: satisfaction drops for these ISO weeks (coaching cases).
COACHING_SLUMP_WEEKS = (14, 15, 16, 17)
COACHING_SLUMP = -3.5

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕")

COMMENTS_GOOD = ["服务很好，问题很快解决了", "客服态度耐心，点赞", "处理及时，满意", "工程师很专业"]
COMMENTS_BAD = ["等了很久才有人接", "问题反复出现，没有解决", "客服态度一般", "账单还是不对"]
BURST_TEXTS = ["垃圾服务！！！", "差评差评差评", "骗子公司，大家别用"]
COMPLAINT_TEXTS = [
    "客户反映账单多扣费，要求退款",
    "宽带故障三天未修复，客户情绪激动",
    "工程师未按预约时间上门",
    "客服多次转接，问题未解决",
]

# ---- voice of customer (issue 15): comment, review and complaint texts whose topics follow the
# planted problems. Drawn from their own random stream ([seed, VOC_STREAM]) so no other column moves.
# Each topic of config/topics.yml has several phrasings (mostly Chinese, some English), one of them a
# paraphrase the dictionary lacks (so recall is not perfect by construction); "unlisted" is a theme the
# dictionary lacks altogether, for the automatic keywords to find ("套餐", plan changes).
VOC_STREAM = 15_01
VOC_PHRASES = {
    "not_proactive": {"zh": ["服务不主动，出了问题也没人通知", "处理完没有回访", "客服不主动跟进", "进度没有告知，全靠自己打电话问",
                             "没人回访，不知道处理结果", "停机也没通知一声", "从来不提醒我们"],
                      "en": ["nobody told me about the progress", "no follow-up afterwards"]},
    "not_resolved": {"zh": ["问题到现在还没解决", "修了两次还是不行", "问题反复出现", "说是处理好了，其实问题依旧",
                            "解决得不彻底，过两天又坏了", "折腾了一个月也没弄好"],
                     "en": ["the issue is still not fixed", "the problem keeps happening"]},
    "slow_response": {"zh": ["打了好几次电话都没人接", "排队等了半个多小时", "回复太慢了", "等了很久才有人处理", "客服迟迟不回复", "一个小时都打不进去"],
                      "en": ["waited forever on hold", "too slow to answer"]},
    "poor_attitude": {"zh": ["客服态度很差", "接线员很不耐烦", "说话冷冰冰的，很敷衍", "态度不好，爱答不理", "口气很冲"],
                      "en": ["the agent was rude", "a dismissive agent"]},
    "transfers": {"zh": ["电话被转接了好几次", "几个部门踢皮球", "推来推去没人管"],
                  "en": ["I was transferred three times", "passed around between departments"]},
    "missed_appointment": {"zh": ["师傅没按时上门", "约好的时间工程师迟到了两个小时", "预约了却没有上门"],
                           "en": ["the engineer was a no-show", "missed appointment again"]},
    "billing_dispute": {"zh": ["账单多扣了钱", "莫名其妙乱收费", "退款一直没到账"],
                        "en": ["I was overcharged", "still waiting for my refund"]},
    "fault_repair": {"zh": ["宽带断网好几天了", "手机没信号", "报修三天了"],
                     "en": ["internet outage for days", "the line is broken"]},
    "praise": {"zh": ["服务很好", "工程师很专业，点赞", "处理及时，很满意", "感谢客服耐心解答", "小姑娘很耐心", "师傅手脚麻利"],
               "en": ["great service, thanks", "very helpful and professional"]},
    "unlisted": {"zh": ["套餐变更一直没生效", "套餐资费说不清楚", "换套餐手续太繁琐"],
                 "en": ["the plan change never took effect"]},
}
VOC_TONE = {"negative": {"zh": ["很不满意。", "太失望了。", "希望改进。", ""], "en": ["Very disappointed.", ""]},
            "positive": {"zh": ["谢谢！", "", "不错。"], "en": ["", "Thank you!"]}}
VOC_EN_SHARE = 0.1
VOC_MORE_WHEN_DISSATISFIED = 0.5
# HL-B's ACT-01 (first-contact-resolution training) cuts "not resolved" mentions from its start.
VOC_ACTION = {"action_id": "ACT-01", "team": "HL-B", "start": "2025-07-07", "topic": "not_resolved", "factor": 0.35}
PAIN_POINT_ORDER = ["not_proactive", "not_resolved", "slow_response", "poor_attitude"]


def _voc_topics(rng: np.random.Generator, negative: bool, not_fcr: bool, slow: bool, onsite: bool,
                category: str, acted: bool) -> list[str]:
    """The topics of one planted comment: problems when the customer was dissatisfied, else praise."""
    if not negative:
        return ["praise"] + (["not_proactive"] if rng.random() < 0.08 else [])
    if rng.random() < 0.08:
        return ["unlisted"]  # a comment only about what the dictionary lacks
    p = {"not_proactive": 0.40, "not_resolved": (0.15 + 0.35 * not_fcr) * (VOC_ACTION["factor"] if acted else 1.0),
         "slow_response": 0.10 + 0.25 * slow, "poor_attitude": 0.12, "transfers": 0.06,
         "missed_appointment": 0.35 * onsite, "billing_dispute": 0.15 if category == "billing_dispute" else 0.02,
         "fault_repair": 0.25 if category == "fault_repair" else 0.02}
    topics = [t for t, q in p.items() if rng.random() < q]
    if not topics:
        topics.insert(0, str(rng.choice(PAIN_POINT_ORDER, p=[0.4, 0.3, 0.2, 0.1])))
    return topics


def _voc_text(rng: np.random.Generator, topics: list[str], negative: bool) -> str:
    """One comment saying ``topics`` in a random phrasing, mostly Chinese, with a tone word."""
    lang = "en" if rng.random() < VOC_EN_SHARE else "zh"
    parts = [str(rng.choice(VOC_PHRASES[t][lang])) for t in rng.permutation(topics)]
    tail = str(rng.choice(VOC_TONE["negative" if negative else "positive"][lang]))
    if lang == "en":
        text = ". ".join(p[:1].upper() + p[1:] for p in parts) + "."
        return f"{text} {tail}".strip()
    return "，".join(parts) + ("。" + tail if tail else "。")


def _plant_voc(seed: int, surveys: pd.DataFrame, complaints: pd.DataFrame, tickets: pd.DataFrame) -> None:
    """Rewrite survey comments, review texts and complaint texts (in place) so their topics follow the
    planted problems, and leave each text's planted topics and tone in ``_voc_topics`` / ``_voc_tone``."""
    rng = np.random.default_rng([seed, VOC_STREAM])
    tk = tickets.set_index("ticket_id")
    median = tk.groupby("channel")["first_response_s"].transform("median")
    slow_ticket = tk["first_response_s"] > 1.5 * median
    topics, tones, texts = [], [], []
    for row in surveys.itertuples(index=False):
        linked = row.source == "survey"
        # dissatisfied customers write more: half of those the main stream left silent comment too
        if linked and row.comment == "" and not (row.csat <= 3 and rng.random() < VOC_MORE_WHEN_DISSATISFIED):
            topics.append([]), tones.append(""), texts.append("")
            continue
        negative = row.csat <= 3
        if linked:
            t = tk.loc[row.ticket_id]
            chosen = _voc_topics(rng, negative, not t.first_contact_resolved, bool(slow_ticket[row.ticket_id]),
                                 t.channel == "onsite", t.category,
                                 t.team == VOC_ACTION["team"] and t.created_at >= pd.Timestamp(VOC_ACTION["start"]))
        else:
            chosen = _voc_topics(rng, negative, rng.random() < 0.4, rng.random() < 0.3, rng.random() < 0.1,
                                 str(rng.choice(["billing_dispute", "fault_repair", "other"], p=[0.3, 0.3, 0.4])),
                                 False)
        topics.append(chosen), tones.append("negative" if negative else "positive")
        texts.append(_voc_text(rng, chosen, negative))
    surveys["comment"], surveys["_voc_topics"], surveys["_voc_tone"] = texts, topics, tones
    problems = ["not_resolved", "slow_response", "poor_attitude", "not_proactive", "transfers", "missed_appointment"]
    topics, texts = [], []
    for row in complaints.itertuples(index=False):
        t = tk.loc[row.ticket_id]
        weights = np.array([0.3 + 0.3 * (not t.first_contact_resolved), 0.2, 0.15, 0.2, 0.1, 0.3 * (t.channel == "onsite")])
        chosen = [str(rng.choice(problems, p=weights / weights.sum()))]
        if row.category in ("billing_dispute", "fault_repair") and rng.random() < 0.8:
            chosen.insert(0, row.category)
        topics.append(chosen)
        said = _voc_text(rng, chosen, True)
        texts.append(said if said[:1].isascii() else "客户反映：" + said)
    complaints["text"], complaints["_voc_topics"] = texts, topics


def _voc_truth(surveys: pd.DataFrame, complaints: pd.DataFrame, tickets: pd.DataFrame) -> dict:
    """What was planted: each text's topics and tone, and survey-comment counts per quarter, team and topic."""
    said = surveys[surveys["_voc_tone"] != ""]
    team = said["ticket_id"].map(tickets.set_index("ticket_id")["team"]).fillna("online review")
    quarter = said["answered_at"].dt.to_period("Q").astype(str).str.replace("Q", "-Q")
    long = pd.DataFrame({"quarter": quarter, "team": team, "topic": said["_voc_topics"]}).explode("topic").dropna()
    counts = {q: {u: g.value_counts().to_dict() for u, g in grp.groupby("team")["topic"]}
              for q, grp in long.groupby("quarter")}
    return {"surveys": dict(zip(said["survey_id"], said["_voc_topics"])),
            "tone": dict(zip(said["survey_id"], said["_voc_tone"])),
            "complaints": dict(zip(complaints["complaint_id"], complaints["_voc_topics"])),
            "counts": counts, "pain_point_order": PAIN_POINT_ORDER, "action": VOC_ACTION,
            "unlisted_keyword": "套餐"}
# ---- end of voice of customer


def _weights(values: np.ndarray) -> np.ndarray:
    return values / values.sum()


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    sur = rng.choice(SURNAMES, n)
    given1 = rng.choice(GIVEN, n)
    given2 = np.where(rng.random(n) < 0.6, rng.choice(GIVEN, n), "")
    return np.char.add(np.char.add(sur, given1), given2)


# Issue 14 (coaching log and training programme): the QA team's registers, config/coaching.csv and
# config/training.csv, drawn from their own random stream so that no other column changes. The
# slumped agents are coached on the Monday after their slump (their CSAT recovers: the session worked);
# other sessions go to agents with nothing planted, one of them in HL-B the week ACT-01 lifted the
# whole team (the team's lift is not the coaching's), two in Q4 (a follow-up overdue, one still open).
PEOPLE_STREAM = 14_02
COACHES = {"hotline": ["Zhou Min", "Liu Yang", "Chen Jing"], "field": ["Sun Hao", "Ma Li"]}
COACHING_TOPICS = [
    ("Empathy on repeated complaints", "Listen back, then summarise the customer's problem before solving it"),
    ("Closing the call", "Confirm the fix with the customer and offer the next step"),
    ("Billing dispute script", "Use the dispute checklist on every billing call"),
    ("Tone on the phone", "Record two calls a week and review them with the coach"),
    ("Arrival and handover", "Call the customer 30 minutes before arrival; explain the repair at handover"),
]
TRAINING_COURSES = [  # course id, name, date, hours, teams, pass mark, trainees who fail, certifies
    ("CERT-25", "Annual service certification", "2025-03-10", 8.0, None, 70, {"HL-C": 2, "HL-B": 1, "FS-1": 1}, True),
    ("BILL-07", "Billing-dispute handling (ACT-01)", "2025-07-07", 16.0, ["HL-B"], 80, {"HL-B": 2}, False),
    ("CHAT-02", "Chat quick replies (ACT-02)", "2025-09-01", 4.0, ["HL-D"], 80, {}, False),
]

def _people_registers(agents: pd.DataFrame, slumped: list[str], seed: int, year: int) -> dict:
    """The coaching register and training records of the base teams, with what was planted in them.

    Drawn from ``np.random.default_rng([seed, PEOPLE_STREAM])`` only. Returns ``coaching`` and
    ``training`` (DataFrames with the registers' columns) and ``truth`` (sessions with ``worked``: True
    where the agent's CSAT recovers after the session, False where nothing changes, None where the
    after-window runs past the year; course pass rates and the certification rate).
    """
    rng = np.random.default_rng([seed, PEOPLE_STREAM])
    base = agents[agents["team"].isin([t.name for t in BASE_TEAMS])]
    pool = base[~base["agent_id"].isin(slumped)]

    def monday(week: int) -> pd.Timestamp:
        return pd.Timestamp.fromisocalendar(year, week, 1)

    after_slump = monday(max(COACHING_SLUMP_WEEKS) + 1)
    plan = [(agent, after_slump, True) for agent in slumped]
    for team, week in (("HL-A", int(rng.integers(20, 30))), ("HL-D", int(rng.integers(30, 40)))):
        plan.append((str(rng.choice(pool.agent_id[pool.team == team])), monday(week), False))
    plan.append((str(rng.choice(pool.agent_id[pool.team == "HL-B"])), pd.Timestamp(ACTIONS[0]["start"]), False))
    late = rng.choice(pool.agent_id[pool.team.isin(["HL-C", "FS-2"])], 2, replace=False)
    plan.append((str(late[0]), monday(46), False))          # Q4: follow-up overdue at the year's end
    plan.append((str(late[1]), monday(50), None))           # Q4: after-window runs into next year
    rows, truth = [], []
    for i, (agent, date, worked) in enumerate(sorted(plan, key=lambda p: (p[1], p[0]))):
        dept = base.department[base.agent_id == agent].iloc[0]
        topic, action = COACHING_TOPICS[int(rng.integers(len(COACHING_TOPICS)))] if dept == "hotline" \
            else COACHING_TOPICS[4]
        follow_up = date + pd.Timedelta(days=28 if date < monday(46) else 14 + 14 * (date >= monday(50)))
        done = follow_up < monday(46)
        rows.append({"session_id": f"CS-{i + 1:03d}", "agent_id": agent, "coach": str(rng.choice(COACHES[dept])),
                     "date": f"{date:%Y-%m-%d}", "topic": topic, "agreed_action": action,
                     "follow_up_date": f"{follow_up:%Y-%m-%d}", "follow_up_done": "yes" if done else "no", "kpi": "csat"})
        truth.append({"session_id": f"CS-{i + 1:03d}", "agent_id": agent, "date": f"{date:%Y-%m-%d}",
                      "worked": worked})
    records, course_truth = [], {}
    for course_id, name, date, hours, teams, mark, fails, certifies in TRAINING_COURSES:
        trainees = base if teams is None else base[base.team.isin(teams)]
        failing = set()
        for team, k in fails.items():
            failing |= set(rng.choice(trainees.agent_id[trainees.team == team], k, replace=False))
        for agent in trainees.agent_id:
            score = rng.integers(mark - 25, mark) if agent in failing else rng.integers(mark, 100)
            passed = agent not in failing
            records.append({"course_id": course_id, "course": name, "date": date, "hours": f"{hours:g}",
                            "agent_id": agent, "score": str(int(score)), "passed": "yes" if passed else "no",
                            "certified": ("yes" if passed else "no") if certifies else ""})
        course_truth[course_id] = {"trainees": len(trainees), "pass_rate": 1 - len(failing) / len(trainees),
                                   "failed": sorted(failing)}
    certified = sum(r["certified"] == "yes" for r in records)
    return {"coaching": pd.DataFrame(rows), "training": pd.DataFrame(records),
            "truth": {"sessions": truth, "courses": course_truth,
                      "certification_rate": certified / len(base), "act01_course": "BILL-07"}}


def _pii_token(rng: np.random.Generator, kind: str) -> str:
    if kind == "mobile":
        return "1" + str(rng.choice([3, 5, 7, 8, 9])) + "".join(map(str, rng.integers(0, 10, 9)))
    if kind == "landline":
        return "0" + str(rng.choice([10, 21, 20, 755])) + "-" + "".join(map(str, rng.integers(1, 10, 8)))
    if kind == "email":
        user = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 7))
        return f"{user}.{rng.integers(10, 99)}@{rng.choice(['example.com', 'mail.example.cn'])}"
    if kind == "resident_id":
        body = "110105" + str(rng.integers(1960, 2004)) + f"{rng.integers(1, 13):02d}{rng.integers(1, 29):02d}"
        body += "".join(map(str, rng.integers(0, 10, 3)))
        return body + str(rng.choice(list("0123456789X")))
    if kind == "bank_card":
        digits = "6222" + "".join(map(str, rng.integers(0, 10, 15)))
        return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))
    raise ValueError(kind)


PII_KINDS = ["mobile", "landline", "email", "resident_id", "bank_card", "name"]
PII_TEMPLATES = {
    "mobile": "请回电{}",
    "landline": "座机{}联系",
    "email": "发邮件到{}",
    "resident_id": "身份证号{}",
    "bank_card": "退款到卡号{}",
    "name": "我是{}，",
}


def _teams(n_teams: int, rng: np.random.Generator) -> list[Team]:
    if n_teams < len(BASE_TEAMS):
        raise ValueError(f"the sample needs at least {len(BASE_TEAMS)} teams, got {n_teams}")
    teams = list(BASE_TEAMS)
    for i in range(n_teams - len(BASE_TEAMS)):
        dept = "hotline" if i % 2 == 0 else "field"
        prefix = "HL" if dept == "hotline" else "FS"
        name = f"{prefix}-{i + 10:02d}"
        teams.append(Team(name, dept, float(np.round(rng.normal(0, 0.3), 2)), int(rng.integers(12, 17))))
    return teams


def _timestamps(rng: np.random.Generator, n: int, year: int) -> pd.DatetimeIndex:
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    weekday = np.array([1.2, 1.1, 1.05, 1.0, 0.95, 0.55, 0.45])[days.day_of_week]
    spring_festival = np.where((days >= f"{year}-01-27") & (days <= f"{year}-02-04"), 0.6, 1.0)
    day = rng.choice(len(days), n, p=_weights(weekday * spring_festival))
    hours = np.array([1, 1, 1, 1, 1, 2, 4, 10, 30, 55, 60, 52, 35, 40, 55, 58, 50, 40, 30, 24, 18, 12, 6, 3], float)
    hour = rng.choice(24, n, p=_weights(hours))
    seconds = rng.integers(0, 3600, n)
    return pd.DatetimeIndex(days.values[day] + (hour * 3600 + seconds).astype("timedelta64[s]"))


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate(n_tickets: int = 80_000, seed: int = 7, n_teams: int = 6, year: int = YEAR) -> dict:
    """Simulate clean canonical tables with planted effects.

    Parameters
    ----------
    n_tickets : int
        Tickets over the year (before defects are added).
    seed : int
        Random seed; the same seed gives the same data.
    n_teams : int
        Number of teams (at least 6; extra teams get random quality).
    year : int
        Calendar year covered.

    Returns
    -------
    dict
        ``tables`` (canonical DataFrames before export), ``teams`` and ``truth``.
    """
    rng = np.random.default_rng(seed)
    teams = _teams(n_teams, rng)

    agent_rows = []
    for team in teams:
        role = "engineer" if team.department == "field" else "agent"
        for _ in range(team.agents):
            agent_rows.append((team.name, team.department, role))
    agents = pd.DataFrame(agent_rows, columns=["team", "department", "role"])
    agents.insert(0, "agent_id", [f"A{i + 1:04d}" for i in range(len(agents))])
    agents["hire_date"] = pd.Timestamp(f"{year - 6}-01-01") + pd.to_timedelta(
        rng.integers(0, 6 * 365, len(agents)), unit="D")
    agent_sat = rng.normal(0, 0.35, len(agents))
    agent_fcr = rng.normal(0, 0.3, len(agents))
    quality = {t.name: t.quality for t in teams}

    # Coaching cases: one agent in each of two teams slumps for four weeks.
    coaching = []
    for team_name in ("HL-C", "FS-1"):
        idx = agents.index[agents.team == team_name][1]
        coaching.append(agents.agent_id[idx])

    created = _timestamps(rng, n_tickets, year).sort_values()
    team_size = agents.groupby("team", sort=False).size()
    team_of = rng.choice(team_size.index.to_numpy(), n_tickets, p=_weights(team_size.to_numpy(float)))
    agent_idx = np.empty(n_tickets, dtype=int)
    for team_name in team_size.index:
        rows = np.flatnonzero(team_of == team_name)
        members = agents.index[agents.team == team_name].to_numpy()
        agent_idx[rows] = rng.choice(members, len(rows))
    dept = agents.department.to_numpy()[agent_idx]
    field = dept == "field"

    channel = np.where(
        field,
        rng.choice(["onsite", "phone"], n_tickets, p=[0.6, 0.4]),
        rng.choice(["phone", "chat", "email", "social"], n_tickets, p=[0.5, 0.3, 0.1, 0.1]),
    )
    category = np.where(
        field,
        rng.choice(list(CATEGORY_ZH), n_tickets, p=[0.15, 0.65, 0.05, 0.12, 0.03]),
        rng.choice(list(CATEGORY_ZH), n_tickets, p=[0.50, 0.30, 0.12, 0.04, 0.04]),
    )
    n_customers = max(50, n_tickets // 3)
    customer_type_of = np.where(rng.random(n_customers) < 0.25, "enterprise", "individual")
    customer_names = _names(rng, n_customers)
    customer = rng.integers(0, n_customers, n_tickets)
    customer_type = customer_type_of[customer]
    enterprise = customer_type == "enterprise"
    priority = rng.choice(["high", "medium", "low"], n_tickets, p=[0.15, 0.55, 0.30])

    q = np.array([quality[t] for t in team_of])
    week = created.isocalendar().week.to_numpy()
    spring = np.asarray((created >= f"{year}-01-27") & (created < f"{year}-02-10"))

    def action_shift(metric: str) -> np.ndarray:
        shift = np.zeros(n_tickets)
        for action in ACTIONS:
            if metric not in action["effects"]:
                continue
            on = (team_of == action["team"]) & (created >= action["start"])
            if action["channels"]:
                on &= np.isin(channel, action["channels"])
            shift[on] += action["effects"][metric]
        return shift

    median_frt = pd.Series({"phone": 14, "chat": 5, "email": 1.5 * 3600, "social": 720, "onsite": 600.0})
    frt = median_frt[channel].to_numpy() * np.exp(rng.normal(0, 0.6, n_tickets) - 0.4 * q)
    chat_factor = np.ones(n_tickets)
    for action in ACTIONS:
        if "first_response_s" in action["effects"]:
            on = (team_of == action["team"]) & (created >= action["start"]) & np.isin(channel, action["channels"])
            chat_factor[on] = action["effects"]["first_response_s"]
    frt = np.maximum(1, np.round(frt * chat_factor))
    median_aht = pd.Series({"phone": 360, "chat": 540, "email": 1200, "social": 900, "onsite": 5400.0})
    handle = np.maximum(30, np.round(median_aht[channel].to_numpy() * np.exp(rng.normal(0, 0.6, n_tickets))))

    cat_fcr = pd.Series({"billing_dispute": -0.2, "fault_repair": -0.4, "consultation": 0.8,
                         "installation": 0.1, "other": 0.0})
    fcr_logit = 1.5 + 0.8 * q + agent_fcr[agent_idx] + cat_fcr[category].to_numpy() + action_shift("fcr")
    fcr = rng.random(n_tickets) < _logistic(fcr_logit)
    contacts = np.where(fcr, 1, 2 + rng.poisson(0.7, n_tickets))
    reopened = rng.random(n_tickets) < np.where(fcr, 0.03, 0.15)
    extra = np.where(fcr, 0, rng.uniform(3600, 72 * 3600, n_tickets))
    resolved = created + pd.to_timedelta(frt + handle + extra, unit="s")

    slump = np.isin(agents.agent_id.to_numpy()[agent_idx], coaching) & np.isin(week, COACHING_SLUMP_WEEKS)
    chan_sat = pd.Series({"phone": 0.2, "chat": -0.5, "email": -0.1, "social": -0.3, "onsite": -0.2})
    sat_logit = (1.6 + 0.9 * q + agent_sat[agent_idx] + np.where(fcr, 0.6, -0.9)
                 + chan_sat[channel].to_numpy() - 0.6 * enterprise - 0.4 * spring
                 + action_shift("csat") + COACHING_SLUMP * slump)
    satisfied = rng.random(n_tickets) < _logistic(sat_logit)

    ticket_id = np.char.add("TK", np.char.zfill(np.arange(1, n_tickets + 1).astype(str), 7))
    tickets = pd.DataFrame({
        "ticket_id": ticket_id,
        "created_at": created.floor("s"),
        "channel": channel,
        "team": team_of,
        "agent_id": agents.agent_id.to_numpy()[agent_idx],
        "customer_id": np.char.add("CUST-", np.char.zfill(customer.astype(str), 7)),
        "customer_name": customer_names[customer],
        "customer_type": customer_type,
        "category": category,
        "priority": priority,
        "first_response_s": frt,
        "handle_s": handle,
        "resolved_at": resolved.floor("s"),
        "contacts_to_resolve": contacts,
        "first_contact_resolved": fcr,
        "reopened": reopened,
        "remark": "",
    })

    # Surveys: non-response depends on customer type; answers follow the latent satisfaction.
    responds = rng.random(n_tickets) < np.where(enterprise, 0.22, 0.32)
    sidx = np.flatnonzero(responds)
    csat = np.where(satisfied[sidx],
                    rng.choice([4, 5], len(sidx), p=[0.4, 0.6]),
                    rng.choice([1, 2, 3], len(sidx), p=[0.25, 0.25, 0.5]))
    nps_lo = pd.Series({1: 0, 2: 2, 3: 5, 4: 7, 5: 9}).loc[csat].to_numpy()
    nps_hi = pd.Series({1: 4, 2: 6, 3: 8, 4: 9, 5: 10}).loc[csat].to_numpy()
    nps = rng.integers(nps_lo, nps_hi + 1).astype(float)
    nps[rng.random(len(sidx)) < 0.3] = np.nan
    comment = np.where(rng.random(len(sidx)) < 0.25,
                       np.where(csat >= 4, rng.choice(COMMENTS_GOOD, len(sidx)), rng.choice(COMMENTS_BAD, len(sidx))),
                       "")
    surveys = pd.DataFrame({
        "ticket_id": ticket_id[sidx],
        "answered_at": (resolved[sidx] + pd.to_timedelta(rng.exponential(6 * 3600, len(sidx)), unit="s")).floor("s"),
        "csat": csat,
        "nps": nps,
        "comment": comment,
        "source": "survey",
    })
    n_reviews = max(10, n_tickets // 50)
    review_times = _timestamps(rng, n_reviews, year)
    review_csat = rng.choice([1, 2, 3, 4, 5], n_reviews, p=[0.05, 0.07, 0.18, 0.35, 0.35])
    reviews = pd.DataFrame({
        "ticket_id": "",
        "answered_at": review_times,
        "csat": review_csat,
        "nps": np.nan,
        "comment": np.where(review_csat >= 4, rng.choice(COMMENTS_GOOD, n_reviews), rng.choice(COMMENTS_BAD, n_reviews)),
        "source": "review",
    })
    surveys = pd.concat([surveys, reviews], ignore_index=True).sort_values("answered_at", kind="stable")
    surveys.insert(0, "survey_id", [f"SV{i + 1:07d}" for i in range(len(surveys))])
    surveys = surveys.reset_index(drop=True)

    # --- survey sub-scores (issue 15, h-survey): a four-item questionnaire on the survey answers only,
    # from its own random stream so every other column keeps its draws. Items follow overall CSAT with a
    # shared respondent effect; resolution tracks CSAT most closely (the strongest driver).
    item_rng = np.random.default_rng([seed, 15_04])
    answered = (surveys["source"] == "survey").to_numpy()
    base = surveys["csat"].to_numpy(float)[answered] - 3.5
    shared = item_rng.normal(0, 0.45, answered.sum())
    for item, noise in SURVEY_ITEMS.items():
        values = np.full(len(surveys), np.nan)
        values[answered] = np.clip(np.round(3.6 + 0.8 * base + shared + item_rng.normal(0, noise, answered.sum())), 1, 5)
        surveys[item] = values
    scored = surveys.loc[answered, list(SURVEY_ITEMS)].to_numpy()
    k = scored.shape[1]
    survey_truth = {
        "items": list(SURVEY_ITEMS), "item_noise_sd": SURVEY_ITEMS, "strongest_driver": "q_resolution",
        "cronbach_alpha": float(k / (k - 1) * (1 - scored.var(axis=0, ddof=1).sum() / scored.sum(axis=1).var(ddof=1))),
        "response_rate": {"enterprise": 0.22, "individual": 0.32},
    }

    # Complaints: more likely when the ticket was not resolved first time and in weaker teams.
    p_complaint = 0.012 * np.where(fcr, 1.0, 2.5) * np.exp(-0.6 * q)
    cidx = np.flatnonzero(rng.random(n_tickets) < p_complaint)
    received = created[cidx] + pd.to_timedelta(rng.exponential(24 * 3600, len(cidx)), unit="s")
    first_resp = received + pd.to_timedelta(np.exp(rng.normal(np.log(5 * 3600), 1.0, len(cidx)) - 0.3 * q[cidx]), unit="s")
    closed = first_resp + pd.to_timedelta(rng.exponential(48 * 3600, len(cidx)), unit="s")
    cause_p = np.array([0.40, 0.30, 0.20, 0.10])
    complaints = pd.DataFrame({
        "complaint_id": [f"CP{i + 1:06d}" for i in range(len(cidx))],
        "ticket_id": ticket_id[cidx],
        "received_at": received.floor("s"),
        "first_response_at": first_resp.floor("s"),
        "closed_at": closed.floor("s"),
        "severity": rng.choice([1, 2, 3, 4], len(cidx), p=[0.1, 0.25, 0.4, 0.25]),
        "category": category[cidx],
        "cause_dimension": rng.choice(list(CAUSE_ZH), len(cidx), p=cause_p),
        "text": rng.choice(COMPLAINT_TEXTS, len(cidx)),
    })
    _plant_voc(seed, surveys, complaints, tickets)  # voice of customer: texts from their own random stream
    voc_truth = _voc_truth(surveys, complaints, tickets)
    surveys = surveys.drop(columns=["_voc_topics", "_voc_tone"])
    complaints = complaints.drop(columns=["_voc_topics"])

    # Service levels by severity (issue 14): response and closing times per severity, a business-hours
    # effect and repeat complaints, from their own random stream (every earlier draw is unchanged).
    complaints, service_truth = _plant_service_levels(complaints, q[cidx], seed, year)

    # Field visits for on-site tickets: promised slot next day, arrival relative to it.
    vidx = np.flatnonzero(channel == "onsite")
    slot = (created[vidx] + pd.Timedelta(days=1)).normalize() + pd.to_timedelta(rng.choice([9, 11, 13, 15], len(vidx)), unit="h")
    arrival_shift = np.zeros(len(vidx))
    for action in ACTIONS:
        if "arrival_minutes" in action["effects"]:
            on = (team_of[vidx] == action["team"]) & (created[vidx] >= action["start"])
            arrival_shift[on] = action["effects"]["arrival_minutes"]
    late_min = rng.normal(-10 - 12 * q[vidx], 20, len(vidx)) + arrival_shift
    visits = pd.DataFrame({
        "visit_id": [f"V{i + 1:06d}" for i in range(len(vidx))],
        "ticket_id": ticket_id[vidx],
        "engineer_id": agents.agent_id.to_numpy()[agent_idx[vidx]],
        "promised_at": slot,
        "arrived_at": (slot + pd.to_timedelta(np.round(late_min * 60), unit="s")).floor("s"),
        "rework_required": rng.random(len(vidx)) < 0.08 * np.exp(-q[vidx]),
    })

    # QA reviews: a random 4 % of tickets, plus a calibration subset every reviewer scores.
    ridx = np.flatnonzero(rng.random(n_tickets) < 0.04)
    calib = rng.choice(np.setdiff1d(np.arange(n_tickets), ridx), min(30, n_tickets // 20), replace=False)
    review_tickets = np.concatenate([ridx, np.repeat(calib, len(REVIEWERS))])
    reviewer = np.concatenate([rng.choice(REVIEWERS, len(ridx)), np.tile(REVIEWERS, len(calib))])
    qa = pd.DataFrame({"ticket_id": ticket_id[review_tickets], "agent_id": agents.agent_id.to_numpy()[agent_idx[review_tickets]],
                       "reviewer_id": reviewer})
    qa["reviewed_at"] = (resolved[review_tickets] + pd.to_timedelta(rng.uniform(1, 5 * 86400, len(qa)), unit="s")).floor("s")
    latent = agent_sat[agent_idx[review_tickets]] + 0.5 * q[review_tickets] + pd.Series(REVIEWER_BIAS)[reviewer].to_numpy()
    for item in RUBRIC_ITEMS:
        score = np.clip(np.round(3.8 + latent + rng.normal(0, 0.6, len(qa))), 1, 5)
        qa[item] = score.astype(float)
    qa.loc[rng.random(len(qa)) < 0.1, "proactiveness"] = np.nan  # N/A: no chance to be proactive
    qa["critical_fail"] = rng.random(len(qa)) < 0.02
    qa["process_compliant"] = rng.random(len(qa)) < _logistic(2.2 + q[review_tickets])
    qa["calibration"] = np.arange(len(qa)) >= len(ridx)
    qa = qa.sort_values(["reviewed_at", "reviewer_id"], kind="stable").reset_index(drop=True)
    qa.insert(0, "review_id", [f"QA{i + 1:06d}" for i in range(len(qa))])

    truth = {
        "seed": seed,
        "year": year,
        "n_tickets": n_tickets,
        "teams": {t.name: {"department": t.department, "quality": t.quality, "agents": t.agents} for t in teams},
        "team_quality_order": [t.name for t in sorted(teams, key=lambda t: -t.quality)],
        "actions": ACTIONS,
        "placebo": PLACEBO,
        "coaching": {"agents": coaching, "iso_weeks": list(COACHING_SLUMP_WEEKS)},  # sessions added below
        "calibration_tickets": sorted(ticket_id[calib].tolist()),
        "reviewer_bias": REVIEWER_BIAS,
        "voc": voc_truth,
        "service_levels": service_truth,
        "surveys": survey_truth,
    }
    registers = _people_registers(agents, coaching, seed, year)  # issue 14: its own random stream
    truth["coaching"]["sessions"] = registers["truth"]["sessions"]
    truth["training"] = {k: v for k, v in registers["truth"].items() if k != "sessions"}
    return {
        "tables": {"agents": agents, "tickets": tickets, "surveys": surveys, "complaints": complaints,
                   "field_visits": visits, "qa_reviews": qa},
        "teams": teams,
        "truth": truth,
        "registers": {"coaching.csv": registers["coaching"], "training.csv": registers["training"]},
    }


# ---- service levels by severity and customer type (issue 14) ----
# Median minutes to the first response per severity (1 = major): levels 1-2 are answered around the
# clock, levels 3-4 in working time (a complaint received on a weekend, a holiday or after hours is
# answered the next working morning unless the team has someone on call). In the demo quarter level 1 slows down (SL_Q4_SEV1_MEDIAN_H).
SL_RESPONSE_MEDIAN_H = {1: 0.5, 2: 1.2, 3: 3.0, 4: 3.0}
SL_Q4_SEV1_MEDIAN_H = 1.0
SL_HANDLING_MEDIAN_H = {1: 6.0, 2: 12.0, 3: 16.0, 4: 16.0}   # first response to closing
SL_Q4_SEV4_HANDLING_MEDIAN_H = 30.0
SL_NOT_CLOSED = {1: 0.0, 2: 0.005, 3: 0.01, 4: 0.01}
SL_Q4_SEV4_NOT_CLOSED = 0.10
# the chance that a severity 3-4 complaint received out of hours is answered by someone on call:
# logistic(SL_ON_CALL_LOGIT + SL_ON_CALL_QUALITY x team quality), so better teams keep their 24 h
SL_ON_CALL_LOGIT = 0.5
SL_ON_CALL_QUALITY = 4.0
SL_REPEAT_PAIRS = 60        # customers who complain again within 30 days (about the same ticket), at most
SL_REPEAT_SHARE = 0.05      # ... and at most this share of the complaints


def _share(flags: np.ndarray) -> float | None:
    """The share of true flags, rounded to 4 places; None without any."""
    return round(float(flags.mean()), 4) if len(flags) else None


def _plant_service_levels(complaints: pd.DataFrame, quality: np.ndarray, seed: int,
                          year: int) -> tuple[pd.DataFrame, dict]:
    """Redraw the complaints' first-response and closing times by severity, and plant repeat complaints.

    Draws from its own stream (``[seed, 14_01]``). Returns the complaints and the truth (the planted
    parameters, and the figures they give in the demo quarter, computed here in pandas on the clean
    rows: share within each limit of ``config/standards.yml`` per severity).
    """
    from qa_helpers.measures.service_levels import DEFAULT_CALENDAR, calendar, calendar_days

    rng = np.random.default_rng([seed, 14_01])
    out = complaints.copy()
    n = len(out)
    received = pd.DatetimeIndex(out["received_at"])
    severity = out["severity"].to_numpy()
    q4 = np.asarray(received >= f"{year}-10-01")
    cal = calendar({"service_levels": {"calendar": DEFAULT_CALENDAR}})
    days = calendar_days(cal, pd.Timestamp(f"{year}-01-01").date(), pd.Timestamp(f"{year + 1}-01-31").date())
    working_day = pd.Series(days["working"].to_numpy(), index=pd.DatetimeIndex(days["day"]))
    day = received.normalize()
    seconds = np.asarray((received - day).total_seconds())
    in_hours = (working_day.reindex(day).fillna(False).to_numpy(bool)
                & (seconds >= cal.start_s) & (seconds < cal.end_s))
    # the next working morning after a receipt outside working time
    work_days = pd.DatetimeIndex(days["day"][days["working"]])
    after = np.where(working_day.reindex(day).fillna(False).to_numpy(bool) & (seconds < cal.start_s),
                     day.values, (day + pd.Timedelta(days=1)).values)
    next_morning = work_days[np.searchsorted(work_days.values, after)] + pd.Timedelta(seconds=cal.start_s)

    median = np.array([SL_RESPONSE_MEDIAN_H[s] for s in severity])
    median = np.where(q4 & (severity == 1), SL_Q4_SEV1_MEDIAN_H, median)
    delay_h = median * np.exp(rng.normal(0, 0.7, n) - 0.3 * quality)
    office = np.isin(severity, [3, 4])
    # better teams keep someone on call out of hours: their severity 3-4 complaints need not wait
    on_call = rng.random(n) < 1.0 / (1.0 + np.exp(-(SL_ON_CALL_LOGIT + SL_ON_CALL_QUALITY * quality)))
    waits = office & ~in_hours & ~on_call
    start = np.where(waits, next_morning.values, received.values)
    first_response = pd.DatetimeIndex(start) + pd.to_timedelta(delay_h * 3600, unit="s")
    handling = np.array([SL_HANDLING_MEDIAN_H[s] for s in severity])
    handling = np.where(q4 & (severity == 4), SL_Q4_SEV4_HANDLING_MEDIAN_H, handling)
    closed = first_response + pd.to_timedelta(handling * np.exp(rng.normal(0, 0.5, n)) * 3600, unit="s")
    p_open = np.array([SL_NOT_CLOSED[s] for s in severity])
    p_open = np.where(q4 & (severity == 4), SL_Q4_SEV4_NOT_CLOSED, p_open)
    not_closed = rng.random(n) < p_open
    out["first_response_at"] = first_response.floor("s")
    out["closed_at"] = pd.Series(closed.floor("s"), index=out.index).mask(not_closed)

    # repeat complaints: a later complaint (1-30 days on) re-filed about an earlier complaint's ticket
    order = np.argsort(received.values, kind="stable")
    used, repeats = set(), []
    for first in rng.permutation(n):
        if len(repeats) >= min(SL_REPEAT_PAIRS, int(SL_REPEAT_SHARE * n)):
            break
        lo, hi = (np.searchsorted(received.values[order], received.values[first] + np.timedelta64(d, "D"))
                  for d in (1, 30))
        candidates = [i for i in order[lo:hi] if i not in used and i != first]
        if first in used or not candidates:
            continue
        second = candidates[rng.integers(len(candidates))]
        used.update({first, second})
        out.loc[out.index[second], ["ticket_id", "category"]] = out.loc[out.index[first], ["ticket_id", "category"]].values
        repeats.append(out["complaint_id"].iloc[second])

    # the figures the plant gives in the demo quarter (calendar hours; limits of config/standards.yml)
    response_h = np.asarray((first_response - received).total_seconds()) / 3600
    handling_h = np.asarray((closed - received).total_seconds()) / 3600
    limits = {"response": {1: 2, 2: 4, 3: 24, 4: 24}, "first_handling": {1: 24, 2: 48, 3: 48, 4: 48}}
    quarter = q4 & np.asarray(received < f"{year + 1}-01-01")
    q4_share = {}
    for measure, hours in (("response", response_h), ("first_handling", handling_h)):
        done = ~not_closed if measure == "first_handling" else np.ones(n, bool)  # open: not within
        within = (hours <= np.array([limits[measure][s] for s in severity])) & done
        q4_share[measure] = {int(s): _share(within[quarter & (severity == s)]) for s in (1, 2, 3, 4)}
    truth = {
        "stream": [seed, 14_01],
        "response_median_h": SL_RESPONSE_MEDIAN_H, "q4_severity_1_response_median_h": SL_Q4_SEV1_MEDIAN_H,
        "handling_median_h": SL_HANDLING_MEDIAN_H, "q4_severity_4_handling_median_h": SL_Q4_SEV4_HANDLING_MEDIAN_H,
        "not_closed": SL_NOT_CLOSED, "q4_severity_4_not_closed": SL_Q4_SEV4_NOT_CLOSED,
        "answered_in_working_time": [3, 4],
        "on_call_logit": {"intercept": SL_ON_CALL_LOGIT, "per_quality": SL_ON_CALL_QUALITY},
        "q4_share_within": q4_share,
        "q4_misses": {m: [s for s, v in shares.items() if v is not None and v < 0.95] for m, shares in q4_share.items()},
        "q4_resolution_rate": {int(s): _share(~not_closed[quarter & (severity == s)]) for s in (1, 2, 3, 4)},
        "out_of_hours_office_complaints": int((office & ~in_hours).sum()),
        "waited_for_next_working_morning": int(waits.sum()),
        "repeat_complaints": repeats,
    }
    return out, truth
# ---- end service levels ----


def _plant_pii(rng: np.random.Generator, texts: pd.Series, names: np.ndarray, share: float,
               planted: list[dict], source: str) -> pd.Series:
    values = texts.to_numpy(dtype=object, copy=True)  # element-wise edits on an Arrow column copy it each time
    rows = np.flatnonzero(rng.random(len(values)) < share)
    for i in rows:
        kind = PII_KINDS[i % len(PII_KINDS)]
        token = str(rng.choice(names)) if kind == "name" else _pii_token(rng, kind)
        values[i] = PII_TEMPLATES[kind].format(token) + str(values[i])
        planted.append({"source": source, "kind": kind, "token": token})
    return pd.Series(values, index=texts.index, dtype=texts.dtype)


def _fmt(times: pd.Series, fmt: str) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(times).strftime(fmt), index=times.index)


def _choose_disjoint(rng: np.random.Generator, n: int, counts: dict[str, int]) -> dict[str, np.ndarray]:
    total = sum(counts.values())
    picked = rng.choice(n, min(total, n), replace=False)
    out, start = {}, 0
    for name, k in counts.items():
        out[name] = np.sort(picked[start:start + k])
        start += k
    return out


def _insert_duplicates(rng: np.random.Generator, df: pd.DataFrame, candidates: np.ndarray, k: int) -> pd.DataFrame:
    """Append exact copies of ``k`` candidate rows at random places after their original."""
    src = np.sort(rng.choice(candidates, k, replace=False))
    order = np.concatenate([np.arange(len(df), dtype=float), src + rng.uniform(0.1, 50, k)])
    both = pd.concat([df, df.iloc[src]], ignore_index=True)
    return both.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)


SHEET_ROWS = 1_000_000  # survey rows per workbook (Excel's limit is 1,048,576 rows a sheet)


def export(sim: dict, out: Path, seed: int, tables: tuple[str, ...] = TABLES) -> dict:
    """Write the simulated tables as messy raw exports and return the planted-defect truth.

    ``tables`` limits the exports (the roster and tickets are always written): a 10-million
    ticket benchmark needs no survey workbook, which would not fit one XLSX sheet anyway.
    """
    rng = np.random.default_rng(seed + 1)
    out.mkdir(parents=True, exist_ok=True)
    t = sim["tables"]
    names = np.asarray(t["tickets"].customer_name.unique(), dtype=object)
    planted_pii: list[dict] = []
    defects: dict[str, dict[str, int]] = {}
    pct = lambda df, p, lo=2: max(lo, int(round(len(df) * p)))  # noqa: E731

    # Roster: UTF-8 with a byte-order mark, as Excel saves it.
    roster = pd.DataFrame({
        "工号": t["agents"].agent_id, "班组": t["agents"].team, "部门": t["agents"].department,
        "入职日期": t["agents"].hire_date.dt.strftime("%Y-%m-%d"),
        "岗位": t["agents"].role.map({"agent": "客服", "engineer": "工程师"}),
    })
    roster.to_csv(out / "agents_roster.csv", index=False, encoding="utf-8-sig")
    defects["agents"] = {}

    # Tickets: GB18030 CSV with Chinese headers and two date formats.
    tk = t["tickets"].copy()
    tk["remark"] = _plant_pii(rng, tk.remark, names, 0.01, planted_pii, "tickets")
    raw = pd.DataFrame({
        "工单编号": tk.ticket_id,
        "创建时间": _fmt(tk.created_at, "%Y/%m/%d %H:%M:%S"),
        "渠道": tk.channel.map(CHANNEL_ZH),
        "客服工号": tk.agent_id,
        "客户编号": tk.customer_id,
        "客户姓名": tk.customer_name,
        "客户类型": tk.customer_type.map(CUSTOMER_TYPE_ZH),
        "问题类别": tk.category.map(CATEGORY_ZH),
        "优先级": tk.priority.map(PRIORITY_ZH),
        "首次响应时长(秒)": tk.first_response_s.astype(int).astype(str),
        "处理时长(秒)": tk.handle_s.astype(int).astype(str),
        "解决时间": _fmt(tk.resolved_at, "%Y/%m/%d %H:%M:%S"),
        "联系次数": tk.contacts_to_resolve.astype(str),
        "是否首次解决": np.where(tk.first_contact_resolved, "是", "否"),
        "是否重开": np.where(tk.reopened, "是", "否"),
        "备注": tk.remark,
    })
    alt = rng.random(len(raw)) < 0.1  # a second export job writes ISO-style dates
    raw.loc[alt, "创建时间"] = _fmt(tk.created_at[alt], "%Y-%m-%d %H:%M:%S")
    counts = {"invalid_value": pct(raw, 0.0015), "missing_required": pct(raw, 0.002),
              "unknown_agent": pct(raw, 0.0015), "out_of_range_time": pct(raw, 0.001),
              "malformed_value": pct(raw, 0.0015)}
    rows = _choose_disjoint(rng, len(raw), counts)
    raw.loc[rows["invalid_value"], "处理时长(秒)"] = (-rng.integers(1, 500, len(rows["invalid_value"]))).astype(str)
    raw.loc[rows["missing_required"], "处理时长(秒)"] = ""
    raw.loc[rows["unknown_agent"], "客服工号"] = [f"A9{i:03d}" for i in range(len(rows["unknown_agent"]))]
    raw.loc[rows["out_of_range_time"], "创建时间"] = rng.choice(["1970/01/01 08:00:00", "2099/12/31 23:59:59"],
                                                              len(rows["out_of_range_time"]))
    raw.loc[rows["malformed_value"], "创建时间"] = rng.choice(["2025/02/30 10:00:00", "2025-13-01 08:00", "昨天下午",
                                                             "03/04/2025 9:00"], len(rows["malformed_value"]))
    clean = np.setdiff1d(np.arange(len(raw)), np.concatenate(list(rows.values())))
    n_test = pct(raw, 0.004, 3)
    test = raw.iloc[rng.choice(clean, n_test, replace=False)].copy()
    test["工单编号"] = [f"TEST-{i:05d}" for i in range(n_test)]
    test["客户姓名"] = "测试客户"
    test["备注"] = "测试工单，请忽略"
    raw = pd.concat([raw, test], ignore_index=True)
    n_dup = pct(raw, 0.008)
    raw = _insert_duplicates(rng, raw, clean, n_dup)
    defects["tickets"] = {**counts, "test_ticket": n_test, "duplicate_row": n_dup}
    with open(out / "helpdesk_tickets_2025.csv", "w", encoding="gb18030", newline="") as fh:
        raw.to_csv(fh, index=False)

    if "surveys" in tables:
        # Surveys: XLSX from the survey platform, with an instructions sheet and review bursts.
        sv = t["surveys"].copy()
        sv["comment"] = _plant_pii(rng, sv.comment, names, 0.03, planted_pii, "surveys")
        bursts = []
        review_times = pd.DatetimeIndex(sv.answered_at[sv.source == "review"])
        burst_starts = pd.DatetimeIndex(sorted(rng.choice(review_times, 3, replace=False))) + pd.Timedelta(minutes=7)
        for b, start in enumerate(burst_starts):
            k = 12 + b
            bursts.append(pd.DataFrame({
                "survey_id": [f"SVB{b}{i:03d}" for i in range(k)], "ticket_id": "",
                "answered_at": start + pd.to_timedelta(np.sort(rng.uniform(0, 1800, k)), unit="s"),
                "csat": 1, "nps": np.nan, "comment": rng.choice(BURST_TEXTS, k), "source": "review"}))
        # Keep genuine one-star reviews away from the bursts so the planted count is exact.
        for start in burst_starts:
            near = (sv.source == "review") & (sv.csat == 1) & ((sv.answered_at - start).abs() < pd.Timedelta(hours=3))
            sv.loc[near, "csat"] = 2
        sv = pd.concat([sv, *bursts], ignore_index=True).sort_values("answered_at", kind="stable").reset_index(drop=True)
        sv_raw = pd.DataFrame({
            "问卷编号": sv.survey_id, "关联工单": sv.ticket_id,
            "提交时间": _fmt(sv.answered_at.dt.floor("s"), "%Y-%m-%d %H:%M:%S"),
            "满意度评分": sv.csat.astype(int).astype(str),
            "推荐意愿": sv.nps.map(lambda v: "" if pd.isna(v) else str(int(v))),
            "评价内容": sv.comment, "来源": sv.source.map(SURVEY_SOURCE_ZH),
            # survey sub-scores (issue 15, h-survey); empty for online reviews
            **{SURVEY_ITEMS_ZH[item]: sv[item].map(lambda v: "" if pd.isna(v) else str(int(v))) for item in SURVEY_ITEMS},
        })
        counts = {"invalid_value": pct(sv_raw, 0.002), "malformed_value": pct(sv_raw, 0.002)}
        burst_rows = np.flatnonzero(sv_raw["问卷编号"].str.startswith("SVB").to_numpy())
        pool = np.setdiff1d(np.arange(len(sv_raw)), burst_rows)
        rows = _choose_disjoint(rng, len(pool), counts)
        rows = {k: pool[v] for k, v in rows.items()}
        sv_raw.loc[rows["invalid_value"], "满意度评分"] = rng.choice(["0", "6", "9"], len(rows["invalid_value"]))
        sv_raw.loc[rows["malformed_value"], "提交时间"] = rng.choice(["2025-02-30 10:00:00", "n/a"], len(rows["malformed_value"]))
        clean = np.setdiff1d(pool, np.concatenate(list(rows.values())))
        n_dup = pct(sv_raw, 0.005)
        sv_raw = _insert_duplicates(rng, sv_raw, clean, n_dup)
        defects["surveys"] = {**counts, "review_burst": int(sum(len(b) for b in bursts)), "duplicate_row": n_dup}
        # a sheet holds at most 1,048,576 rows: a larger export comes as several workbooks, as survey platforms split it
        for part, first in enumerate(range(0, max(len(sv_raw), 1), SHEET_ROWS)):
            name = "survey_export.xlsx" if part == 0 else f"survey_export_{part + 1}.xlsx"
            with pd.ExcelWriter(out / name, engine="openpyxl") as writer:
                pd.DataFrame({"说明": ["本文件由问卷平台导出", "满意度评分 1-5 分，推荐意愿 0-10 分"]}).to_excel(
                    writer, sheet_name="填写说明", index=False)
                sv_raw.iloc[first:first + SHEET_ROWS].to_excel(writer, sheet_name="问卷结果", index=False)

    if "complaints" in tables:
        # Complaints: JSON lines from the complaints system, times in UTC.
        cp = t["complaints"].copy()
        cp["text"] = _plant_pii(rng, cp.text, names, 0.2, planted_pii, "complaints")

        def utc(times: pd.Series) -> pd.Series:
            return _fmt(times - pd.Timedelta(hours=8), "%Y-%m-%dT%H:%M:%SZ")

        cp_raw = pd.DataFrame({
            "complaintNo": cp.complaint_id, "ticketNo": cp.ticket_id,
            "receivedTime": utc(cp.received_at), "firstResponseTime": utc(cp.first_response_at),
            "closedTime": utc(cp.closed_at), "level": cp.severity.astype(str),
            "category": cp.category.map(CATEGORY_ZH), "causeDimension": cp.cause_dimension.map(CAUSE_ZH),
            "content": cp.text,
        })
        cp_raw["closedTime"] = cp_raw["closedTime"].astype(object).where(cp_raw["closedTime"].notna(), None)  # open: null
        counts = {"invalid_value": pct(cp_raw, 0.005), "malformed_value": pct(cp_raw, 0.005)}
        rows = _choose_disjoint(rng, len(cp_raw), counts)
        cp_raw.loc[rows["invalid_value"], "level"] = "5"
        cp_raw.loc[rows["malformed_value"], "receivedTime"] = "2025-06-31T25:00:00Z"
        clean = np.setdiff1d(np.arange(len(cp_raw)), np.concatenate(list(rows.values())))
        n_dup = pct(cp_raw, 0.01)
        cp_raw = _insert_duplicates(rng, cp_raw, clean, n_dup)
        defects["complaints"] = {**counts, "duplicate_row": n_dup}
        with open(out / "complaints.jsonl", "w", encoding="utf-8") as fh:
            for record in cp_raw.to_dict("records"):
                record["level"] = int(record["level"])
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    if "field_visits" in tables:
        # Field visits: dispatch system CSV with English headers.
        fv = t["field_visits"]
        fv_raw = pd.DataFrame({
            "VisitID": fv.visit_id, "TicketID": fv.ticket_id, "EngineerID": fv.engineer_id,
            "PromisedTime": _fmt(fv.promised_at, "%Y-%m-%d %H:%M"), "ArrivalTime": _fmt(fv.arrived_at, "%Y-%m-%d %H:%M:%S"),
            "Rework": np.where(fv.rework_required, "Y", "N"),
        })
        counts = {"malformed_value": pct(fv_raw, 0.003)}
        rows = _choose_disjoint(rng, len(fv_raw), counts)
        fv_raw.loc[rows["malformed_value"], "ArrivalTime"] = "TBD"
        clean = np.setdiff1d(np.arange(len(fv_raw)), rows["malformed_value"])
        n_dup = pct(fv_raw, 0.005)
        fv_raw = _insert_duplicates(rng, fv_raw, clean, n_dup)
        defects["field_visits"] = {**counts, "duplicate_row": n_dup}
        fv_raw.to_csv(out / "field_visits.csv", index=False, encoding="utf-8")

    if "qa_reviews" in tables:
        # QA reviews: the QA tool's CSV; N/A where an item did not apply.
        qa = t["qa_reviews"]
        qa_raw = qa.copy()
        for item in RUBRIC_ITEMS:
            qa_raw[item] = qa[item].map(lambda v: "N/A" if pd.isna(v) else str(int(v)))
        qa_raw["reviewed_at"] = _fmt(qa.reviewed_at, "%Y-%m-%d %H:%M:%S")
        for flag in ("critical_fail", "process_compliant", "calibration"):
            qa_raw[flag] = np.where(qa[flag], "true", "false")
        counts = {"invalid_value": pct(qa_raw, 0.003)}
        rows = _choose_disjoint(rng, len(qa_raw), counts)
        qa_raw.loc[rows["invalid_value"], "courtesy"] = "7"
        clean = np.setdiff1d(np.arange(len(qa_raw)), rows["invalid_value"])
        n_dup = pct(qa_raw, 0.005)
        qa_raw = _insert_duplicates(rng, qa_raw, clean, n_dup)
        defects["qa_reviews"] = {**counts, "duplicate_row": n_dup}
        qa_raw.to_csv(out / "qa_reviews.csv", index=False, encoding="utf-8")

    return {"defects": defects, "pii": planted_pii,
            "raw_customer_ids": sorted(t["tickets"].customer_id.unique().tolist())[:200]}


def generate(out: str | Path, seed: int = 7, n_tickets: int = 80_000, n_teams: int = 6,
             tables: tuple[str, ...] = TABLES) -> dict:
    """Generate the sample raw exports and ``truth.json`` into ``out``.

    Parameters
    ----------
    out : str or Path
        Folder for the raw exports (created if missing).
    seed : int
        Random seed: the same seed gives byte-identical exports.
    n_tickets : int
        Tickets over the year, before duplicates and test tickets are added.
    n_teams : int
        Number of teams (6 or more).
    tables : tuple of str
        Which exports to write (the roster and tickets always are).

    Returns
    -------
    dict
        The planted truth, as written to ``truth.json``.

    Examples
    --------
    >>> truth = generate("data/sample", seed=7, n_tickets=5_000)  # doctest: +SKIP
    >>> truth["team_quality_order"][0]  # doctest: +SKIP
    'HL-A'
    """
    out = Path(out)
    sim = simulate(n_tickets=n_tickets, seed=seed, n_teams=n_teams)
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"unknown table(s) {sorted(unknown)}; tables are {', '.join(TABLES)}")
    truth = sim["truth"] | export(sim, out, seed, tuple(tables))
    for name, register in sim["registers"].items():  # the QA team's registers, as config/ holds them
        register.to_csv(out / name, index=False, encoding="utf-8")
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return truth
