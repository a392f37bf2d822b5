"""Write the bundled demo returns into data/sample/ (deterministic: same seed, same files).

Models a Wellcome-CPD-Challenge-like programme: 40 schools in four local
authorities, a baseline year (2017/18) and three programme years. Quality of
logged CPD starts near the pilot's published figures (~11% of activities with all
four DfE aspects) and improves as schools join sustained programmes.

Run: .venv/bin/python scripts/generate_sample_data.py [--out data/sample]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import xlsxwriter

SEED = 2018
FIXED_PROPERTIES = {"created": dt.datetime(2021, 9, 1), "author": "cpdqa sample generator"}
YEARS = ("2017/18", "2018/19", "2019/20", "2020/21")  # baseline + three programme years
LOCAL_AUTHORITIES = ("Sheffield", "Rotherham", "Barnsley", "Doncaster")
SUBJECTS_SECONDARY = ("Science", "Mathematics", "English", "History", "Geography", "Computing",
                      "Modern languages", "Art", "PE", "Music")
SUBJECTS_PRIMARY = ("Science", "Mathematics", "English", "Phonics", "History", "PE")

PROVIDERS = [
    # name, type, quality mark, level, awarded, expires
    ("STEM Learning", "national centre", "CPD Quality Mark", "Gold", "2016-09-01", "2027-08-31"),
    ("South Yorkshire Maths Hub", "maths hub", "NCETM CPD Standard", "Accredited", "2017-01-15",
     "2027-01-14"),
    ("Sheffield Institute of Education", "university", "CPD Quality Mark", "Silver", "2018-03-01",
     "2026-12-31"),
    ("Learn Sheffield", "school improvement partnership", "", "", "", ""),
    ("Association for Science Education", "subject association", "CPD Quality Mark", "Gold",
     "2014-06-01", "2020-05-31"),
    ("Historical Association", "subject association", "CPD Quality Mark", "Silver", "2017-09-01",
     "2028-08-31"),
    ("Research Schools Network", "research school", "", "", "", ""),
    ("National College Online", "online provider", "", "", "", ""),
    ("Conference Events Ltd", "events company", "", "", "", ""),
    ("Rotherham LA Advisory Service", "local authority", "", "", "", ""),
]
PROGRAMMES = [
    # name, provider, accrediting body, from, to, min hours, min terms, recognition
    ("Primary Science Subject Leadership", "STEM Learning", "Chartered College of Teaching",
     "2017-09-01", "2022-08-31", 24, 2, "Recognised Subject Leader (Science)"),
    ("Teaching for Mastery", "South Yorkshire Maths Hub", "NCETM", "2017-09-01", "2022-08-31",
     21, 3, "Mastery Specialist (participant)"),
    ("Lesson Study Cycle", "Sheffield Institute of Education", "", "", "", None, None, ""),
    ("Research Leads Programme", "Research Schools Network", "", "", "", None, None, ""),
    ("History Subject Knowledge", "Historical Association", "Historical Association",
     "2018-09-01", "2021-08-31", 18, 2, "HA Quality Assured CPD"),
]
ONE_OFF_TYPES = [
    # type, title, hours choices, provider choices (None = in school), quality propensity, subject p
    ("INSET day", "Whole-school INSET", (5.0, 6.0), (None,), 0.25, 0.15),
    ("course/workshop", "Twilight: {subject} pedagogy", (1.5, 2.0, 2.5), (None, "Learn Sheffield",
     "Rotherham LA Advisory Service", "STEM Learning"), 0.7, 0.75),
    ("online course", "Online module: {subject}", (1.0, 2.0, 3.0), ("National College Online",), 0.35,
     0.5),
    ("conference", "{subject} conference", (5.0, 6.0), ("Conference Events Ltd",
     "Association for Science Education"), 0.25, 0.8),
    ("research/reading", "Reading: research summary", (1.0, 1.5), (None,), 0.4, 0.5),
    ("coaching", "Instructional coaching session", (0.75, 1.0), (None,), 1.4, 0.6),
    ("peer observation", "Peer observation and feedback", (1.0,), (None,), 1.0, 0.7),
    ("network meeting", "{subject} network meeting", (2.0,), ("Learn Sheffield",
     "Rotherham LA Advisory Service"), 0.5, 0.9),
    ("mentoring", "ECT mentoring", (1.0,), (None,), 0.6, 0.4),
]
TERM_DATES = {"Autumn": ((9, 5), (12, 18)), "Spring": ((1, 6), (3, 30)), "Summer": ((4, 16), (7, 20))}
HEADERS = ["school_id", "teacher_id", "activity_date", "academic_year", "term", "activity_title",
           "activity_type", "hours", "provider", "programme", "subject_specific", "subject",
           "aligned_to_needs", "pupil_outcomes", "evidence_based", "collaboration", "sustained"]
SYNONYM_HEADERS = ["School", "Staff ID", "Date of activity", "Year", "Term", "Activity",
                   "Type of activity", "Duration (hrs)", "Delivered by", "Programme",
                   "Subject specific? (Y/N)", "Subject", "Aligned to my needs? (Y/N)",
                   "Pupil outcomes (DfE 1)", "Evidence based (DfE 2)", "Collaboration (DfE 3)",
                   "Sustained (DfE 4)"]


def term_date(rng: np.random.Generator, year: str, term: str) -> dt.date:
    start_year = int(year[:4])
    (m1, d1), (m2, d2) = TERM_DATES[term]
    y = start_year if term == "Autumn" else start_year + 1
    first, last = dt.date(y, m1, d1), dt.date(y, m2, d2)
    day = first + dt.timedelta(days=int(rng.integers(0, (last - first).days + 1)))
    while day.weekday() >= 5:  # CPD happens on school days
        day -= dt.timedelta(days=1)
    return day


def make_schools(rng: np.random.Generator) -> list[dict]:
    phases = ["primary"] * 22 + ["secondary"] * 14 + ["special"] * 4
    schools = []
    for i, phase in enumerate(phases):
        size = {"primary": (15, 32), "secondary": (45, 81), "special": (15, 26)}[phase]
        schools.append({
            "school_id": str(107100 + i * 7),
            "name": f"{['Abbey', 'Birch', 'Castle', 'Dale', 'Elm', 'Forge', 'Grange', 'Hill'][i % 8]} "
                    f"{['Lane', 'Park', 'Road', 'Vale', 'Green'][i % 5]} "
                    f"{ {'primary': 'Primary', 'secondary': 'Academy', 'special': 'School'}[phase]}",
            "phase": phase,
            "type": "academy" if rng.random() < 0.6 else "maintained",
            "local_authority": LOCAL_AUTHORITIES[i % 4],
            "consent_to_name": "Yes" if rng.random() < 0.7 else "No",
            "teachers": int(rng.integers(*size)),
            # how keen the school's leadership is on quality CPD (drives improvement)
            "propensity": float(rng.beta(2, 2)),
        })
    return schools


def teacher_year_rows(rng, school, teacher, year_index, year, subjects) -> list[dict]:
    rows: list[dict] = []
    growth = year_index * (0.5 + school["propensity"])  # 0 in the baseline year
    quality_base = 0.04 + 0.03 * growth
    aligned_p = min(0.95, 0.55 + 0.1 * growth)
    subject = subjects[int(rng.integers(len(subjects)))]

    def add(term, title, kind, hours, provider, programme, quality_p, subject_p, sustained_p=None,
            aligned=None):
        aspects = {}
        if provider == "STEM Learning" and rng.random() < 0.1:
            provider = "STEM learning Ltd"  # the same provider, typed differently
        is_quality = rng.random() < min(0.97, quality_p)
        for aspect in ("pupil_outcomes", "evidence_based", "collaboration", "sustained"):
            base = {"pupil_outcomes": 0.55, "evidence_based": 0.5, "collaboration": 0.45,
                    "sustained": 0.25 if sustained_p is None else sustained_p}[aspect]
            aspects[aspect] = True if is_quality else bool(rng.random() < base)
        rows.append({
            "teacher_id": teacher, "activity_date": term_date(rng, year, term), "academic_year": year,
            "term": term, "activity_title": title.format(subject=subject), "activity_type": kind,
            "hours": hours, "provider": provider, "programme": programme,
            "subject_specific": bool(rng.random() < subject_p), "subject": subject,
            "aligned_to_needs": bool(rng.random() < (aligned or aligned_p)), **aspects,
        })

    # A sustained programme, more likely as the challenge takes hold.
    if rng.random() < 0.06 + 0.16 * growth:
        name, provider = PROGRAMMES[int(rng.integers(len(PROGRAMMES)))][:2]
        n_terms = int(rng.choice([1, 2, 3], p=[0.15, 0.35, 0.5]))
        terms = ["Autumn", "Spring", "Summer"][3 - n_terms:] if rng.random() < 0.3 else \
            ["Autumn", "Spring", "Summer"][:n_terms]
        for term in terms:
            for _ in range(int(rng.integers(3, 6))):
                add(term, f"{name}: session", "course/workshop" if rng.random() < 0.6 else "lesson study",
                    float(rng.choice([3.0, 3.5, 4.0])), provider, name, 0.8 + 0.03 * growth,
                    0.85, sustained_p=0.9, aligned=0.93)
    for _ in range(int(rng.integers(2, 4))):
        add(str(rng.choice(["Autumn", "Spring", "Summer"])), "Whole-school INSET", "INSET day",
            float(rng.choice([5.0, 6.0])), None, None, quality_base * 0.3, 0.1)
    for _ in range(int(rng.poisson(4 + 2.5 * growth))):
        kind, title, hours, providers, q_mult, subject_p = ONE_OFF_TYPES[1 + int(rng.integers(
            len(ONE_OFF_TYPES) - 1))]
        add(str(rng.choice(["Autumn", "Spring", "Summer"])), title, kind, float(rng.choice(hours)),
            providers[int(rng.integers(len(providers)))], None, quality_base * q_mult,
            min(0.95, subject_p + 0.05 * growth))
    return rows


def write_workbook(path: Path, sheets: dict[str, list[dict]], *, headers=HEADERS, title_block=None,
                   messy=None) -> None:
    book = xlsxwriter.Workbook(str(path), {"default_date_format": "dd/mm/yyyy"})
    book.set_properties(FIXED_PROPERTIES)  # same bytes on every run
    bold = book.add_format({"bold": True})
    for sheet_name, rows in sheets.items():
        ws = book.add_worksheet(sheet_name)
        r = 0
        if title_block:
            for line in title_block:
                ws.write(r, 0, line, bold)
                r += 1
            r += 1
        ws.write_row(r, 0, headers, bold)
        for row in rows:
            r += 1
            values = [row.get(h) for h in HEADERS]
            for c, v in enumerate(values):
                if v is None or v == "":
                    continue
                if isinstance(v, bool):
                    ws.write_string(r, c, "Y" if v else "N")
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()))
                else:
                    ws.write(r, c, v)
            if messy:
                messy(ws, r, row)
    book.close()


def main(out: Path) -> None:
    rng = np.random.default_rng(SEED)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    schools = make_schools(rng)
    teachers_sheet: list[list] = []
    attestations: list[list] = []
    for s_index, school in enumerate(schools):
        subjects = SUBJECTS_SECONDARY if school["phase"] == "secondary" else SUBJECTS_PRIMARY
        roster = [f"{school['school_id']}-{n:03d}" for n in range(1, school["teachers"] + 1)]
        silent = set(roster[-1:]) if s_index % 9 == 0 else set()  # a teacher who never logs
        for t in roster:
            teachers_sheet.append([t, school["school_id"],
                                   "head of department" if rng.random() < 0.15 else "class teacher",
                                   str(rng.choice(["ECT", "early career", "experienced"], p=[.15, .25, .6])),
                                   float(rng.choice([1.0, 1.0, 1.0, 0.8, 0.6]))])
        for y_index, year in enumerate(YEARS):
            attestations.append([school["school_id"], year,
                                 "Yes" if rng.random() < 0.3 + 0.2 * y_index * school["propensity"] * 2
                                 else "No"])
            by_term: dict[str, list[dict]] = {"Autumn": [], "Spring": [], "Summer": []}
            for t in roster:
                if t in silent:
                    continue
                for row in teacher_year_rows(rng, school, t, y_index, year, subjects):
                    row["school_id"] = school["school_id"]
                    by_term[row["term"]].append(row)
            for rows in by_term.values():
                rows.sort(key=lambda r: (r["activity_date"], r["teacher_id"]))
            # Missing termly returns: two schools miss a term in the final year.
            if year == YEARS[-1] and s_index in (5, 27):
                by_term["Summer"] = []
            base = f"{school['school_id']}_{year.replace('/', '-')}"
            title = None
            headers = HEADERS
            messy = None
            if s_index % 10 == 3:  # some schools' template has a title block
                title = [f"CPD log: {school['name']}", f"Academic year {year}",
                         "Record every CPD activity; one row per activity"]
            if s_index == 7 and year == YEARS[1]:  # synonym headers from another template
                headers = SYNONYM_HEADERS
            if s_index == 11 and year == YEARS[2]:
                row_count = [0]

                def messy(ws, r, row, _n=row_count):
                    _n[0] += 1
                    if _n[0] == 3:
                        ws.write_blank(r, HEADERS.index("collaboration"), None)  # a blank flag
                    if _n[0] == 8:
                        ws.write_string(r, HEADERS.index("hours"), "two")  # one bad row
                    if _n[0] in (10, 11):
                        ws.write_string(r, HEADERS.index("hours"), ["1h30", "90 min"][_n[0] - 10])
            if year == YEARS[-1]:
                if s_index == 14:  # one CSV return with UK text dates
                    for term, rows in by_term.items():
                        if not rows:
                            continue
                        with open(out / f"{base}_{term}.csv", "w", newline="", encoding="utf-8-sig") as f:
                            w = csv.writer(f)
                            w.writerow(HEADERS)
                            for row in rows:
                                w.writerow([row["activity_date"].strftime("%d/%m/%Y") if h == "activity_date"
                                            else ("Y" if row[h] else "N") if isinstance(row.get(h), bool)
                                            else row.get(h) or "" for h in HEADERS])
                    continue
                for term, rows in by_term.items():
                    if rows:
                        write_workbook(out / f"{base}_{term}.xlsx", {term: rows}, headers=headers,
                                       title_block=title, messy=messy)
            else:
                write_workbook(out / f"{base}.xlsx", {t: r for t, r in by_term.items() if r},
                               headers=headers, title_block=title, messy=messy)

    book = xlsxwriter.Workbook(str(out / "00_reference.xlsx"), {"default_date_format": "yyyy-mm-dd"})
    book.set_properties(FIXED_PROPERTIES)
    bold = book.add_format({"bold": True})

    def sheet(name, headers, rows):
        ws = book.add_worksheet(name)
        ws.write_row(0, 0, headers, bold)
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row):
                if v is None or v == "":
                    continue
                if isinstance(v, str) and len(v) == 10 and v[4] == "-" and v[7] == "-":
                    ws.write_datetime(r, c, dt.datetime.fromisoformat(v))
                else:
                    ws.write(r, c, v)

    sheet("Schools", ["school_id", "name", "phase", "type", "local_authority", "consent_to_name"],
          [[s["school_id"], s["name"], s["phase"], s["type"], s["local_authority"], s["consent_to_name"]]
           for s in schools])
    sheet("Teachers", ["teacher_id", "school_id", "role", "career_stage", "fte"], teachers_sheet)
    sheet("Providers", ["provider", "provider_type", "quality_mark", "quality_mark_level", "awarded_on",
                        "expires_on"], [list(p) for p in PROVIDERS])
    sheet("Programmes", ["programme", "provider", "accrediting_body", "valid_from", "valid_to",
                         "min_hours", "min_terms", "recognition_title"], [list(p) for p in PROGRAMMES])
    sheet("Attestations", ["school_id", "academic_year", "leadership_prioritised"], attestations)
    book.close()
    print(f"wrote {len(list(out.iterdir()))} files to {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "sample")
    main(parser.parse_args().out)
