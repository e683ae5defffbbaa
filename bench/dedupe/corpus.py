"""A deterministic syndication corpus: originals, their copies, and look-alikes.

Every document carries the story it tells: documents of one story should become one article,
documents of different stories must never. Copies of an original (each in another source):

- wire: a dateline and agency line before the text, a copyright footer after it, the title
  with a " | Source" suffix;
- edited: a paragraph dropped (originals of 4+ paragraphs), a sentence cut, the title reworded;
- teaser: the first two paragraphs (lines of a few words, such as headings, do not count) and
  a "read more" line; made of originals of 3+ paragraphs only.

Look-alikes, each document a story of its own in a source of its own, synthesized from
templates and varying facts: weather reports and market closes under one title (English and
Chinese), letters to the editor, daily briefings whose boilerplate is shared and whose news
differs (English and Chinese), short podcast notes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .sources import Original, sentences

COPY_KINDS = ("wire", "edited", "teaser")
LOOKALIKE_FAMILIES = (
    "weather",
    "weather-zh",
    "market",
    "market-zh",
    "letters",
    "briefing",
    "briefing-heavy",
    "briefing-zh",
    "podcast",
)
PER_FAMILY = 40
MIN_SYNDICATED = 50  # originals shorter than this (in words + CJK characters) get no copies
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
CJK_VARIANTS = 3  # copies of each kind per CJK original (few CJK originals exist)
_SHORT_WORDS = 8  # a paragraph shorter than this (headings, captions) is not one of a teaser's


@dataclass(frozen=True, slots=True)
class Doc:
    id: str
    story: str  # documents of one story are one article
    source: str  # similarity merges across sources only
    kind: str  # "original", a COPY_KINDS entry, or a LOOKALIKE_FAMILIES entry
    cjk: bool
    title: str
    text: str


def build(originals: list[Original], seed: int = 18) -> list[Doc]:
    docs = [_original(o) for o in originals]
    pool = _sentence_pool(originals)
    for original in originals:
        if size(original.text) >= MIN_SYNDICATED:
            docs.extend(copies(original, seed))
    for family in LOOKALIKE_FAMILIES:
        docs.extend(lookalikes(family, pool, seed))
    return docs


def _original(o: Original) -> Doc:
    return Doc(f"original/{o.name}", o.name, f"src/{o.source}", "original", o.cjk, o.title, o.text)


def size(text: str) -> int:
    """Words, plus one per CJK character."""
    cjk = len(_CJK.findall(text))
    return cjk + len(_CJK.sub(" ", text).split())


def copies(o: Original, seed: int) -> Iterator[Doc]:
    variants = CJK_VARIANTS if o.cjk else 1
    for kind in COPY_KINDS:
        for v in range(variants):
            rng = random.Random(f"{seed}/{kind}/{v}/{o.name}")
            made = _MAKERS[kind](o, rng)
            if made is not None:
                title, text = made
                yield Doc(
                    f"{kind}/{v}/{o.name}", o.name, f"{kind}-{v}/{o.name}", kind, o.cjk, title, text
                )


def _wire(o: Original, rng: random.Random) -> tuple[str, str] | None:
    agency = rng.choice(_AGENCIES[o.lang])
    day = rng.randint(1, 28)
    month = rng.randint(1, 12)
    dateline = agency.dateline.format(
        city=rng.choice(agency.cities), d=day, m=month, name=rng.choice(_NAMES[o.lang])
    )
    footer = rng.choice(agency.footers).format(
        year=rng.randint(2015, 2026), name=rng.choice(_NAMES[o.lang])
    )
    byline = agency.byline.format(name=rng.choice(_NAMES[o.lang])) if rng.random() < 0.5 else ""
    parts = [byline, dateline + o.paragraphs[0], *o.paragraphs[1:], footer]
    return f"{o.title}{agency.suffix}", " ".join(p for p in parts if p)


def _edited(o: Original, rng: random.Random) -> tuple[str, str] | None:
    paragraphs = list(o.paragraphs)
    if len(paragraphs) >= 4:
        del paragraphs[rng.randrange(1, len(paragraphs))]
    cut = [i for i, p in enumerate(paragraphs) if len(sentences(p)) >= 2]
    if cut:
        i = rng.choice(cut)
        parts = sentences(paragraphs[i])
        del parts[rng.randrange(len(parts))]
        paragraphs[i] = " ".join(parts)
    elif len(paragraphs) < 4:
        return None  # nothing to edit: it would be the original
    words = o.title.split()
    title = " ".join(words[1:] + words[:1]) if len(words) > 2 else f"Update: {o.title}"
    return title, " ".join(paragraphs)


def _teaser(o: Original, rng: random.Random) -> tuple[str, str] | None:
    lead: list[str] = []
    counted = 0
    for p in o.paragraphs:
        if counted == 2:
            break
        lead.append(p)
        counted += _weight(p) >= _SHORT_WORDS
    if len(lead) >= len(o.paragraphs) or counted < 2:
        return None  # the teaser would be the whole text
    more = rng.choice(_READ_MORE[o.lang]).format(title=o.title, site=rng.choice(_SITES))
    return o.title, " ".join([*lead, more])


def _weight(paragraph: str) -> int:
    return len(paragraph.split()) + sum(1 for c in paragraph if "\u3040" <= c <= "\u9fff") // 2


_MAKERS: dict[str, Callable[[Original, random.Random], tuple[str, str] | None]] = {
    "wire": _wire,
    "edited": _edited,
    "teaser": _teaser,
}


@dataclass(frozen=True, slots=True)
class _Agency:
    dateline: str
    byline: str
    footers: tuple[str, ...]
    suffix: str
    cities: tuple[str, ...]


_AGENCIES = {
    "latin": (
        _Agency(
            "{city} (AP) — ",
            "By {name}, Associated Press",
            (
                "Copyright {year} The Associated Press. All rights reserved. This material may "
                "not be published, broadcast, rewritten or redistributed.",
                "Associated Press writer {name} contributed to this report.",
            ),
            " | AP News",
            ("WASHINGTON", "NEW YORK", "LONDON", "BERLIN", "TOKYO"),
        ),
        _Agency(
            "{city}, {m}/{d} (Reuters) - ",
            "Reporting by {name}",
            (
                "(Reporting by {name}; Editing by Mark Heinrich)",
                "© {year} Thomson Reuters. All rights reserved.",
            ),
            " - Reuters",
            ("PARIS", "BRUSSELS", "SINGAPORE", "SAN FRANCISCO", "MADRID"),
        ),
        _Agency(
            "{city} (AFP) - ",
            "",
            ("© {year} AFP", "Copyright © {year} Agence France-Presse. All rights reserved."),
            " | France 24",
            ("GENEVA", "NAIROBI", "SYDNEY", "MEXICO CITY", "ROME"),
        ),
    ),
    "zh": (
        _Agency(
            "新华社{city}{m}月{d}日电（记者 {name}）",
            "",
            ("（责任编辑：{name}）", "本文来源：新华网，版权归原作者所有，侵删。"),
            "_新浪新闻",
            ("北京", "上海", "广州", "贵阳", "深圳"),
        ),
        _Agency(
            "中新网{city}{m}月{d}日电 ",
            "",
            ("【编辑：{name}】", "未经授权禁止转载。© {year} 中国新闻网"),
            " - 网易新闻",
            ("杭州", "成都", "南京", "武汉", "西安"),
        ),
    ),
    "ja": (
        _Agency(
            "【{city}共同】",
            "",
            ("（共同通信）", "Copyright © {year} 共同通信社 All Rights Reserved."),
            " - Yahoo!ニュース",
            ("東京", "大阪", "名古屋", "福岡", "札幌"),
        ),
        _Agency(
            "{city}発：",
            "",
            ("©時事通信社", "記事の無断転載を禁じます。"),
            "｜時事ドットコム",
            ("横浜", "神戸", "京都", "仙台", "広島"),
        ),
    ),
}
_NAMES = {
    "latin": ("Jane Doe", "Ahmed Khan", "Maria Rossi", "Tom Baker", "Li Wei", "Ana Souza"),
    "zh": ("张伟", "王芳", "李娜", "刘洋", "陈静"),
    "ja": ("佐藤", "鈴木", "高橋", "田中", "渡辺"),
}
_READ_MORE = {
    "latin": (
        "Read more",
        "Continue reading…",
        "Read the full story »",
        "The post {title} appeared first on {site}.",
    ),
    "zh": ("阅读全文", "点击查看全文>>", "（未完，阅读原文）"),
    "ja": ("続きを読む", "記事の続きはこちら", "…全文を読む"),
}
_SITES = ("Daily Planet", "The Example Times", "Morning Post", "Tech Review")


def lookalikes(family: str, pool: dict[str, list[str]], seed: int) -> Iterator[Doc]:
    make, title, cjk = _FAMILIES[family]
    for n in range(PER_FAMILY):
        rng = random.Random(f"{seed}/{family}/{n}")
        yield Doc(
            f"{family}/{n}", f"{family}/{n}", f"{family}/{n}", family, cjk, title, make(rng, pool)
        )


def _sentence_pool(originals: list[Original]) -> dict[str, list[str]]:
    """Sentences of the originals (6-40 words, or 15-80 CJK characters): news for briefings,
    lines for letters."""
    pool: dict[str, list[str]] = {"latin": [], "cjk": []}
    for o in originals:
        for p in o.paragraphs:
            for s in sentences(p):
                if o.cjk and 15 <= len(s) <= 80:
                    pool["cjk"].append(s)
                elif not o.cjk and 6 <= len(s.split()) <= 40:
                    pool["latin"].append(s)
    return pool


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_SKY = ("sunny", "cloudy", "partly cloudy", "overcast", "foggy", "rainy", "stormy", "clear")
_WIND = ("north", "south", "east", "west", "northwest", "southwest")
_CITIES = ("Boston", "Denver", "Seattle", "Austin")


def _weather(rng: random.Random, pool: dict[str, list[str]]) -> str:
    hi = rng.randint(40, 95)
    return (
        f"{rng.choice(_CITIES)} weather for {rng.choice(_DAYS)}, {rng.choice(_MONTHS)} "
        f"{rng.randint(1, 28)}: {rng.choice(_SKY)} skies in the morning, turning "
        f"{rng.choice(_SKY)} by the afternoon. High of {hi} degrees, low of "
        f"{hi - rng.randint(8, 25)}."
        f" Winds from the {rng.choice(_WIND)} at {rng.randint(2, 25)} mph, with gusts up to "
        f"{rng.randint(20, 45)} mph. Humidity {rng.randint(20, 95)} percent, chance of rain "
        f"{rng.randint(0, 100)} percent. Sunrise at 6:{rng.randint(10, 59)} a.m., sunset at "
        f"7:{rng.randint(10, 59)} p.m. The UV index is {rng.randint(1, 11)} and air quality is "
        f"{rng.choice(('good', 'moderate', 'unhealthy for sensitive groups'))}. Tomorrow: "
        f"{rng.choice(_SKY)}, with a high near {rng.randint(40, 95)}. The weekend looks "
        f"{rng.choice(('dry', 'wet', 'warmer', 'cooler', 'windy'))}, with highs in the "
        f"{rng.choice(('50s', '60s', '70s', '80s'))}. Forecast by the National Weather Service; "
        "check back for updates through the day."
    )


_ZH_SKY = ("晴", "多云", "阴", "小雨", "中雨", "雷阵雨", "小雪", "雾")
_ZH_CITIES = ("北京", "上海", "广州", "成都")
_ZH_ADVICE = ("注意防寒保暖", "出行请携带雨具", "注意防暑降温", "谨慎驾驶")
_ZH_WIND = ("北", "南", "东", "西", "东北", "西南")


def _weather_zh(rng: random.Random, pool: dict[str, list[str]]) -> str:
    hi = rng.randint(-5, 38)
    return (
        f"{rng.choice(_ZH_CITIES)}天气预报：{rng.randint(1, 12)}月{rng.randint(1, 28)}日，"
        f"白天{rng.choice(_ZH_SKY)}，夜间{rng.choice(_ZH_SKY)}，"
        f"气温{hi - rng.randint(4, 12)}～{hi}℃，"
        f"{rng.choice(_ZH_WIND)}风{rng.randint(1, 6)}级，相对湿度{rng.randint(20, 95)}%，"
        f"空气质量{rng.choice(('优', '良', '轻度污染', '中度污染'))}。"
        f"明天{rng.choice(_ZH_SKY)}转{rng.choice(_ZH_SKY)}，最高气温{rng.randint(-5, 38)}℃。"
        f"气象部门提醒：{rng.choice(_ZH_ADVICE)}，"
        "请关注最新天气预报信息。本预报由市气象台发布。"
    )


_MOVERS = (
    "technology shares",
    "bank stocks",
    "energy companies",
    "retailers",
    "chipmakers",
    "airlines",
    "drugmakers",
    "automakers",
)
_DRIVERS = (
    "fresh inflation data",
    "the Federal Reserve's latest remarks",
    "quarterly earnings",
    "a jump in Treasury yields",
    "falling oil prices",
    "a weak jobs report",
    "trade tensions",
    "a strong dollar",
)


def _market(rng: random.Random, pool: dict[str, list[str]]) -> str:
    up = rng.random() < 0.5
    verb = "rose" if up else "fell"
    return (
        f"Stocks {'climbed' if up else 'slipped'} on {rng.choice(_DAYS)} as investors weighed "
        f"{rng.choice(_DRIVERS)}. The S&P 500 {verb} {rng.uniform(0.1, 2.5):.1f}% to "
        f"{rng.randint(3800, 5600):,}.{rng.randint(10, 99)}, the Dow Jones Industrial Average "
        f"{verb} {rng.randint(20, 900)} points, or {rng.uniform(0.1, 2.5):.1f}%, to "
        f"{rng.randint(30000, 40000):,}, and the Nasdaq Composite {verb} "
        f"{rng.uniform(0.1, 3.0):.1f}%. {rng.choice(_MOVERS).capitalize()} led the gains while "
        f"{rng.choice(_MOVERS)} lagged. The yield on the 10-year Treasury note "
        f"{'rose' if rng.random() < 0.5 else 'fell'} to {rng.uniform(3.0, 5.0):.2f}%. Oil "
        f"settled at ${rng.uniform(60, 95):.2f} a barrel and gold at ${rng.randint(1800, 2400):,} "
        "an ounce. Market data provided by ICE Data Services; quotes delayed at least 15 minutes."
    )


def _market_zh(rng: random.Random, pool: dict[str, list[str]]) -> str:
    up = rng.random() < 0.5
    verb = "上涨" if up else "下跌"
    return (
        f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日收盘，沪指{verb}"
        f"{rng.uniform(0.1, 2.5):.2f}%，报{rng.randint(2800, 3600)}.{rng.randint(10, 99)}点；"
        f"深证成指{verb}{rng.uniform(0.1, 2.5):.2f}%；创业板指{verb}{rng.uniform(0.1, 3):.2f}%。"
        f"两市成交额{rng.randint(6000, 12000)}亿元。"
        f"{rng.choice(('半导体', '白酒', '银行', '新能源', '医药', '地产'))}板块领涨，"
        f"{rng.choice(('煤炭', '钢铁', '券商', '军工', '旅游', '传媒'))}板块跌幅居前。"
        f"北向资金净{'买入' if rng.random() < 0.5 else '卖出'}{rng.randint(5, 120)}亿元。"
        "以上数据仅供参考，不构成投资建议。"
    )


def _letters(rng: random.Random, pool: dict[str, list[str]]) -> str:
    letters = []
    for _ in range(3):
        lines = rng.sample(pool["latin"], rng.randint(3, 6))
        letters.append(
            f"To the editor: {' '.join(lines)} — {rng.choice(_NAMES['latin'])}, "
            f"{rng.choice(_CITIES)}"
        )
    return " ".join(letters) + " Letters may be edited for length and clarity."


_BRIEF_HEAD = (
    "Good morning. This is the Morning Post briefing for {day}, {month} {date}, with the stories "
    "you need to know about today, hand-picked by our editors and delivered to your inbox "
    "before breakfast."
)
_BRIEF_FOOT = (
    "That's it for today's briefing. You are receiving this email because you signed up for "
    "the Morning Post newsletter. Unsubscribe, manage your preferences or view this email in "
    "your browser. Forward it to a friend who would enjoy it. Was this briefing useful? Reply "
    "to this email and tell us what you think. © Morning Post, 1 Example Street, Springfield."
)


def _briefing(rng: random.Random, pool: dict[str, list[str]], items: int = 5) -> str:
    head = _BRIEF_HEAD.format(
        day=rng.choice(_DAYS), month=rng.choice(_MONTHS), date=rng.randint(1, 28)
    )
    news = [f"{i + 1}. {s}" for i, s in enumerate(rng.sample(pool["latin"], items))]
    return " ".join([head, *news, _BRIEF_FOOT])


def _briefing_heavy(rng: random.Random, pool: dict[str, list[str]]) -> str:
    """Three short items between the boilerplate: over half the text is shared."""
    return _briefing(rng, pool, items=3)


def _briefing_zh(rng: random.Random, pool: dict[str, list[str]]) -> str:
    news = [f"{i + 1}、{s}" for i, s in enumerate(rng.sample(pool["cjk"], 4))]
    return (
        f"早上好！今天是{rng.randint(1, 12)}月{rng.randint(1, 28)}日，星期"
        f"{rng.choice('一二三四五六日')}，欢迎收看今日早报，以下是编辑为您精选的今日要闻。"
        + "".join(news)
        + "以上就是今天早报的全部内容。点击右上角关注我们，每天早上七点准时为您推送最新资讯。"
        "本文内容由编辑整理，转载请注明出处。"
    )


_TOPICS = (
    "sleep science",
    "remote work",
    "the history of jazz",
    "urban gardening",
    "quantum computing",
    "marathon training",
    "startup funding",
    "deep-sea fishing",
    "medieval castles",
    "climate policy",
    "baking sourdough",
    "chess openings",
)
_GUESTS = (
    "Dr. Sara Lind",
    "Tom Okafor",
    "Mei Tanaka",
    "Carlos Vega",
    "Priya Nair",
    "John Park",
    "Lena Fischer",
)


def _podcast(rng: random.Random, pool: dict[str, list[str]]) -> str:
    topic = rng.choice(_TOPICS)
    return (
        f"Episode {rng.randint(1, 400)}: {rng.choice(_GUESTS)} on {topic}. This week we talk "
        f"about {topic} and {rng.choice(_TOPICS)}. {rng.choice(pool['latin'])} Subscribe to The "
        "Curious Hour on Apple Podcasts, Spotify or wherever you get your podcasts. Support the "
        "show at patreon.com/curioushour. Music by Blue Dot Sessions."
    )


_FAMILIES: dict[str, tuple[Callable[[random.Random, dict[str, list[str]]], str], str, bool]] = {
    "weather": (_weather, "Weather forecast", False),
    "weather-zh": (_weather_zh, "天气预报", True),
    "market": (_market, "Stock market today", False),
    "market-zh": (_market_zh, "今日收盘", True),
    "letters": (_letters, "Letters to the editor", False),
    "briefing": (_briefing, "Your morning briefing", False),
    "briefing-heavy": (_briefing_heavy, "Your morning briefing", False),
    "briefing-zh": (_briefing_zh, "今日早报", True),
    "podcast": (_podcast, "The Curious Hour", False),
}
