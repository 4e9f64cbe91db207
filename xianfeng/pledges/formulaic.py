"""Formulaic-pledge detection (程式化承诺): near-duplicate clustering and a specificity score. Pure numpy, no database.

Near duplicates: each text is shingled into character 3-, 4- and 5-grams (after NFKC and dropping spaces and
punctuation — single characters would make every Chinese text look alike); each shingle is hashed to 64 bits with a
vectorised polynomial hash and a splitmix64 finaliser; the MinHash signature takes, for each of `num_perm`
affine hash functions h(x) = a·x + b mod 2³² (a odd) of the shingle hash's top 32 bits, the minimum over the text's shingles. The MinHash of
the union of the 3-, 4- and 5-gram sets is the element-wise minimum of the three signatures. LSH bands the signature
(b bands of r rows); texts sharing a band bucket are candidates, a candidate pair is kept when the signatures agree on
at least `threshold` of their rows (the estimated Jaccard similarity), and clusters are the connected components.

Specificity: does the text name a number, a place, a person or household, an object, a date? The score is the share
of those five present. A text is formulaic when its cluster spans at least K authors (a template) or its score is
below the threshold.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

NGRAMS = (3, 4, 5)
NUM_PERM = 128
BANDS, ROWS = 32, 4  # b·r = NUM_PERM; candidates from about Jaccard 0.42 up, then verified at THRESHOLD
THRESHOLD = 0.6
SEED = 20100401
TEXTS_PER_BATCH = 100_000
CHUNK_SHINGLES = 1 << 10  # shingles hashed at once: a (shingles × permutations) scratch array that stays in cache

_STRIP = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), lower case, spaces and punctuation removed."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", text or "").lower())


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads the polynomial hash over all 64 bits (in place on a uint64 array)."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


@dataclass
class MinHasher:
    """Vectorised MinHash over character n-gram shingles; the same seed gives the same signatures everywhere."""

    num_perm: int = NUM_PERM
    ngrams: tuple[int, ...] = NGRAMS
    seed: int = SEED
    a: np.ndarray = field(init=False, repr=False)
    b: np.ndarray = field(init=False, repr=False)
    a32: np.ndarray = field(init=False, repr=False)
    b32: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.a = rng.integers(1, 2**63, size=self.num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.b = rng.integers(0, 2**63, size=self.num_perm, dtype=np.uint64)
        # the permutations actually used: x ↦ a·x + b mod 2³² with a odd, on the top 32 bits of the mixed shingle
        # hash (a bijection of the 32-bit hashes, so a min-wise order); 32-bit arithmetic halves the memory traffic
        self.a32 = (self.a >> np.uint64(32)).astype(np.uint32) | np.uint32(1)
        self.b32 = (self.b >> np.uint64(32)).astype(np.uint32)

    def shingles(self, texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
        """(hashes, counts): every n-gram hash of every text in order, and how many each text has."""
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        total = int(lengths.sum())
        codes = np.zeros(total + n, dtype=np.uint64)
        if total:
            codes[:total] = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
        counts = np.maximum(lengths - n + 1, 0)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(texts) else np.zeros(0, dtype=np.int64)
        # positions of valid n-gram starts: within each text, 0 .. len-n
        first = np.repeat(starts, counts)
        within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        pos = first + within
        h = np.full(pos.shape, (n * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64)
        for k in range(n):
            h *= np.uint64(0x100000001B3)
            h += codes[pos + k]
        return _mix64(h), counts

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """uint32 signatures, shape (len(texts), num_perm); texts are normalised first. A text with no n-gram
        (shorter than the smallest n) gets the all-max signature, which matches nothing in verification."""
        sig = np.full((len(texts), self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        for start in range(0, len(texts), TEXTS_PER_BATCH):  # bounded scratch memory however many texts
            batch = [normalise(t) for t in texts[start:start + TEXTS_PER_BATCH]]
            part = sig[start:start + len(batch)]
            for n in self.ngrams:
                hashes, counts = self.shingles(batch, n)
                self._fold(part, hashes, counts)
        return sig

    def _fold(self, sig: np.ndarray, hashes: np.ndarray, counts: np.ndarray) -> None:
        """sig[i] = min(sig[i], minhash of text i's shingles), in cache-sized chunks of whole texts."""
        x32 = (hashes >> np.uint64(32)).astype(np.uint32)
        ends = np.cumsum(counts)
        doc = 0
        n_docs = len(counts)
        a, b = self.a32[None, :], self.b32[None, :]
        scratch = np.empty((CHUNK_SHINGLES, self.num_perm), dtype=np.uint32)
        while doc < n_docs:
            begin = int(ends[doc] - counts[doc])
            stop = int(np.searchsorted(ends, begin + CHUNK_SHINGLES, side="right"))
            stop = max(stop, doc + 1)
            chunk_counts = counts[doc:stop]
            end = int(ends[stop - 1])
            if end > begin:
                h = scratch[: end - begin] if end - begin <= CHUNK_SHINGLES else np.empty((end - begin, self.num_perm),
                                                                                          dtype=np.uint32)
                np.multiply(x32[begin:end, None], a, out=h)
                h += b
                nonempty = chunk_counts > 0
                offsets = (np.cumsum(chunk_counts) - chunk_counts)[nonempty]
                mins = np.minimum.reduceat(h, offsets, axis=0)
                rows = np.arange(doc, stop)[nonempty]
                np.minimum(sig[rows], mins, out=mins)
                sig[rows] = mins
            doc = stop


def _components(n: int, left: np.ndarray, right: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """Connected-component labels (the smallest member index) of n nodes joined by the edges left[i]–right[i],
    starting from earlier `labels` (each node labelled with its component's smallest index) if given."""
    labels = np.arange(n, dtype=np.int64) if labels is None else labels.copy()
    if len(left) == 0:
        return labels
    while True:
        low = np.minimum(labels[left], labels[right])
        before = labels.copy()
        np.minimum.at(labels, left, low)
        np.minimum.at(labels, right, low)
        while True:  # pointer jumping: every node points at its label's label
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels


def lsh_clusters(sig: np.ndarray, *, bands: int = BANDS, rows: int = ROWS, threshold: float = THRESHOLD) -> np.ndarray:
    """Cluster labels for the signatures: LSH candidates (same bucket in some band) kept when their signatures agree
    on ≥ threshold of the rows, then connected components."""
    n, perms = sig.shape
    if bands * rows > perms:
        raise ValueError("bands × rows exceeds the signature length")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(SEED + 1)
    mult = rng.integers(1, 2**63, size=rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    empty = (sig == np.iinfo(np.uint32).max).all(axis=1)
    labels = np.arange(n, dtype=np.int64)
    for band in range(bands):
        block = sig[:, band * rows:(band + 1) * rows].astype(np.uint64)
        keys = _mix64((block * mult[None, :]).sum(axis=1, dtype=np.uint64))
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        new_group = np.empty(n, dtype=bool)
        new_group[0] = True
        new_group[1:] = sorted_keys[1:] != sorted_keys[:-1]
        leader_pos = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
        leaders = order[leader_pos]
        linked = ~new_group
        docs, heads = order[linked], leaders[linked]
        new = labels[docs] != labels[heads]  # pairs an earlier band already joined need no second look
        docs, heads = docs[new], heads[new]
        if len(docs) == 0:
            continue
        keep = np.zeros(len(docs), dtype=bool)
        for start in range(0, len(docs), 65_536):  # bounded memory for the row comparisons
            d, h = docs[start:start + 65_536], heads[start:start + 65_536]
            keep[start:start + len(d)] = (sig[d] == sig[h]).mean(axis=1) >= threshold
        keep &= ~empty[docs] & ~empty[heads]
        labels = _components(n, docs[keep], heads[keep], labels)
    return labels


# --- specificity ---------------------------------------------------------------------------------------------------

_NUM = r"(?:\d+(?:\.\d+)?|[二两三四五六七八九十百千万][一二两三四五六七八九十百千万]*|一)"
_MEASURE = (r"(?:个|次|户|人|名|位|元|万元|件|场|期|条|处|台|本|套|天|周|月|年|小时|公里|米|平方米|亩|份|篇|棵|盏|"
            r"吨|斤|袋|箱|桶|批|趟|节|课时|家|所|座|间|张|辆|株|把|双|床|盒|项|笔|门|堂|个月)")
NUMBER = re.compile(rf"\d|{_NUM}{_MEASURE}")
_GENERIC_ONE = re.compile(r"一(?:名|个|位|员|面|心|流|线|切|贯|直|定|起|样|致|道|手|把手|班人|盘棋|份子|分子|代)")
DATE = re.compile(
    r"\d{1,2}月|[一二三四五六七八九十]{1,2}月(?:份|底|前|中旬|上旬|下旬)?|\d{1,2}[日号]|\d{4}年|年底|年内|年前|年末|月底|"
    r"季度|上半年|下半年|每周|每月|每季|每年|每半年|每天|每日|周[一二三四五六日末]|星期|春节|中秋|端午|国庆|重阳|元旦|"
    r"清明|汛期|暑假|寒假|开学|农忙|雨季|台风季|[一二三四五六七八九十\d]+天内")
_PLACE_SUFFIX = (r"村|社区|小区|街道|路|街|巷|弄|桥|河|港|塘|浦|湾|公园|广场|菜场|菜市场|市场|码头|车站|敬老院|养老院|"
                 r"幼儿园|小学|中学|学校|文化礼堂|卫生室|卫生院|服务站|活动室|便民服务中心|老年活动中心|组|号楼|幢|栋|单元")
PLACE_SUFFIX = re.compile("(?=[" + "".join(sorted({w[0] for w in _PLACE_SUFFIX.split("|")})) + "])(?:" + _PLACE_SUFFIX + ")")
_PLACE_HEAD = re.compile(r"(?:[\u4e00-\u9fff]{2,4}|\d+)$")
_GENERIC_PLACE = re.compile(
    r"(?:服务|为|乡|和谐|美丽|文明|平安|所在|本|全|各|辖区|建设|基层|城乡|农村|乡村|新农村|群众|广大|周边|走进|深入|扎根|"
    r"立足|我们|我的|家乡|到|进|在|了|和|及|与|联系|帮扶|结对|美好|幸福|温馨|宜居|绿色|生态|网格|全体|所属|居住)"
    r"(?:村|社区|小区|街道|组)")
PERSON = re.compile(
    r"低保户|困难户|五保户|贫困户|困难家庭|低收入户|孤寡老人|空巢老人|独居老人|高龄老人|留守儿童|留守老人|残疾人|"
    r"困难党员|老党员|失独家庭|重病患者|退役军人|新居民|外来务工人员|贫困学生|困难学生|[\u4e00-\u9fff](?:大爷|大妈|阿姨|"
    r"奶奶|爷爷|大伯|老伯|伯伯|婶婶|师傅)|\d+(?:户|名|位|人|家)|[二两三四五六七八九十]+(?:户|名|位|家)")
OBJECT = re.compile(
    r"路灯|垃圾|垃圾桶|水渠|沟渠|道路|路面|机耕路|桥梁|下水道|河道|井盖|绿化|树苗|苗木|花木|电脑|图书|书籍|课桌|米面油|"
    r"大米|食用油|棉被|衣物|轮椅|拐杖|药品|药|监控|探头|健身器材|雨棚|停车位|围墙|公厕|厕所|水管|自来水|电线|线路|化粪池|"
    r"宣传栏|座椅|台阶|扶手|助学金|慰问金|资金|善款|账目|课件|讲座|培训班|体检|义诊|理发|维修|家电|菜园|果树|大棚|鱼塘|"
    r"订单|合同|信访件|纠纷|案件|病历|课程|作业|试卷|车辆|电瓶车|消防栓|灭火器|烟感|护栏|路牌|门牌|太阳能|光伏|"
    r"血压|血糖|疫苗|档案|表格|报表|网站|公众号|微信群|广播|黑板报|文艺演出|电影|书屋|图书角|食堂|助餐|午餐|快递|"
    r"农产品|西瓜|葡萄|蔬菜|稻|蘑菇|茶叶|种子|化肥|农药|农机|技术规程|设备|零件|产品|螺栓|紧固件|工单|停车棚|充电桩|"
    r"楼道|电梯|屋顶|危房|房屋|窗户|空调|热水器|煤气|燃气")

FEATURES = ("number", "place", "person", "object", "date")


def specificity_features(text: str) -> dict[str, bool]:
    """Which of the five concrete things the text names."""
    t = unicodedata.normalize("NFKC", text or "")
    numberless = _GENERIC_ONE.sub("", t)
    specific_places = []
    for m in PLACE_SUFFIX.finditer(t):  # a place suffix (村, 路, 号楼 …) with a name of 2–4 characters or a number before it
        head = _PLACE_HEAD.search(t, max(0, m.start() - 4), m.start())
        if head and not _GENERIC_PLACE.search(t, head.start(), m.end()):
            specific_places.append(t[head.start():m.end()])
    return {
        "number": bool(NUMBER.search(numberless)),
        "place": bool(specific_places),
        "person": bool(PERSON.search(t)),
        "object": bool(OBJECT.search(t)),
        "date": bool(DATE.search(t)),
    }


def specificity(text: str) -> float:
    """Share of the five concrete things the text names (0 … 1)."""
    found = specificity_features(text)
    return sum(found.values()) / len(FEATURES)


# --- the detector --------------------------------------------------------------------------------------------------


@dataclass
class Cluster:
    """A group of near-duplicate texts: its indices, how many distinct authors used it, the most common wording."""

    indices: list[int]
    authors: int
    text: str


@dataclass
class Detection:
    labels: np.ndarray  # cluster label per text
    clusters: list[Cluster]  # every cluster of ≥ 2 texts
    templates: list[Cluster]  # clusters spanning ≥ K authors
    template_of: dict[int, int]  # text index → index into `templates`
    specificity: list[float]
    formulaic: list[bool]
    signatures: np.ndarray

    def reason(self, i: int, threshold: float) -> str:
        parts = []
        if i in self.template_of:
            parts.append(f"与{self.templates[self.template_of[i]].authors}人的承诺雷同")
        if self.specificity[i] < threshold:
            parts.append(f"内容不具体（具体度{self.specificity[i]:.1f}）")
        return "；".join(parts)


def detect(texts: Sequence[str], authors: Sequence[str], *, min_authors: int = 5, specificity_threshold: float = 0.4,
           hasher: MinHasher | None = None, threshold: float = THRESHOLD, bands: int = BANDS,
           rows: int = ROWS, scores: Sequence[float | None] | None = None) -> Detection:
    """Cluster `texts` and flag each formulaic one. `authors[i]` names who wrote text i (a template is a cluster
    used by at least `min_authors` distinct authors). `scores` are specificities already computed (None: compute)."""
    if len(texts) != len(authors):
        raise ValueError("one author per text")
    hasher = hasher or MinHasher()
    sig = hasher.signatures(texts)
    labels = lsh_clusters(sig, bands=bands, rows=rows, threshold=threshold)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    bounds = np.flatnonzero(np.diff(sorted_labels)) + 1
    clusters: list[Cluster] = []
    for group in np.split(order, bounds):
        if len(group) < 2:
            continue
        idx = group.tolist()
        wording = Counter(texts[i].strip() for i in idx).most_common(1)[0][0]
        clusters.append(Cluster(indices=idx, authors=len({authors[i] for i in idx}), text=wording))
    templates = sorted((c for c in clusters if c.authors >= min_authors), key=lambda c: (-c.authors, c.indices[0]))
    template_of = {i: t for t, c in enumerate(templates) for i in c.indices}
    given: Sequence[float | None] = scores if scores is not None else [None] * len(texts)
    spec = [specificity(t) if (s := given[i]) is None else float(s) for i, t in enumerate(texts)]
    formulaic = [i in template_of or spec[i] < specificity_threshold for i in range(len(texts))]
    return Detection(labels=labels, clusters=clusters, templates=templates, template_of=template_of,
                     specificity=spec, formulaic=formulaic, signatures=sig)


def best_match(signature: np.ndarray, candidates: np.ndarray, threshold: float = THRESHOLD) -> int | None:
    """Index of the candidate signature most similar to `signature` if it reaches `threshold` (one new text against
    the known templates, without re-clustering the round)."""
    if len(candidates) == 0 or (signature == np.iinfo(np.uint32).max).all():
        return None
    agree = (candidates == signature[None, :]).mean(axis=1)
    best = int(np.argmax(agree))
    return best if agree[best] >= threshold else None
