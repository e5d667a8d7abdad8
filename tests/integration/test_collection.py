"""The structure reader on a collection of real public documents (tests/data: national laws, rules,
judicial interpretations and local regulations of 山东, 浙江, 广东; .md, .txt, .docx, .pdf, .html):
every document, its kind, how many 第X条 / 章 / 节 it yields and the section path of its first and last
chunk, pinned. These documents are training material, never the validation sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.cli import document_stats
from rag.config import IngestSettings
from rag.ingest.chunk import chunk_corpus, chunk_source
from rag.ingest.load import read_source

DATA = Path(__file__).resolve().parents[1] / "data"
COLLECTION = DATA / "collection"

# (file, kind, articles, chapters, sections, first chunk's section path, last chunk's section path)
TABLE = [
    ('docx/law_criminal_procedure.docx', 'regulation', 308, 22, 15, ('第一编 总则', '第一章 任务和基本原则', '第一条'), ('第五编 特别程序', '第五章 依法不负刑事责任的精神病人的强制医疗程序', '第三百零八条')),
    ('docx/law_maritime_procedure.docx', 'regulation', 127, 12, 7, ('第一章 总则', '第一条'), ('第十二章 附则', '第一百二十七条')),
    ('docx/reg_real_estate_registration.docx', 'regulation', 35, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第三十五条')),
    ('docx/rule_mss_reporting_rewards.autonum.docx', 'regulation', 24, 5, 0, ('第一章 总则', '第一条'), ('第五章 附则', '第二十四条')),
    ('html/sd_dezhou_braised_chicken.html', 'regulation', 26, 5, 0, ('第一章 总则', '第一条'), ('第五章 附则', '第二十六条')),
    ('html/zj_ningbo_honorary_citizens.html', 'regulation', 22, 0, 0, ('第一条',), ('第二十二条',)),
    ('md/decision_spc_spp_credit_card.md', 'notice', 0, 0, 0, ('一、将《解释》原第六条修改为',), ('八、将《解释》原第八条改为修改后《解释》第十三条，修改为',)),
    ('md/gd_cantonese_cuisine_promotion.md', 'regulation', 29, 0, 0, ('第一条',), ('第二十九条',)),
    ('md/gd_chaozhou_she_culture.md', 'regulation', 27, 0, 0, ('第一条',), ('第二十七条',)),
    ('md/gd_jiangmen_house_number_plates.md', 'regulation', 28, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第二十八条')),
    ('md/gd_shantou_river_chief.md', 'regulation', 32, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第三十二条')),
    ('md/interp_theft_cases.md', 'regulation', 15, 0, 0, ('第一条',), ('第十五条',)),
    ('md/law_criminal_procedure.md', 'regulation', 308, 22, 15, ('第一编 总则', '第一章 任务和基本原则', '第一条'), ('第五编 特别程序', '第五章 依法不负刑事责任的精神病人的强制医疗程序', '第三百零八条')),
    ('md/law_electronic_signature.md', 'regulation', 36, 5, 0, ('第一章 总则', '第一条'), ('第五章 附则', '第三十六条')),
    ('md/law_maritime_procedure.md', 'regulation', 127, 12, 7, ('第一章 总则', '第一条'), ('第十二章 附则', '第一百二十七条')),
    ('md/law_national_anthem.md', 'regulation', 16, 0, 0, ('第一条',), ('第十六条',)),
    ('md/list_gd_graduate_employment_support_policies.md', 'list', 0, 0, 0, ('一、小微企业社保补贴',), ('十一、公共就业创业服务',)),
    ('md/list_injury_grading_standard.md', 'other', 0, 0, 0, (), ()),
    ('md/list_spp_crime_names.md', 'notice', 0, 10, 17, ('第一章 危害国家安全罪', '1．背叛国家罪（第102条）2．分裂国家罪（第103条第1款…'), ('第十章 军人违反职责罪',)),
    ('md/news_case_zhejiang_resettlement.md', 'other', 0, 0, 0, (), ()),
    ('md/news_gd_tianhe_family_doctor_meeting.md', 'news', 0, 0, 0, (), ()),
    ('md/notice_monthly_working_time.md', 'notice', 0, 0, 0, ('一、制度工作时间的计算',), ('二、日工资、小时工资的折算',)),
    ('md/notice_spp_criminal_law_art12.md', 'notice', 0, 0, 0, ('三、如果当时的法律不认为是犯罪，修订刑法认为是犯罪的，适用当…',), ('三、如果当时的法律不认为是犯罪，修订刑法认为是犯罪的，适用当…',)),
    ('md/plan_gd_tianhe_kindergarten_admission.md', 'plan', 0, 0, 0, ('一、招生原则', '（一）适龄优先'), ('五、招生工作要求', '（五）幼儿园要建立信息管理制度，及时按要求在全国学前教育管理…')),
    ('md/plan_gov_greenhouse_gas_control_12th_fyp.md', 'plan', 0, 0, 0, ('一、总体要求和主要目标', '（一）总体要求'), ('九、保障工作落实', '（二十八）落实资金保障')),
    ('md/plan_gov_metrology_development_2013_2020.md', 'plan', 0, 0, 0, ('一、发展现状与形势',), ('六、保障措施', '（三十）强化评估考核')),
    ('md/reg_people_mediation_committee.md', 'regulation', 17, 0, 0, ('第一条',), ('第十七条',)),
    ('md/reg_personal_deposit_real_name.md', 'regulation', 12, 0, 0, ('第一条',), ('第十二条',)),
    ('md/reg_real_estate_registration.md', 'regulation', 35, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第三十五条')),
    ('md/rule_mps_continued_questioning.md', 'regulation', 44, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第四十四条')),
    ('md/rule_mss_reporting_rewards.md', 'regulation', 24, 5, 0, ('第一章 总则', '第一条'), ('第五章 附则', '第二十四条')),
    ('md/rule_samr_market_entity_registration_detailed.md', 'regulation', 82, 12, 0, ('第一章 总则', '第一条'), ('第十二章 附则', '第八十二条')),
    ('md/rule_samr_price_marking.md', 'regulation', 27, 0, 0, ('第一条',), ('第二十七条',)),
    ('md/sd_dezhou_braised_chicken.md', 'regulation', 26, 5, 0, ('第一章 总则', '第一条'), ('第五章 附则', '第二十六条')),
    ('md/sd_legislative_hearing_rules.md', 'regulation', 33, 0, 0, ('第一条',), ('第三十三条',)),
    ('md/sd_resolution_procuratorial_supervision.md', 'notice', 0, 0, 0, ('一、全省各级检察机关要深入学习贯彻习近平新时代中国特色社会主…',), ('十一、监督、支持检察机关依法开展法律监督工作，是各级人大及其…',)),
    ('md/sd_zibo_fireworks_ban.md', 'regulation', 26, 0, 0, ('第一条',), ('第二十六条',)),
    ('md/spc_online_mediation_rules.md', 'regulation', 30, 0, 0, ('第一条',), ('第三十条',)),
    ('md/zj_constitutional_oath.md', 'regulation', 10, 0, 0, ('第一条',), ('第十条',)),
    ('md/zj_fine_limits_for_gov_rules.md', 'regulation', 5, 0, 0, ('第一条',), ('第五条',)),
    ('md/zj_ningbo_honorary_citizens.md', 'regulation', 22, 0, 0, ('第一条',), ('第二十二条',)),
    ('md/zj_river_chief_system.md', 'regulation', 18, 0, 0, ('第一条',), ('第十八条',)),
    ('pdf/law_maritime_procedure.pdf', 'regulation', 127, 12, 7, ('第一章 总则', '第一条'), ('第十二章 附则', '第一百二十七条')),
    ('pdf/reg_real_estate_registration.pdf', 'regulation', 35, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第三十五条')),
    ('pdf/spc_online_mediation_rules.pdf', 'regulation', 30, 0, 0, ('第一条',), ('第三十条',)),
    ('txt/law_national_anthem.txt', 'regulation', 16, 0, 0, ('第一条',), ('第十六条',)),
    ('txt/reg_real_estate_registration.txt', 'regulation', 35, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第三十五条')),
    ('txt/zj_river_chief_system.gb18030.txt', 'regulation', 18, 0, 0, ('第一条',), ('第十八条',)),
    # batch d (issue 21)
    ('md/sd_dongying_dog_keeping.md', 'regulation', 42, 7, 0, ('第一章 总则', '第一条'), ('第七章 附则', '第四十二条')),
    ('md/sd_heze_urban_water_supply.md', 'regulation', 35, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第三十五条')),
    ('md/sd_jinan_prehospital_emergency_care.md', 'regulation', 46, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第四十六条')),
    ('md/sd_linyi_blood_donation.md', 'regulation', 41, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第四十一条')),
    ('md/sd_qingdao_taxi_management.md', 'regulation', 51, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第五十一条')),
    ('md/sd_rizhao_civilized_conduct.md', 'regulation', 36, 5, 0, ('第一章 总则', '第一条'), ('第五章 附则', '第三十六条')),
    ('md/sd_weifang_heating_supply.md', 'regulation', 46, 7, 0, ('第一章 总则', '第一条'), ('第七章 附则', '第四十六条')),
    ('md/sd_weihai_parking_management.md', 'regulation', 45, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第四十五条')),
    # batch e (issue 21)
    ('md/zj_jiaxing_dog_keeping.md', 'regulation', 28, 0, 0, ('第一条',), ('第二十八条',)),
    ('md/zj_hangzhou_urban_water_supply.md', 'regulation', 58, 7, 0, ('第一章 总则', '第一条'), ('第七章 附则', '第五十八条')),
    ('md/zj_ningbo_parking_lots.md', 'regulation', 47, 7, 0, ('第一章 总则', '第一条'), ('第七章 附则', '第四十七条')),
    ('md/zj_shaoxing_home_elderly_care.md', 'regulation', 39, 8, 0, ('第一章 总则', '第一条'), ('第八章 附则', '第三十九条')),
    ('md/gd_unemployment_insurance.md', 'regulation', 49, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第四十九条')),
    ('md/gd_guangzhou_emergency_medical_care.md', 'regulation', 53, 6, 0, ('第一章 总则', '第一条'), ('第七章 附则', '第五十三条')),
    ('md/gd_dongguan_civilized_behaviour.md', 'regulation', 47, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第四十七条')),
    ('md/gd_shanwei_rural_housing.md', 'regulation', 50, 8, 0, ('第一章 总则', '第一条'), ('第八章 附则', '第五十条')),
    # batch f (issue 21)
    ('md/reg_work_injury_insurance.md', 'regulation', 67, 8, 0, ('第一章 总则', '第一条'), ('第八章 附则', '第六十七条')),
    ('md/reg_gov_information_disclosure.md', 'regulation', 56, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第五十六条')),
    ('md/reg_residence_permit.md', 'regulation', 23, 0, 0, ('第一条',), ('第二十三条',)),
    ('md/reg_property_management.md', 'regulation', 67, 7, 0, ('第一章 总则', '第一条'), ('第七章 附则', '第六十七条')),
    ('md/reg_unemployment_insurance.md', 'regulation', 33, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第三十三条')),
    ('md/rule_mps_traffic_violation_points.md', 'regulation', 37, 7, 0, ('第一章 总则', '第一条'), ('第七章 附则', '第三十七条')),
    ('md/rule_samr_household_car_three_guarantees.md', 'regulation', 42, 6, 0, ('第一章 总则', '第一条'), ('第六章 附则', '第四十二条')),
    ('md/rule_samr_complaint_report_handling.md', 'regulation', 40, 0, 0, ('第一条',), ('第四十条',)),
    # batch g (issue 21)
    ('md/law_social_insurance.md', 'regulation', 98, 12, 0, ('第一章 总则', '第一条'), ('第十二章 附则', '第九十八条')),
    ('md/law_elderly_rights.md', 'regulation', 85, 9, 0, ('第一章 总则', '第一条'), ('第九章 附则', '第八十五条')),
    ('md/law_tourism.md', 'regulation', 112, 10, 0, ('第一章 总则', '第一条'), ('第十章 附则', '第一百一十二条')),
    ('md/law_resident_id_card.md', 'regulation', 23, 5, 0, ('第一章 总则', '第一条'), ('第五章 附则', '第二十三条')),
    ('md/law_legal_aid.md', 'regulation', 71, 7, 0, ('第一章 总则', '第一条'), ('第七章 附则', '第七十一条')),
    ('md/interp_labor_disputes_1.md', 'regulation', 54, 0, 0, ('第一条',), ('第五十四条',)),
    ('md/interp_road_traffic_accident_compensation.md', 'regulation', 26, 0, 0, ('一、关于主体责任的认定',), ('第二十六条',)),
    ('md/interp_prepaid_consumption.md', 'regulation', 27, 0, 0, ('第一条',), ('第二十七条',)),
]


@pytest.fixture(scope="module")
def parsed():
    chunks, sources, problems = chunk_corpus([COLLECTION], IngestSettings())
    assert problems == []
    by_source: dict[str, list] = {}
    for c in chunks:
        by_source.setdefault(c.source, []).append(c)
    return by_source, document_stats(sources, chunks)


def test_the_table_covers_the_collection_and_its_manifest():
    files = {str(p.relative_to(COLLECTION)) for p in COLLECTION.rglob("*") if p.is_file()}
    manifest = [json.loads(line) for line in (DATA / "collection.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {row[0] for row in TABLE} == files == {m["file"] for m in manifest}
    assert len({m["issuer"] for m in manifest if m["issuer"]}) >= 10
    assert {"md", "txt", "docx", "pdf", "html"} <= {m["format"] for m in manifest}


@pytest.mark.parametrize("row", TABLE, ids=[row[0] for row in TABLE])
def test_every_document_keeps_its_articles_and_section_paths(parsed, row):
    name, kind, articles, chapters, sections, first, last = row
    by_source, stats = parsed
    chunks = by_source[name]
    docs = {c.doc_id for c in chunks}
    assert len(docs) == 1, docs  # one file, one document: chapters never split it
    s = stats[docs.pop()]
    assert (s["kind"], s["articles"], s["chapters"], s["sections"]) == (kind, articles, chapters, sections)
    # Every line that opens a 第X条 is an article of its own.
    assert s["articles"] == s["article_line_starts"]
    assert next((c.section for c in chunks if c.section), ()) == first
    assert next((c.section for c in reversed(chunks) if c.section), ()) == last


def test_articles_recognised_in_total(parsed):
    _, stats = parsed
    starts = sum(s["article_line_starts"] for s in stats.values())
    assert starts > 1500 and sum(s["articles"] for s in stats.values()) == starts


def test_the_same_text_as_md_txt_docx_and_pdf_gives_the_same_articles_and_paths():
    def paths(name):
        return [c.section for c in chunk_source(read_source(COLLECTION / name)) if c.section]

    md = paths("md/reg_real_estate_registration.md")
    assert len({p[-1] for p in md if p[-1].endswith("条")}) == 35
    for other in ("txt/reg_real_estate_registration.txt", "docx/reg_real_estate_registration.docx",
                  "pdf/reg_real_estate_registration.pdf"):
        assert paths(other) == md, other


def test_a_word_file_numbered_by_a_list_style_matches_its_typed_twin():
    def labels(name):
        return [c.section for c in chunk_source(read_source(COLLECTION / name))]

    assert labels("docx/rule_mss_reporting_rewards.autonum.docx") == labels("md/rule_mss_reporting_rewards.md")


def test_every_chunk_of_the_collection_is_the_clean_text_of_its_span_under_the_cap():
    from rag.ingest.clean import clean_text

    chunks, sources, _ = chunk_corpus([COLLECTION], IngestSettings())
    raws = {s.source: s.text for s in sources}
    cap = IngestSettings().chunk_max_chars
    assert [c.chunk_id for c in chunks if clean_text(raws[c.source][c.start:c.end]) != c.text] == []
    assert [c.chunk_id for c in chunks if len(c.text) > cap] == []
