"""A policy document turned into draft questions for an admin to review (nothing enters the bank
unreviewed: drafts are proposals; ``bank_io`` validates and imports only the ones accepted).

The document is split into articles (第X条, ``SourceText.articles``) or, without articles, into
paragraphs (第N段), and each into sentences. In a sentence the generator looks for what questions are
made of, and proposes drafts of every objective type from it:

- a time limit, an amount, a percentage or a multiple (三十日, 六个月, 百分之二十, 二倍): a single
  choice and a fill with the figure as the key, and a judge that states the sentence with another
  figure (false); the wrong options are the document's own figures of the same unit (other time
  limits in the same law), else neighbouring values;
- who decides (由……人民政府确定): a single choice among the document's other bodies;
- an obligation with 应当 / 不得 / 可以: a judge that states it as written (true) or with the modal
  turned (false);
- an enumeration (下列情形之一 / （一）（二）…): a multiple choice with some of its items right and
  items of the document's other lists as the wrong ones.

Every draft quotes its sentence verbatim with its locator (the import verifies it again), carries an
explanation stub that cites the article, and says which finding it came from.

The module is long because the findings, their wrong options and the review's checks share one
reading of a document (its passages, sentences and figures); split, each part would re-read it.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field

from .bank_io.format import BLANK
from .sources import ARTICLE, SourceText

DIGITS = "零一二三四五六七八九"
UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
CN_NUMBER = r"[零〇一二两三四五六七八九十百千万亿]+"
FIGURE = re.compile(
    rf"(?<![第\d零〇一二两三四五六七八九十百千万亿.])(?P<num>\d+(?:\.\d+)?|{CN_NUMBER})"
    r"(?P<unit>个工作日|个月|日|天|年|周岁|倍|小时|万元|元|周)"
    r"(?![份度末初底])"
)
PERCENT = re.compile(rf"百分之(?:{CN_NUMBER})(?:点[零一二三四五六七八九]+)?|\d+(?:\.\d+)?%")
DECIDER = re.compile(
    r"由(?P<who>[^，。；由]{2,26}?)(?P<verb>确定|规定|制定|决定|核定|审批|批准|公布|负责|认定|办理)"
)
DECIDER_SUFFIXES = ("人民政府", "部门", "机构", "国务院", "委员会", "工会", "人民法院")
MODALS = ("应当", "不得", "可以")
MODAL_TURN = {"应当": "可以", "不得": "可以", "可以": "应当"}
ITEM = re.compile(r"^[(（][一二三四五六七八九十]+[)）]\s*")
SENTENCE_END = "。！？"
MAX_SENTENCE = 120
MAX_DRAFTS = 600

CATEGORY_WORDS = [
    ("社会保险", ("保险", "养老", "医疗", "工伤", "失业", "生育", "社保")),
    ("劳动关系", ("劳动合同", "劳动争议", "工资", "劳动法", "工作时间", "年休假", "劳动")),
    ("就业创业", ("就业", "创业", "人力资源市场", "职业介绍")),
    ("人才人事", ("公务员", "事业单位", "人事", "人才")),
]


def to_int(text: str) -> int | None:
    """三十 → 30, 一百二十 → 120, 一万 → 10000, 二万五千 → 25000, 两 → 2, 15 → 15; None for what is
    not a whole number — 一九九五 and 二〇〇八 (digits without units) are years, not amounts."""
    if text.isdigit():
        return int(text)
    if not text or "〇" in text:
        return None
    total, high, section, digit = 0, 0, 0, None
    for ch in text:
        if ch in DIGITS or ch == "两":
            if digit:  # two digits in a row without a unit between them: a year (一九九五)
                return None
            digit = 2 if ch == "两" else DIGITS.index(ch)
        elif ch in UNITS and UNITS[ch] < 10000:
            section += (1 if digit is None else digit) * UNITS[ch]
            digit = None
        elif ch == "万":
            high += (section + (digit or 0)) * 10000
            section, digit = 0, None
        elif ch == "亿":
            total += (high + section + (digit or 0)) * 100_000_000
            high, section, digit = 0, 0, None
        else:
            return None
    return total + high + section + (digit or 0)


def _below_ten_thousand(number: int, *, leading: bool) -> str:
    if leading and 10 <= number < 20:
        return "十" + (DIGITS[number % 10] if number % 10 else "")
    parts, zero = [], False
    for value, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = number // value % 10
        if digit:
            if zero:
                parts.append("零")
            parts.append(DIGITS[digit] + name)
            zero = False
        elif parts:
            zero = True
    return "".join(parts) or DIGITS[0]


def to_chinese(number: int) -> str:
    """30 → 三十, 15 → 十五, 105 → 一百零五, 10000 → 一万, 25000 → 二万五千, 1000000 → 一百万,
    10500 → 一万零五百 (as the laws write them)."""
    if number < 10:
        return DIGITS[number]
    for value, name in ((100_000_000, "亿"), (10000, "万")):
        if number >= value:
            high, low = divmod(number, value)
            text = to_chinese(high) + name
            if low:
                text += ("零" if low < value // 10 else "") + to_chinese_part(low, value)
            return text
    return _below_ten_thousand(number, leading=True)


def to_chinese_part(number: int, scale: int) -> str:
    """The part below 万 (or 亿) of a larger number: 五千, 零五百 is written by the caller."""
    if scale == 100_000_000 and number >= 10000:
        return to_chinese(number)
    return _below_ten_thousand(number, leading=False)


@dataclass
class Figure:
    text: str  # as written: 三十日, 百分之二十
    value: float
    unit: str  # 日, 个月, %, 倍…
    chinese: bool


@dataclass
class Draft:
    """A proposed question; ``key`` names it within one run (for the review form)."""

    key: str
    type: str
    stem: str
    answer: object
    options: dict = field(default_factory=dict)
    explanation: str = ""
    locator: str = ""
    quote: str = ""
    finding: str = ""  # what it was made from: 时限, 金额/比例, 决定主体, 义务, 列举
    category: str = ""
    difficulty: int = 1
    note: str = ""  # a label the question carries (医疗保障, a rule that changes on a known date)

    def values(self, source_code: str, ability: str) -> dict:
        """The draft as an import record's values (validated like any import row)."""
        values = {
            "source": source_code,
            "type": self.type,
            "category": self.category,
            "ability": ability,
            "difficulty": self.difficulty,
            "stem": self.stem,
            "answer": self.answer,
            "explanation": self.explanation,
            "locator": self.locator,
            "quote": self.quote,
        }
        if self.options:
            values["options"] = dict(self.options)
        if self.note:
            values["note"] = self.note
        return values

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Passage:
    locator: str
    text: str  # the article (or paragraph) as the source holds it


def passages(source: SourceText) -> list[Passage]:
    """Articles when the document has them, else paragraphs (第N段)."""
    if source.articles:
        return [Passage(locator, text) for locator, text in source.articles.items()]
    return [Passage(f"第{index}段", line) for index, line in enumerate(source.paragraphs, 1)]


def sentences(text: str, *, items: bool = True) -> list[str]:
    """The passage's sentences, as written (without the closing mark): what a quote is. A sentence
    runs to 。！？ — its “；” clauses stay together, since a clause after “；” (已满20年的……, 逾期不改正的……)
    leans on the subject and condition before it. ``items=False`` leaves out a list's items
    (（一）……的；), which are no statements on their own, and the line that leads into a list (……：)."""
    found = []
    for line in text.split("\n"):
        line = ARTICLE.sub("", line, count=1).strip() if ARTICLE.match(line) else line.strip()
        if not items and ITEM.match(line):
            continue
        leads_a_list = line.endswith(("：", ":"))
        line = ITEM.sub("", line)
        start = 0
        for index, ch in enumerate(line):
            if ch in SENTENCE_END:
                piece = ITEM.sub("", line[start:index].strip())
                if piece:
                    found.append(piece)
                start = index + 1
        if line[start:].strip() and (items or not leads_a_list):
            found.append(line[start:].strip().rstrip(":："))
    return found


def clauses(sentence: str) -> list[str]:
    """A sentence's “；” clauses: the first one carries the subject and condition of the rest."""
    return [part for part in re.split("[；;]", sentence) if part.strip()]


def figures_in(sentence: str) -> list[tuple[int, Figure]]:
    """(position, figure) of every time limit, amount, percentage and multiple in the sentence."""
    found = []
    for match in FIGURE.finditer(sentence):
        number, unit = match.group("num"), match.group("unit")
        value = float(number) if number[0].isdigit() else to_int(number)
        if value is None or value == 0:
            continue
        if unit == "年" and value >= 1900:
            continue  # a year, not a length of time
        following = sentence[match.end() : match.end() + 1]
        if (unit in ("年", "日") and following and following in "月度") or (
            unit == "日" and sentence[max(0, match.start() - 1) : match.start()] == "月"
        ):
            continue  # a date
        found.append((match.start(), Figure(match.group(0), float(value), unit, not number[0].isdigit())))
    for match in PERCENT.finditer(sentence):
        text = match.group(0)
        if text.endswith("%"):
            value, chinese = float(text[:-1]), False
        else:
            whole, _, decimal = text[3:].partition("点")
            number = to_int(whole)
            if number is None:
                continue
            value = (
                float(f"{number}.{''.join(str(DIGITS.index(c)) for c in decimal)}")
                if decimal
                else float(number)
            )
            chinese = True
        found.append((match.start(), Figure(text, value, "%", chinese)))
    return sorted(found, key=lambda item: item[0])


def write_figure(value: float, like: Figure) -> str:
    """A value written as ``like`` writes its figure (三十日 → 六十日, 20% → 30%, 百分之二十 → 百分之三十)."""
    whole = int(value) if float(value).is_integer() else None
    if like.unit == "%":
        if like.chinese and whole is not None:
            return f"百分之{to_chinese(whole)}"
        return f"{_plain(value)}%"
    if like.chinese and whole is not None:
        return f"{to_chinese(whole)}{like.unit}"
    return f"{_plain(value)}{like.unit}"


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


NEIGHBOURS = {
    "日": [3, 5, 7, 10, 15, 20, 30, 45, 60, 90],
    "天": [3, 5, 7, 10, 15, 20, 30, 45, 60, 90],
    "个工作日": [3, 5, 7, 10, 15, 20, 30],
    "个月": [1, 2, 3, 6, 9, 12, 18, 24],
    "年": [1, 2, 3, 5, 10, 15, 20],
    "%": [5, 10, 15, 20, 25, 30, 50, 60, 80],
    "倍": [1, 2, 3, 5],
    "周岁": [14, 16, 18, 20, 22],
    "岁": [14, 16, 18, 20, 22],
    "小时": [1, 2, 3, 4, 8, 10, 12, 24, 36, 40, 44, 48],
    "周": [1, 2, 4, 6, 8, 12],
    # amounts: the sums fines and benefits are written in (never made-up halves such as 2.5万元)
    "元": [
        100,
        200,
        500,
        1000,
        2000,
        3000,
        5000,
        10000,
        20000,
        30000,
        50000,
        100000,
        200000,
        500000,
        1000000,
    ],
    "万元": [1, 2, 3, 5, 10, 20, 30, 50, 100, 500, 1000, 5000],
}
BODIES = [
    "国务院",
    "省、自治区、直辖市人民政府",
    "县级以上人民政府",
    "社会保险经办机构",
    "人力资源社会保障行政部门",
]


def distractor_values(
    figure: Figure, pool: dict[str, set[float]], count: int, rng: random.Random
) -> list[float]:
    """Other values of the same unit (days with days, percentages with percentages): the document's
    own within a factor of three first (nearest first), then the usual values of that unit, then the
    document's other values. A unit without usual values gets the document's own only."""
    own = sorted(
        (v for v in pool.get(figure.unit, set()) if v != figure.value), key=lambda v: abs(v - figure.value)
    )
    near = [v for v in own if figure.value / 3 <= v <= figure.value * 3]  # not 百分之一百 beside 10%
    neighbours = sorted(NEIGHBOURS.get(figure.unit, []), key=lambda v: abs(v - figure.value))
    if figure.unit == "%" and figure.value < 100:
        neighbours = [v for v in neighbours if v < 100]
    picked: list[float] = []
    for value in [*near, *neighbours, *own]:
        if len(picked) >= count:
            break
        if float(value) not in picked and value > 0 and _distinct(value, figure.value):
            picked.append(float(value))
    return picked[:count]


def _distinct(a: float, b: float) -> bool:
    return abs(a - b) > 1e-9 and (not float(a).is_integer() or a >= 1)


def deciders_in(sentence: str) -> list[re.Match]:
    """由……确定/规定/负责: the body that decides, when it is one body (not 用人单位和职工, not
    按照国家规定)."""
    return [
        match
        for match in DECIDER.finditer(sentence)
        if match.group("who").endswith(DECIDER_SUFFIXES)
        and not any(word in match.group("who") for word in ("和", "以及", "按照", "或者", "依照"))
    ]


CONTEXTUAL = (
    "前款",
    "本条",
    "具体",
    "上述",
    "其中",
    "前述",
    "该",
    "此",
    "但是",
    "但",
    "并",
    "标准",
    "认为",
    "对",
    # a sanction's step that leans on the violation of the sentence before
    "有违法所得",
    "逾期",
    "拒不",
    "情节",
    "属于",
    "迟延",
    "给",
    "造成",
)
FORMULA = re.compile(r"[÷×＝=]")
RULE_WORDS = ("应当", "不得", "可以", "规定", "标准", "不超过", "不低于", "以上", "以下", "以内")
# 应当/可以 on these is an exhortation (加强监督检查, 鼓励……, 提高自身素质): turning the modal tests
# wording, not a rule anyone at the counter applies
HORTATORY = (
    "加强",
    "鼓励",
    "支持",
    "推动",
    "推进",
    "促进",
    "采取措施",
    "改进",
    "提高",
    "完善",
    "健全",
    "引导",
    "扶持",
    "重视",
    "宣传",
    "做好",
    "积极",
    "努力",
    "逐步",
    "创造条件",
    "发挥",
    "营造",
    "关心",
    "倡导",
    "统筹",
    "纳入",
    "相协调",
    "相适应",
)
GOVERNMENT = re.compile(r"^(?:国家|国务院|[^，。；]{0,14}人民政府)")
# Passages the policy documents' README says to draw nothing from (a text not checked against a
# second source), by document code and article.
UNCHECKED = {("law_employment_promotion", "第四十条")}
# Names and numbers masked as X or × in the speeches: no question may depend on one.
MASKED = re.compile(r"[×Ｘ]|(?<![A-Za-z])X(?![A-Za-z])")
# Medical and maternity insurance moved to the 医疗保障 bureaus in 2018 (policy_docs README): such
# drafts are labelled and kept few; the bureaus' own business (定点医药机构, 药品) is left out.
MEDICAL = re.compile(
    r"医疗保险|医疗保障|医疗费用|医保|医药|生育保险|生育津贴|药品|诊疗"
)  # not 产假: labour law
MEDICAL_BUSINESS = re.compile(r"定点医药机构|医药机构|药品|诊疗|医疗机构|医师|医疗服务")
MEDICAL_NOTE = (
    "医疗保障：医疗保险、生育保险自2018年起由医疗保障部门主管，本题仅供了解，以医保部门现行规定为准。"
)
MEDICAL_PER_DOCUMENT = 2  # facts
# Rules that change on a known date (bank_io.stats.DATED_RULES): the question says so.
DATED_NOTES = [
    (
        re.compile(r"累计缴费(?:满|不足)?十五年|缴费满十五年"),
        "2024年全国人大常委会关于渐进式延迟法定退休年龄的决定：自2030年1月1日起，"
        "职工按月领取基本养老金的最低缴费年限由15年逐步提高至20年。",
    ),
]
CATCH_ALL = re.compile(r"其他|^(?:法律|行政法规|法规|法律、行政法规|法律、法规|国务院|国家)[^，。]{0,12}规定")
LIST_NOUN = re.compile(
    r"下列(?P<noun>情形|行为|事项|义务|权利|职责|措施|条件|材料|费用|程序|内容|人员|信息|待遇|方式|原则|项目|"
    r"证件|资料|事由|要求|活动|情况|时间|假期|期间)"
)
# lists whose items may stand in for each other as wrong options (a duty is no right, but reads alike)
NOUN_KINDS = [{"义务", "权利", "职责"}, {"情形"}, {"行为"}, {"事项"}, {"措施"}, {"条件"}, {"材料"}]
FUNCTION_CHARS = set("的和或者在了以及、，等其按照对向为由被将与并之也是不有")


def _statement(sentence: str, articles: bool) -> bool:
    """A sentence that states a rule on its own: not a list item's fragment (……的), not a case's
    story (某, quoted law) in a document without articles, neither very short nor very long."""
    if not 8 <= len(sentence) <= MAX_SENTENCE or sentence.endswith("的") or sentence.startswith(CONTEXTUAL):
        return False
    if not articles:
        return any(word in sentence for word in RULE_WORDS) and "某" not in sentence and "“" not in sentence
    return True


def _quoted(text: str, sentence: str) -> bool:
    """The sentence sits inside “……” in the passage (a law quoted in a case, a slogan)."""
    before = text[: max(text.find(sentence), 0)]
    return before.count("“") > before.count("”")


def _hortatory(sentence: str, modal: str) -> bool:
    after = sentence[sentence.find(modal) + len(modal) :]
    if any(word in after[:14] for word in HORTATORY) or any(w in sentence for w in ("鼓励", "支持", "倡导")):
        return True
    return modal != "不得" and bool(GOVERNMENT.match(sentence))  # a government's programme, not a rule


def _category(source: SourceText, chosen: str | None) -> str:
    if chosen:
        return chosen
    title = source.title or ""
    for category, words in CATEGORY_WORDS:
        if any(word in title for word in words):
            return category
    return "综合服务与行风"


def _cite(source: SourceText, passage: Passage) -> str:
    return f"《{source.title}》{passage.locator}"


def _explanation(source: SourceText, passage: Passage, sentence: str, lead: str = "") -> str:
    return f"{lead}{_cite(source, passage)}规定：“{sentence}。”"


def _options(right: str, wrong: list[str], rng: random.Random) -> tuple[dict, str]:
    texts = [right, *wrong]
    rng.shuffle(texts)
    letters = "ABCDEF"
    options = {letters[i]: text for i, text in enumerate(texts)}
    return options, letters[texts.index(right)]


def _written_forms(figure: Figure) -> list[str]:
    """What a fill accepts: 十五日, 15日, 15天 — the figure as written and in the other numerals."""
    units = [figure.unit, *({"日": ["天"], "天": ["日"]}.get(figure.unit, []))]
    forms = [figure.text]
    whole = int(figure.value) if float(figure.value).is_integer() else None
    for unit in units:
        if figure.unit == "%":
            forms.append(f"{_plain(figure.value)}%")
            if whole is not None:
                forms.append(f"百分之{to_chinese(whole)}")
            break
        forms.append(f"{_plain(figure.value)}{unit}")
        if whole is not None:
            forms.append(f"{to_chinese(whole)}{unit}")
    return list(dict.fromkeys(forms))


def _grams(text: str) -> set[str]:
    """The item's three-character pieces of content (no 的/和/或者…): what two items share when one
    covers the other (女职工 in 安排怀孕女职工夜班 and 女职工特殊劳动保护)."""
    return {
        text[i : i + 3]
        for i in range(len(text) - 2)
        if not FUNCTION_CHARS & set(text[i : i + 3]) and "\u4e00" <= text[i] <= "\u9fff"
    }


def _lists(passage: Passage) -> list[tuple[str, list[str]]]:
    """(lead sentence, items) of every list in the passage: the lead is the sentence ending in “：”
    right before the items."""
    found = []
    lines = passage.text.split("\n")
    index = 0
    while index < len(lines):
        if index and ITEM.match(lines[index]) and not ITEM.match(lines[index - 1]):
            lead_line = ARTICLE.sub("", lines[index - 1], count=1).strip()
            run = []
            while index < len(lines) and ITEM.match(lines[index]):
                run.append(ITEM.sub("", lines[index]).strip().rstrip("；;。.，,"))
                index += 1
            if lead_line.endswith(("：", ":")):
                lead = re.split("[。！？]", lead_line.rstrip("：:"))[-1].strip()
                found.append((lead, run))
            continue
        index += 1
    return found


def _kind(lead: str) -> str | None:
    match = LIST_NOUN.search(lead)
    if not match or "含义" in lead:  # definitions are no list of cases
        return None
    noun = match.group("noun")
    for kinds in NOUN_KINDS:
        if noun in kinds:
            return min(kinds)
    return noun


def generate(
    source: SourceText, *, category: str | None = None, seed: int = 0, limit: int = MAX_DRAFTS
) -> list[Draft]:
    """Draft questions for the whole document, in document order (deterministic for a seed)."""
    rng = random.Random(seed)
    category = _category(source, category)
    all_passages = [
        passage for passage in passages(source) if (source.code, passage.locator) not in UNCHECKED
    ]
    pool: dict[str, set[float]] = {}
    deciders: list[str] = []
    enumerations: list[tuple[Passage, str, str, list[str]]] = []  # passage, lead, noun kind, items
    for passage in all_passages:
        for sentence in sentences(passage.text):
            for _, figure in figures_in(sentence):
                pool.setdefault(figure.unit, set()).add(figure.value)
            for match in deciders_in(sentence):
                who = match.group("who")
                if who not in deciders:
                    deciders.append(who)
        for lead, items in _lists(passage):
            kind = _kind(lead)
            if kind and len(items) >= 3:
                enumerations.append((passage, lead, kind, items))

    drafts: list[Draft] = []
    medical_facts = 0

    def add(**fields) -> None:
        drafts.append(Draft(key=f"d{len(drafts) + 1}", category=category, **fields))

    def labels(text: str) -> tuple[str, str] | None:
        """(note, finding suffix) for a fact, or None to leave it out (医保 business, or enough 医疗)."""
        nonlocal medical_facts
        if MEDICAL.search(text):
            if MEDICAL_BUSINESS.search(text) or medical_facts >= MEDICAL_PER_DOCUMENT:
                return None
            medical_facts += 1
            return MEDICAL_NOTE, "·医疗保障"
        for pattern, note in DATED_NOTES:
            if pattern.search(text):
                return note, ""
        return "", ""

    articles = bool(source.articles)
    for passage in all_passages:
        if len(drafts) >= limit:
            break
        seen_figures: set[str] = set()
        obligation_done = False  # one 应当/不得/可以 judge an article: the rest would say the same kind
        for whole in sentences(passage.text, items=False):
            # a long sentence is asked by its first “；” clause, which carries the subject; the
            # clauses after it lean on that subject and are not asked alone
            sentence = whole if len(whole) <= MAX_SENTENCE else clauses(whole)[0]
            if not _statement(sentence, articles) or _quoted(passage.text, sentence):
                continue
            if "下列" in sentence or MASKED.search(sentence):  # a list not shown; a masked name
                continue
            cite = _cite(source, passage)
            found = figures_in(sentence)
            in_sentence = {figure.value for _, figure in found}
            label = None
            if found or deciders_in(sentence) or any(m in sentence for m in MODALS):
                label = labels(sentence)
                if label is None:
                    continue
            note, tag = label or ("", "")
            for position, figure in found if not FORMULA.search(sentence) else []:
                if figure.text in seen_figures or sentence.count(figure.text) > 1:
                    continue  # (the same figure twice in a sentence gives the key away)
                seen_figures.add(figure.text)
                head, tail = sentence[:position], sentence[position + len(figure.text) :]
                wrong_values = [
                    value
                    for value in distractor_values(figure, pool, 8, rng)
                    if value not in in_sentence  # another figure of the sentence would be right too
                    and not (head.endswith("连续") and value < 2)  # 连续一年 is no Chinese
                ][:3]
                if len(wrong_values) < 3 or (
                    not float(figure.value).is_integer()
                    and not all(value in pool.get(figure.unit, ()) for value in wrong_values)
                ):
                    continue  # a constant such as 21.75 天 has no made-up neighbours
                wrong = [write_figure(value, figure) for value in wrong_values]
                texts = [figure.text, *wrong]
                if len(set(texts)) < 4 or any(not text.rstrip(figure.unit).strip() for text in texts):
                    continue  # a figure that cannot be written twice differently (or at all)
                if head.endswith(("（", "(")) and tail.startswith(("）", ")")):
                    head, tail = head[:-1], tail[1:]  # 月计薪天数（21.75天） → 月计薪天数（ ）
                finding = ("金额/比例" if figure.unit in ("%", "倍", "元", "万元") else "时限") + tag
                options, key = _options(figure.text, wrong, rng)
                add(
                    type="single",
                    stem=f"根据{cite}，{head}（ ）{tail}。",
                    options=options,
                    answer=key,
                    explanation=_explanation(source, passage, sentence),
                    locator=passage.locator,
                    quote=sentence,
                    finding=finding,
                    difficulty=1,
                    note=note,
                )
                add(
                    type="fill",
                    stem=f"根据{cite}，{head}{BLANK}{tail}。",
                    answer=[_written_forms(figure)],
                    explanation=_explanation(source, passage, sentence),
                    locator=passage.locator,
                    quote=sentence,
                    finding=finding,
                    difficulty=2,
                    note=note,
                )
                truthful = rng.random() < 0.35  # not every judge with a figure is false
                add(
                    type="judge",
                    stem=f"根据{cite}，{head}{figure.text if truthful else wrong[0]}{tail}。",
                    answer=truthful,
                    explanation=_explanation(
                        source, passage, sentence, "正确。" if truthful else f"错误，应为{figure.text}。"
                    ),
                    locator=passage.locator,
                    quote=sentence,
                    finding=finding,
                    difficulty=2,
                    note=note,
                )
            for match in deciders_in(sentence):
                who = match.group("who")
                others = [d for d in [*deciders, *BODIES] if d != who and d not in who and who not in d]
                others = list(dict.fromkeys(others))[:3]  # the document's own bodies first
                if len(others) < 3:
                    continue
                options, key = _options(who, others, rng)
                start = match.start("who")
                add(
                    type="single",
                    stem=f"根据{cite}，{sentence[:start]}（ ）{sentence[match.end('who') :]}。",
                    options=options,
                    answer=key,
                    explanation=_explanation(source, passage, sentence),
                    locator=passage.locator,
                    quote=sentence,
                    finding="决定主体" + tag,
                    difficulty=2,
                    note=note,
                )
            modals = [m for m in MODALS if m in sentence]
            condition = sentence.find("的，")
            if (
                not obligation_done
                and not found  # a sentence with a figure already has its judge
                and len(modals) == 1
                and sentence.count(modals[0]) == 1
                and len(sentence) <= 100
                and not (condition >= 0 and sentence.find(modals[0]) < condition)  # a modal inside 如果……的
                and not _hortatory(sentence, modals[0])
            ):
                modal = modals[0]
                obligation_done = True
                # Only a permission turns into a false duty (劳动者应当解除劳动合同): a duty or a
                # prohibition turned into a permission (用人单位可以遵守……, 可以克扣工资) reads as
                # arguably true or absurd (an independent review rejected every one): stated as written.
                truthful = modal != "可以" or rng.random() < 0.5
                stem = sentence if truthful else sentence.replace(modal, MODAL_TURN[modal])
                add(
                    type="judge",
                    stem=f"根据{cite}，{stem}。",
                    answer=truthful,
                    explanation=_explanation(
                        source, passage, sentence, "正确。" if truthful else f"错误，应为“{modal}”。"
                    ),
                    locator=passage.locator,
                    quote=sentence,
                    finding="义务" + tag,
                    difficulty=1,
                    note=note,
                )
    for passage, lead, kind, items in enumerations:
        if len(drafts) >= limit:
            break
        if MEDICAL.search(lead + "".join(items)) or GOVERNMENT.match(lead):
            continue  # 医保 lists, and a government's programme, are not asked as lists
        usable = [item for item in items if 4 <= len(item) <= 40 and not CATCH_ALL.search(item)]
        covered = set().union(*(_grams(item) for item in [lead, *items]))
        shape = usable[0].endswith("的") if usable else False
        # wrong options: items of the document's other lists of the same kind, those whose lead reads
        # most like this one first (视同工伤 beside 应当认定为工伤, 基金支付的费用 beside 单位支付的)
        siblings = sorted(
            (
                (len(_grams(other_lead) & _grams(lead)), rng.random(), other_items)
                for other, other_lead, other_kind, other_items in enumerations
                if other is not passage and other_kind == kind
            ),
            reverse=True,
        )
        others = list(
            dict.fromkeys(
                item
                for _, _, other_items in siblings
                for item in other_items
                if 4 <= len(item) <= 40
                and item not in items
                and not CATCH_ALL.search(item)
                and item.endswith("的") == shape  # 情形 read as 情形 (……的), 事项 as 事项
                and not _grams(item) & covered  # nothing this list covers (ambiguous key)
            )
        )
        if len(usable) < 2 or not others:
            continue
        right = usable if len(usable) <= 4 else rng.sample(usable, 4)
        wrong = others[: min(len(others), 2, 6 - len(right))]
        if len(right) + len(wrong) < 4:
            continue
        texts = right + wrong
        rng.shuffle(texts)
        letters = "ABCDEF"
        noun = LIST_NOUN.search(lead).group("noun")
        add(
            type="multiple",
            stem=f"根据{_cite(source, passage)}，“{lead}”。下列属于该条所列{noun}的有（ ）。",
            options={letters[i]: text for i, text in enumerate(texts)},
            answer=sorted(letters[i] for i, text in enumerate(texts) if text in right),
            explanation=f"{_cite(source, passage)}所列{noun}为：" + "；".join(items) + "。",
            locator=passage.locator,
            quote=lead,
            finding="列举",
            difficulty=2,
        )
    return drafts[:limit]


# ---------------------------------------------------------------------------------------------
# Review: the drafts are checked against the source now, and again (with the admin's edits) when
# the accepted ones are imported — all of them or none.


def source_from_upload(name: str, data: bytes, title: str | None, *, today: str) -> SourceText:
    """A policy document uploaded as .txt (UTF-8 or GBK; ``# 标题:`` header lines allowed), .docx or .pdf,
    read in the upload parser's child process. Its code is new: ``doc_<date>_<hash>``."""
    import hashlib

    from . import uploads
    from .errors import InvalidInput, Problem
    from .sources import parse_source

    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = {"txt": "text", "docx": "docx", "pdf": "pdf"}.get(suffix)
    if kind is None:
        raise InvalidInput([Problem(name, "", "文件", "政策文件应为 .txt、.docx 或文字版 .pdf")])
    if not data.strip():
        raise InvalidInput([Problem(name, "", "文件", "文件为空")])
    (value,) = uploads.parse([(kind, data, {})])
    if isinstance(value, uploads.Refused):
        raise InvalidInput([Problem(name, value.row, "文件", value.message)])
    text = value if isinstance(value, str) else "\n".join(line.strip() for line in value if line.strip())
    code = f"doc_{today}_{hashlib.sha256(data).hexdigest()[:8]}"
    source = parse_source(code, text)
    if not source.body.strip():
        raise InvalidInput([Problem(name, "", "文件", "文件中没有正文")])
    if title:
        source.title = title.strip()[:200]
    elif source.title == code:
        source.title = (source.paragraphs[0] if source.paragraphs else name)[:60]
    return source


def source_dict(source: SourceText) -> dict:
    return {
        "code": source.code,
        "title": source.title,
        "body": source.body,
        "issuer": source.issuer,
        "effective": source.effective,
    }


def source_of(stored: dict) -> SourceText:
    return SourceText(**stored)


def check(source: SourceText, drafts: list[dict], *, ability: str, categories, abilities) -> dict[str, list]:
    """key → the problems of each draft (empty when it would import as it stands)."""
    from .bank_io import RawRecord, SourceResolver, validate_record

    resolver = SourceResolver(None, {source.code: source})
    found = {}
    for draft in drafts:
        values = Draft(**draft).values(source.code, ability)
        _, problems, _ = validate_record(
            RawRecord("", draft["key"], values), resolver, set(categories), set(abilities)
        )
        found[draft["key"]] = problems
    return found


def accepted_batch(
    source: SourceText,
    drafts: list[dict],
    picked: list[str],
    edits: dict[str, dict],
    *,
    ability: str,
    categories,
    abilities,
):
    """The accepted drafts, with the admin's edits, as an import batch (problems keyed by draft)."""
    from .bank_io import Batch, RawRecord, SourceResolver, validate_record

    resolver = SourceResolver(None, {source.code: source})
    batch = Batch(files=1)
    by_key = {draft["key"]: draft for draft in drafts}
    for key in picked:
        if key not in by_key:
            continue
        values = Draft(**by_key[key]).values(source.code, ability) | edits.get(key, {})
        draft, problems, found = validate_record(
            RawRecord("草稿", key, values), resolver, set(categories), set(abilities)
        )
        batch.problems.extend(problems)
        if found is not None:
            batch.sources[found.code] = found
        if draft:
            batch.drafts.append(draft)
    return batch
