"""Chinese keyword tokens for BM25: jieba with a user dictionary of the corpus's own terms.

Owns: the user dictionary (quoted policy terms such as 门前五包/一网通办/无证明城市, road and place
names, 文号), normalisation (NFKC, lower case) and the token stream. Knows nothing of indexes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..text import (ABBREVIATION_RE, DOCNUM_RE, PAREN_CN, QUOTED_TERM_RE, SEARCH_STOPWORDS, drop_spaces, normalize,
                    normalize_doc_number)

_ROAD_RE = re.compile(PAREN_CN + r"\s*([\u4e00-\u9fff]{2,8}?(?:路|街|巷|大道|大街))。")
_PLACE_RE = re.compile(r"位于([\u4e00-\u9fff]{2,6}?区)([\u4e00-\u9fff]{2,4}?街道)")
_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)


def corpus_terms(texts: Iterable[str]) -> list[str]:
    """User-dictionary terms found in the corpus itself (harvested when it is indexed): quoted terms,
    short names a document defines (以下简称…), road and place names."""
    terms: set[str] = set()
    for t in texts:
        flat = drop_spaces(t)
        terms.update(m.group(1) for m in QUOTED_TERM_RE.finditer(flat))
        terms.update(m.group(1) for m in ABBREVIATION_RE.finditer(flat))
        terms.update(m.group(1) for m in _ROAD_RE.finditer(flat))
        for m in _PLACE_RE.finditer(flat):
            terms.update((m.group(1), m.group(2)))
    return sorted(normalize(x) for x in terms if len(x) >= 2)


class Tokenizer:
    """jieba (search mode) over NFKC text, with 文号 kept as single normalised tokens."""

    def __init__(self, user_terms: Iterable[str] = ()):
        import jieba

        jieba.setLogLevel(60)
        self._jieba = jieba.Tokenizer()
        self._tagger = None
        self.user_terms = sorted({normalize(x) for x in user_terms})
        for term in self.user_terms:
            # NOTE: a high frequency makes jieba prefer the whole term over its pieces.
            self._jieba.add_word(term, freq=20000)

    def words(self, text: str) -> list[str]:
        """jieba's accurate-mode words (no search-mode sub-words), user terms kept whole."""
        return self._jieba.lcut(text)

    def sub_words(self, text: str) -> list[str]:
        """jieba's search-mode words: the whole words and the shorter words inside them."""
        return self._jieba.lcut_for_search(text)

    def tagger(self):
        """A part-of-speech tagger sharing this tokenizer's dictionary (built on first use)."""
        if self._tagger is None:
            import jieba.posseg as pseg

            self._tagger = pseg.POSTokenizer(self._jieba)
        return self._tagger

    def doc_numbers(self, text: str) -> list[str]:
        out = []
        for m in DOCNUM_RE.finditer(text):
            n = normalize_doc_number(m.group(0))
            if n:
                out.append(normalize(n))
        return out

    def tokens(self, text: str) -> list[str]:
        """Tokens for BM25: 文号 first, then jieba search-mode words without punctuation/stopwords."""
        out = self.doc_numbers(text)
        body = DOCNUM_RE.sub(" ", text)
        for w in self.sub_words(normalize(body)):
            w = w.strip()
            if not w or w in SEARCH_STOPWORDS or not _TOKEN_OK.search(w):
                continue
            out.append(w)
        return out
