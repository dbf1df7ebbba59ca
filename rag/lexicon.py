"""The vocabulary of the reports: indicators and every phrase table the stages match text against.

One copy of each table, imported wherever it is needed:

- ``INDICATORS``: the indicators people ask about, with their Chinese wordings and English names;
  serves question parsing (「GDP」→ 地区生产总值, "retail sales" → 社会消费品零售总额), query expansion
  for keyword search, the extractive answerer and the indicator table (``rag.facts``). Order matters
  where one name contains another: longer, more specific names come first.
- intent words of questions (target vs. actual), growth words of reports and of questions;
- section kinds: how headings name a review, the targets, the plan (``rag.ingest.describe``), and the
  cues in a section label that retrieval and the extractive answerer boost;
- generic region words (全区, 开发区 …) that look like region names but are not;
- the label of an inferred region (「仓山区(推断)」).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    """A canonical indicator and the ways reports and users name it."""

    name: str  # canonical Chinese name
    aliases: tuple[str, ...]  # other Chinese wordings found in reports or questions
    english: tuple[str, ...]  # lower-case English phrases


INDICATORS: tuple[Indicator, ...] = (
    Indicator("地方一般公共预算收入", ("地方一般公共预算收入", "地方财政收入", "地方公共财政预算收入"),
              ("local general public budget revenue", "local fiscal revenue", "local budget revenue")),
    Indicator("一般公共预算总收入", ("一般公共预算总收入", "公共财政预算收入", "财政总收入", "一般公共预算收入", "财政收入"),
              ("general public budget revenue", "total fiscal revenue", "fiscal revenue", "budget revenue")),
    Indicator("地区生产总值", ("地区生产总值", "国内生产总值", "生产总值", "GDP", "经济总量", "经济增长", "经济年均增长"),
              ("gdp", "gross domestic product", "gross regional product", "economic growth", "economy")),
    Indicator("固定资产投资", ("固定资产投资", "全社会固定资产投资", "固投"),
              ("fixed asset investment", "fixed-asset investment", "fixed assets investment", "investment in fixed assets")),
    Indicator("社会消费品零售总额", ("社会消费品零售总额", "社零总额", "社零", "消费品零售总额", "社会商品零售总额"),
              ("retail sales", "total retail sales", "consumer goods")),
    Indicator("进出口总额", ("进出口总额", "外贸进出口", "进出口", "外贸"),
              ("import and export", "import-export", "imports and exports", "foreign trade", "total trade", "trade volume")),
    Indicator("实际利用外资", ("实际利用外资", "利用外资", "外商直接投资", "外资"),
              ("foreign direct investment", "foreign investment", "fdi", "utilized foreign capital", "foreign capital")),
    Indicator("城镇居民人均可支配收入", ("城镇居民人均可支配收入",), ("urban disposable income", "urban residents' disposable income")),
    Indicator("居民人均可支配收入", ("居民人均可支配收入", "人均可支配收入", "可支配收入"),
              ("disposable income", "per capita disposable income", "income per capita")),
    Indicator("城镇新增就业", ("城镇新增就业", "新增城镇就业", "新增就业"), ("new urban jobs", "urban employment", "new jobs", "jobs", "employment")),
    Indicator("第三产业增加值", ("第三产业增加值",), ("tertiary industry", "service sector value added")),
    Indicator("规上工业增加值", ("规上工业增加值", "规模以上工业增加值", "规模工业增加值"), ("industrial value added", "industrial output")),
    Indicator("居民消费价格", ("居民消费价格", "CPI", "物价涨幅"), ("cpi", "consumer price", "inflation")),
    Indicator("城镇调查失业率", ("城镇调查失业率", "调查失业率", "失业率"), ("unemployment rate", "unemployment")),
    Indicator("粮食产量", ("粮食产量", "粮食总产量", "粮食年产量", "粮食总产"), ("grain output", "grain production")),
)

TARGET_WORDS = ("目标", "预期", "力争", "计划", "要达到", "要实施", "确保", "打算", "预计增长", "将", "安排", "拟")
ACTUAL_WORDS = ("完成", "实现", "预计", "增长了", "达到了", "是多少", "多少", "实际", "成效", "取得")
EN_TARGET = ("target", "goal", "plan", "aim", "expected", "will")
EN_ACTUAL = ("actual", "achieved", "was", "were", "did", "grew", "reached", "how much", "how many")


# an indicator as the base of another quantity, in English (a share of GDP, GDP per capita, energy use per unit of GDP)
_EN_SHARE_OF_RE = re.compile(r"\b[a-z]+[- ]to[- ](?:gdp|gross domestic product)\b|\b(?:share|percent(?:age)?|proportion|"
                             r"ratio) of (?:the )?(?:gdp|gross domestic product)\b|\bper[- ]capita gdp\b|"
                             r"\bgdp per (?:capita|person|head)\b|\bper unit of (?:gdp|gross domestic product)\b")


# English indicator names that need their context: 「the economy」 is GDP, 「the digital economy」 is a topic
_EN_PHRASE_RE = {"economy": r"\b(?:the|its|their|whole|overall|national|provincial|regional|local|[a-z]+['’]s)\s+economy\b"
                            r"|\beconomy\s+(?:grow|expand)"}


def find_indicators(text: str) -> list[Indicator]:
    """Indicators named in ``text`` (Chinese or English), most specific first, without overlaps."""
    # 「deficit-to-GDP ratio」 names the deficit, not GDP (blanked, same length: spans stay valid)
    lower = _EN_SHARE_OF_RE.sub(lambda m: " " * len(m.group(0)), text.lower())
    found: list[Indicator] = []
    taken: list[tuple[int, int]] = []
    for ind in INDICATORS:
        for alias in ind.aliases:
            pattern = re.escape(alias.lower())
            for m in re.finditer(pattern, lower):
                if any(s < m.end() and m.start() < e for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                if ind not in found:
                    found.append(ind)
        for phrase in ind.english:
            if re.search(_EN_PHRASE_RE.get(phrase, rf"\b{re.escape(phrase)}\b"), lower) and ind not in found:
                found.append(ind)
    return found


def indicator_by_name(name: str) -> Indicator | None:
    """Look up an indicator by canonical name or alias."""
    for ind in INDICATORS:
        if name == ind.name or name in ind.aliases:
            return ind
    return None


# ---------------------------------------------------------------- growth
GROWTH_WORDS = ("增长", "增速", "增幅", "下降", "提高", "回落", "上涨", "涨幅", "增加")  # a change, as reports state it
GROWTH_RE = re.compile("|".join(GROWTH_WORDS))
# a question asks for growth (the indicator table answers with growth figures only)
ASKS_GROWTH_RE = re.compile(r"增长|增速|增幅|增长率|涨幅|growth|grow|increase", re.I)
# a question asks how much something grew (an answer without a rate says the report gives none)
ASKS_GROWTH_AMOUNT_RE = re.compile(r"增长了多少|增长多少|增速|增幅|增长率|同比增长|growth|grow|how fast|increase")
# a question for which a % figure is the likelier answer (growth, a rate, a target)
WANTS_RATE_RE = re.compile(r"增长|增速|增幅|涨幅|提高|下降|率|比重|growth|grow|increase|rate|ratio|percent|share|目标|target")
# a clause that sets a target rather than reporting a result
TARGET_CLAUSE_RE = re.compile(r"力争|目标|预期|计划|控制在|确保")

# ---------------------------------------------------------------- sections
# how a heading names its part of a report, first match wins (rag.ingest.describe)
SECTION_KIND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("targets", ("预期目标", "主要目标", "目标任务", "总体要求", "政策取向")),
    ("plan", ("工作安排", "工作任务", "工作计划", "打算", "努力方向", "重点做好", "重点抓好", "下半年")),
    ("review", ("工作回顾", "回顾", "主要工作", "成效", "总结", "完成情况", "主要经济指标")),
)
# cues in a passage's section label: targets/plan vs. review (retrieval boosts, extractive scoring)
TARGET_SECTION_RE = re.compile(r"目标|安排|计划|打算|任务|重点做好|重点抓好|努力方向|下半年|总体要求|政策取向")
REVIEW_SECTION_RE = re.compile(r"回顾|成效|总结|主要经济指标|完成情况|上半年")

# ---------------------------------------------------------------- regions
# words ending like a region name (区, 市, 省, 县) that name no region
GENERIC_REGION_WORDS = frozenset({
    "全区", "本区", "我区", "城区", "全市", "本市", "全省", "本省", "全县", "本县", "开发区", "高新区", "各区", "新区",
    "园区", "辖区", "社区", "片区", "街区", "景区", "市区", "地区", "山区", "郊区", "灾区", "老区", "示范区", "核心区",
    "自贸区", "保税区", "试验区", "集聚区", "商务区", "城市", "城乡", "省市", "区县", "县市", "都市", "超市", "上市",
})
INFERRED_MARK = "(推断)"


def region_label(region: str | None, inferred: bool = False, unknown: str = "地区未知") -> str:
    """A region for display: 「仓山区」, 「仓山区(推断)」 when inferred, ``unknown`` when None."""
    if not region:
        return unknown
    return region + (INFERRED_MARK if inferred else "")


# ---------------------------------------------------------------- keyword search
# words jieba must keep whole (the BM25 index is built with them: changing this needs a re-ingest)
KEYWORD_WORDS = ("地区生产总值", "一般公共预算总收入", "地方一般公共预算收入", "固定资产投资", "社会消费品零售总额",
                 "进出口总额", "实际利用外资", "居民人均可支配收入", "城镇新增就业", "预期目标", "个百分点")


# colloquial wording in the words the reports use (「经济涨了多少」 → 「经济增长了多少」, 「定的多少」 → 「目标是多少」)
COLLOQUIAL = (
    (re.compile(r"涨(?!价|幅)"), "增长"),
    (re.compile(r"涨幅"), "增幅"),
    (re.compile(r"定(?:了|的)(?=多少|几)"), "目标是"),
    (re.compile(r"大概|大约|那边|这边"), ""),
    (re.compile(r"[啊呀呢吧嘛哈]+(?=[?？!！。]*$)"), ""),
)


# short forms the reports spell out (and the other way round), searched and matched as both
SHORT_FORMS = (
    ("文旅", "文化旅游"), ("专项债", "专项债券"), ("规上", "规模以上"), ("限上", "限额以上"), ("双创", "创新创业"),
    ("医改", "医药卫生体制改革"), ("城建", "城市建设"), ("科创", "科技创新"), ("外贸", "进出口"), ("基建", "基础设施"),
)


# an English question's report words, searched in Chinese beside its indicators (「target」 → 预期目标)
EN_CUES = tuple((re.compile(p, re.I), zh) for p, zh in (
    (r"\btargets?\b|\bgoals?\b|\baims?\b", "预期目标"), (r"\bgrowth\b|\bgr[eo]w", "增长"),
    (r"\bplans?\b|\bwill\b", "计划"), (r"\bachiev|\baccomplish", "成效"),
))  # report-structure words only: topics (学位, 赤字率 …) are the multilingual embedder's job, not a glossary's


# ---------------------------------------------------------------- English report vocabulary
# general words of government work reports in English → the reports' Chinese terms, so keyword search,
# sentence coverage and clause scoring of an English question see the Chinese words (「elderly care」 → 养老);
# the multilingual embedder covers what the table lacks. Longer phrases first: a phrase consumes its words.
EN_GLOSSARY: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(rf"\b(?:{p})\b", re.I), zh) for p, zh in (
        (r"elderly[- ]care|aged care|care for the elderly|old[- ]age care|senior care", ("养老",)),
        (r"elderly canteens?|meal services? for (?:the )?elderly|senior canteens?", ("长者食堂", "助餐")),
        (r"elderly|older (?:people|persons|adults|residents)|seniors?|the aged", ("养老", "老年", "老人")),
        (r"child ?care|nurser(?:y|ies)|infant care", ("托育", "托位")),
        (r"childbirth|fertility|birth support", ("生育",)),
        (r"children|infants?|kids", ("儿童", "婴幼儿")),
        (r"school (?:places|seats|places)|(?:places|seats) (?:in|at) schools?|school capacity", ("学位",)),
        (r"schools?|education(?:al)?|teaching", ("教育", "学校")),
        (r"kindergartens?|preschool", ("学前教育", "幼儿园")),
        (r"students?", ("学生",)),
        (r"vocational", ("职业教育",)),
        (r"universit(?:y|ies)|college graduates?|graduates", ("高校", "毕业生")),
        (r"hospitals?|medical|health ?care|healthcare|public health", ("医疗", "医院", "卫生")),
        (r"medical insurance|health insurance", ("医保", "医疗保险")),
        (r"pensions?|old-age insurance", ("养老保险", "养老金")),
        (r"social security|social insurance|social assistance", ("社会保障", "社会保险", "救助")),
        (r"minimum (?:living )?allowances?|subsistence allowances?", ("低保",)),
        (r"minimum wages?", ("最低工资",)),
        (r"people'?s? livelihoods?|livelihood|wellbeing|well-being|welfare", ("民生",)),
        (r"housing|homes", ("住房",)),
        (r"old (?:residential )?(?:communities|neighbou?rhoods|compounds)|old housing estates?", ("老旧小区",)),
        (r"real estate|property market", ("房地产",)),
        (r"heating", ("供热",)),
        (r"environment(?:al)?|ecolog(?:y|ical)", ("生态", "环境")),
        (r"pollution|pollutants?", ("污染", "污染防治")),
        (r"air quality|good air days?|blue sky", ("空气质量", "优良天数")),
        (r"water quality|sewage|wastewater", ("水质", "污水")),
        (r"afforestation|tree planting|forests?|greening", ("造林", "绿化")),
        (r"parks?|green spaces?", ("公园", "绿地")),
        (r"garbage|waste sorting|refuse classification", ("垃圾分类", "垃圾")),
        (r"carbon|emissions?", ("碳", "排放")),
        (r"energy consumption|energy intensity", ("能耗",)),
        (r"energy", ("能源",)),
        (r"new energy vehicles?|electric vehicles?|nevs?", ("新能源汽车",)),
        (r"touris(?:m|ts?)|visitors?|travel", ("旅游", "游客")),
        (r"culture|cultural", ("文化",)),
        (r"sports?|fitness", ("体育", "健身")),
        (r"digital economy", ("数字经济",)),
        (r"digital(?:i[sz]ation)?", ("数字", "数字化")),
        (r"5g base stations?|base stations?", ("基站",)),
        (r"computing power|data centers?|big data", ("算力", "大数据")),
        (r"artificial intelligence|\bai\b", ("人工智能",)),
        (r"high-tech (?:enterprises|companies|firms)|high and new tech(?:nology)? enterprises", ("高新技术企业",)),
        (r"research and development|r&d", ("研发",)),
        (r"science and technology|technolog(?:y|ical)|scientific", ("科技",)),
        (r"innovation|innovative", ("创新",)),
        (r"talents?|skilled (?:workers|personnel)", ("人才",)),
        (r"private (?:economy|sector|enterprises|businesses)", ("民营经济", "民营企业")),
        (r"enterprises?|companies|firms|businesses", ("企业",)),
        (r"market (?:entities|players)|business entities", ("市场主体", "经营主体")),
        (r"attract(?:ing)? investment|investment promotion|investment attraction", ("招商", "招商引资")),
        (r"projects?", ("项目",)),
        (r"infrastructure", ("基础设施",)),
        (r"roads?|streets?|bridges?", ("道路", "街巷")),
        (r"traffic|transport(?:ation)?|congestion", ("交通", "拥堵")),
        (r"urban renewal|city renewal|urban regeneration", ("城市更新",)),
        (r"land acquisition|demolition|relocation", ("征迁",)),
        (r"business environment", ("营商环境",)),
        (r"reforms?", ("改革",)),
        (r"opening[- ]up|openness", ("开放",)),
        (r"consum(?:ption|er spending)|spending", ("消费",)),
        (r"trade-ins?|trade in", ("以旧换新",)),
        (r"first[- ]stores?|flagship stores?|first-store brands?", ("首店",)),
        (r"night(?:time)? economy", ("夜经济", "夜间")),
        (r"exhibitions?|conventions?|expos?", ("展会", "会展")),
        (r"logistics", ("物流",)),
        (r"exports?", ("出口",)),
        (r"manufacturing", ("制造业",)),
        (r"industr(?:y|ies|ial)", ("产业", "工业")),
        (r"services? (?:industry|sector)|service industries", ("服务业",)),
        (r"agricultur(?:e|al)|farming|farmers?", ("农业", "农民")),
        (r"rural revitali[sz]ation", ("乡村振兴",)),
        (r"rural|villages?|countryside", ("农村", "乡村")),
        (r"poverty", ("脱贫", "贫困")),
        (r"deficit[- ](?:to-gdp )?ratio|deficit rate", ("赤字率",)),
        (r"deficits?", ("赤字",)),
        (r"special[- ](?:purpose )?(?:local )?(?:government )?bonds?", ("专项债券",)),
        (r"treasury bonds?|government bonds?", ("国债",)),
        (r"bonds?", ("债券",)),
        (r"tax and fee (?:cuts|reductions?)|tax (?:cuts|reductions?|relief)|fee (?:cuts|reductions?)", ("减税降费",)),
        (r"tax(?:es)?", ("税",)),
        (r"burdens?", ("负担",)),
        (r"fiscal|budget(?:ary)?", ("财政", "预算")),
        (r"debts?", ("债务",)),
        (r"financ(?:e|ial)", ("金融",)),
        (r"risks?", ("风险",)),
        (r"work safety|production safety|safety", ("安全生产", "安全")),
        (r"emergenc(?:y|ies)|disaster", ("应急", "减灾")),
        (r"rule of law|law-based", ("法治",)),
        (r"integrity|corruption|clean government", ("廉洁", "廉政")),
        (r"government services?|administrative (?:services|approval)", ("政务服务",)),
        (r"per[- ]capita|per person", ("人均",)),
        (r"population|residents", ("人口", "居民")),
        (r"urbani[sz]ation", ("城镇化",)),
        (r"migrant workers?", ("农民工",)),
        (r"veterans?", ("退役军人",)),
        (r"disabled|disabilit(?:y|ies)", ("残疾人",)),
        (r"volunteers?|community|communities", ("社区",)),
        (r"greater bay area|bay area", ("大湾区", "湾区")),
        (r"low[- ]altitude economy", ("低空经济",)),
        (r"silver economy", ("银发经济",)),
        (r"new quality productive forces|new productive forces", ("新质生产力",)),
        (r"unified national market|national unified market", ("全国统一大市场",)),
        (r"carbon peak(?:ing)?|peak carbon", ("碳达峰",)),
        (r"carbon neutral(?:ity)?", ("碳中和",)),
        (r"data elements?|data as a factor", ("数据要素",)),
        (r"defen[cs]e|military|armed forces", ("国防", "军队")),
        (r"ancient city|old city|historic(?:al)? (?:city|districts?|areas?|blocks?)|heritage|historic buildings?",
         ("古城", "历史文化", "保护")),
        (r"free trade (?:zone|port)s?|pilot free trade", ("自贸区", "自由贸易")),
        (r"belt and road", ("一带一路",)),
        (r"foreign (?:investment|capital)|fdi", ("外资",)),
        (r"ports?|shipping|airports?", ("港口", "航运", "机场")),
        (r"railways?|high-speed rail|metro|subway", ("铁路", "高铁", "地铁")),
        (r"water conservancy|irrigation|flood control", ("水利", "防汛")),
        (r"food security|grain security", ("粮食安全",)),
        (r"marine|ocean", ("海洋",)),
        (r"manufacturers?|factories", ("制造业", "工厂")),
        (r"semiconductors?|chips?|integrated circuits?", ("集成电路", "芯片")),
        (r"biomedicine|biopharmaceutical|pharmaceutical", ("生物医药",)),
        (r"startups?|entrepreneurship", ("创业",)),
        (r"income growth|wages?|salar(?:y|ies)", ("收入", "工资")),
        (r"prices?|inflation", ("价格",)),
        (r"unemployed|re-?employment", ("失业", "再就业")),
    ))


# English names of places that are not their pinyin (lower case, single spaces)
EN_PLACE_NAMES = {"hong kong": "香港特别行政区", "macau": "澳门特别行政区", "macao": "澳门特别行政区",
                  "taiwan": "台湾省", "tibet": "西藏自治区", "inner mongolia": "内蒙古自治区", "peking": "北京市"}


def english_term_groups(text: str) -> list[tuple[str, ...]]:
    """The Chinese terms of each English phrase of ``text`` (``EN_GLOSSARY``; a phrase consumes its words)."""
    out: list[tuple[str, ...]] = []
    taken: list[tuple[int, int]] = []
    for pattern, terms in EN_GLOSSARY:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            taken.append(m.span())
            if terms not in out:
                out.append(terms)
    return out


def english_terms(text: str) -> list[str]:
    """The Chinese report terms for the English words of ``text``, one list."""
    return list(dict.fromkeys(t for group in english_term_groups(text) for t in group))
