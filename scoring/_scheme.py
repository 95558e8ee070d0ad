"""Scoring schemes: TOML presets shipped in ``scoring/presets``, call overrides, validation.

A scheme file (a preset, or a custom file a call manager writes) is one TOML document::

    id = "erasmus-afi"                  # required, also the preset's file name
    title = "..."                       # optional
    source = "..."                      # where the numbers come from
    status = "confirmed"                # confirmed | secondary | unconfirmed | custom
    practice = ["..."]                  # numbers that are agency practice, not programme rules
    unconfirmed = ["..."]               # what is not confirmed, in words
    total_threshold = 70                # points the total must reach to pass
    experts_per_proposal = 2
    third_expert_rule = "closest_two"   # closest_two | mean_all | consensus
    tie_break = ["relevance", "quality", "impact"]   # criterion ids, in order
    funding = "strict"                  # strict | skip
    one_per = "ecosystem"               # optional: at most one funded proposal per group

    [divergence]
    total_gap = 30                      # points (> 0); expert totals this far apart diverge
    skip_if_all_below = true            # no extra expert when every total fails anyway

    [ranking_weights]                   # optional, default 1 for every criterion
    impact = 1.5                        # used to rank only, never to pass

    [criteria.relevance]                # one table per criterion, in the scheme's order
    label = "Relevance of the project"
    labels = { fr = "Pertinence du projet", de = "Relevanz des Projekts" }   # optional: the
                                        # label in other languages (ISO 639-1), for reports
    max = 25                            # points
    min_pass = 13                       # points, 0 <= min_pass <= max
    step = 1                            # 1 or 0.5: scores are multiples of it
    questions = ["..."]                 # guiding questions shown to experts
    comment_required = true             # optional (default true): every score needs a comment
    comment_min_words = 0               # optional: words a comment needs at least

    [[bands]]                           # from the highest; min_share of a criterion's max
    label = "Very good"
    min_share = 0.85                    # ... the last band has min_share = 0

Overrides (the ``[scheme]`` table of ``call.toml``, given as the nested dict
``CallConfig.scheme_overrides``) have the same shape as a scheme file and are merged key by key
over the preset: a table merges into the preset's table, any other value (including a list such
as ``tie_break`` or ``bands``) replaces it. ``[scheme.criteria.<id>]`` may change any field of an
existing criterion; it cannot add or remove criteria (write a scheme file for that). Example::

    [scheme]
    total_threshold = 65
    [scheme.criteria.relevance]
    min_pass = 12
    [scheme.divergence]
    total_gap = 25

``one_per = "none"`` in an override removes a preset's ``one_per``. Every problem of the merged
scheme is reported at once in a :class:`SchemeError`, each message located in the file the
offending value came from, e.g.
``call.toml: scheme.criteria.quality.min_pass: 40 is above the criterion's max 30``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from typing import Any

from ._fields import Checker, choice, number, show, text, texts, unknown_keys

RULES = ("closest_two", "mean_all", "consensus")
FUNDING = ("strict", "skip")
ONE_PER = ("ecosystem",)
STATUSES = ("confirmed", "secondary", "unconfirmed", "custom")
STEPS = (1.0, 0.5)
# Criterion ids become column names of the result frame: these are taken.
RESERVED = frozenset({
    "proposal_id", "expert_id", "lot", "experts", "total", "rank_score", "band", "passed",
    "fail_reasons", "divergent", "needs_expert", "pending", "pending_reason", "rank", "tied",
    "tie_order_note", "decision",
    "requested_eur", "reserve_position", "final_rule", "consolidated", "criterion", "score",
})  # fmt: skip
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Criterion:
    """One award criterion. Points are on the scheme's scale (``max`` points for this one)."""

    id: str
    label: str
    max: float
    min_pass: float
    step: float  # 1.0 or 0.5
    questions: tuple[str, ...] = ()
    rank_weight: float = 1.0  # multiplies the score when ranking only
    comment_required: bool = True  # a score below min_pass always needs a comment
    comment_min_words: int = 0
    labels: tuple[tuple[str, str], ...] = ()  # (ISO 639-1 language, label) translations

    def label_in(self, language: str) -> str:
        """The label in ``language`` (ISO 639-1), else :attr:`label`."""
        return dict(self.labels).get(language, self.label)


@dataclass(frozen=True, slots=True)
class Divergence:
    total_gap: float  # points
    skip_if_all_below: bool


@dataclass(frozen=True, slots=True)
class Band:
    label: str
    min_share: float  # lower bound (inclusive) as a share of a criterion's max, in [0, 1]


@dataclass(frozen=True, slots=True)
class Scheme:
    """A validated scoring scheme (see the module docstring for the file it comes from)."""

    id: str
    title: str
    source: str
    status: str
    unconfirmed: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    total_threshold: float
    experts_per_proposal: int
    divergence: Divergence
    third_expert_rule: str
    tie_break: tuple[str, ...]
    bands: tuple[Band, ...]
    funding: str
    one_per: str | None
    overridden: tuple[str, ...] = ()  # dotted keys changed by the call's overrides
    practice: tuple[str, ...] = ()  # numbers that are agency practice, not programme rules

    @property
    def criterion_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.criteria)

    @property
    def total_max(self) -> float:
        return float(sum(c.max for c in self.criteria))

    def criterion(self, criterion_id: str) -> Criterion:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)


class SchemeError(ValueError):
    """A scheme or its overrides make no sense; ``messages`` lists every problem, located."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = tuple(messages)
        super().__init__("\n".join(self.messages))


def list_presets() -> tuple[str, ...]:
    """Ids of the shipped presets, sorted."""
    files = resources.files("scoring").joinpath("presets").iterdir()
    return tuple(sorted(f.name[:-5] for f in files if f.name.endswith(".toml")))


def preset_text(preset_id: str) -> str:
    """The TOML text of a shipped preset."""
    if preset_id not in list_presets():
        raise SchemeError([f"unknown scheme {preset_id!r}: choose one of "
                           f"{', '.join(list_presets())}, or give a scheme file"])
    return resources.files("scoring").joinpath("presets", f"{preset_id}.toml").read_text("utf-8")


def load_scheme(
    id_or_toml_text: str,
    overrides: Mapping[str, Any] | None = None,
    source: str = "call.toml",
    scheme_source: str | None = None,
) -> Scheme:
    """A preset id (see :func:`list_presets`) or a scheme's TOML text, with overrides merged in.

    ``source`` names where the overrides come from (their keys are shown as ``scheme.<key>``);
    ``scheme_source`` names the TOML text (default: ``<id>.toml`` for a preset, else ``scheme``).
    Raises :class:`SchemeError` with every problem found.
    """
    document = id_or_toml_text
    if "\n" not in document and "=" not in document:
        base_name = scheme_source or f"{document}.toml"
        document = preset_text(document)
    else:
        base_name = scheme_source or "scheme"
    try:
        raw = tomllib.loads(document)
    except tomllib.TOMLDecodeError as exc:
        raise SchemeError([f"{base_name}: not valid TOML: {exc}"]) from None
    check = Checker(base_name, source)
    merged = _merge(raw, dict(overrides or {}), (), check)
    scheme = _build(merged, check)
    if check.messages or scheme is None:
        raise SchemeError(check.messages)
    return scheme


def _merge(base: dict[str, Any], over: Mapping[str, Any], path: tuple[str, ...],
           check: Checker) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        here = (*path, str(key))
        if path == ("criteria",) and key not in base:
            check.overridden.add(here)
            known = ", ".join(base) or "none"
            check.add(f"unknown criterion {key!r}: the scheme has {known} "
                      "(write a scheme file to add criteria)", here)
            continue
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            out[key] = _merge(base[key], value, here, check)
        else:
            check.overridden.add(here)
            out[key] = value
    return out


_TOP = ("id", "title", "source", "status", "practice", "unconfirmed", "total_threshold",
        "experts_per_proposal", "third_expert_rule", "tie_break", "funding", "one_per",
        "divergence", "ranking_weights", "criteria", "bands")  # fmt: skip
_CRITERION = ("label", "labels", "max", "min_pass", "step", "questions", "comment_required",
              "comment_min_words")
_LANGUAGE = re.compile(r"[a-z]{2}$")


def _labels(spec: Mapping[str, Any], path: tuple[str, ...],
            check: Checker) -> tuple[tuple[str, str], ...] | None:
    value = spec.get("labels", {})
    where = (*path, "labels")
    if not isinstance(value, dict):
        check.add(f"{show(value)} is not a table of language = label "
                  '(e.g. labels = { fr = "Pertinence du projet" })', where)
        return None
    out = []
    for lang, label in value.items():
        if not _LANGUAGE.match(str(lang)):
            check.add("not a language: give a two-letter ISO 639-1 code in lower case (fr, de)",
                      (*where, str(lang)))
        elif not isinstance(label, str) or not label.strip():
            check.add(f"{show(label)} is not a text", (*where, str(lang)))
        else:
            out.append((str(lang), label.strip()))
    return tuple(sorted(out)) if len(out) == len(value) else None


def _criteria(doc: Mapping[str, Any], check: Checker) -> list[Criterion]:
    table = doc.get("criteria")
    if not isinstance(table, dict) or not table:
        check.add("missing: give at least one [criteria.<id>] table", ("criteria",))
        return []
    weights = doc.get("ranking_weights", {})
    if not isinstance(weights, dict):
        check.add("must be a table of criterion = weight", ("ranking_weights",))
        weights = {}
    for key in weights:
        if key not in table:
            check.add(f"unknown criterion; the scheme has {', '.join(table)}",
                      ("ranking_weights", key))
    out: list[Criterion] = []
    for cid, spec in table.items():
        path = ("criteria", cid)
        if not _ID.match(cid) or cid in RESERVED:
            check.add("a criterion id must be lower-case letters, digits and _, starting with a "
                      f"letter, and none of {', '.join(sorted(RESERVED))}", path)
        if not isinstance(spec, dict):
            check.add("must be a table", path)
            continue
        unknown_keys(spec, _CRITERION, path, check)
        label = text(spec, "label", path, check, default=cid)
        step = number(spec, "step", path, check, default=1.0)
        if step is not None and step not in STEPS:
            check.add(f"{show(step)} is not allowed: the step is 1 or 0.5", (*path, "step"))
            step = None
        cmax = number(spec, "max", path, check, lo=0.0, lo_open=True)
        min_pass = number(spec, "min_pass", path, check, lo=0.0)
        weight = number(weights, cid, ("ranking_weights",), check, lo=0.0, lo_open=True,
                         default=1.0)
        if cmax is not None and min_pass is not None and min_pass > cmax:
            if check.is_overridden((*path, "max")) and not check.is_overridden((*path, "min_pass")):
                check.add(f"{show(cmax)} is below the criterion's min_pass {show(min_pass)}",
                          (*path, "max"))
            else:
                check.add(f"{show(min_pass)} is above the criterion's max {show(cmax)}",
                          (*path, "min_pass"))
        for name, value in (("max", cmax), ("min_pass", min_pass)):
            if step is not None and value is not None and (value / step) % 1:
                check.add(f"{show(value)} is not a multiple of the step {show(step)}",
                          (*path, name), (*path, "step"))
        questions = texts(spec, "questions", path, check)
        labels = _labels(spec, path, check)
        required = spec.get("comment_required", True)
        if not isinstance(required, bool):
            check.add(f"{show(required)} is not true or false", (*path, "comment_required"))
        min_words = spec.get("comment_min_words", 0)
        if isinstance(min_words, bool) or not isinstance(min_words, int) or min_words < 0:
            check.add(f"{show(min_words)} is not a whole number of words (0 or more)",
                      (*path, "comment_min_words"))
            min_words = None
        if None not in (label, step, cmax, min_pass, weight, min_words, labels) and isinstance(
                required, bool):
            out.append(Criterion(cid, str(label), float(cmax or 0), float(min_pass or 0),
                                 float(step or 1), questions, float(weight or 1), required,
                                 int(min_words or 0), labels or ()))
    return out


def _bands(doc: Mapping[str, Any], check: Checker) -> tuple[Band, ...]:
    value = doc.get("bands")
    if not isinstance(value, list) or not value or not all(isinstance(b, dict) for b in value):
        check.add("missing: give [[bands]] tables with label and min_share", ("bands",))
        return ()
    bands: list[Band] = []
    for i, spec in enumerate(value):
        path = ("bands", str(i))
        unknown_keys(spec, ("label", "min_share"), path, check)
        label = text(spec, "label", path, check)
        share = number(spec, "min_share", path, check, lo=0.0, hi=1.0)
        if label is not None and share is not None:
            bands.append(Band(label, share))
    shares = [b.min_share for b in bands]
    if len(bands) == len(value):
        if any(a <= b for a, b in pairwise(shares)):
            check.add(f"min_share must decrease from the first band to the last; got "
                      f"{', '.join(show(s) for s in shares)}", ("bands",))
        if shares[-1] != 0:
            check.add(f"the last band must have min_share = 0 so every score has a band; got "
                      f"{show(shares[-1])}", ("bands",))
    return tuple(bands)


def _build(doc: dict[str, Any], check: Checker) -> Scheme | None:
    unknown_keys(doc, _TOP, (), check)
    sid = text(doc, "id", (), check)
    criteria = _criteria(doc, check)
    table = doc.get("criteria")
    ids = [str(key) for key in table] if isinstance(table, dict) else []
    maxima: list[Any] = [spec.get("max") for spec in table.values()
                         if isinstance(spec, dict)] if isinstance(table, dict) else []
    sane = maxima and all(isinstance(m, int | float) and not isinstance(m, bool) for m in maxima)
    threshold = number(doc, "total_threshold", (), check, lo=0.0,
                        hi=float(sum(maxima)) if sane else None)
    k = doc.get("experts_per_proposal")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        check.add(f"{show(k) if k is not None else 'missing'}: give a whole number of at least 1",
                  ("experts_per_proposal",))
        k = None
    div = doc.get("divergence")
    gap: float | None = None
    skip: object = None
    if not isinstance(div, dict):
        check.add("missing: give a [divergence] table with total_gap and skip_if_all_below",
                  ("divergence",))
    else:
        unknown_keys(div, ("total_gap", "skip_if_all_below"), ("divergence",), check)
        gap = number(div, "total_gap", ("divergence",), check, lo=0.0, lo_open=True)
        skip = div.get("skip_if_all_below", True)
        if not isinstance(skip, bool):
            check.add(f"{show(skip)}: give true or false", ("divergence", "skip_if_all_below"))
            skip = None
    rule = choice(doc, "third_expert_rule", RULES, check)
    funding = choice(doc, "funding", FUNDING, check, default="strict")
    one_per_raw = doc.get("one_per", "none")
    one_per = choice(doc, "one_per", (*ONE_PER, "none"), check, default="none")
    tie = doc.get("tie_break", [])
    if not isinstance(tie, list) or not all(isinstance(t, str) for t in tie):
        check.add(f"{show(tie)} is not a list of criterion ids", ("tie_break",))
        tie = []
    for t in tie:
        if ids and t not in ids:
            check.add(f"unknown criterion {t!r}; the scheme has {', '.join(ids)}", ("tie_break",))
    if len(set(tie)) != len(tie):
        check.add("a criterion is listed twice", ("tie_break",))
    status = choice(doc, "status", STATUSES, check, default="custom")
    title = text(doc, "title", (), check, default=str(sid))
    source = text(doc, "source", (), check, default="")
    bands = _bands(doc, check)
    unconfirmed = texts(doc, "unconfirmed", (), check)
    practice = texts(doc, "practice", (), check)
    if check.messages:
        return None
    assert sid and threshold is not None and k and gap and rule and funding and status
    return Scheme(
        id=sid, title=title or sid, source=source or "", status=status, unconfirmed=unconfirmed,
        criteria=tuple(criteria), total_threshold=threshold, experts_per_proposal=int(k),
        divergence=Divergence(gap, bool(skip)), third_expert_rule=rule, tie_break=tuple(tie),
        bands=bands, funding=funding, one_per=None if one_per_raw == "none" else one_per,
        overridden=tuple(sorted(".".join(p) for p in check.overridden)), practice=practice,
    )
