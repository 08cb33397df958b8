"""Pull the article text and metadata out of an HTML page (BeautifulSoup)."""

from __future__ import annotations

from .clean import parse_date

_DROP = ["script", "style", "nav", "header", "footer", "aside", "form", "noscript", "iframe", "svg"]
_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre"]
_DATE_META = ["article:published_time", "datePublished", "date", "pubdate", "publish-date",
              "dc.date", "DC.date.issued", "og:published_time"]


def extract(html: str) -> tuple[str, str | None, str | None, str | None]:
    """(text with '## ' headings, title, ISO date, url) from an HTML document."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = _meta(soup, "og:title") or (soup.title.get_text(strip=True) if soup.title else None)
    date = next((parse_date(v) for k in _DATE_META if (v := _meta(soup, k)) and parse_date(v)), None)
    if not date and (t := soup.find("time", attrs={"datetime": True})):
        date = parse_date(t["datetime"])
    url = _meta(soup, "og:url") or ((link := soup.find("link", rel="canonical")) and link.get("href"))
    for tag in soup(_DROP):
        tag.decompose()
    body = soup.find("article") or soup.body or soup
    blocks = []
    for el in body.find_all(_BLOCKS):
        if el.find(_BLOCKS):  # a container of other blocks; its children are visited on their own
            continue
        text = " ".join(el.get_text(" ").split())
        if not text:
            continue
        if el.name == "h1" and not title:
            title = text
        if el.name == "li":
            text = f"- {text}"
        blocks.append(f"## {text}" if el.name[0] == "h" else text)
    if not blocks:
        blocks = [" ".join(body.get_text(" ").split())]
    if title and blocks and blocks[0] == f"## {title}":
        blocks = blocks[1:]
    return "\n\n".join(blocks), title, date, url


def _meta(soup, key: str) -> str | None:
    tag = soup.find("meta", attrs={"property": key}) or soup.find("meta", attrs={"name": key}) \
        or soup.find("meta", attrs={"itemprop": key})
    return tag.get("content") if tag and tag.get("content") else None
