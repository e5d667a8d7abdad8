"""Question reading without a model: the slot cue file (one test per slot), parts, focus, evidence
terms, and the entity recognisers with structural numerals excluded. Questions written for the tests."""

from __future__ import annotations

import json

import pytest

from rag.answer import Slot, load_cues
from rag.answer import entities
from rag.answer.features import QUESTION_FEATURES, SENTENCE_FEATURES
from rag.answer.frame import QuestionReader
from rag.answer.model import DEFAULT_PATH, AnswerModel, load_model
from rag.errors import RagError
from rag.ingest.chunk import chunk_source
from rag.search.sparse import BM25
from rag.search.tokenize import Tokenizer, corpus_terms
from rag.types import SourceText

TEXT = ("某市示范停车收费管理办法\n第一条 为规范本市道路停车收费，制定本办法。\n"
        "第二条 道路停车首小时收费2元，由市城管局负责管理。\n第三条 申请人应当于每年3月31日前提交材料。\n")


@pytest.fixture(scope="module")
def reader():
    chunks = chunk_source(SourceText("p.txt", TEXT, "utf-8", "0"))
    tok = Tokenizer(corpus_terms(c.text for c in chunks))
    bm25 = BM25.build([tok.tokens(c.text) for c in chunks])
    return QuestionReader(tok, bm25.idf())


# One question per slot, in citizens' and staff's words; the primary slot each must be read as.
SLOT_QUESTIONS = [
    ("示范办法第三条规定了什么？", Slot.CLAUSE),
    ("什么是错时共享泊位？", Slot.DEFINITION),
    ("路边停一个小时要交多少钱？", Slot.MONEY),
    ("材料交上去以后多久能批下来？", Slot.DURATION),
    ("申请材料什么时候之前交？", Slot.DATE),
    ("乱停车会怎么处罚？", Slot.CONSEQUENCE),
    ("申请泊位需要具备什么条件？", Slot.CONDITION),
    ("停车收费归哪个部门管？", Slot.WHO),
    ("材料要送到哪里去？", Slot.PLACE),
    ("个人怎么申请停车泊位？", Slot.PROCEDURE),
    ("泊位分为哪几类？", Slot.LIST),
    ("全市一共有多少个泊位？", Slot.NUMBER),
    ("为什么要制定这个办法？", Slot.PURPOSE),
    ("晚上停车是不是免费？", Slot.YESNO),
    ("道路停车收费由谁定价", Slot.WHO),
    ("说一下停车收费的管理办法", Slot.FACT),
]


@pytest.mark.parametrize("question, slot", SLOT_QUESTIONS)
def test_each_slot_is_read_from_its_cue_words(reader, question, slot):
    assert reader.read(question).slot is slot


def test_every_slot_has_a_test_and_the_cue_file_has_a_version():
    cues = load_cues()
    assert cues.version.startswith("cues/")
    assert {s for _, s in SLOT_QUESTIONS} == set(Slot)
    assert set(cues.order) == set(Slot) - {Slot.FACT}
    assert all(cues.slots[s] for s in cues.order)


def test_a_longer_cue_claims_its_characters_first():
    cues = load_cues()
    assert cues.slots_of("要交多少钱") == [Slot.MONEY]  # not also NUMBER for its 多少
    assert cues.slots_of("要几个工作日") == [Slot.DURATION]
    assert cues.slots_of("哪些部门负责，什么时候完成")[:2] == [Slot.DATE, Slot.WHO]


def test_clause_needs_a_reference_else_it_is_content(reader):
    assert reader.read("第三条规定了什么？").slot is Slot.CLAUSE
    assert reader.read("停车收费包括哪些内容？").slot is Slot.LIST


def test_parts_focus_and_terms(reader):
    f = reader.read("申请材料每年哪天之前交？交给哪个部门？")
    assert [p.slot for p in f.parts] == [Slot.DATE, Slot.WHO]
    assert reader.read("材料哪天交？谁？").parts[0].text == "材料哪天交"  # under 4 characters is no part
    assert reader.read("道路停车首小时收费多少钱").parts[0].focus in ("收费", "小时", "首小时")
    terms = reader.read("请问停车泊位到底分为哪几类呢？").terms
    assert "泊位" in "".join(terms) and not {"请问", "哪几类", "呢"} & set(terms)
    assert reader.read("请问？").terms == {}


def test_years_places_and_quantities_of_a_question(reader):
    f = reader.read("历下区2031年地铁8号线票价多少钱？")
    assert f.years == {"2031"} and "历下区" in f.places and f.quantities == ("8号线",)
    assert entities.places("全市各区县都要落实") == set()


@pytest.mark.parametrize("text, expected", [
    ("授予荣誉市民称号", set()), ("农贸市场在历下区", {"历下区"}), ("本市城区和县城", set()),
    ("章丘区和历城区的居民", {"章丘区", "历城区"}), ("济南市市容管理", {"济南市"}),
])
def test_a_place_is_a_name_not_the_city_inside_a_word(text, expected):
    assert entities.places(text) == expected


def test_a_body_the_question_names_is_not_its_answer(reader):
    part = reader.read("经营者违反规定的，由谁处罚？").parts[0]
    assert not entities.has(Slot.WHO, "经营者违反规定的，", part.given)
    assert entities.has(Slot.WHO, "由县级以上市场监督管理部门处罚", part.given)


@pytest.mark.parametrize("slot, text, expected", [
    (Slot.NUMBER, "第十七条 （三）每年实施1000个项目", True),
    (Slot.NUMBER, "第十七条 （三）按照济政发〔2021〕13号执行", False),  # only structural numbers
    (Slot.NUMBER, "2025年完成改造", False),  # a year is not a count
    (Slot.MONEY, "首小时收费2元", True),
    (Slot.MONEY, "首小时收费", False),
    (Slot.DURATION, "自受理之日起15个工作日内办结", True),
    (Slot.DATE, "于每年3月31日前提交", True),
    (Slot.DATE, "按要求提交材料", False),
    (Slot.WHO, "由市城管局负责管理", True),
    (Slot.DEFINITION, "共享泊位是指错时开放的泊位", True),
    (Slot.CONSEQUENCE, "由公安机关处以200元罚款", True),
    (Slot.LIST, "包括临时泊位、夜间泊位、共享泊位", True),
])
def test_entities_of_each_slot_exclude_structural_numbers(slot, text, expected):
    assert entities.has(slot, text) is expected


def test_a_number_the_question_states_is_not_the_answer():
    assert entities.has(Slot.NUMBER, "8号线共有20座车站")
    assert entities.has(Slot.NUMBER, "8号线共有20座车站", exclude=("8",))  # 20 is still there
    assert not entities.has(Slot.NUMBER, "8号线开通运营", exclude=("8",))


def test_the_packaged_model_loads_and_matches_the_features():
    m = load_model()
    assert m.version.startswith("answer-model/1")
    assert set(m.sentence.features) == set(SENTENCE_FEATURES) and set(m.answerable.features) == set(QUESTION_FEATURES)
    assert 0 < m.gate_threshold <= m.threshold < 1
    assert m.meta["fit_questions"] and m.meta["fit_documents"] and not set(m.meta["fit_documents"]) & set(
        m.meta["held_documents"])


def test_a_model_of_other_features_is_refused_by_name(tmp_path):
    d = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    d["sentence"]["features"][0] = "no_such_feature"
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(RagError, match="other features"):
        load_model(bad)
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(RagError, match="unreadable"):
        load_model(tmp_path / "broken.json")


@pytest.mark.parametrize("field", ["add_ratio", "budget", "feature_constants"])
def test_a_model_without_a_fitted_field_is_refused_by_name(tmp_path, field):
    """The code has no default of its own for what the file holds: a file without it is refused."""
    d = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    del d[field]
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(RagError, match=f"lacks the field '{field}'.*python -m eval.fit"):
        load_model(bad)


def test_a_blank_model_gives_even_odds_with_the_feature_constants_of_the_model_it_is_like():
    like = load_model()
    m = AnswerModel.blank(like)
    assert m.sentence.p({n: 1.0 for n in SENTENCE_FEATURES}) == 0.5 and m.threshold == 0.0
    assert (m.feature_constants, m.add_ratio, m.budget_chars) == (like.feature_constants, like.add_ratio, like.budget_chars)


@pytest.mark.parametrize("question, parts", [
    # Two questions; the second leaves its subject out and searches with the first's.
    ("居住证由哪一级机关签发？申领时材料交到哪里？", ["居住证由哪一级机关签发", "申领时材料交到哪里"]),
    # "A和B分别/各…": one part for A and one for B, sharing the rest of the question.
    ("家属能领的丧葬补助金和抚恤金分别按什么标准算？",
     ["家属能领的丧葬补助金按什么标准算", "家属能领的抚恤金按什么标准算"]),
    ("放火罪和失火罪分别对应刑法哪一条？", ["放火罪对应刑法哪一条", "失火罪对应刑法哪一条"]),
    # The words the second thing names beyond the first's are shared by both.
    ("城镇和农村居民补助标准分别是多少？", ["城镇居民补助标准是多少", "农村居民补助标准是多少"]),
    # A further question joined by 另外.
    ("申请需要什么材料，另外要交多少钱？", ["申请需要什么材料", "要交多少钱"]),
    # One question stays one part: 和 without 分别/各, a connective without a second question.
    ("企业和个人都可以申请吗？", ["企业和个人都可以申请吗"]),
    ("申请需要什么材料，另外请尽快答复", ["申请需要什么材料，另外请尽快答复"]),
])
def test_a_question_is_read_into_its_asked_parts(reader, question, parts):
    assert [p.text for p in reader.read(question).parts] == parts


def test_each_part_searches_with_the_subject_it_leaves_out(reader):
    f = reader.read("道路停车首小时收费多少钱？由哪个部门负责？")
    assert f.parts[0].query == f.parts[0].text
    assert f.parts[1].query.endswith("由哪个部门负责") and len(f.parts[1].query) > len(f.parts[1].text)
    assert any(t in f.parts[1].query for t in f.parts[0].subject)
    # A part of "A和B分别…" names its own subject: it searches with its own text.
    g = reader.read("首小时和之后每小时分别收费多少？")
    assert [p.query for p in g.parts] == [p.text for p in g.parts] and len(g.parts) == 2
    # The frame of one part is what the answerer reads when that part is answered on its own.
    one = f.part_frame(1)
    assert one.parts == (f.parts[1],) and one.question == f.parts[1].query
