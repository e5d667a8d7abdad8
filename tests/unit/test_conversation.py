"""Follow-up resolution over earlier turns (with and without their answers), and the conversations
held by id: bounded in number, in turns and in time, safe across threads."""

from __future__ import annotations

import threading

from rag.config import Settings
from rag.conversation import ConversationStore, is_list_answer, item_reference, resolve
from rag.types import Answer, Citation

LIST_Q = "临街单位的门前五包都要包哪些方面？"
TITLE = "济南市“门前五包”责任制管理办法"


def cite(quote: str, n: int = 0) -> Citation:
    return Citation("doc.txt", n * 100, n * 100 + len(quote), quote, f"d:{n}", TITLE, "济政办发〔2021〕1号",
                    ("第七条",))


def answer(question: str, *quotes: str) -> Answer:
    cits = [cite(q, i) for i, q in enumerate(quotes)]
    text = "\n".join(f"{q}[{i + 1}]" for i, q in enumerate(quotes))
    return Answer(question, text, cits, [], refused=False)


LIST_A = answer(LIST_Q, "(一)包环境卫生。", "(二)包市容整洁。", "(三)包设施完好。")
ITEM_A = answer("那第二项呢？", "(二)包市容整洁。维护城市市容。")
DATE_A = answer("这个办法什么时候施行？", "第二十二条 本办法自2021年10月9日起施行。")


def test_no_history_is_not_rewritten():
    r = resolve("门前五包由谁负责监督？", None)
    assert (r.question, r.item, r.rewritten, r.refers_to) == ("门前五包由谁负责监督？", None, False, None)
    assert resolve("那第二项呢？", []).item is None


def test_item_reference_needs_a_short_follow_up():
    assert item_reference("那第二项呢？") == 2
    assert item_reference("第4项") == 4
    assert item_reference("规划中第二个方面的重点任务里关于人才培养的内容有哪些具体措施？") is None
    assert item_reference("门前五包由谁负责监督？") is None


def test_list_answer_is_told_from_an_item_and_a_sentence():
    assert is_list_answer(LIST_A)
    assert not is_list_answer(ITEM_A) and not is_list_answer(DATE_A) and not is_list_answer(None)
    inline = answer("重点工作有哪些？", "重点做好以下工作：一是加强宣传；二是推进落实；三是强化考核。")
    assert is_list_answer(inline)


def test_item_after_item_points_at_the_list_not_the_previous_pick():
    history = [(LIST_Q, LIST_A), (LIST_Q, ITEM_A)]
    r = resolve("那第五项呢？", history)
    assert (r.question, r.item, r.refers_to, r.rewritten) == (LIST_Q, 5, 0, True)
    # ...and past an answer in between that is not a list.
    r = resolve("那第三项呢？", history + [(f"《{TITLE}》什么时候施行？", DATE_A)])
    assert (r.question, r.item, r.refers_to) == (LIST_Q, 3, 0)


def test_demonstrative_after_an_item_pick_names_the_document():
    r = resolve("这个办法什么时候施行？", [(LIST_Q, LIST_A), (LIST_Q, ITEM_A)])
    assert r.question == f"《{TITLE}》什么时候施行？" and r.item is None and r.rewritten


def test_plain_question_history_is_resolved_in_order_without_answers():
    history = [(LIST_Q, None), ("那第二项呢？", None), ("那第五项呢？", None)]
    r = resolve("那第三项呢？", history)
    assert (r.question, r.item, r.refers_to) == (LIST_Q, 3, 0)
    # No answer names the document: the previous standalone question stands for it.
    r = resolve("这个办法什么时候施行？", history)
    assert r.question == f"{LIST_Q} 这个办法什么时候施行？" and r.rewritten and r.item is None
    r = resolve("那它呢？", [("门前五包由谁负责监督？", None)])
    assert r.question == "门前五包由谁负责监督？ 那它呢？"


def test_plain_history_mixed_with_answered_turns():
    # An answered list, then a question sent without its answer, then an item.
    history = [(LIST_Q, LIST_A), ("这个办法什么时候施行？", None)]
    r = resolve("那第二项呢？", history)
    # The unanswered turn may itself hold a list: it is the latest candidate.
    assert r.refers_to == 1 and r.question == f"《{TITLE}》什么时候施行？"


def test_standalone_question_in_a_conversation_is_kept():
    r = resolve("公积金贷款最多能贷多少？", [(LIST_Q, LIST_A), (LIST_Q, ITEM_A)])
    assert r.question == "公积金贷款最多能贷多少？" and not r.rewritten and r.item is None


# --- the store -------------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def store(clock=None, **flat) -> ConversationStore:
    return ConversationStore(Settings.make(**flat), **({"clock": clock} if clock else {}))


def test_store_defaults_come_from_settings():
    s = Settings()
    st = ConversationStore(s)
    assert (st.ttl_s, st.max_conversations, st.max_turns) == (
        s.serve.conversation_ttl_s, s.serve.max_conversations, s.serve.max_history_turns)
    assert (s.serve.conversation_ttl_s, s.serve.max_conversations) == (1800, 1000)


def test_store_keeps_turns_by_id():
    st = store()
    a, b = st.new(), st.new()
    assert a != b and len(a) >= 16 and all(ch.isalnum() or ch in "-_" for ch in a)
    assert st.turns(a) == [] and st.turns("no-such-id") is None
    st.append(a, LIST_Q, LIST_A)
    st.append(a, LIST_Q, ITEM_A)
    assert st.turns(a) == [(LIST_Q, LIST_A), (LIST_Q, ITEM_A)] and st.turns(b) == []
    st.turns(a).clear()  # a copy: the stored conversation is untouched
    assert len(st.turns(a)) == 2
    try:
        st.append("no-such-id", LIST_Q, LIST_A)
    except KeyError:
        pass
    else:
        raise AssertionError("append to an unknown id must fail")


def test_store_keeps_the_last_turns_only():
    st = store(max_history_turns=3)
    cid = st.new()
    for i in range(7):
        st.append(cid, f"问题{i}", DATE_A)
    assert [q for q, _ in st.turns(cid)] == ["问题4", "问题5", "问题6"]


def test_store_expires_idle_conversations():
    clock = Clock()
    st = store(clock, conversation_ttl_s=60)
    old, used = st.new(), st.new()
    clock.now += 40
    st.append(used, LIST_Q, LIST_A)  # a use keeps it alive
    clock.now += 30
    assert st.turns(old) is None
    assert st.turns(used) == [(LIST_Q, LIST_A)]
    clock.now += 61
    assert st.turns(used) is None and len(st) == 0


def test_store_memory_stays_bounded():
    st = store(max_conversations=1000)
    first = st.new()
    ids = [st.new() for _ in range(5000)]
    assert len(st) == 1000
    assert st.turns(first) is None and st.turns(ids[-1]) == []
    # Least recently used goes first: a conversation in use survives newer ones.
    st2 = store(max_conversations=3)
    a, b, c = st2.new(), st2.new(), st2.new()
    st2.turns(a)
    st2.new()
    assert st2.turns(b) is None and st2.turns(a) == [] and st2.turns(c) == []


def test_store_is_safe_across_threads():
    st = store(max_history_turns=1000)
    cid = st.new()

    def work(k):
        for i in range(200):
            st.append(cid, f"{k}-{i}", DATE_A)
            st.new()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(st.turns(cid)) == 800
    assert len(st) <= st.max_conversations
