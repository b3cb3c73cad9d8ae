"""The evaluation harness: the fixed scoring, dataset validation, exit codes, reports, baselines, and the quick gate
(the tuning split through the real advisor, with thresholds, so CI catches a regression)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation.dataset import DatasetError, load_datasets
from assistant.evaluation.runner import run_eval_command
from assistant.evaluation.scoring import aggregate, check_citations, normalise, score_case
from assistant.models import Answer, Chunk, Citation, Verdict

ROOT = Path(__file__).resolve().parents[1]
TUNING = ROOT / "evals" / "datasets" / "tuning.jsonl"
GATE = {"coproduction_accuracy": 0.9, "mode_accuracy": 0.85, "recommendation_accuracy": 0.8,
        "in_scope_accuracy": 0.95, "citation_validity": 1.0}

PASSAGE = Chunk(id="doc#p1", source_id="doc", title="Doc", locator="p1", start=0, end=60,
                text="Co-production is about \u201cwho does the work\u201d,\n  not who decides.")
OTHER = Chunk(id="doc#p2", source_id="doc", title="Doc", locator="p2", start=61, end=90,
              text="It is particularly relevant for regulators.")
STORE = {c.id: c for c in (PASSAGE, OTHER)}


# -- helpers --------------------------------------------------------------------------------------------
def cite(marker: int, chunk: Chunk, text: str | None = None, chunk_id: str | None = None) -> Citation:
    return Citation(marker=marker, id=chunk_id or chunk.id, source_id=chunk.source_id, title=chunk.title,
                    locator=chunk.locator, text=chunk.text if text is None else text)


def answer(text="Yes [1].", citations=None, in_scope=True, latency=10.0, cid="c1", question="q", **verdict) -> Answer:
    return Answer(question=question, in_scope=in_scope, verdict=Verdict(**verdict), answer=text,
                  citations=[cite(1, PASSAGE)] if citations is None else citations, conversation_id=cid,
                  latency_ms=latency)


def case_line(case_id="c-1", question="Households sort recycling: is that co-production?", history=None,
              in_scope=True, coproduction="yes", mode="optional", recommendation="recommend", cite_contains=None,
              **extra) -> dict:
    line = {"id": case_id, "question": question,
            "expect": {"in_scope": in_scope, "coproduction": coproduction, "mode": mode,
                       "recommendation": recommendation,
                       "cite_contains": ["who does the work"] if cite_contains is None else cite_contains}, **extra}
    if history is not None:
        line["history"] = history
    return line


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def one_case(**kw):
    return load_datasets([write_jsonl(Path(kw.pop("tmp")) / "one.jsonl", [case_line(**kw)])])[0].cases[0]


class FakeRetriever:
    chunks = STORE

    def get(self, chunk_id):
        return STORE.get(chunk_id)


class FakeAdvisor:
    """Answers from a function of (question, conversation id); records every question it is asked."""

    def __init__(self, respond, retriever=None, embeddings=None):
        self.respond, self.asked = respond, []
        self.retriever = retriever or FakeRetriever()
        self.embeddings = embeddings

    def ask(self, question, conversation_id=None):
        self.asked.append((question, conversation_id))
        return self.respond(question, conversation_id or f"conv-{len(self.asked)}")


def perfect_for(cases: dict):
    """An advisor that gives each question its expected verdict, citing the passage with the phrase."""
    def respond(question, cid):
        e = cases.get(question)
        if e is None:  # an earlier turn
            return answer(text="Which phase?", citations=[], cid=cid, question=question)
        return answer(in_scope=e["in_scope"], coproduction=e["coproduction"], mode=e["mode"],
                      recommendation=e["recommendation"], cid=cid, question=question)
    return respond


# -- scoring ----------------------------------------------------------------------------------------------
def test_valid_citation_passes_and_phrases_are_normalised(tmp_path):
    case = one_case(tmp=tmp_path, cite_contains=['"WHO DOES  the work"', "WORK\u201d, not"])
    score = score_case(case, answer(coproduction="yes", mode="optional", recommendation="recommend"), STORE.get)
    assert score.passed == {"in_scope_accuracy": True, "coproduction_accuracy": True, "mode_accuracy": True,
                            "recommendation_accuracy": True, "cite_hit_rate": True, "citation_validity": True}
    assert normalise("\u2018A\u2019\u00a0 \u201cB\u201d\n") == "'a' \"b\""


def test_phrase_missing_from_every_citation_fails_cite_hit(tmp_path):
    case = one_case(tmp=tmp_path, cite_contains=["who does the work", "relevant for regulators"])
    score = score_case(case, answer(coproduction="yes", mode="optional", recommendation="recommend"), STORE.get)
    assert score.passed["cite_hit_rate"] is False and score.missing_phrases == ["relevant for regulators"]
    both = answer("Yes [1] [2].", [cite(1, PASSAGE), cite(2, OTHER)], coproduction="yes", mode="optional",
                  recommendation="recommend")
    assert score_case(case, both, STORE.get).passed["cite_hit_rate"] is True  # phrases may sit in different citations


def test_dangling_marker_counts_as_an_invalid_citation(tmp_path):
    dangling = answer("Yes [1], see also [2] and [2].")
    checks = check_citations(dangling, STORE.get)
    assert [c.valid for c in checks] == [True, False]  # one citation valid, marker [2] has none
    case = one_case(tmp=tmp_path)
    metrics, counts = aggregate([score_case(case, dangling, STORE.get)])
    assert metrics["citation_validity"] == 0.5 and counts["citation_validity"] == {"passed": 1, "total": 2}


def test_tampered_unknown_and_unmarked_citations_are_invalid(tmp_path):
    tampered = answer(citations=[cite(1, PASSAGE, text=PASSAGE.text + " (and more)")])
    unknown = answer(citations=[cite(1, PASSAGE, chunk_id="doc#nowhere")])
    unmarked = answer("Yes, no marker here.")
    for bad, problem in ((tampered, "text differs"), (unknown, "no such passage"), (unmarked, "not in the answer")):
        (check,) = check_citations(bad, STORE.get)
        assert not check.valid and problem in check.problem
    case = one_case(tmp=tmp_path, cite_contains=[])
    scores = [score_case(case, a, STORE.get) for a in (tampered, unknown, unmarked, answer())]
    assert [s.passed["citation_validity"] for s in scores] == [False, False, False, True]
    assert aggregate(scores)[0]["citation_validity"] == 0.25


def test_expected_null_is_met_only_by_null(tmp_path):
    general = one_case(tmp=tmp_path, coproduction=None, mode=None, recommendation=None, cite_contains=[])
    assert score_case(general, answer(), STORE.get).passed == {
        "in_scope_accuracy": True, "coproduction_accuracy": True, "citation_validity": True}
    wrong = score_case(general, answer(coproduction="yes", mode="optional"), STORE.get)
    assert wrong.passed["coproduction_accuracy"] is False
    assert "mode_accuracy" not in wrong.passed  # mode/recommendation only where the expectation is not null
    # expected "unclear" is not met by null, expected "yes" not by null
    assert not score_case(one_case(tmp=tmp_path, coproduction="unclear", mode=None, recommendation=None),
                          answer(), STORE.get).passed["coproduction_accuracy"]


def test_out_of_scope_cases_count_only_towards_in_scope_and_citations(tmp_path):
    oos = one_case(tmp=tmp_path, in_scope=False, coproduction=None, mode=None, recommendation=None, cite_contains=[])
    score = score_case(oos, answer("Out of scope.", [], in_scope=False), STORE.get)
    assert score.passed == {"in_scope_accuracy": True, "citation_validity": True}
    metrics, counts = aggregate([score])
    assert metrics["coproduction_accuracy"] is None and metrics["cite_hit_rate"] is None  # nothing to measure
    assert metrics["citation_validity"] is None and counts["citation_validity"]["total"] == 0


def test_latency_percentiles(tmp_path):
    case = one_case(tmp=tmp_path)
    scores = [score_case(case, answer(latency=float(ms)), STORE.get) for ms in range(1, 101)]
    metrics, _ = aggregate(scores)
    assert metrics["latency_ms_p50"] == pytest.approx(50.5) and metrics["latency_ms_p95"] == pytest.approx(95.05)


# -- datasets ---------------------------------------------------------------------------------------------
def test_unknown_keys_are_kept_and_history_is_optional(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [case_line(rationale="because", tags=["x"]), "",
                                              case_line("c-2", history=["first turn"])])
    (dataset,) = load_datasets([path])
    first, second = dataset.cases
    assert first.model_extra == {"rationale": "because", "tags": ["x"]} and first.history == []
    assert second.history == ["first turn"] and second.split == "d" and second.source == f"{path}:3"


@pytest.mark.parametrize("bad, message", [
    ('{"id": "c-2", "question": "q", "expect": ', "invalid JSON"),
    (json.dumps({"id": "c-2", "question": "q", "expect": {"in_scope": True, "coproduction": "yes", "mode": None,
                                                           "cite_contains": []}}), "expect.recommendation: missing key"),
    (json.dumps({"id": "c-2", "expect": case_line()["expect"]}), "question: missing key"),
    (json.dumps(case_line("c-2", coproduction="maybe")), "expect.coproduction"),
    (json.dumps(case_line("c-2", mode="sometimes")), "expect.mode"),
    (json.dumps(case_line("c-2", in_scope="yes")), "expect.in_scope"),
    (json.dumps(case_line("c-1")), "duplicate id 'c-1'"),
    ("[1, 2]", "expected a JSON object"),
])
def test_malformed_line_names_file_and_line_and_nothing_is_asked(tmp_path, capsys, bad, message):
    good = write_jsonl(tmp_path / "good.jsonl", [case_line()])
    broken = write_jsonl(tmp_path / "broken.jsonl", [case_line("c-0"), bad])
    with pytest.raises(DatasetError) as raised:
        load_datasets([good, broken])
    assert raised.value.problems[0].startswith(f"{broken}:2: ") and message in raised.value.problems[0]
    advisor = FakeAdvisor(perfect_for({}))
    code = run_eval_command(None, [good, broken], tmp_path / "r.json", advisor=advisor,
                            history=tmp_path / "h.jsonl", progress=False)
    assert code == 2 and advisor.asked == []
    assert f"{broken}:2:" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "h.jsonl").exists()


def test_cli_malformed_dataset_exits_2_before_opening_the_advisor(tmp_path, make_settings, run_cli):
    broken = write_jsonl(tmp_path / "broken.jsonl", [case_line(), '{"id": "c-2"'])
    # an empty data dir has no index: had the advisor been opened first, the exit code would be 3
    result = run_cli(make_settings(), "eval", "--dataset", str(broken), "--out", str(tmp_path / "r.json"))
    assert result.exit_code == 2
    assert f"{broken}:2: invalid JSON" in result.stderr


# -- the run, exit codes, reports -------------------------------------------------------------------------------
def _small_dataset(tmp_path) -> tuple[Path, dict]:
    lines = [case_line("c-1", question="Q1 households sort recycling?"),
             case_line("c-2", question="Q2 what is co-production?", coproduction=None, mode=None,
                       recommendation=None, cite_contains=["not who decides"]),
             case_line("c-3", question="Q3 parking fine?", in_scope=False, coproduction=None, mode=None,
                       recommendation=None, cite_contains=[]),
             case_line("c-4", question="Q4 and they do it at home", history=["Q4a we have a program"])]
    path = write_jsonl(tmp_path / "small.jsonl", lines)
    return path, {line["question"]: line["expect"] for line in lines}


def test_history_turns_are_asked_first_in_one_fresh_conversation(tmp_path):
    path, expected = _small_dataset(tmp_path)
    advisor = FakeAdvisor(perfect_for(expected))
    code = run_eval_command(None, [path], tmp_path / "r.json", advisor=advisor, baselines=False,
                            history=tmp_path / "h.jsonl", progress=False)
    assert code == 0
    questions = [q for q, _ in advisor.asked]
    assert questions == ["Q1 households sort recycling?", "Q2 what is co-production?", "Q3 parking fine?",
                         "Q4a we have a program", "Q4 and they do it at home"]
    assert [cid for _, cid in advisor.asked] == [None, None, None, None, "conv-4"]


def test_thresholds_missed_exit_1_met_exit_0(tmp_path, capsys):
    path, expected = _small_dataset(tmp_path)

    def wrong_mode(question, cid):
        a = perfect_for(expected)(question, cid)
        if a.verdict.mode == "optional":
            a.verdict.mode = "obligatory"
        return a

    kwargs = dict(baselines=False, history=tmp_path / "h.jsonl", progress=False)
    assert run_eval_command(None, [path], tmp_path / "a.json", thresholds=GATE,
                            advisor=FakeAdvisor(perfect_for(expected)), **kwargs) == 0
    capsys.readouterr()
    assert run_eval_command(None, [path], tmp_path / "b.json", thresholds=GATE,
                            advisor=FakeAdvisor(wrong_mode), **kwargs) == 1
    assert "mode_accuracy: 0.0000 < minimum 0.85" in capsys.readouterr().err
    report = json.loads((tmp_path / "b.json").read_text())
    assert report["missed"] and report["metrics"]["mode_accuracy"] == 0.0
    assert run_eval_command(None, [path], tmp_path / "c.json", thresholds={"no_such_metric": 1.0},
                            advisor=FakeAdvisor(perfect_for(expected)), **kwargs) == 2


def test_a_crashing_case_is_reported_and_fails_the_run(tmp_path):
    path, expected = _small_dataset(tmp_path)

    def crash(question, cid):
        if question.startswith("Q2"):
            raise RuntimeError("boom")
        return perfect_for(expected)(question, cid)

    code = run_eval_command(None, [path], tmp_path / "r.json", advisor=FakeAdvisor(crash), baselines=False,
                            history=tmp_path / "h.jsonl", progress=False)
    report = json.loads((tmp_path / "r.json").read_text())
    assert code == 1 and report["errors"] == ["c-2"]
    (c2,) = [c for c in report["cases"] if c["id"] == "c-2"]
    assert c2["answer"] is None and not any(c2["pass"].values()) and "boom" in c2["error"]


def test_report_files_json_markdown_html_and_history(tmp_path):
    path, expected = _small_dataset(tmp_path)
    other = write_jsonl(tmp_path / "other.jsonl", [case_line("o-1", question="Q1 households sort recycling?")])

    def one_wrong(question, cid):
        a = perfect_for(expected)(question, cid)
        if question.startswith("Q2"):  # a general question answered with a verdict, and a dangling marker
            a.verdict.coproduction, a.answer = "yes", a.answer + " [7]"
        return a

    history = tmp_path / "history.jsonl"
    for run in range(2):
        out, md, html = tmp_path / f"r{run}.json", tmp_path / f"r{run}.md", tmp_path / f"r{run}.html"
        code = run_eval_command(None, [path, other], out, md=md, html=html, thresholds={"citation_validity": 1.0},
                                advisor=FakeAdvisor(one_wrong), baselines=False, history=history, progress=False)
        assert code == 1
    report = json.loads(out.read_text())
    assert set(report) >= {"metrics", "cases", "splits", "baselines", "counts", "timing"}
    assert set(report["splits"]) == {"small", "other"} and report["splits"]["other"]["metrics"]["in_scope_accuracy"] == 1.0
    case = report["cases"][1]
    assert set(case) >= {"id", "question", "expect", "answer", "pass"}
    assert case["answer"]["conversation_id"] and case["answer"]["verdict"]["coproduction"] == "yes"  # full contract
    assert case["pass"]["coproduction_accuracy"] is False and case["citation_problems"] == ["marker [7] without a citation"]
    assert report["cases"][3]["history_answers"][0]["question"] == "Q4a we have a program"
    runs = [json.loads(line) for line in history.read_text().splitlines()]
    assert len(runs) == 2 and set(runs[-1]["metrics"]) == {"small", "other", "all"} and "timestamp" in runs[-1]
    text = md.read_text()
    assert "## Metrics" in text and "`c-2`" in text and "## Confusion matrices" in text
    page = html.read_text()
    assert page.count("data:image/png;base64,") >= 4  # metrics, confusion matrices, latency, trend
    assert "<h2>Trend</h2>" in page and "c-2" in page and "http://" not in page and "https://" not in page


def test_baselines_retrieval_and_nearest_examples(tmp_path, built_settings):
    from assistant.services import embeddings_for, open_retriever

    tuning_lines = [case_line("tune-1", question="Residents sort their household recycling into bins."),
                    case_line("tune-2", question="Residents separate glass and paper for collection."),
                    case_line("tune-3", question="Households put out sorted recycling for the truck."),
                    case_line("tune-4", question="A citizens' panel decides next year's library budget.",
                              coproduction="no", mode=None, recommendation=None, cite_contains=[]),
                    case_line("tune-5", question="A consultation asks residents to design the park.",
                              coproduction="no", mode=None, recommendation=None, cite_contains=[]),
                    case_line("tune-6", question="Residents vote on which roads the council repairs first.",
                              coproduction="no", mode=None, recommendation=None, cite_contains=[])]
    other_lines = [case_line("held-1", question="Tenants sort their recycling before the collection."),
                   case_line("held-2", question="A resident jury chooses which roads to fix first.",
                             coproduction="no", mode=None, recommendation=None, cite_contains=[])]
    tuning = write_jsonl(tmp_path / "tuning.jsonl", tuning_lines)
    held = write_jsonl(tmp_path / "held.jsonl", other_lines)
    write_jsonl(tmp_path / "retrieval.jsonl", [json.loads(l) for l in
                                               (ROOT / "evals/datasets/retrieval.jsonl").read_text().splitlines()[:8]])
    expected = {line["question"]: line["expect"] for line in tuning_lines + other_lines}

    def rules(question, cid):  # the "rules" get held-2 wrong (say yes) and everything else right
        a = perfect_for(expected)(question, cid)
        if question.startswith("A resident jury"):
            a.verdict.coproduction, a.verdict.mode, a.verdict.recommendation = "yes", "optional", "recommend"
        return a

    advisor = FakeAdvisor(rules, open_retriever(built_settings), embeddings_for(built_settings))
    code = run_eval_command(built_settings, [tuning, held], tmp_path / "r.json", md=tmp_path / "r.md",
                            html=tmp_path / "r.html", advisor=advisor, history=tmp_path / "h.jsonl", progress=False)
    assert code == 0
    baselines = json.loads((tmp_path / "r.json").read_text())["baselines"]
    retrieval = baselines["retrieval"]
    assert retrieval["questions"] == 8 and set(retrieval["retrievers"]) == {"bm25", "dense", "hybrid"}
    for figures in retrieval["retrievers"].values():
        assert 0 <= figures["recall@1"] <= figures["recall@3"] <= figures["recall@5"] <= 1 and 0 <= figures["mrr"] <= 1
    verdicts = baselines["verdicts"]
    assert verdicts["k"] == 3 and verdicts["examples"] == 6
    assert verdicts["splits"]["tuning"]["leave_one_out"] and not verdicts["splits"]["held"]["leave_one_out"]
    held_fields = verdicts["splits"]["held"]["fields"]
    assert held_fields["coproduction"]["knn_accuracy"] == 1.0  # nearest examples get both right
    assert [e["id"] for e in held_fields["coproduction"]["rules_lose"]] == ["held-2"]
    assert "Rules lose" in (tmp_path / "r.md").read_text()


# -- the quick gate -----------------------------------------------------------------------------------------
def test_quick_gate_tuning_split_through_the_real_advisor(built_settings, tmp_path):
    """The tuning split through the real advisor (composer path) must meet the gate's thresholds."""
    out = tmp_path / "gate.json"
    code = run_eval_command(built_settings, [TUNING], out, thresholds=GATE, baselines=False,
                            history=tmp_path / "history.jsonl", progress=False)
    report = json.loads(out.read_text())
    failing = [f"{c['id']}: {sorted(m for m, ok in c['pass'].items() if not ok)}"
               for c in report["cases"] if not all(c["pass"].values())]
    assert code == 0, (f"quick gate missed: {report['missed']} errors: {report['errors']}; metrics "
                       f"{report['metrics']}; failing cases:\n" + "\n".join(failing))
