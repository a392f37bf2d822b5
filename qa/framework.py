"""Frameworks are data: TOML files validated on load, versioned, overridable by evaluators.

Shipped files live in `qa/frameworks/`. An evaluator's edited thresholds are saved
as a new version in the database (`framework_versions`), never over the file; the
newest version wins unless a version is asked for.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qa.audit import record
from qa.errors import CpdqaError
from qa.labels import criterion, figure, label
from qa.store import Store, run

FRAMEWORK_DIR = Path(__file__).parent / "frameworks"
DEFAULT_FRAMEWORK = "wellcome"
KITEMARK_FRAMEWORK = "kitemark"

Comparator = Literal[">=", ">", "<=", "<", "="]
Level = Literal["teacher-year", "school-year"]

# Metrics the engine computes, by level; a rule may only name one of these.
TEACHER_METRICS = {
    "total_hours", "quality_hours", "counted_hours", "subject_specific_share", "quality_share",
    "collaborative_sustained_hours", "activities",
}
SCHOOL_METRICS = {
    "teachers", "share_meeting", "median_counted_hours", "share_activities_all_aspects",
    "share_hours_pupil_outcomes", "share_hours_evidence_based", "share_hours_collaboration",
    "share_hours_sustained", "share_hours_collaborative_sustained", "leadership_prioritised",
}
PROVIDER_METRICS = {
    "teachers", "schools", "hours", "share_hours_all_aspects", "share_hours_3plus_aspects",
    "share_hours_sustained_programmes", "quality_mark_held",
}
HOUR_METRICS = {"total_hours", "quality_hours", "counted_hours", "collaborative_sustained_hours"}
BOOLEAN_METRICS = {"leadership_prioritised", "quality_mark_held"}
MAX_HOURS = 2000.0  # more CPD hours than a working year holds is a typing slip, not a threshold


def is_share_metric(metric: str) -> bool:
    """Shares are fractions 0-1 (shown as percentages); everything else is a count or hours."""
    return metric.endswith("_share") or metric.startswith("share_")


def threshold_problem(metric: str, threshold: float | bool) -> str | None:
    """Why a threshold cannot be used for this metric (not finite, out of range), or None if it can."""
    if metric in BOOLEAN_METRICS:
        return None if isinstance(threshold, bool) else "must be yes or no"
    if isinstance(threshold, bool):
        return "must be a number, not yes or no"
    value = float(threshold)
    if not math.isfinite(value):
        return f"must be a finite number, not {threshold}"
    if is_share_metric(metric):
        return None if 0 <= value <= 1 else f"is a share, so must be between 0% and 100%; got {value:g}"
    if metric in HOUR_METRICS or metric.endswith("hours"):
        return None if 0 <= value <= MAX_HOURS else f"must be between 0 and {MAX_HOURS:g} hours; got {value:g}"
    return None if value >= 0 else f"must not be negative; got {value:g}"


class FrameworkError(CpdqaError, ValueError):
    """A framework file or override that cannot be used, with the reason."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Definitions(_Model):
    quality_min_aspects: int = Field(4, ge=1, le=4)
    counted_requires_aligned: bool = True
    pro_rata_fte: bool = False
    only_recognised_hours: bool = False
    sustained_min_terms: int = Field(2, ge=1, le=12)


class Rule(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    level: Level
    metric: str
    comparator: Comparator
    threshold: float | bool
    period: str
    source: str
    explanation: str
    pro_rata_terms: bool = False

    @model_validator(mode="after")
    def _metric_exists(self) -> Rule:
        known = TEACHER_METRICS if self.level == "teacher-year" else SCHOOL_METRICS
        if self.metric not in known:
            raise ValueError(f"rule '{self.id}': unknown {self.level} metric '{self.metric}'; "
                             f"choose from {', '.join(sorted(known))}")
        problem = threshold_problem(self.metric, self.threshold)
        if problem:
            raise ValueError(f"the threshold of '{self.title}' {problem}")
        return self


class LevelRule(_Model):
    metric: str
    comparator: Comparator
    threshold: float | bool
    explanation: str

    @field_validator("metric")
    @classmethod
    def _provider_metric(cls, value: str) -> str:
        if value not in PROVIDER_METRICS:
            raise ValueError(f"unknown provider metric '{value}'; choose from {', '.join(sorted(PROVIDER_METRICS))}")
        return value

    @model_validator(mode="after")
    def _threshold_usable(self) -> LevelRule:
        problem = threshold_problem(self.metric, self.threshold)
        if problem:
            raise ValueError(f"the threshold for {self.metric.replace('_', ' ')} {problem}")
        return self


class KitemarkLevel(_Model):
    name: str
    rules: list[LevelRule]


INSUFFICIENT_EVIDENCE = "insufficient evidence"  # a provider with too few teachers to judge


class Kitemark(_Model):
    min_teachers: int = Field(5, ge=1)
    expiring_days: int = Field(90, ge=0)
    source: str
    levels: list[KitemarkLevel] = Field(min_length=1)

    def level_names(self) -> list[str]:
        """Every level a provider can get, lowest first: the names `engine` gives providers."""
        return [INSUFFICIENT_EVIDENCE, self.working_towards(), *(lv.name for lv in self.levels)]

    def working_towards(self) -> str:
        """The level of a provider with enough teachers that reaches no level yet."""
        return f"working towards {self.levels[0].name}"


class Recognition(_Model):
    source: str
    require_accreditation: bool = True


class Framework(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: int = Field(ge=1)
    title: str
    summary: str = ""
    sources: dict[str, str] = Field(default_factory=dict)
    definitions: Definitions = Definitions()
    rules: list[Rule] = Field(default_factory=list)
    kitemark: Kitemark | None = None
    recognition: Recognition | None = None

    @model_validator(mode="after")
    def _sources_named(self) -> Framework:
        cited = {r.source for r in self.rules}
        cited |= {self.kitemark.source} if self.kitemark else set()
        cited |= {self.recognition.source} if self.recognition else set()
        missing = cited - set(self.sources)
        if missing:
            raise ValueError(f"rules cite sources not listed under [sources]: {', '.join(sorted(missing))}")
        ids = [r.id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError("rule ids must be unique")
        return self

    def rules_at(self, level: str) -> list[Rule]:
        return [r for r in self.rules if r.level == level]

    def to_toml(self) -> str:
        return tomli_w.dumps(self.model_dump(mode="json", exclude_none=True))


def parse_framework(text: str, origin: str = "framework") -> Framework:
    """Parse and validate TOML text; errors name the file and the offending field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FrameworkError(f"{origin} is not valid TOML: {exc}") from exc
    try:
        return Framework.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
        raise FrameworkError(f"{origin} is not a valid framework: {problems}") from exc


# The files last parsed (name, modification time, size of each) and what they gave: every page run asks
# for the shipped frameworks several times, and parsing them each time was an eighth of a session's CPU.
_shipped: tuple[tuple[tuple[str, int, int], ...], dict[str, Framework]] = ((), {})


def shipped_frameworks() -> dict[str, Framework]:
    """Every framework file in qa/frameworks (benchmarks.toml holds context, not rules), parsed again only
    when a file is added, removed or changed (the models are frozen, so callers may share them)."""
    global _shipped
    paths = [path for path in sorted(FRAMEWORK_DIR.glob("*.toml")) if path.stem != "benchmarks"]
    stamp = tuple((path.name, (stat := path.stat()).st_mtime_ns, stat.st_size) for path in paths)
    parsed = _shipped
    if parsed[0] != stamp or not stamp:
        found = {}
        for path in paths:
            framework = parse_framework(path.read_text(encoding="utf-8"), path.name)
            found[framework.id] = framework
        parsed = _shipped = (stamp, found)
    return dict(parsed[1])


def benchmarks() -> list[dict[str, Any]]:
    return tomllib.loads((FRAMEWORK_DIR / "benchmarks.toml").read_text(encoding="utf-8"))["benchmarks"]


def saved_versions(store: Store, framework_id: str) -> list[tuple[int, str, dt.datetime]]:
    return [tuple(r) for r in store.query_rows(
        "SELECT version, saved_by, saved_at FROM framework_versions WHERE framework_id = ? ORDER BY version",
        [framework_id])]


def load_framework(framework_id: str = DEFAULT_FRAMEWORK, store: Store | None = None,
                   version: int | None = None) -> Framework:
    """The newest version of a framework (or the one asked for), from the database or the file."""
    shipped = shipped_frameworks()
    bodies: dict[int, Framework | str] = {}
    if framework_id in shipped:
        bodies[shipped[framework_id].version] = shipped[framework_id]
    if store is not None:
        for (v, body) in store.query_rows(
                "SELECT version, body FROM framework_versions WHERE framework_id = ?", [framework_id]):
            bodies[v] = body
    if not bodies:
        raise FrameworkError(f"no framework '{framework_id}'; available: {', '.join(sorted(shipped))}")
    wanted = max(bodies) if version is None else version
    if wanted not in bodies:
        raise FrameworkError(f"framework '{framework_id}' has no version {version}; "
                             f"versions: {', '.join(map(str, sorted(bodies)))}")
    found = bodies[wanted]
    # Only the version asked for is parsed, so one unusable saved version (say a nan threshold saved before
    # thresholds were checked) never blocks reverting to a good one.
    return found if isinstance(found, Framework) else parse_framework(found, f"{framework_id} version {wanted}")


_WORDING_NOTE = re.compile(r" \(The framework's own wording is for (?P<was>.+?); this version uses .+?\.\)$")


def _reword(rule: dict[str, Any], value: Any) -> None:
    """A rule's words follow its new threshold: the title (which may quote the old one, "35 counted hours a
    year") becomes the rule in words, and the explanation keeps the framework's text with a note saying which
    threshold that text was written for and which this version uses. Otherwise a teacher told "35 counted
    hours a year: ... needs at least 120.0 h" reads two rules."""
    if (isinstance(value, bool) or isinstance(rule["threshold"], bool) or threshold_problem(rule["metric"], value)
            or float(value) == float(rule["threshold"])):
        return  # an unusable threshold is refused by the validation, in the rule's own words
    was = figure(rule["metric"], rule["threshold"])
    explanation = rule["explanation"]
    if noted := _WORDING_NOTE.search(explanation):  # edited before: the note keeps the framework's own figure
        explanation, was = explanation[:noted.start()], noted["was"]
    now = figure(rule["metric"], value)
    rule["explanation"] = explanation + (f" (The framework's own wording is for {was}; this version uses {now}.)"
                                         if now != was else "")
    if "title" in rule:
        rule["title"] = criterion(rule["metric"], rule["comparator"], value)


_SUMMARY_NOTE = re.compile(r" \(This version's thresholds differ from the text above: .+\.\)$", re.DOTALL)


def _note_in_summary(data: dict[str, Any]) -> None:
    """The framework's summary ("at least 35 hours ... a year") says which thresholds this version changed,
    read from the rules' own notes (so the figures its text was written for survive any number of edits)."""
    rules = [("", r) for r in data["rules"]]
    rules += [(f"{lv['name']}: ", r) for lv in (data.get("kitemark") or {}).get("levels", []) for r in lv["rules"]]
    changed = [f"{name}{criterion(r['metric'], r['comparator'], r['threshold']).lower()} (written for "
               f"{noted['was']})" for name, r in rules if (noted := _WORDING_NOTE.search(r["explanation"]))]
    summary = _SUMMARY_NOTE.sub("", data["summary"])
    data["summary"] = summary + (f" (This version's thresholds differ from the text above: {'; '.join(changed)}.)"
                                 if changed else "")


def with_overrides(framework: Framework, overrides: dict[str, Any]) -> Framework:
    """A copy with thresholds or definitions changed, e.g. {'meets_hours': 30, 'quality_min_aspects': 3}.

    Keys are a rule id (its threshold), a definition name, or 'kitemark.<Level>.<n>' for
    the n-th (1-based) rule of a kite-mark level. The copy is validated like a file.
    """
    data = framework.model_dump(mode="json")
    rules = {r["id"]: r for r in data["rules"]}
    for key, value in overrides.items():
        if key in rules:
            _reword(rules[key], value)
            rules[key]["threshold"] = value
        elif key in data["definitions"]:
            data["definitions"][key] = value
        elif key.startswith("kitemark.") and data.get("kitemark"):
            _, level_name, number = [*key.split("."), "", ""][:3]
            levels = {lv["name"].lower(): lv for lv in data["kitemark"]["levels"]}
            try:
                level_rule = levels[level_name.lower()]["rules"][int(number) - 1]
                _reword(level_rule, value)
                level_rule["threshold"] = value
            except (KeyError, ValueError, IndexError) as exc:
                raise FrameworkError(f"no kite-mark rule '{key}'") from exc
        else:
            raise FrameworkError(f"'{key}' is neither a rule of {framework.id} nor a definition; rules: "
                                 f"{', '.join(rules)}; definitions: {', '.join(data['definitions'])}")
    _note_in_summary(data)
    try:
        return Framework.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["loc"][:1] == ("definitions",):  # name the setting: "Aspects needed ...: at most 4"
            message = f"{label(str(error['loc'][-1]))}: {message[:1].lower()}{message[1:]}"
        raise FrameworkError(f"Not saved: {message}.") from exc


def save_version(store: Store, framework: Framework, saved_by: str, note: str | None = None) -> Framework:
    """Store `framework` as the next version of its id and return it with that version."""
    try:
        before = load_framework(framework.id, store) if framework.id in known_framework_ids(store) else None
    except FrameworkError:  # the newest saved version no longer validates: nothing to compare with
        before = None
    with store.transaction() as cur:
        newest = run(cur, "SELECT coalesce(max(version), 0) FROM framework_versions WHERE framework_id = ?",
                     [framework.id])[0][0]
        shipped = shipped_frameworks().get(framework.id)
        version = max(newest, shipped.version if shipped else 0) + 1
        saved = framework.model_copy(update={"version": version})
        run(cur, "INSERT INTO framework_versions VALUES (?, ?, ?, current_timestamp, ?)",
            [saved.id, version, saved_by, saved.to_toml()])
        record(cur, saved_by, "framework edit",
               f"{saved.id} version {version}: {note or _describe_changes(before, saved)}")
    return saved


def known_framework_ids(store: Store | None) -> set[str]:
    ids = set(shipped_frameworks())
    if store is not None:
        ids |= {r[0] for r in store.query_rows("SELECT DISTINCT framework_id FROM framework_versions")}
    return ids


def versions(store: Store | None, framework_id: str) -> list[int]:
    """Every version of a framework that can be judged by: the shipped file's and every saved one, oldest first."""
    found = set()
    shipped = shipped_frameworks().get(framework_id)
    if shipped:
        found.add(shipped.version)
    if store is not None:
        found |= {r[0] for r in store.query_rows(
            "SELECT version FROM framework_versions WHERE framework_id = ?", [framework_id])}
    return sorted(found)


def revert_to(store: Store, framework_id: str, version: int, saved_by: str) -> Framework:
    """Make an old version the one judged by, by saving it again as the newest (history is kept)."""
    old = load_framework(framework_id, store, version)
    return save_version(store, old, saved_by, note=f"reverted to version {version}")


def _describe_changes(before: Framework | None, after: Framework) -> str:
    """'meets_hours 35 -> 30; quality_min_aspects 4 -> 3' for the audit log."""
    if before is None:
        return "new framework"
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    changes = [f"{r1['id']} {r0['threshold']} -> {r1['threshold']}"
               for r0, r1 in zip(old["rules"], new["rules"], strict=False) if r0["threshold"] != r1["threshold"]]
    changes += [f"{k} {old['definitions'][k]} -> {v}" for k, v in new["definitions"].items()
                if old["definitions"].get(k) != v]
    return "; ".join(changes) or "no threshold changes"


def coerce_override_value(text: str) -> Any:
    """CLI text to a value: true/false, integers, decimals (and '70%' as 0.7)."""
    lowered = text.strip().lower()
    if lowered in {"true", "yes", "on"}:
        return True
    if lowered in {"false", "no", "off"}:
        return False
    if lowered.endswith("%"):
        return float(lowered[:-1]) / 100
    try:
        return int(lowered)
    except ValueError:
        try:
            return float(lowered)
        except ValueError as exc:
            raise FrameworkError(f"'{text}' is not a number, percentage, true or false") from exc
