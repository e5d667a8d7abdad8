"""Answer slots: the kind of thing a question asks for, and the versioned cue words that say so.

The cues live in ``cues.json`` beside this module (data, with a version); this module only reads
them (the question words, which ask rather than name a slot, are ``rag.text.QUESTION_WORDS``). A
part of a question gets every slot whose cue occurs in it, scanning the slots in the file's order
and blanking each cue once a slot has claimed it (so 哪几天 is a duration, not also a list and
a number); the first slot found is the part's primary slot, ``Slot.FACT`` when none is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

from ..text import QUESTION_WORDS

CUES_FILE = Path(__file__).with_name("cues.json")


class Slot(str, Enum):
    """What a question part asks for."""

    CLAUSE = "clause"  # 第十二条规定了什么: the clause itself
    DEFINITION = "definition"  # 什么是…, …指什么
    MONEY = "money"  # 多少钱, 罚多少
    DURATION = "duration"  # 多久, 几个工作日
    DATE = "date"  # 什么时候, 哪年
    CONSEQUENCE = "consequence"  # 怎么处罚, 承担什么责任
    CONDITION = "condition"  # 什么条件, 哪些情形
    WHO = "who"  # 谁, 哪个部门
    PLACE = "place"  # 哪里, 什么地方
    PROCEDURE = "procedure"  # 怎么办, 如何申请
    LIST = "list"  # 哪些, 包括什么
    NUMBER = "number"  # 多少, 几, 比例
    PURPOSE = "purpose"  # 为什么, 目的
    YESNO = "yesno"  # 是否, 能不能, …吗
    FACT = "fact"  # anything else: 什么, or a statement to be confirmed


@dataclass(frozen=True)
class Cues:
    version: str
    order: tuple[Slot, ...]
    slots: dict[Slot, tuple[str, ...]]
    question_words: frozenset[str]

    def slots_of(self, text: str, skip: frozenset = frozenset()) -> list[Slot]:
        """Every slot a question part asks for, primary first (empty: a plain fact question);
        slots in ``skip`` claim nothing."""
        found = []
        rest = text
        for slot in self.order:
            if slot in skip:
                continue
            hit = False
            # Longer cues first, so 多少钱 is claimed whole before 多少 could be.
            for cue in sorted(self.slots[slot], key=len, reverse=True):
                if cue in rest:
                    hit = True
                    rest = rest.replace(cue, "\u3000" * len(cue))
            if hit:
                found.append(slot)
        return found


@lru_cache(maxsize=4)
def load_cues(path: Path = CUES_FILE) -> Cues:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    order = tuple(Slot(s) for s in data["order"])
    slots = {Slot(k): tuple(v) for k, v in data["slots"].items()}
    missing = set(order) - set(slots)
    if missing:
        raise ValueError(f"{path}: slots without cues: {sorted(s.value for s in missing)}")
    return Cues(data["version"], order, slots, QUESTION_WORDS)
