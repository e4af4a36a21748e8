"""Service standards: KPI targets, scorecard weights and scoring, SLAs, grade bands, alert rules.

Loaded from ``config/standards.yml`` and checked on load; every problem is reported with
the file and the key at fault. Teams may override targets. Every target may say where it comes
from (``source:``, e.g. "seed 002: NPS from 45 to 65"); durations that differ by channel carry
``target_by_channel`` instead of one target.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from qa_helpers.config import config_file, read_yaml
from qa_helpers.errors import ConfigError
from qa_helpers.measures.kpis import KPIS

DIMENSIONS = ("timeliness", "professionalism", "compliance", "customer_experience")
DIRECTIONS = ("higher", "lower")
CHANNEL_NAMES = ("phone", "chat", "email", "social", "onsite")
SCORING_METHODS = ("ratio", "capped", "floor_to_target")
RULE_GROUPS = ("team", "channel", "agent", "all")


@dataclass(frozen=True)
class Standards:
    """The standards in force, with any team's overrides applied by :meth:`for_unit`."""

    path: Path
    raw: dict
    # targets per unit, built once: a report asks for them once per indicator shown (issue 17)
    _targets: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def targets(self, unit: str | None = None) -> pd.DataFrame:
        """KPI targets for a unit.

        Returns
        -------
        DataFrame
            ``kpi, target, floor, direction, dimension, unit, default_target, overridden, by_channel,
            source``. A KPI with ``target_by_channel`` has no single target (NaN) and
            ``by_channel`` True: its targets are in :meth:`channel_targets`. ``floor`` (NaN when
            not set) is where the indicator scores 0 under ``floor_to_target``.
        """
        if unit not in self._targets:
            self._targets[unit] = self._build_targets(unit)
        return self._targets[unit].copy()

    def _build_targets(self, unit: str | None) -> pd.DataFrame:
        overrides = self._overrides(unit)
        rows = []
        for name, spec in self.raw["kpis"].items():
            by_channel = "target_by_channel" in spec
            default = float("nan") if by_channel else float(spec["target"])
            target = float(overrides.get(name, {}).get("target", default)) if not by_channel else default
            rows.append({"kpi": name, "target": target, "floor": float(spec.get("floor", float("nan"))),
                         "direction": spec["direction"], "dimension": spec["dimension"], "unit": KPIS[name].unit,
                         "default_target": default, "overridden": name in overrides, "by_channel": by_channel,
                         "source": str(spec.get("source", ""))})
        return pd.DataFrame(rows).astype({"overridden": bool, "by_channel": bool})

    def channel_targets(self, unit: str | None = None) -> pd.DataFrame:
        """Per-channel targets of the KPIs that have them: ``kpi, channel, priority, target, direction,
        unit, source``.

        A channel's target is a number, or a mapping by ticket priority (``email: {default: 14400,
        high: 3600}``): ``priority`` is ``None`` for the channel's default (every priority not listed).
        A team override ``{kpi: {target_by_channel: {chat: 8}}}`` replaces those channels' targets.
        """
        overrides = self._overrides(unit)
        rows = []
        for name, spec in self.raw["kpis"].items():
            by_channel = {**(spec.get("target_by_channel") or {}),
                          **(overrides.get(name, {}).get("target_by_channel") or {})}
            for channel, target in by_channel.items():
                by_priority = target if isinstance(target, dict) else {"default": target}
                rows += [{"kpi": name, "channel": channel, "priority": None if priority == "default" else priority,
                          "target": float(value), "direction": spec["direction"], "unit": KPIS[name].unit,
                          "source": str(spec.get("source", ""))} for priority, value in by_priority.items()]
        return pd.DataFrame(rows, columns=["kpi", "channel", "priority", "target", "direction", "unit", "source"])

    def _overrides(self, unit: str | None) -> dict:
        return ((self.raw.get("overrides") or {}).get(unit) or {}) if unit else {}

    def scoring(self) -> dict:
        """How the scorecard scores: ``method``, ``not_applicable``, ``root_cause_below`` (defaults filled in)."""
        card = self.raw["scorecard"]
        return {"method": card.get("method", "ratio"), "not_applicable": card.get("not_applicable", "rescale"),
                "root_cause_below": float(card.get("root_cause_below", 1.0))}

    def remarks(self, unit: str, period: str) -> pd.DataFrame:
        """Remarks written in the standards for a unit and period: ``indicator, remark``."""
        rows = [{"indicator": r["indicator"], "remark": str(r["remark"])}
                for r in self.raw["scorecard"].get("remarks") or []
                if str(r.get("unit")) == unit and str(r.get("period")) == str(period)]
        return pd.DataFrame(rows, columns=["indicator", "remark"])

    def indicators(self) -> pd.DataFrame:
        """Scorecard indicators: ``indicator, kind (kpi|panel), weight, dimension``."""
        rows = []
        for item in self.raw["scorecard"]["indicators"]:
            if "kpi" in item:
                rows.append({"indicator": item["kpi"], "kind": "kpi", "weight": float(item["weight"]),
                             "dimension": self.raw["kpis"][item["kpi"]]["dimension"]})
            else:
                rows.append({"indicator": item["panel"], "kind": "panel", "weight": float(item["weight"]),
                             "dimension": item["dimension"]})
        return pd.DataFrame(rows)

    def grade(self, score: float) -> str | None:
        """The grade band a total score falls in (``None`` for a missing score)."""
        if pd.isna(score):
            return None
        for band in self.raw["grades"]:
            if score >= band["min"]:
                return band["grade"]
        return self.raw["grades"][-1]["grade"]

    def checks(self) -> pd.DataFrame:
        """What was checked when the standards loaded, as a table people can read."""
        weights = self.indicators()["weight"].sum()
        mins = [band["min"] for band in self.raw["grades"]]
        return pd.DataFrame([
            {"check": "scorecard weights total 100", "result": f"{weights:g}"},
            {"check": "scoring method", "result": self._scoring_summary()},
            {"check": "every KPI name is known", "result": f"{len(self.raw['kpis'])} KPIs"},
            {"check": "targets in range (shares 0-1, durations > 0, NPS -100..100)", "result": "ok"},
            {"check": "every floor lies on the far side of its target", "result": self._floors_summary()},
            {"check": "targets with a source", "result": self._sources_summary()},
            {"check": "grade bands ordered, no overlap, down to 0", "result": " > ".join(f"{m:g}" for m in mins)},
            {"check": "team overrides name known KPIs", "result": f"{len(self.raw.get('overrides') or {})} team(s)"},
            {"check": "complaint and resolution hours positive", "result": self._hours_summary()},
        ])

    def _scoring_summary(self) -> str:
        scoring = self.scoring()
        return (f"{scoring['method']}; root cause below {scoring['root_cause_below']:.0%} of target; "
                f"indicators without data: {scoring['not_applicable']}")

    def _floors_summary(self) -> str:
        floors = [name for name, spec in self.raw["kpis"].items() if "floor" in spec]
        return f"{len(floors)} KPIs have a floor" if floors else "no floors (only floor_to_target needs them)"

    def _sources_summary(self) -> str:
        sourced = sum(1 for spec in self.raw["kpis"].values() if spec.get("source"))
        return f"{sourced} of {len(self.raw['kpis'])}"

    def _hours_summary(self) -> str:
        by_priority = self.raw.get("resolution_hours_by_priority") or {}
        extra = ", ".join(f"{p} {float(h):g} h" for p, h in by_priority.items())
        return (f"complaints {float(self.raw.get('complaint_response_hours', 24)):g} h; resolution "
                f"{float(self.raw.get('resolution_hours', 48)):g} h" + (f" ({extra})" if extra else ""))

    def sla_table(self) -> pd.DataFrame:
        """First-response SLA per channel in seconds (NaN: none)."""
        return pd.DataFrame([{"channel": c, "first_response_sla_s": s}
                             for c, s in self.raw["sla"].items()])

    def resolution_table(self) -> pd.DataFrame:
        """Resolution limit per priority in hours (``resolved_within_sla``): ``priority, resolution_hours``.

        The row ``priority = "(default)"`` holds ``resolution_hours`` (48 unless configured),
        which applies to every priority not listed and to tickets without one.
        """
        default = float(self.raw.get("resolution_hours", 48))
        rows = [{"priority": "(default)", "resolution_hours": default}]
        rows += [{"priority": p, "resolution_hours": float(h)}
                 for p, h in (self.raw.get("resolution_hours_by_priority") or {}).items()]
        return pd.DataFrame(rows)


def _check_target(where: str, name: str, target) -> None:
    if not isinstance(target, (int, float)) or isinstance(target, bool):
        raise ConfigError(f"{where}: target of {name} must be a number, got {target!r}")
    unit = KPIS[name].unit
    if unit == "share" and not 0 < target <= 1:
        raise ConfigError(f"{where}: target of {name} is a share and must lie in (0, 1], got {target}"
                          + (" (write 90 % as 0.90)" if 1 < target <= 100 else ""))
    if unit == "points" and not -100 <= target <= 100:
        raise ConfigError(f"{where}: target of {name} is in NPS points and must lie in [-100, 100], got {target}")
    if unit in ("seconds", "per_1000", "tickets") and target <= 0:
        raise ConfigError(f"{where}: target of {name} must be positive, got {target}")
    if unit == "score" and not 1 <= target <= 5:
        raise ConfigError(f"{where}: target of {name} is a 1-5 score, got {target}")


def _check_kpi_targets(where: str, name: str, spec: dict) -> None:
    """One target, or per-channel targets for a duration; a floor on the far side of the target."""
    if "target_by_channel" in spec:
        if "target" in spec:
            raise ConfigError(f"{where}: give either target or target_by_channel, not both")
        _check_by_channel(where, name, spec["target_by_channel"])
    else:
        _check_target(where, name, spec.get("target"))
    if "floor" in spec:
        if "target_by_channel" in spec:
            raise ConfigError(f"{where}: a floor needs one target, not per-channel targets")
        _check_floor(where, name, spec["floor"], spec["target"], spec.get("direction"))


def _check_by_channel(where: str, name: str, by_channel) -> None:
    if KPIS[name].unit != "seconds":
        raise ConfigError(f"{where}: target_by_channel is for durations; {name} is a {KPIS[name].unit}")
    if not isinstance(by_channel, dict) or not by_channel:
        raise ConfigError(f"{where}: target_by_channel must map a channel to seconds, e.g. {{phone: 30}}; "
                          f"got {by_channel!r}")
    for channel, target in by_channel.items():
        if channel not in CHANNEL_NAMES:
            raise ConfigError(f"{where}: target_by_channel.{channel}: unknown channel; channels are "
                              f"{', '.join(CHANNEL_NAMES)}")
        if isinstance(target, dict):   # by ticket priority: {default: 14400, high: 3600}
            if not target:
                raise ConfigError(f"{where}: target_by_channel.{channel}: give seconds, or seconds per priority "
                                  f"such as {{default: 14400, high: 3600}}")
            for priority, value in target.items():
                _check_target(f"{where}: target_by_channel.{channel}.{priority}", name, value)
        else:
            _check_target(f"{where}: target_by_channel.{channel}", name, target)


def _check_floor(where: str, name: str, floor, target, direction) -> None:
    _check_target(f"{where}: floor", name, floor)
    if (direction == "higher" and floor >= target) or (direction == "lower" and floor <= target):
        side = "below" if direction == "higher" else "above"
        raise ConfigError(f"{where}: floor {floor:g} must lie {side} the target {target:g} "
                          f"({'higher' if direction == 'higher' else 'lower'} is better)")


def _check_rule(where: str, rule: dict) -> None:
    _known(where, rule.get("kpi"))
    if rule.get("unit", "team") not in RULE_GROUPS:
        raise ConfigError(f"{where}: unit must be one of {RULE_GROUPS}, got {rule.get('unit')!r}")
    if ("below" in rule) == ("above" in rule):
        raise ConfigError(f"{where}: give exactly one of below: or above:")
    min_n = rule.get("min_n", 1)
    if not isinstance(min_n, int) or isinstance(min_n, bool) or min_n < 1:
        raise ConfigError(f"{where}: min_n must be a whole number of at least 1, got {min_n!r}")


def _check_hours(where: str, hours) -> None:
    if not isinstance(hours, (int, float)) or isinstance(hours, bool) or hours <= 0:
        raise ConfigError(f"{where}: must be a positive number of hours, got {hours!r}")


def _known(where: str, name: str) -> None:
    if name not in KPIS:
        raise ConfigError(f"{where}: unknown KPI {name!r}; known KPIs: {', '.join(KPIS)}")


def validate_standards(doc: dict, path: Path) -> None:
    """Check a standards document; raise :class:`ConfigError` on the first problem found."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping")
    for key in ("kpis", "scorecard", "grades", "sla"):
        if key not in doc:
            raise ConfigError(f"{path}: missing section '{key}'")
    for name, spec in doc["kpis"].items():
        where = f"{path}: kpis.{name}"
        _known(where, name)
        if spec.get("direction") not in DIRECTIONS:
            raise ConfigError(f"{where}: direction must be one of {DIRECTIONS}, got {spec.get('direction')!r}")
        if spec.get("dimension") not in DIMENSIONS:
            raise ConfigError(f"{where}: dimension must be one of {DIMENSIONS}, got {spec.get('dimension')!r}")
        _check_kpi_targets(where, name, spec)
    for channel, seconds in doc["sla"].items():
        if channel not in CHANNEL_NAMES:
            raise ConfigError(f"{path}: sla.{channel}: unknown channel; channels are {', '.join(CHANNEL_NAMES)}")
        if seconds is not None and (not isinstance(seconds, (int, float)) or seconds <= 0):
            raise ConfigError(f"{path}: sla.{channel}: must be a positive number of seconds or null")
    for key in ("complaint_response_hours", "resolution_hours"):
        if key in doc:
            _check_hours(f"{path}: {key}", doc[key])
    by_priority = doc.get("resolution_hours_by_priority")
    if by_priority is not None:
        if not isinstance(by_priority, dict):
            raise ConfigError(f"{path}: resolution_hours_by_priority must map a priority to hours, "
                              f"e.g. {{high: 24}}; got {by_priority!r}")
        for priority, hours in by_priority.items():
            _check_hours(f"{path}: resolution_hours_by_priority.{priority}", hours)
    card = doc["scorecard"]
    total = 0.0
    for i, item in enumerate(card.get("indicators") or []):
        where = f"{path}: scorecard.indicators[{i}]"
        if "kpi" in item:
            _known(where, item["kpi"])
            if item["kpi"] not in doc["kpis"]:
                raise ConfigError(f"{where}: KPI {item['kpi']!r} has no target under kpis")
        elif "panel" in item:
            if item.get("dimension") not in DIMENSIONS:
                raise ConfigError(f"{where}: a panel indicator needs a dimension from {DIMENSIONS}")
        else:
            raise ConfigError(f"{where}: write either kpi: NAME or panel: NAME")
        weight = item.get("weight")
        if not isinstance(weight, (int, float)) or weight <= 0:
            raise ConfigError(f"{where}: weight must be a positive number, got {weight!r}")
        total += weight
    if abs(total - 100) > 1e-9:
        raise ConfigError(f"{path}: scorecard weights must total 100, they total {total:g}")
    if card.get("not_applicable", "rescale") not in ("rescale", "zero"):
        raise ConfigError(f"{path}: scorecard.not_applicable must be 'rescale' or 'zero'")
    _check_scoring(path, doc)
    mins = [band.get("min") for band in doc["grades"]]
    if any(not isinstance(m, (int, float)) or not 0 <= m <= 100 for m in mins):
        raise ConfigError(f"{path}: grades: every band needs a min between 0 and 100, got {mins}")
    if any(a <= b for a, b in zip(mins, mins[1:])):
        raise ConfigError(f"{path}: grades overlap or are out of order: list them highest first with "
                          f"strictly falling min values, got {mins}")
    if mins[-1] != 0:
        raise ConfigError(f"{path}: grades leave scores below {mins[-1]} without a grade: the last band needs min: 0")
    for i, rule in enumerate(doc.get("alerts") or []):
        _check_rule(f"{path}: alerts[{i}]", rule)
    if doc.get("coaching"):
        _known(f"{path}: coaching", doc["coaching"].get("kpi"))
    _check_qa(path, doc.get("qa"))
    _check_people(path, doc.get("people"))
    from qa_helpers.measures import service_levels  # service levels by severity (issue 14)

    service_levels.check(doc, path)
    for team, targets in (doc.get("overrides") or {}).items():
        for name, spec in (targets or {}).items():
            where = f"{path}: overrides.{team}.{name}"
            _known(where, name)
            spec = spec or {}
            if "target_by_channel" in spec:
                _check_by_channel(where, name, spec["target_by_channel"])
                continue
            _check_target(where, name, spec.get("target"))
            default = doc["kpis"].get(name) or {}
            if "floor" in default:
                _check_floor(where, name, default["floor"], spec["target"], default.get("direction"))


def _positive(value, whole: bool = False) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and value > 0 and (not whole or float(value).is_integer())


def _check_qa(path: Path, qa) -> None:
    """The QA team's capacity and the review sample's design (section ``qa:``, optional)."""
    if qa is None:
        return
    if not isinstance(qa, dict):
        raise ConfigError(f"{path}: qa: expected a mapping such as {{reviews_per_week: 11}}, got {qa!r}")
    known = ("reviews_per_week", "by_team", "min_per_stratum", "low_csat_max", "oversample")
    unknown = [key for key in qa if key not in known]
    if unknown:
        raise ConfigError(f"{path}: qa.{unknown[0]}: unknown key; keys are {', '.join(known)}")
    if "reviews_per_week" in qa and not _positive(qa["reviews_per_week"]):
        raise ConfigError(f"{path}: qa.reviews_per_week must be a positive number of reviews per team per week, "
                          f"got {qa['reviews_per_week']!r}")
    by_team = qa.get("by_team") or {}
    if not isinstance(by_team, dict):
        raise ConfigError(f"{path}: qa.by_team must map a team to reviews per week, e.g. {{HL-C: 14}}, got {by_team!r}")
    for team, per_week in by_team.items():
        if not _positive(per_week):
            raise ConfigError(f"{path}: qa.by_team.{team} must be a positive number of reviews per week, got {per_week!r}")
    minimum = qa.get("min_per_stratum", 1)
    if not (minimum == 0 or _positive(minimum, whole=True)) or isinstance(minimum, bool):
        raise ConfigError(f"{path}: qa.min_per_stratum must be a whole number of 0 or more, got {minimum!r}")
    low = qa.get("low_csat_max", 2)
    if low not in (1, 2, 3, 4) or isinstance(low, bool):
        raise ConfigError(f"{path}: qa.low_csat_max is the highest CSAT (1-5) that counts as low, 1-4, got {low!r}")
    oversample = qa.get("oversample") or {}
    if not isinstance(oversample, dict):
        raise ConfigError(f"{path}: qa.oversample must map complaint / low_csat to a factor, got {oversample!r}")
    for risk, factor in oversample.items():
        if risk not in ("complaint", "low_csat"):
            raise ConfigError(f"{path}: qa.oversample.{risk}: unknown risk class; classes are complaint, low_csat")
        if not _positive(factor) or factor < 1:
            raise ConfigError(f"{path}: qa.oversample.{risk} must be a factor of 1 or more, got {factor!r}")


# issue 14: coaching effect, training and QA programme (section ``people:``, optional) ----------
PEOPLE_TARGETS = ("training_pass_rate", "certification_rate", "qa_pass_rate", "qa_coverage", "training_hours_per_agent")


def _check_people(path: Path, people) -> None:
    """The coaching-effect and training-effect windows, the QA pass mark and the programme's targets."""
    if people is None:
        return
    if not isinstance(people, dict):
        raise ConfigError(f"{path}: people: expected a mapping such as {{qa_pass_mark: 70}}, got {people!r}")
    known = ("coaching_effect", "training_effect", "qa_pass_mark", "targets")
    unknown = [key for key in people if key not in known]
    if unknown:
        raise ConfigError(f"{path}: people.{unknown[0]}: unknown key; keys are {', '.join(known)}")
    for block in ("coaching_effect", "training_effect"):
        spec = people.get(block) or {}
        if not isinstance(spec, dict):
            raise ConfigError(f"{path}: people.{block}: expected a mapping, got {spec!r}")
        for key in ("weeks_before", "weeks_after", "min_answers"):
            if key in spec and not _positive(spec[key], whole=True):
                raise ConfigError(f"{path}: people.{block}.{key} must be a whole number of at least 1, got {spec[key]!r}")
        for kpi in spec.get("kpis") or []:
            _known(f"{path}: people.{block}.kpis", kpi)
    mark = people.get("qa_pass_mark", 70)
    if not isinstance(mark, (int, float)) or isinstance(mark, bool) or not 0 <= mark <= 100:
        raise ConfigError(f"{path}: people.qa_pass_mark is an IQS between 0 and 100, got {mark!r}")
    for name, spec in (people.get("targets") or {}).items():
        if name not in PEOPLE_TARGETS:
            raise ConfigError(f"{path}: people.targets.{name}: unknown target; targets are {', '.join(PEOPLE_TARGETS)}")
        value = (spec or {}).get("target") if isinstance(spec, dict) else None
        share = name != "training_hours_per_agent"
        if not _positive(value) or (share and value > 1):
            raise ConfigError(f"{path}: people.targets.{name}.target must be "
                              f"{'a share in (0, 1]' if share else 'a positive number of hours'}, got {value!r}")


def _check_scoring(path: Path, doc: dict) -> None:
    """The scoring method, its floors, the root-cause threshold and the remarks."""
    card = doc["scorecard"]
    if "cap_at_weight" in card:
        raise ConfigError(f"{path}: scorecard.cap_at_weight was replaced by scorecard.method "
                          f"(ratio, capped or floor_to_target); write method: capped to cap at the weight")
    method = card.get("method", "ratio")
    if method not in SCORING_METHODS:
        raise ConfigError(f"{path}: scorecard.method must be one of {', '.join(SCORING_METHODS)}, got {method!r}")
    if method == "floor_to_target":
        floorless = [item["kpi"] for item in card.get("indicators") or []
                     if "kpi" in item and "floor" not in doc["kpis"].get(item["kpi"], {})]
        if floorless:
            raise ConfigError(f"{path}: scorecard.method floor_to_target needs a floor under kpis for "
                              f"{', '.join(floorless)} (the level that scores 0)")
    below = card.get("root_cause_below", 1.0)
    if not isinstance(below, (int, float)) or isinstance(below, bool) or not 0 < below <= 1:
        raise ConfigError(f"{path}: scorecard.root_cause_below is a share of the target in (0, 1] "
                          f"(1.0: every missed target; seed 001's 80 %: 0.80), got {below!r}")
    for i, remark in enumerate(card.get("remarks") or []):
        missing = [key for key in ("unit", "period", "indicator", "remark") if not remark.get(key)]
        if missing:
            raise ConfigError(f"{path}: scorecard.remarks[{i}]: missing {', '.join(missing)}")


def load_standards(path: str | os.PathLike | None = None) -> Standards:
    """Load and validate ``standards.yml``.

    Parameters
    ----------
    path : path-like, optional
        Defaults to ``standards.yml`` in the config folder.

    Returns
    -------
    Standards

    Raises
    ------
    ConfigError
        Naming the file and key: weights not totalling 100, unknown KPI names, targets out
        of range, overlapping grade bands, and so on.
    """
    path = Path(path) if path and not Path(path).is_dir() else config_file("standards.yml", path)
    doc = read_yaml(path)
    validate_standards(doc, path)
    return Standards(path=path, raw=doc)
