#!/usr/bin/env python3
"""Write tests/data/collection.jsonl (one JSON object per file of collection/).

Per-source metadata (title is read from the '# ' line; kind/issuer/date as
stated in the text or, when the text states nothing, as given by the
LawRefBook file name or the source page's metadata -- see ``date_basis``)
lives in METADATA / SOURCES / EXTERNAL_SOURCES below.
Counts come from count_articles.py and are always computed from the ORIGINAL
Markdown source, also for the derived .txt/.docx/.pdf/.html files.

    python tests/data/build_manifest.py
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from count_articles import count_file  # noqa: E402

COLLECTION = HERE / "collection"
MD_DIR = COLLECTION / "md"
MANIFEST = HERE / "collection.jsonl"
REPO = "LawRefBook/Laws"
INFO_END_LINE = "<!-- INFO END -->\n"

# md file -> (path in LawRefBook/Laws, commit reported by read_file, total_chars reported by read_file)
SOURCES: dict[str, tuple[str, str, int]] = {
    "notice_monthly_working_time.md": ("部门规章/人力资源社会保障部/关于职工全年月平均工作时间和工资折算问题的通知(2009-03-29).md", "1e513c940cfeaad960ac62ccb2352e0f18b1522c", 539),
    "law_national_anthem.md": ("宪法相关法/国歌法(2017-09-01).md", "8fbca0249801d5577f099fd0efb46a3dc23c35e9", 1261),
    "notice_spp_criminal_law_art12.md": ("司法解释/最高人民检察院关于检察工作中具体适用修订刑法第十二条若干问题的通知(1997-10-06).md", "e4d55ae0f12f8773416e5cccafa79f922d23ea86", 661),
    "reg_personal_deposit_real_name.md": ("行政法规/个人存款账户实名制规定(2000-03-20).md", "6ef77b0a407dfcb4285dc149af0a159b09e28aa7", 1169),
    "reg_people_mediation_committee.md": ("行政法规/人民调解委员会组织条例(1989-06-16).md", "6ef77b0a407dfcb4285dc149af0a159b09e28aa7", 1542),
    "rule_mss_reporting_rewards.md": ("部门规章/国家安全部/公民举报危害国家安全行为奖励办法(2022-06-06).md", "99b143bfeda221f64eb62d0a70b4aa9b3ad6ed8b", 2985),
    "decision_spc_spp_credit_card.md": ("司法解释/最高人民法院、最高人民检察院关于修改《关于办理妨害信用卡管理刑事案件具体应用法律若干问题的解释》的决定.md", "3a1021400993b9853b3897efdccf9a1bf3ea0448", 1709),
    "news_case_zhejiang_resettlement.md": ("案例/行政协议诉讼/王某某、陈某某诉浙江省杭州市余杭区良渚街道办事处变更拆迁补偿安置协议案.md", "3cd6e86b80f0fac5478dc34216c80e8c0a82b9f0", 1326),
    "list_spp_crime_names.md": ("司法解释/最高人民检察院关于适用刑法分则规定的犯罪的罪名的意见(1997-12-25).md", "e4d55ae0f12f8773416e5cccafa79f922d23ea86", 10065),
    "gd_jiangmen_house_number_plates.md": ("DLC/广东地方法规/地方性法规/广东/江门市门楼号牌管理条例(2022-12-05).md", "9c6d0c94ade3aac38b3273ae2cab19731ab5c272", 3453),
    "sd_resolution_procuratorial_supervision.md": ("DLC/山东地方法规/地方性法规/山东/山东省人民代表大会常务委员会关于加强新时代检察机关法律监督工作的决议(2019-09-27).md", "79f1a0f926430fd1161dfc154634e782c85bd579", 4604),
    "zj_fine_limits_for_gov_rules.md": ("DLC/浙江地方法规/地方性法规/浙江/浙江省人民代表大会常务委员会关于政府规章设定罚款限额的规定(2021-09-30).md", "79f1a0f926430fd1161dfc154634e782c85bd579", 588),
    "sd_dezhou_braised_chicken.md": ("DLC/山东地方法规/地方性法规/山东/德州市扒鸡保护与发展条例(2020-12-01).md", "79f1a0f926430fd1161dfc154634e782c85bd579", 3414),
    "gd_cantonese_cuisine_promotion.md": ("DLC/广东地方法规/地方性法规/广东/广东省粤菜发展促进条例(2022-11-30).md", "9c6d0c94ade3aac38b3273ae2cab19731ab5c272", 4963),
    "zj_ningbo_honorary_citizens.md": ("DLC/浙江地方法规/地方性法规/浙江/宁波市荣誉市民条例(2017-12-16).md", "79f1a0f926430fd1161dfc154634e782c85bd579", 2871),
    "zj_river_chief_system.md": ("DLC/浙江地方法规/地方性法规/浙江/浙江省河长制规定(2017-07-28).md", "79f1a0f926430fd1161dfc154634e782c85bd579", 3174),
    "spc_online_mediation_rules.md": ("司法解释/人民法院在线调解规则(2021-12-30).md", "abe3daaa448d225a37606118eaa4796d05b2c01c", 4988),
    "law_maritime_procedure.md": ("诉讼与非诉讼程序法/海事诉讼特别程序法(1999-12-25).md", "ad3fc7a710153f0a72b1a600f57654aab9653c36", 12448),
    "law_criminal_procedure.md": ("诉讼与非诉讼程序法/刑事诉讼法(2018-10-26).md", "ad3fc7a710153f0a72b1a600f57654aab9653c36", 39871),
    "reg_real_estate_registration.md": ("行政法规/不动产登记暂行条例(2019-03-24).md", "6ef77b0a407dfcb4285dc149af0a159b09e28aa7", 4285),
    "interp_theft_cases.md": ("司法解释/最高人民法院、最高人民检察院关于办理盗窃刑事案件适用法律若干问题的解释(2013-04-02).md", "abe3daaa448d225a37606118eaa4796d05b2c01c", 3056),
    "sd_zibo_fireworks_ban.md": ("DLC/山东地方法规/地方性法规/山东/淄博市禁止燃放烟花爆竹规定(2021-01-29).md", "79f1a0f926430fd1161dfc154634e782c85bd579", 2918),
    "rule_samr_price_marking.md": ("部门规章/市场监督管理总局/明码标价和禁止价格欺诈规定(2022-04-14).md", "9f3c74b6714e8c3e6514d3b5e56c45d6b2c4065d", 3428),
    "zj_constitutional_oath.md": ("DLC/浙江地方法规/地方性法规/浙江/浙江省组织实施宪法宣誓制度办法(2015-07-30).md", "79f1a0f926430fd1161dfc154634e782c85bd579", 2006),
    "rule_mps_continued_questioning.md": ("部门规章/公安部/公安机关适用继续盘问规定(2004-07-12).md", "88c2109601516ff48b3d80bfaf614480b25e1c35", 6743),
    "gd_chaozhou_she_culture.md": ("DLC/广东地方法规/地方性法规/广东/潮州市畲族文化保护条例(2021-04-29).md", "9c6d0c94ade3aac38b3273ae2cab19731ab5c272", 3724),
    "law_electronic_signature.md": ("民法商法/电子签名法(2019-04-23).md", "ad3fc7a710153f0a72b1a600f57654aab9653c36", 4271),
    "list_injury_grading_standard.md": ("其他/人体损伤程度鉴定标准(2014-01-01).md", "ddc5dd4302eaf0c0d2dd5320126d02f10c218a44", 11970),
    "sd_legislative_hearing_rules.md": ("DLC/山东地方法规/地方性法规/山东/山东省人民代表大会常务委员会制定地方性法规听证规定(2019-09-27).md", "79f1a0f926430fd1161dfc154634e782c85bd579", 3074),
    "gd_shantou_river_chief.md": ("DLC/广东地方法规/地方性法规/广东/汕头市河长制条例(2023-01-11).md", "9c6d0c94ade3aac38b3273ae2cab19731ab5c272", 5178),
    "rule_samr_market_entity_registration_detailed.md": ("部门规章/市场监督管理总局/市场主体登记管理条例实施细则(2022-03-01).md", "3d51d1b59da51eb4beed0a7546135961581b9978", 11733),
    # batch d (issue 21)
    "sd_weifang_heating_supply.md": ("DLC/山东地方法规/地方性法规/山东/潍坊市供热条例(2021-01-28).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 6187),
    "sd_weihai_parking_management.md": ("DLC/山东地方法规/地方性法规/山东/威海市停车管理和服务条例(2021-12-06).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 6890),
    "sd_dongying_dog_keeping.md": ("DLC/山东地方法规/地方性法规/山东/东营市养犬管理条例(2017-10-11).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 5891),
    "sd_rizhao_civilized_conduct.md": ("DLC/山东地方法规/地方性法规/山东/日照市文明行为促进条例(2018-12-03).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 5494),
    "sd_linyi_blood_donation.md": ("DLC/山东地方法规/地方性法规/山东/临沂市献血条例(2019-02-12).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 4369),
    "sd_jinan_prehospital_emergency_care.md": ("DLC/山东地方法规/地方性法规/山东/济南市院前医疗急救条例(2020-12-01).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 6361),
    "sd_qingdao_taxi_management.md": ("DLC/山东地方法规/地方性法规/山东/青岛市客运出租汽车管理条例(2021-05-27).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 8229),
    "sd_heze_urban_water_supply.md": ("DLC/山东地方法规/地方性法规/山东/菏泽市城市供水条例(2020-11-30).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 4019),
    # batch e (issue 21)
    "zj_jiaxing_dog_keeping.md": ("DLC/浙江地方法规/地方性法规/浙江/嘉兴市养犬管理条例(2021-10-13).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 4267),
    "zj_hangzhou_urban_water_supply.md": ("DLC/浙江地方法规/地方性法规/浙江/杭州市城市供水管理条例(2014-12-31).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 7614),
    "zj_ningbo_parking_lots.md": ("DLC/浙江地方法规/地方性法规/浙江/宁波市停车场规划建设和管理条例(2011-10-13).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 5153),
    "zj_shaoxing_home_elderly_care.md": ("DLC/浙江地方法规/地方性法规/浙江/绍兴市居家养老服务条例(2021-10-12).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 6204),
    "gd_unemployment_insurance.md": ("DLC/广东地方法规/地方性法规/广东/广东省失业保险条例(2022-06-01).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 7203),
    "gd_guangzhou_emergency_medical_care.md": ("DLC/广东地方法规/地方性法规/广东/广州市社会急救医疗管理条例(2023-02-01).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 12289),
    "gd_dongguan_civilized_behaviour.md": ("DLC/广东地方法规/地方性法规/广东/东莞市文明行为促进条例(2023-02-23).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 10806),
    "gd_shanwei_rural_housing.md": ("DLC/广东地方法规/地方性法规/广东/汕尾市农村建房条例(2022-12-02).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 7363),
    # batch f (issue 21)
    "reg_work_injury_insurance.md": ("行政法规/工伤保险条例(2010-12-20).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 9866),
    "reg_gov_information_disclosure.md": ("行政法规/政府信息公开条例(2019-04-03).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 7602),
    "reg_residence_permit.md": ("行政法规/居住证暂行条例(2015-11-26).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 3279),
    "reg_property_management.md": ("行政法规/物业管理条例(2018-03-19).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 7364),
    "reg_unemployment_insurance.md": ("行政法规/失业保险条例(1999-01-22).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 3445),
    "rule_mps_traffic_violation_points.md": ("部门规章/公安部/道路交通安全违法行为记分管理办法(2021-12-17).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 6795),
    "rule_samr_household_car_three_guarantees.md": ("部门规章/市场监督管理总局/家用汽车产品修理更换退货责任规定(2021-07-22).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 5299),
    "rule_samr_complaint_report_handling.md": ("部门规章/市场监督管理总局/市场监督管理投诉举报处理暂行办法(2022-03-24).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 4935),
    # batch g (issue 21)
    "law_social_insurance.md": ("社会法/社会保险法(2018-12-29).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 10698),
    "law_elderly_rights.md": ("社会法/老年人权益保障法(2018-12-29).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 8189),
    "law_tourism.md": ("经济法/旅游法(2018-10-26).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 12949),
    "law_resident_id_card.md": ("行政法/居民身份证法(2011-10-29).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 3435),
    "law_legal_aid.md": ("行政法/法律援助法(2021-08-20).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 7124),
    "interp_labor_disputes_1.md": ("司法解释/最高人民法院关于审理劳动争议案件适用法律问题的解释（一）(2020-12-29).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 7729),
    "interp_road_traffic_accident_compensation.md": ("司法解释/最高人民法院关于审理道路交通事故损害赔偿案件适用法律若干问题的解释(2020-12-29).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 3694),
    "interp_prepaid_consumption.md": ("司法解释/最高人民法院关于审理预付式消费民事纠纷案件适用法律若干问题的解释(2025-03-13).md", "2f4c5c23716267af9dbebbbbd6cbbf732b101981", 4747),
}

# Sources that are NOT in LawRefBook/Laws: public web pages (government sites)
# as saved in other public GitHub repositories, read with read_file and
# converted to Markdown by hand-checked rules (see README.md, "Texts from other
# repositories").  md file -> (repository, path, commit reported by read_file,
# total_chars reported by read_file for that source file).  There is no INFO END
# line and no arithmetic relation between the source length and the Markdown
# length (HTML markup / page navigation were dropped), so the LawRefBook length
# check does not apply to these.
EXTERNAL_SOURCES: dict[str, tuple[str, str, str, int]] = {
    "plan_gov_greenhouse_gas_control_12th_fyp.md": ("greylijun/1", "szjl/government/main_page/policies/Circular of the State Council issued on the Twelfth Five Year work.html", "53b1518a7c351768bf0709b239876c27a8d7d910", 7720),
    "plan_gov_metrology_development_2013_2020.md": ("greylijun/1", "szjl/user/main_page/policies/Of the State Council on the development plan of issuing measurement (2013-2020) Notice.html", "53b1518a7c351768bf0709b239876c27a8d7d910", 13154),
    "plan_gd_tianhe_kindergarten_admission.md": ("shizelengleng/ai-zhengce-tong", "docs/policy_sources/05_幼儿园招生方案_2026.html", "f9a2097a4f9392cbe97c0c6964c8427ae14346c3", 28991),
    "list_gd_graduate_employment_support_policies.md": ("shizelengleng/ai-zhengce-tong", "docs/policy_sources/18b_广东高校毕业生就业创业扶持政策清单_2026.html", "f9a2097a4f9392cbe97c0c6964c8427ae14346c3", 83362),
    "news_gd_tianhe_family_doctor_meeting.md": ("shizelengleng/ai-zhengce-tong", "docs/policy_sources/b3_家庭医生_天河.md", "f9a2097a4f9392cbe97c0c6964c8427ae14346c3", 3947),
}

# kind: regulation | notice | plan | list | news
# level: where the text sits in LawRefBook / the legal hierarchy
# date: None -> first date stated in the header lines of the text
METADATA: dict[str, dict] = {
    "notice_monthly_working_time.md": dict(kind="notice", level="部门规范性文件(通知)", issuer="劳动和社会保障部 (inferred from the 文号 劳社部发; LawRefBook folder 部门规章/人力资源社会保障部)", doc_number="劳社部发[2008]3号",
        date="2009-03-29", date_basis="lawrefbook_filename", notes="No date in the text (the date is the one in the LawRefBook file name). Item headings '## 一、…'; the last heading is a bare '## 三' whose body follows on the very next line without a blank line."),
    "law_national_anthem.md": dict(kind="regulation", level="法律", issuer="全国人民代表大会常务委员会",
        notes="Ends with an attachment line '附件：中华人民共和国国歌（五线谱版、简谱版）' (the attachment itself is not included). Item '（一）' of 第四条 continues on a second, un-numbered paragraph."),
    "notice_spp_criminal_law_art12.md": dict(kind="notice", level="司法解释(通知)", issuer="最高人民检察院",
        notes="Numbered points are incomplete: '一、' and '二、' are missing, only '三、' survives. The title contains '第十二条' mid-line. Signature block (issuer + 1997年10月6日) at the end."),
    "reg_personal_deposit_real_name.md": dict(kind="regulation", level="行政法规", issuer="国务院", doc_number="国务院令第285号",
        notes="Header line ends with an ideographic space (U+3000). Items use ASCII parentheses '(一)'."),
    "reg_people_mediation_committee.md": dict(kind="regulation", level="行政法规", issuer="国务院", doc_number="国务院令第37号",
        notes="Header line ends with an ideographic space (U+3000). Items use ASCII parentheses '(一)'."),
    "rule_mss_reporting_rewards.md": dict(kind="regulation", level="部门规章", issuer="国家安全部", doc_number="国家安全部令第2号",
        notes="Chapter titles with inner spaces: '第一章 总 则', '第五章 附 则'."),
    "decision_spc_spp_credit_card.md": dict(kind="notice", level="司法解释(决定)", issuer="最高人民法院、最高人民检察院",
        notes="A 决定 amending another interpretation: items '一、'…'八、' quote new articles; quoted paragraphs start with '“'. Mentions 法释〔2009〕19号. No 第X条 at line start."),
    "news_case_zhejiang_resettlement.md": dict(kind="news", level="案例(典型案例)", issuer="(not stated in the text; courts named in it: 浙江省杭州市余杭区人民法院, 浙江省杭州市中级人民法院)",
        date=None, date_basis="none", notes="Closest thing to a news text in LawRefBook: a published typical case (案例/) with '## 基本案情 / 裁判结果 / 典型意义' sections. No date, no publisher in the text."),
    "list_spp_crime_names.md": dict(kind="list", level="司法解释(意见)", issuer="最高人民检察院",
        notes="List of 414 crime names grouped by 章/节 of the Criminal Law; many numbered items run together in one paragraph separated by spaces ('1．…（第102条） 2．…'); item 13 has lost its number ('放火罪（…）' starts the 第二章 paragraph); the 第二章 list continues in a second paragraph starting at 36. Article references use Arabic digits (第102条)."),
    "gd_jiangmen_house_number_plates.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="江门市人民代表大会常务委员会",
        notes="A table of contents repeats all six chapter headings before the body (simple chapter count = 12, real chapters = 6). Unbalanced ')' in the approval line ('…批准）'). '第一章 总 则' with inner space. File ends with a blank line."),
    "sd_resolution_procuratorial_supervision.md": dict(kind="notice", level="地方性法规(决议)", issuer="山东省人民代表大会常务委员会",
        notes="Preamble sentence broken into separate paragraphs mid-word ('…会议听' / '取和审议了…', '根据' / '宪法和法律规定…'). Points '一、'…'十一、' instead of articles."),
    "zj_fine_limits_for_gov_rules.md": dict(kind="regulation", level="地方性法规", issuer="浙江省人民代表大会常务委员会",
        notes="Four header date lines (adoption, revision, two amendments). Only 5 articles."),
    "sd_dezhou_braised_chicken.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="德州市人民代表大会常务委员会",
        notes="Two spaces between chapter number and title ('## 第一章  总则')."),
    "gd_cantonese_cuisine_promotion.md": dict(kind="regulation", level="地方性法规", issuer="广东省人民代表大会常务委员会",
        notes="No chapters; ends with a blank line."),
    "zj_ningbo_honorary_citizens.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="宁波市人民代表大会常务委员会", notes=""),
    "zj_river_chief_system.md": dict(kind="regulation", level="地方性法规", issuer="浙江省人民代表大会常务委员会",
        notes="ASCII ':' and ',' inside Chinese text ('相应处分:', '报告,督促')."),
    "spc_online_mediation_rules.md": dict(kind="regulation", level="司法解释(规则)", issuer="最高人民法院",
        notes="Un-numbered preamble paragraph before 第一条."),
    "law_maritime_procedure.md": dict(kind="regulation", level="法律", issuer="全国人民代表大会常务委员会",
        notes="127 articles, 12 chapters, 7 sections ('### 第一节'); '第一百条' (no 零), '第一百零一条'…"),
    "law_criminal_procedure.md": dict(kind="regulation", level="法律", issuer="全国人民代表大会(2018年由全国人民代表大会常务委员会第三次修正)",
        notes="编/章/节 on three heading levels (##/###/####). The article on source line '第一百二十八 条侦查人员…' has the space BEFORE 条, so the simple counter finds 307 of 308 articles (gap 第一百二十七条 -> 第一百二十九条). 第五编第四章's title is split over two lines ('### 第四章 犯罪嫌疑人、被告人逃匿、死亡案件' + plain paragraph '违法所得的没收程序'). The closing '附则' is a bare paragraph, not a heading."),
    "reg_real_estate_registration.md": dict(kind="regulation", level="行政法规", issuer="国务院", doc_number="国务院令第656号",
        notes="LawRefBook file name says 2019-03-24 (amended version) but the header only states the 2014 promulgation. Items use ASCII parentheses. Also provided as .txt, .docx and .pdf."),
    "interp_theft_cases.md": dict(kind="regulation", level="司法解释(解释)", issuer="最高人民法院、最高人民检察院",
        notes="Un-numbered preamble before 第一条; first header line carries two adoption dates."),
    "sd_zibo_fireworks_ban.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="淄博市人民代表大会常务委员会", notes=""),
    "rule_samr_price_marking.md": dict(kind="regulation", level="部门规章", issuer="国家市场监督管理总局", doc_number="国家市场监督管理总局令第56号", notes=""),
    "zj_constitutional_oath.md": dict(kind="regulation", level="地方性法规", issuer="浙江省人民代表大会常务委员会",
        notes="第三条 is followed by the oath text as its own paragraph ('我宣誓：…')."),
    "rule_mps_continued_questioning.md": dict(kind="regulation", level="部门规章", issuer="公安部 (from the LawRefBook folder 部门规章/公安部; not stated in the text)",
        date="2004-07-12", date_basis="lawrefbook_filename",
        notes="No header/date lines at all (title then body). Items with a space after the marker ('（一） 保护好现场'); ASCII ';' and ',' in places; '二○○四年' with U+25CB ○."),
    "gd_chaozhou_she_culture.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="潮州市人民代表大会常务委员会",
        notes="Unbalanced ')' in the approval line ('…批准）')."),
    "law_electronic_signature.md": dict(kind="regulation", level="法律", issuer="全国人民代表大会常务委员会",
        notes="Amendment lines use ASCII '<…>' around law names ('《关于修改<中华人民共和国电力法>等六部法律的决定》'); '第一章 总 则' with inner space."),
    "list_injury_grading_standard.md": dict(kind="list", level="其他(鉴定标准)", issuer="(not stated in the text; LawRefBook folder 其他/)",
        date="2014-01-01", date_basis="lawrefbook_filename",
        notes="Technical standard, no 第X条: decimal clause numbers ('### 5.1　颅脑、脊髓' with U+3000, '#### 5.1.1 重伤一级'), item lists 'a)…', '6.1　…' paragraphs, a footnote marker ' [1]'; last line has no final '。'."),
    "sd_legislative_hearing_rules.md": dict(kind="regulation", level="地方性法规", issuer="山东省人民代表大会常务委员会",
        notes="Eight lines end with a trailing ASCII space."),
    "gd_shantou_river_chief.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="汕头市人民代表大会常务委员会",
        notes="Table of contents repeats the six chapter headings (simple chapter count = 12, real = 6) and spells '第一章 总则' where the body has '第一章 总 则'. Unbalanced ')' in the approval line. ASCII ',' and ':' inside Chinese text. Ends with a blank line."),
    "rule_samr_market_entity_registration_detailed.md": dict(kind="regulation", level="部门规章(实施细则)", issuer="国家市场监督管理总局", doc_number="国家市场监督管理总局令第52号",
        notes="82 articles in 12 chapters; items end with '。' instead of '；' in 第六条/第七条."),
    # ---- texts from other repositories (EXTERNAL_SOURCES) ------------------
    "plan_gov_greenhouse_gas_control_12th_fyp.md": dict(kind="plan", level="国务院文件(印发通知+工作方案)", issuer="国务院", doc_number="国发〔2011〕41号",
        date="2011-12-01", date_basis="text",
        notes="Converted from a hand-made HTML copy of the text (not a saved gov.cn page) in the 'policies' folder of a web project (苏州市用能单位能源计量数据在线采集系统). Notice (文号 line, addressee, 3 paragraphs, signature '国 务 院' with ASCII spaces and '二○一一年十二月一日' with U+25CB) followed by the 方案 as '## ' heading, parts '### 一、'…'### 九、' and 28 run-in items '（一）总体要求。…'…'（二十八）'. The copy has no 附件 (whether the official text has one was not checked). ASCII ':' after the addressee line and ASCII ',' in '信贷结构,积极'. The source wraps paragraphs with hard line breaks (PDF line length); they were removed. A U+3000 text node before the <h5> of 五、 was dropped. No 第X条."),
    "plan_gov_metrology_development_2013_2020.md": dict(kind="plan", level="国务院文件(印发通知+发展规划)", issuer="国务院", doc_number="国发〔2013〕10号",
        date="2013-03-02", date_basis="text",
        notes="Converted from a hand-made HTML copy of the text (same folder/project as the 41号 方案; not a saved gov.cn page). Notice + '（此件公开发布）', then '## 计 量 发 展 规 划' (spaced title) and a plain '（2013-2020年）' line. Parts 一、…六、 and items （一）…（三十） are plain paragraphs (no heading markup); in （四）（十）（十一）（十四） the item heading and its body are one line ('…研究。加强…'). Six boxes '专栏1　…'…'专栏6　…' (U+3000 after the number) with numbered entries '1.…；' one per line. Footnote markers ①②③ in the text and three footnote paragraphs at the end; '标准物质② ，' has a space before '，'. Copy defects kept as found: three hard-wrapped source lines are duplicated, so the text repeats itself inside three paragraphs (一、second paragraph '准建设迟缓…社会主义市', （十九） '促进对外贸易稳定增长…计划和项', （三十） '内容，由规划编制部门…规划最终'); '（十八）增强国防建设服务保障能力。' has no body text. No 第X条."),
    "plan_gd_tianhe_kindergarten_admission.md": dict(kind="plan", level="区级部门文件(印发通知+工作方案)", issuer="广州市天河区教育局", doc_number=None,
        date="2026-04-20", date_basis="text",
        notes="Saved page of the 广州市天河区人民政府门户网站 (www.thnet.gov.cn/gzjg/qzf/qjyj/zsks/content/post_10777181.html, 发表时间 2026-04-20); body of div#zoomcon, one line per <p>. No 文号. Every paragraph except the addressee keeps its leading '　　' (2 x U+3000) indentation; the date line is '2026年 4月 20' + U+00A0 + '日' (from &nbsp;). The 方案 title is a plain indented paragraph, not a heading. Numbering 一、 / （一） / '1. ' (with space) and '2.' (without) / （1）（2）（3） run-in inside a paragraph and as separate lines; '**一是**' / '**二是**' from <strong>. Ends with '附件：' and six attachment link texts (附件1.docx … .doc); the attachments themselves are not included. No 第X条."),
    "list_gd_graduate_employment_support_policies.md": dict(kind="list", level="省级部门政策清单", issuer="广东省人力资源和社会保障厅 (not named in the body, which says '广东人社部门'; page source line '来源：广东省人力资源和社会保障厅官网'; reposted on the 广州市人民政府门户网站)", doc_number=None,
        date="2026-08-03", date_basis="source_metadata",
        notes="Saved page www.gz.gov.cn/zwfw/zxfw/jyfw/content/post_10949160.html (PubDate 2026-08-03, no date in the text); body of div#zoomcon, one line per <p> (one empty <p><br/></p> dropped). One-sentence lead, then two groups in bold ('**面向单位的扶持政策**' with 一、…七、, '**面向毕业生的扶持政策**' with 一、…十一、: the numbering restarts), each item followed by description, '申领方式：…→…' and '网址：https://…/#/home' lines; （1）–（3） sub-items in 三、. All lines start with '　　' (U+3000 x 2). No 第X条."),
    "news_gd_tianhe_family_doctor_meeting.md": dict(kind="news", level="政府网站新闻(部门动态)", issuer="广州市天河区卫生健康局 (信息来源：区卫生健康局; 广州市天河区人民政府门户网站, 天河动态 > 部门街道)", doc_number=None,
        date="2025-03-28", date_basis="text",
        notes="Factual report of a meeting (2025年3月27日) from a Markdown capture (r.jina.ai style: 'Title: / URL Source: / Markdown Content:') of www.thnet.gov.cn/thdt/bmjd/content/post_10189331.html. Kept: the article '# ' title, the byline line '发表时间：**2025-03-28 16:55:56**信息来源：**区卫生健康局**浏览量：**-**' (bold markup and the empty view counter as in the capture), the photo line '![Image 2](…jpg)' and the three body paragraphs; dropped: site navigation, breadcrumb, the 'A+大A+中A+小' font-size controls, QR/print links and footer. No 本报讯/电头 dateline. No 第X条."),
    # batch d (issue 21)
    "sd_weifang_heating_supply.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="潍坊市人民代表大会常务委员会",
        notes="Chapter headings mix U+3000 ('## 第一章\u3000总则') and two ASCII spaces ('## 第三章  供热用热管理'). File ends without a final newline."),
    "sd_weihai_parking_management.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="威海市人民代表大会常务委员会",
        notes="Two spaces between chapter number and title. ASCII ';' inside Chinese text. File ends without a final newline."),
    "sd_dongying_dog_keeping.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="东营市人民代表大会常务委员会",
        notes="Chapter titles '第一章  总\u3000则' / '第七章  附\u3000则' (U+3000 inside the title); '## 第二章 免疫与登记' has one space, the others two. ASCII '(', ')', ',', ':', ';' inside Chinese text. File ends without a final newline."),
    "sd_rizhao_civilized_conduct.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="日照市人民代表大会常务委员会",
        notes="Two spaces between chapter number and title. ASCII '(', ')' and ';' inside Chinese text. File ends without a final newline."),
    "sd_linyi_blood_donation.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="临沂市人民代表大会常务委员会",
        notes="Chapter titles with inner double spaces ('第一章  总  则', '第六章  附  则'). File ends without a final newline."),
    "sd_jinan_prehospital_emergency_care.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="济南市人民代表大会常务委员会",
        notes="Two spaces between chapter number and title. File ends without a final newline."),
    "sd_qingdao_taxi_management.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="青岛市人民代表大会常务委员会",
        notes="U+3000 between chapter number and title ('## 第一章\u3000总则'). The last article (施行) also repeals the 2007 regulation in the same paragraph. ASCII '(', ',' and ':' inside Chinese text. File ends without a final newline."),
    "sd_heze_urban_water_supply.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="菏泽市人民代表大会常务委员会",
        notes="Two spaces between chapter number and title. ASCII ',' and ';' inside Chinese text. File ends without a final newline."),
    # batch e (issue 21)
    "zj_jiaxing_dog_keeping.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="嘉兴市人民代表大会常务委员会",
        notes="28 articles, no chapters. Header lists the 2019 adoption/approval and the 2021 amendment decision (two more date lines)."),
    "zj_hangzhou_urban_water_supply.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="杭州市人民代表大会常务委员会",
        notes="Chapter headings with U+3000 between number and title ('## 第一章　总则'). Several amendment date lines in the header."),
    "zj_ningbo_parking_lots.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="宁波市人民代表大会常务委员会",
        notes="Chapter headings with U+3000 ('## 第一章　总则'); header has revision, approval and 公告 lines."),
    "zj_shaoxing_home_elderly_care.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="绍兴市人民代表大会常务委员会",
        notes="Chapter headings with two ASCII spaces ('## 第一章  总  则', '## 第八章  附则'). Some items lost their markers: 第四条's items （三）（四） and 第十五条's item （六） are plain lines."),
    "gd_unemployment_insurance.md": dict(kind="regulation", level="地方性法规", issuer="广东省人民代表大会常务委员会",
        notes="Header revision line ends with two spaces and '根据', continued on the next date line. '第一章 总 则' with inner space. Ends with a blank line."),
    "gd_guangzhou_emergency_medical_care.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="广州市人民代表大会常务委员会",
        notes="第六章's heading is a bare paragraph '法律责任' (no '## 第六章' marker), so the simple chapter count is 6 (第一章…第五章, 第七章) and 第四十六条…第四十九条 fall under 第五章 for a reader. Header line 2 packs three events separated by two spaces."),
    "gd_dongguan_civilized_behaviour.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="东莞市人民代表大会常务委员会",
        notes="Unbalanced ')' in the approval line ('…批准）'). '第一章 总 则' with inner space. Some items lost their markers: 第十条's first item and 第十三条's first two items are plain lines without '（一）'/'（二）'; 第三十六条 runs '（二）…' and '（三）…' together on one line. Ends with a blank line."),
    "gd_shanwei_rural_housing.md": dict(kind="regulation", level="地方性法规(设区的市)", issuer="汕尾市人民代表大会常务委员会",
        notes="Unbalanced ')' in the approval line ('…批准）'). '第一章 总 则' with inner space. Ends with a blank line."),
    # batch f (issue 21)
    "reg_work_injury_insurance.md": dict(kind="regulation", level="行政法规", issuer="国务院", doc_number="国务院令第375号",
        notes="LawRefBook file name says 2010-12-20 (the amended version) but the header only states the 2003 promulgation. 67 articles in 8 chapters; items use ASCII parentheses '(一)'."),
    "reg_gov_information_disclosure.md": dict(kind="regulation", level="行政法规", issuer="国务院", doc_number="国务院令第711号",
        notes="Three header date lines (2007 promulgation, 2019 revision ending with U+3000, entry into force). 56 articles in 6 chapters."),
    "reg_residence_permit.md": dict(kind="regulation", level="行政法规", issuer="国务院", doc_number="国务院令第663号",
        notes="No chapters; 23 articles."),
    "reg_property_management.md": dict(kind="regulation", level="行政法规", issuer="国务院", doc_number="国务院令第379号",
        notes="LawRefBook file name says 2018-03-19 (third revision) but the header lists only the 2003 promulgation and the 2007 and 2016 revisions; the two revision lines end with U+3000."),
    "reg_unemployment_insurance.md": dict(kind="regulation", level="行政法规", issuer="国务院", doc_number="国务院令第258号",
        notes="Header line ends with an ideographic space (U+3000)."),
    "rule_mps_traffic_violation_points.md": dict(kind="regulation", level="部门规章", issuer="公安部 (from the LawRefBook folder 部门规章/公安部; not stated in the text)",
        date="2021-12-17", date_basis="lawrefbook_filename",
        notes="No header/date lines (title then body). Chapter titles with inner spaces ('第一章 总 则', '第七章 附 则'). Long item lists of point values (12/9/6/3/1 分)."),
    "rule_samr_household_car_three_guarantees.md": dict(kind="regulation", level="部门规章", issuer="国家市场监督管理总局", doc_number="国家市场监督管理总局令第43号",
        notes="Chapter titles with inner spaces ('第一章 总 则', '第六章 附 则')."),
    "rule_samr_complaint_report_handling.md": dict(kind="regulation", level="部门规章", issuer="国家市场监督管理总局", doc_number="国家市场监督管理总局令第20号",
        notes="No chapters; 40 articles. Second header line is an amendment by a 决定 (2022), no entry-into-force line."),
    # batch g (issue 21)
    "law_social_insurance.md": dict(kind="regulation", level="法律", issuer="全国人民代表大会常务委员会",
        notes="98 articles in 12 chapters. ASCII ':' and ',' inside Chinese text ('支付范围:', '全国统筹,其他'). No final newline."),
    "law_elderly_rights.md": dict(kind="regulation", level="法律", issuer="全国人民代表大会常务委员会",
        notes="Five header date lines (adoption 1996, two amendments, 2012 revision, 2018 amendment). 85 articles in 9 chapters. No final newline."),
    "law_tourism.md": dict(kind="regulation", level="法律", issuer="全国人民代表大会常务委员会",
        notes="112 articles in 10 chapters; '第一百一十二条'. No final newline."),
    "law_resident_id_card.md": dict(kind="regulation", level="法律", issuer="全国人民代表大会常务委员会",
        notes="Amendment line uses ASCII '<…>' around the law name ('《关于修改<中华人民共和国居民身份证法>的决定》'). 23 articles in 5 chapters. 第十三条's first sentence is broken into two paragraphs mid-sentence ('…需要证明身份的，有权使用' / '居民身份证证明身份，有关单位…'). No final newline."),
    "law_legal_aid.md": dict(kind="regulation", level="法律", issuer="全国人民代表大会常务委员会",
        notes="Chapter titles with inner spaces: '第一章 总 则', '第七章 附 则'. No final newline."),
    "interp_labor_disputes_1.md": dict(kind="regulation", level="司法解释(解释)", issuer="最高人民法院",
        notes="Header: adoption line and a separate '2021年1月1日 施行' line. Un-numbered preamble before 第一条; no chapters; long item lists（一）…. No final newline."),
    "interp_road_traffic_accident_compensation.md": dict(kind="regulation", level="司法解释(解释)", issuer="最高人民法院",
        notes="Header carries two adoption lines (2012 审判委员会第1556次会议, 2020 第1823次会议: the 2020 amended version); the date is the first. Un-numbered preamble; articles grouped under five part headings '## 一、关于主体责任的认定'…'## 五、关于适用范围的规定' (not 章): the structure reader keeps each part heading as a chunk of its own and does not put it in the articles' section paths. No final newline."),
    "interp_prepaid_consumption.md": dict(kind="regulation", level="司法解释(解释)", issuer="最高人民法院", doc_number="法释〔2025〕4号",
        notes="Header (adoption 2024-11-18, '2025年5月1日 施行'), then the title repeated as a plain line with ASCII spaces ('最高人民法院 关于审理预付式消费民事纠纷案件 适用法律若干问题的解释'), the 文号 line '法释〔2025〕4号' and a preamble before 第一条. The LawRefBook file name date (2025-03-13) is none of the dates in the text. No final newline."),
}

DATE_RE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日")


def header_dates(text: str) -> list[str]:
    """Date lines directly below the '# title' line (LawRefBook header)."""
    out = []
    lines = text.split("\n")
    for line in lines[1:]:
        s = line.strip()
        if not s:
            continue
        if DATE_RE.match(s):
            out.append(s)
            continue
        break
    return out


def iso(date_line: str) -> str:
    y, m, d = DATE_RE.match(date_line).groups()
    return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"


def source_entry(md: str) -> dict:
    text = (MD_DIR / md).read_text(encoding="utf-8")
    if md in EXTERNAL_SOURCES:
        repo, path, commit, total = EXTERNAL_SOURCES[md]
    else:
        repo = REPO
        path, commit, total = SOURCES[md]
        if len(text) + len(INFO_END_LINE) != total:
            raise SystemExit(f"{md}: length {len(text)} + INFO END != {total} reported by LawRefBook read_file")
    meta = METADATA[md]
    hd = header_dates(text)
    if "date" in meta:
        date, basis = meta["date"], meta["date_basis"]
    else:
        date, basis = (iso(hd[0]), "text") if hd else (None, "none")
    title = next(ln[2:].strip() for ln in text.split("\n") if ln.startswith("# "))
    entry = {
        "file": f"md/{md}",
        "title": title,
        "kind": meta["kind"],
        "issuer": meta["issuer"],
        "date": date,
        "date_basis": basis,
        "header_dates": hd,
        "format": "md",
        "encoding": "utf-8",
        "source": {"repo": repo, "path": path, "commit": commit, "chars": total},
        "derived_from": None,
        "level": meta["level"],
        "doc_number": meta.get("doc_number"),
        **count_file(MD_DIR / md),
        "features": [],
        "notes": meta.get("notes", ""),
    }
    return entry


def main() -> int:
    from make_formats import DERIVED

    all_sources = set(SOURCES) | set(EXTERNAL_SOURCES)
    missing = sorted(set(p.name for p in MD_DIR.glob("*.md")) ^ all_sources)
    if missing or all_sources != set(METADATA) or set(SOURCES) & set(EXTERNAL_SOURCES):
        raise SystemExit(f"SOURCES/METADATA/collection mismatch: {missing}")
    rows = []
    by_md = {}
    for md in sorted(all_sources):
        e = source_entry(md)
        by_md[md] = e
        rows.append(e)
    for spec in DERIVED:
        base = dict(by_md[spec["src"]])
        base["file"] = spec["file"]
        base["format"] = spec["format"]
        base["derived_from"] = f"md/{spec['src']}"
        base["encoding"] = spec.get("encoding", "utf-8") if spec["format"] in ("txt", "html") else None
        features = []
        if spec["format"] == "txt":
            features.append("markdown_stripped" if spec.get("strip_markdown") else "markdown_kept")
            features.append("crlf" if spec.get("newline") == "\r\n" else "lf")
        if spec["format"] == "docx":
            features.append("headings_as_word_styles")
            if spec.get("autonumber"):
                features.append("article_labels_by_word_numbering(chineseCounting, 第%1条)")
        if spec["format"] == "pdf":
            features += ["running_header_title", "footer_" + spec["footer"], "STSong-Light", "A4"]
        if spec["format"] == "html":
            features += ["gov_site_furniture", "headings_as_h_tags" if spec.get("heading_tags") else "headings_as_strong_p"]
        base["features"] = features
        rows.append(base)
    order = {"md": 0, "txt": 1, "docx": 2, "pdf": 3, "html": 4}
    rows.sort(key=lambda r: (order[r["format"]], r["file"]))
    with MANIFEST.open("w", encoding="utf-8", newline="\n") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {MANIFEST.relative_to(HERE)}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
