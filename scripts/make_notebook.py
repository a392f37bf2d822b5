"""Write notebooks/evaluation.ipynb (kept as code so the notebook's source is reviewable in diffs)."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = [
    new_markdown_cell("""# Evaluating a CPD programme with `qa`

An evaluator's walk-through on the demo database: load the data, assess it with two frameworks,
compare the baseline year with the third programme year, draw the dashboard's own figures, and add a
custom framework. Everything here uses the `qa` Python API; nothing depends on the dashboard."""),
    new_code_cell("""import os
from pathlib import Path

from qa import engine, figures, views
from qa.access import Viewer
from qa.cli import build_demo
from qa.framework import load_framework, parse_framework, save_version, with_overrides
from qa.store import Store

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
DB = Path(os.environ.get("CPDQA_NOTEBOOK_DB", ROOT / "data" / "demo.duckdb"))
if not DB.exists():
    build_demo(DB)  # about 15 s: the bundled sample returns
store = Store(DB)
store.table_counts()"""),
    new_markdown_cell("## 1. Assess with the Wellcome CPD Challenge framework"),
    new_code_cell("""wellcome = load_framework("wellcome", store)
years = store.academic_years()
baseline, year3 = years[0], years[-1]
schools = engine.assess(store, "school", wellcome, engine.Filters(year=year3), run_by="notebook").results
schools[["school_id", "teachers", "teachers_meeting", "share_meeting", "median_counted_hours",
         "share_activities_all_aspects"]].head()"""),
    new_code_cell("""teachers = engine.teacher_results(store, wellcome, engine.Filters(year=year3))
print(f"{year3}: {teachers.meets_framework.mean():.1%} of {len(teachers)} teachers meet the criteria")
teachers.loc[~teachers.meets_framework, "explanation"].head(3).tolist()"""),
    new_markdown_cell("## 2. The same data against the DfE (2016) Standard"),
    new_code_cell("""dfe = load_framework("dfe-2016", store)
coverage = engine.school_results(store, dfe, engine.Filters(year=year3))
coverage[["share_hours_pupil_outcomes", "share_hours_evidence_based", "share_hours_collaboration",
          "share_hours_sustained"]].mean().round(3)"""),
    new_markdown_cell("## 3. Baseline to year 3: the two headline figures"),
    new_code_cell("""overview = views.funder_overview(store, Viewer("evaluator"), wellcome, year3)
by_year = overview.by_year.set_index("academic_year")
change = by_year.loc[[baseline, year3], ["share_meeting", "share_activities_all_aspects"]]
assert change.loc[year3, "share_meeting"] > change.loc[baseline, "share_meeting"]
change"""),
    new_code_cell("""# the very figure the dashboard and the funder report show
figures.trend(overview.by_year, baseline)"""),
    new_markdown_cell("""## 4. A custom framework

Frameworks are data. Write one as TOML (or change thresholds of an existing one), check it, and save
it as a versioned framework in the database; every assessment records the version it used."""),
    new_code_cell('''custom = parse_framework("""
id = "twenty-hours-pilot"
version = 1
title = "Twenty hours, three aspects (pilot)"
summary = "A lighter first-year target: 20 hours of CPD with at least three DfE aspects."

[sources]
pilot = "Local pilot agreement (example)"

[definitions]
quality_min_aspects = 3

[[rules]]
id = "meets_hours"
title = "20 counted hours a year"
level = "teacher-year"
metric = "counted_hours"
comparator = ">="
threshold = 20
period = "academic year"
source = "pilot"
explanation = "Hours with at least three DfE aspects, aligned to the teacher's needs."
""", "custom framework")
lighter = engine.teacher_results(store, custom, engine.Filters(year=year3))
print(f"{lighter.meets_framework.mean():.1%} meet the pilot framework "
      f"(against {teachers.meets_framework.mean():.1%} under Wellcome)")'''),
    new_code_cell("""saved = save_version(store, custom, saved_by="notebook")
thirty = with_overrides(wellcome, {"meets_hours": 30})
print(saved.id, "saved as version", saved.version)
at_thirty = engine.teacher_results(store, thirty, engine.Filters(year=year3))
print(f"Wellcome at 30 h: {at_thirty.meets_framework.mean():.1%}")
store.close()"""),
]
notebook = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}})
out = Path(__file__).resolve().parents[1] / "notebooks" / "evaluation.ipynb"
nbformat.write(notebook, out)
print(f"wrote {out}")
