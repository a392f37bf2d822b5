"""Statistical disclosure control: the one place funder-facing figures are made safe to publish.

Everything a funder sees on one page, in one report or in one export is released together as a
set of *rows* (a year, a phase, a local authority, a school, a provider, a programme, a cell of the
collaborative × sustained table). Each row knows how many teachers stand behind it and, for each
additive *system* it belongs to, which atoms (e.g. school-years) its figures are sums of.

- **Primary suppression.** A row computed from 1–4 teachers is suppressed whole: every count, hour,
  share, median and sentence quoting them becomes ``SUPPRESSED``.
- **Secondary (complementary) suppression.** A suppressed row must not be recoverable by
  differencing: the year total minus the visible phases, a phase minus its visible schools, and so
  on. We audit the release as a linear system per additive system: a suppressed row is *exposed*
  when its atom vector lies in the span of the shown rows' vectors (then some signed sum of shown
  figures equals it exactly). While any row is exposed we also suppress the smallest shown row whose
  removal hides it (the next-smallest cell of the same breakdown, or failing that the total), and
  audit again. Rows are suppressed whole, so every figure of a row shares the same protection, and
  primary and secondary suppressions carry the same marker so neither can be told from the other.
- **Pseudonyms stay unlinked.** A school that did not consent to be named is shown under a label
  ("School 17") with no phase or local authority. A phase or local-authority row whose unnamed
  schools number 1 or 2 would tie that label back to the group: with one, the group minus its named
  schools *is* the labelled school's row; with two, only one pair of labelled rows sums to it. Such a
  row is suppressed as a primary cell (``Row.links_pseudonym``), and the audit then keeps it from
  being worked out like any other suppressed row. From three unnamed schools up the remainder is a
  sum the attacker must split among the combinations of labelled rows; that makes linking a search
  with many near answers rather than a subtraction, but it is not a proof (a tiny programme with
  distinctive figures may still have one answer), and the README says so.

This is how official statistics are protected. The ONS statistical disclosure control guidance for
the Government Statistical Service (ONS, "Statistical disclosure control", archived at
webarchive.nationalarchives.gov.uk/20160106205135/http://www.ons.gov.uk/ons/guide-method/method-quality/
general-methodology/statistical-disclosure-control/) treats small cells and differencing between
tables as the risks to manage; the Eurostat Centre of Excellence *Handbook on Statistical Disclosure
Control* (Hundepool et al., 2nd ed. 2024, ch. 4 "Magnitude and frequency tables") describes primary
suppression followed by secondary suppression chosen so that no primary cell can be recalculated from
the margins, and audited with linear algebra; Statistics Norway's GaussSuppression (Langsrud 2024,
doi:10.1007/978-3-031-69651-0_6) does that audit by Gaussian elimination, as `exposed` does with an
SVD. Published education statistics follow the same practice: a suppressed cell is marked "c" and the
next-smallest cell of the breakdown (or the total) is suppressed with it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SMALL_CELL = 5
FEW_UNNAMED = 3  # a group holding 1..FEW_UNNAMED-1 unnamed schools would link their labels to it
SUPPRESSED = "c"
SUPPRESSION_NOTE = ("c: suppressed, because the figure comes from fewer than 5 teachers or would let one "
                    "that does be worked out from the totals")


@dataclass(frozen=True)
class Row:
    """One published row: its key, the teachers behind it, and the atoms it sums in each additive system."""
    key: Hashable
    teachers: int
    atoms: dict[str, frozenset] = field(default_factory=dict, hash=False, compare=False)
    total: bool = False  # a headline total: suppressed only when no breakdown row can protect instead
    links_pseudonym: bool = False  # suppressed whatever its size: it would tie a school's label to the group


def links_pseudonym(unnamed_schools: int, schools: int, schools_released: int, attribute_known: bool = True) -> bool:
    """Would a group row holding this many unnamed (pseudonymous) schools tie their labels to the group?

    Only a group that names something public about its members says anything: a real phase or local
    authority (not "unknown"), and not one holding every school of the release (that a label is "in
    the programme" is no news). Such a group with 1..FEW_UNNAMED-1 unnamed members links them."""
    return attribute_known and schools < schools_released and 0 < unnamed_schools < FEW_UNNAMED


def is_suppressed(value: object) -> bool:
    return isinstance(value, str) and value == SUPPRESSED


def numeric_or_nan(series: pd.Series) -> pd.Series:
    """Suppressed cells as NaN, for charts that must leave them out."""
    return pd.to_numeric(series.where(~series.map(is_suppressed), np.nan), errors="coerce")


def _system_matrix(rows: list[Row], system: str) -> tuple[list[Row], np.ndarray]:
    members = [r for r in rows if r.atoms.get(system)]
    universe = sorted({a for r in members for a in r.atoms[system]}, key=repr)
    index = {a: i for i, a in enumerate(universe)}
    matrix = np.zeros((len(members), len(universe)))
    for i, r in enumerate(members):
        for a in r.atoms[system]:
            matrix[i, index[a]] = 1.0
    return members, matrix


def _determined(shown: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each target vector: does it lie in the row space of `shown` (so it can be derived exactly)?"""
    if len(targets) == 0:
        return np.zeros(0, dtype=bool)
    if len(shown) == 0:
        return np.zeros(len(targets), dtype=bool)
    _, s, vt = np.linalg.svd(shown, full_matrices=False)
    basis = vt[s > 1e-9 * max(1.0, s.max())]
    residual = targets - (targets @ basis.T) @ basis
    return np.linalg.norm(residual, axis=1) < 1e-7


def exposed(rows: Iterable[Row], suppressed: set[Hashable]) -> list[tuple[Hashable, str]]:
    """Suppressed rows some signed sum of shown rows reproduces exactly, with the system that does it."""
    rows = list(rows)
    found = []
    for system in sorted({s for r in rows for s in r.atoms}):
        members, matrix = _system_matrix(rows, system)
        hidden = np.array([r.key in suppressed for r in members], dtype=bool)
        if not hidden.any():
            continue
        hits = _determined(matrix[~hidden], matrix[hidden])
        found += [(r.key, system) for r, hit in zip([m for m, h in zip(members, hidden, strict=True) if h], hits,
                                                      strict=True) if hit]
    return found


def protect(rows: Iterable[Row], small: int = SMALL_CELL) -> set[Hashable]:
    """The keys to suppress: rows from 1..small-1 teachers or linking a pseudonym, plus enough others that
    none is derivable."""
    rows = list(rows)
    suppressed = {r.key for r in rows if 0 < r.teachers < small or r.links_pseudonym}
    if not suppressed:
        return suppressed
    while True:
        leaks = exposed(rows, suppressed)
        if not leaks:
            return suppressed
        key, system = leaks[0]
        suppressed.add(_complement(rows, suppressed, key, system))


def _complement(rows: list[Row], suppressed: set[Hashable], key: Hashable, system: str) -> Hashable:
    """The shown row to hide so that `key` can no longer be derived in `system`."""
    members, matrix = _system_matrix(rows, system)
    keys = [m.key for m in members]
    vector = matrix[keys.index(key)][None, :]
    shown = [m for m in members if m.key not in suppressed]

    def cost(m: Row) -> tuple:  # totals last: a year's headline figures are worth the most
        return (m.total, m.teachers, len(m.atoms[system]), repr(m.key))

    def hides(candidate: Row) -> bool:
        rest = [keys.index(m.key) for m in shown if m.key != candidate.key]
        return not _determined(matrix[rest] if rest else np.zeros((0, matrix.shape[1])), vector)[0]

    # a row whose removal alone hides the target is in every derivation of it, so in the least-squares
    # one: only rows that derivation uses need trying
    weights = np.linalg.lstsq(matrix[[keys.index(m.key) for m in shown]].T, vector[0], rcond=None)[0]
    used = sorted((m for m, w in zip(shown, weights, strict=True) if abs(w) > 1e-9), key=cost)
    choice = next((m for m in used if not m.total and hides(m)), None)
    if choice is not None:
        return choice.key
    # derivable more than one way: hide the smallest breakdown row the derivation uses and audit
    # again (each round hides one more row, so this ends); a total only as a last resort
    return min(used or shown, key=cost).key


def apply(frame: pd.DataFrame, keys: pd.Series, suppressed: set[Hashable], columns: list[str]) -> pd.DataFrame:
    """The frame with `columns` of every suppressed row (matched by `keys`) replaced by the marker."""
    out = frame.copy()
    hide = np.array([k in suppressed for k in keys], dtype=bool)
    for col in columns:
        if col in out.columns:
            out[col] = out[col].astype(object)
            out.loc[hide, col] = SUPPRESSED
    return out
