"""eval/qa_variants.py: wrappers, the signature an answer must keep, and the consistency count (pure parts);
the product's own cleaning of the wrappers is tested in test_qa_understanding.py."""
from __future__ import annotations

from eval.qa_variants import consistency, signature, wrap


def test_wrappers_keep_the_question_and_mark_its_end():
    zh = wrap("创业扶持资金的预算是多少？", "zh")
    assert all("创业扶持资金的预算是多少" in w for w in zh) and len(zh) >= 5
    en = wrap("What is the budget of X?", "en")
    assert all("What is the budget of X?" in w for w in en)


def test_signature_is_the_figures_and_the_refusal():
    assert signature({"answer": "预算15万元，执行0万元", "route": "structured:lookup"}) == (False, ("0", "15"))
    assert signature({"answer": "没有找到", "route": "open:not_found"})[0] is True
    assert signature({"error": "boom"})[0] is False and signature({"answer": ""})[0] is True


def test_consistency_counts_a_question_once_and_names_the_wrapper_that_differs():
    questions = [{"id": "a", "question": "X的预算是多少？", "lang": "zh"}, {"id": "b", "question": "What is X?", "lang": "en"}]

    def ask(q: str) -> dict:  # answers 15 unless the question was wrapped with 来着 (a deliberately fragile reader)
        return {"answer": "16万元" if "来着" in q else "15万元", "route": "structured:lookup"}

    got = consistency(questions, ask)
    assert got["questions"] == 2 and got["consistent"] == 1 and got["rate"] == 0.5
    assert got["differs"][0]["id"] == "a" and all("来着" in w for w in got["differs"][0]["wrappers"])
