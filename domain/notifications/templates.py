"""Rendering a notification from its templates (Jinja2), in the reader's language.

Each kind is one file, ``<locale>/<kind>.j2``, with three blocks: ``subject``, ``text`` and
``html`` (the HTML one escaped, the others not); ``layout.txt`` and ``layout.html`` wrap
the bodies with the shop's name and address, and ``sms.txt`` makes the short message.
A merchant's directory (``OMS_NOTIFICATION_TEMPLATES``) is looked in first, file by file,
so replacing one message is one file. Templates run sandboxed.

Languages are BCP 47 tags: ``zh-CN``, ``zh-SG`` and ``zh-Hans`` read ``zh-Hans``; a tag is
tried whole, then without its region, then the shop's default language, then English.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

FALLBACK = "en"
_SIMPLIFIED = {"cn", "sg", "hans", "my"}
_TRADITIONAL = {"tw", "hk", "mo", "hant"}


def candidates(tag: str | None, default: str = FALLBACK) -> list[str]:
    """The template folders to try for a language tag, best first."""
    out: list[str] = []
    for raw in (tag, default, FALLBACK):
        if not raw:
            continue
        parts = raw.replace("_", "-").split("-")
        language = parts[0].lower()
        rest = {p.lower() for p in parts[1:]}
        if language == "zh":
            script = "Hant" if rest & _TRADITIONAL else "Hans" if rest & _SIMPLIFIED or not rest \
                else None
            if script:
                out.append(f"zh-{script}")
        out.extend(["-".join([language, *parts[1:]]), language])
    return list(dict.fromkeys(out))


class TemplateProblem(Exception):
    """A template is missing, malformed, or fails while rendering (a merchant's edit)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str
    locale: str  # the folder the message came from


class Renderer:
    def __init__(self, directory: Path | None = None) -> None:
        loaders: list[Any] = []
        if directory is not None:
            loaders.append(FileSystemLoader(str(directory)))
        loaders.append(PackageLoader("domain.notifications", "templates"))
        loader = ChoiceLoader(loaders)
        self._text = SandboxedEnvironment(loader=loader, autoescape=False,
                                          keep_trailing_newline=True)
        self._html = SandboxedEnvironment(loader=loader, autoescape=True)

    def render(self, kind: str, context: dict[str, Any], *, locale: str | None,
               default_locale: str = FALLBACK) -> Rendered:
        """The message; ``TemplateProblem`` when a template is missing or does not render."""
        try:
            return self._render(kind, context, locale=locale, default_locale=default_locale)
        except TemplateError as error:
            raise TemplateProblem(f"{type(error).__name__}: {error}") from error

    def _render(self, kind: str, context: dict[str, Any], *, locale: str | None,
                default_locale: str) -> Rendered:
        folders = candidates(locale, default_locale)
        text_template = self._text.select_template([f"{f}/{kind}.j2" for f in folders])
        chosen = str(text_template.name).split("/")[0]
        html_template = self._html.get_template(str(text_template.name))
        values = {**context, "locale": chosen}

        def block(template: Any, name: str) -> str:
            return "".join(template.blocks[name](template.new_context(values)))

        subject = " ".join(block(text_template, "subject").split())
        text = block(text_template, "text").strip()
        html = block(html_template, "html")
        own = [f"{chosen}/{{}}", *(f"{f}/{{}}" for f in folders)]
        layout_txt = self._text.select_template([p.format("layout.txt") for p in own])
        layout_html = self._html.select_template([p.format("layout.html") for p in own])
        sms = self._text.select_template([p.format("sms.txt") for p in own])
        wrapped = {**values, "subject": subject}
        return Rendered(
            subject=subject,
            text=layout_txt.render({**wrapped, "body": text}).strip() + "\n",
            html=layout_html.render({**wrapped, "body": Markup(html)}),
            sms=" ".join(sms.render(wrapped).split()),
            locale=chosen)
