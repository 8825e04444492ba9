"""Policy source texts: reading the shipped files and finding the article or paragraph a locator names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

ARTICLE = re.compile(r"^(第[一二三四五六七八九十百零〇]+条(?:之[一二三四五六七八九十]+)?)[\s\u3000]")
HEADING = re.compile(r"^第[一二三四五六七八九十百零〇]+[章节编]")
ARTICLE_LOCATOR = re.compile(r"^(第[一二三四五六七八九十百零〇]+条(?:之[一二三四五六七八九十]+)?)")
PARAGRAPH_LOCATOR = re.compile(r"^第(\d+)段$")

HEADER_KEYS = {"标题": "title", "发布机关及文号": "issuer", "说明": "issuer", "施行日期": "effective"}


@dataclass
class SourceText:
    code: str
    title: str
    body: str
    issuer: str | None = None
    effective: str | None = None
    meta: dict = field(default_factory=dict)

    @cached_property
    def paragraphs(self) -> list[str]:
        return [line for line in self.body.splitlines() if line.strip()]

    @cached_property
    def articles(self) -> dict[str, str]:
        """第X条 → the article's text: its first line and the 款 lines up to the next article or heading."""
        found: dict[str, str] = {}
        current = None
        for line in self.paragraphs:
            if match := ARTICLE.match(line):
                current = match.group(1)
                found[current] = line
            elif HEADING.match(line):
                current = None
            elif current:
                found[current] += "\n" + line
        return found

    def passage(self, locator: str) -> str | None:
        """The text a locator points at: an article (第X条…), a paragraph (第N段), else the whole body.

        None when the locator names an article or paragraph the document does not have.
        """
        if match := ARTICLE_LOCATOR.match(locator):
            return self.articles.get(match.group(1))
        if match := PARAGRAPH_LOCATOR.match(locator):
            index = int(match.group(1))
            return self.paragraphs[index - 1] if 1 <= index <= len(self.paragraphs) else None
        return self.body


def parse_source(code: str, text: str) -> SourceText:
    """A source file: ``# key: value`` header lines, a blank line, then the body."""
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    meta: dict[str, str] = {}
    lines = text.split("\n")
    body_start = 0
    for index, line in enumerate(lines):
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
            body_start = index + 1
        else:
            break
    body = "\n".join(lines[body_start:]).strip("\n")
    fields = {attr: meta[key] for key, attr in HEADER_KEYS.items() if key in meta}
    return SourceText(
        code=code,
        title=meta.get("标题", code),
        body=body,
        issuer=fields.get("issuer"),
        effective=fields.get("effective"),
        meta=meta,
    )


def read_source_file(path: Path) -> SourceText:
    return parse_source(path.stem, path.read_text("utf-8"))
