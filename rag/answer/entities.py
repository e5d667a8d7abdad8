"""Entities of each answer slot in a sentence: amounts, dates, durations, counts, bodies, places.

Numbers that only place a text in its document (第十七条, （三）, a 文号's year and serial) are blanked
first, so they never count as the asked number. Pure functions over strings; the patterns are made
of ``rag.text`` atoms and of the measure words, units and suffixes of Chinese official writing.
"""

from __future__ import annotations

import re

from ..text import (CN_NUMERALS, ENUM_COMMA, LIST_ITEM_RE, QUANTITY_UNIT_ALTERNATIVES, QUANTITY_UNITS,
                    STRUCTURAL_NUMBER_RE, normalize)
from .slots import Slot

_N = rf"(?:\d+(?:\.\d+)?|[{CN_NUMERALS}千万亿半几]+)"
_MEASURE = QUANTITY_UNITS
_MONEY = re.compile(rf"{_N}\s*(?:多)?(?:元|万元|亿元|块|角|分钱)|免费|免收|不收费|免予收费|减半收取|收费标准")
_DURATION = re.compile(rf"{_N}\s*(?:个)?(?:工作日|日|天|个月|月|年|小时|周|分钟)(?:内|以内|之内|以上|以下|后|前)?|当日|当天|即时|立即|长期")
_DATE = re.compile(
    rf"\d{{4}}\s*年(?:\s*\d{{1,2}}\s*月)?(?:\s*\d{{1,2}}\s*日)?|\d{{1,2}}\s*月\s*\d{{1,2}}\s*日|\d{{1,2}}\s*月(?:底|份|中旬|上旬|下旬)?|"
    rf"[{CN_NUMERALS}]+月|年底|年初|年内|季度|每年|每月|每季|每周|之日起|起施行|施行|届满|前完成|以前|之前|以后|期间")
_NUMBER = re.compile(rf"\d+(?:\.\d+)?\s*(?:%|％|‰|[{_MEASURE}万亿千百]|余|多)?|[{CN_NUMERALS}千万]+\s*[{_MEASURE}]|百分之{_N}|[{CN_NUMERALS}]成")
_WHO = re.compile(
    r"[\u4e00-\u9fff]{0,12}(?:部门|局|委员会|委|办公室|办公厅|人民政府|政府|中心|公司|集团|银行|单位|机关|机构|法院|检察院|"
    r"办事处|街道|居民委员会|村民委员会|协会|学会|组织|企业|医院|学校|大队|支队|总队|站|所|厅|部|会|人员|主任|负责人|"
    r"书记|局长|市长|区长|县长|经营者|所有人|管理人|使用人|申请人|当事人)|由[\u4e00-\u9fff]{2,20}(?:负责|承担|组织|实施|牵头)|牵头|负责")
_PLACE = re.compile(
    r"[\u4e00-\u9fff]{1,10}(?:省|市|区|县|镇|乡|村|街道|社区|路|街|巷|大道|广场|公园|景区|园区|园|馆|场|站|港|机场|码头|片区|"
    r"地段|区域|范围|场所|地点|窗口|大厅|网站|平台|热线|App|APP|小程序)")
_DEFINITION = re.compile(r"是指|指的是|系指|又称|称为|简称|是以|包括|所称")
_CONSEQUENCE = re.compile(r"罚款|处以|处罚|责令|警告|没收|吊销|暂扣|撤销|取消|追究|处分|赔偿|拘留|通报|记入|纳入.*?名单|失信|承担.*?责任")
_CONDITION = re.compile(r"符合|具备|具有|满足|应当|须|需|方可|才能|条件|情形|情况下|的，|之一的|要求")
_PROCEDURE = re.compile(r"申请|提交|提出|办理|登记|填写|审核|审查|审批|受理|核准|备案|报送|报请|报|向.{1,20}?(?:申请|提出|报告|提交|备案)|"
                        r"通过|登录|拨打|携带|持|凭|到|经|之后|然后|并")
_YESNO = re.compile(r"应当|应|必须|须|不得|禁止|严禁|可以|可|不能|不予|允许|准许|免|不|无需|需要|鼓励|支持")
_PURPOSE = re.compile(r"为了|为|旨在|目的|以便|以|推动|促进|保障|维护")

RECOGNISERS: dict[Slot, re.Pattern] = {
    Slot.MONEY: _MONEY, Slot.DURATION: _DURATION, Slot.DATE: _DATE, Slot.NUMBER: _NUMBER, Slot.WHO: _WHO,
    Slot.PLACE: _PLACE, Slot.DEFINITION: _DEFINITION, Slot.CONSEQUENCE: _CONSEQUENCE,
    Slot.CONDITION: _CONDITION, Slot.PROCEDURE: _PROCEDURE, Slot.YESNO: _YESNO, Slot.PURPOSE: _PURPOSE,
}
# Slots whose answer is a recognisable entity: a sentence without one cannot answer the part.
ENTITY_SLOTS = frozenset({Slot.MONEY, Slot.DURATION, Slot.DATE, Slot.NUMBER, Slot.WHO, Slot.PLACE})

_YEAR = re.compile(r"(?<!\d)(\d{4})\s*(?:年|-|—|–|~|至)")
_QUANTITY = re.compile(rf"(?<![\d年])(\d+(?:\.\d+)?)\s*({QUANTITY_UNIT_ALTERNATIVES})")
_PLACE_NAME = re.compile(r"([\u4e00-\u9fff]{2,4}?)(省|市|区|县|镇|乡|街道)(?![\u4e00-\u9fff]{0,1}(?:级|域|别|内|外|委|长|政府|人民)|[民场容政值属划位块间城里])")
_NOT_IN_NAME = "[在于到的和与及从向对给把被是为或]"
_GENERIC_PLACE = frozenset("全市 本市 全省 本省 各区 各县 区县 市区 县区 城区 本区 辖区 全区 全县 本县 社区 街道 市级 县级 区级 "
                           "城市 地区 省市 全国 该市 该区 所在".split())


def bare(text: str) -> str:
    """The text with its structural numbers blanked (same length, so offsets still hold)."""
    return STRUCTURAL_NUMBER_RE.sub(lambda m: " " * len(m.group(0)), normalize(text))


def find(slot: Slot, text: str, exclude: tuple[str, ...] = ()) -> list[str]:
    """Entities of the slot's kind in a text, structural numbers excluded, and numbers the question
    itself states (``exclude``: its numbers and its text) not counted for a number slot, nor bodies and
    places the question's text contains."""
    rx = RECOGNISERS.get(slot)
    if slot is Slot.LIST:
        return [text] if enumeration(text) >= 2 or LIST_ITEM_RE.match(text.strip()) else []
    if rx is None:
        return []
    out = [m.group(0) for m in rx.finditer(bare(text)) if m.group(0).strip()]
    if slot in (Slot.WHO, Slot.PLACE):
        # A body or place the question itself names is not the one it asks for.
        out = [o for o in out if not any(o.strip() in e for e in exclude)]
    if slot is Slot.NUMBER:
        years = set(_YEAR.findall(text))
        out = [o for o in out if o.strip() not in exclude and not any(o.startswith(y) for y in years)
               and not re.fullmatch(r"\d{4}", o.strip())]
    return out


def has(slot: Slot, text: str, exclude: tuple[str, ...] = ()) -> bool:
    return bool(find(slot, text, exclude))


def enumeration(text: str) -> int:
    """How many enumeration commas a text has (the shape of a list inside one sentence)."""
    return text.count(ENUM_COMMA)


def years(text: str) -> set[str]:
    """Four-digit years a text names (2025年, 2021-2025)."""
    return set(_YEAR.findall(normalize(text)))


def quantities(text: str) -> list[str]:
    """Quantities a question states ("4号线", "60岁"): evidence that never names them does not answer it."""
    return [n + u for n, u in _QUANTITY.findall(normalize(text))]


def places(text: str) -> set[str]:
    """Named places (历下区, 青岛市, 章丘): a specific administrative name, not 全市 or 各区, nor the
    市/区/县 inside a word (荣誉市民, 农贸市场, 市容, 区划, 县城)."""
    out = set()
    for m in _PLACE_NAME.finditer(normalize(text)):
        # A name does not run across a preposition or particle ("场在历下区" is 历下区).
        head = re.split(_NOT_IN_NAME, m.group(1))[-1]
        if len(head) < 2:
            continue
        name = head + m.group(2)
        if name in _GENERIC_PLACE or head in _GENERIC_PLACE or head[0] in "各本该全每我其此" or head[-1] in "各本该全每":
            continue
        out.add(name)
    return out
