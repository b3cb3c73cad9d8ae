"""Presentation of an ``Answer`` for the web chat: verdict card, answer, sources and the rule trace.

Pure functions from the answer contract to HTML/Markdown strings; no decisions are made here. Every
piece of text that comes from a question, a source or the rule set is HTML-escaped.
"""

from __future__ import annotations

from html import escape as escape_attr
from typing import Any

from assistant.models import Answer, Verdict


def escape(text: str) -> str:
    """Escape text content (quotes stay readable; attributes use ``escape_attr``)."""
    return escape_attr(text, quote=False)

# -- the verdict in a manager's words -------------------------------------------------------------------
COPRODUCTION = {
    "yes": ("Yes, this is co-production",
            "Citizens or clients do part of the work of delivering the service, together with your organisation."),
    "no": ("No, this is not co-production",
           "By the sources' definition, co-production means citizens or clients doing part of the delivery work; "
           "that is not the case here."),
    "unclear": ("Can't tell yet",
                "It depends on who does the work of delivering the service. Answer the question below to decide."),
}
MODE = {
    "obligatory": ("Unavoidable",
                   "The service cannot get its results without the people it serves: the question is how to do it "
                   "well, not whether."),
    "optional": ("A choice",
                 "The service could be delivered another way: use co-production where its benefits outweigh its "
                 "costs, judged on quality as well as money."),
}
RECOMMENDATION = {
    "recommend": ("Use it", "The advice is to go ahead."),
    "conditional": ("Use it only under conditions", "See what to weigh in the answer."),
    "not_recommended": ("Not recommended", "Not as the situation is described."),
}
VALUE = {
    "public": ("Mainly public value", "Enjoyed by citizens together."),
    "private": ("Mainly private value", "Enjoyed by the individuals themselves."),
    "both": ("Public and private value", "For the individuals and for everyone."),
}
TONE = {"yes": "yes", "no": "no", "unclear": "unclear"}
ORIGIN = {
    "stated": "you said so",
    "answered": "your answer",
    "inferred": "inferred from your description",
    "default": "assumed by default",
}


def verdict_card(answer: Answer) -> str:
    """The verdict as a small card (HTML); an explanatory card for general and out-of-scope answers."""
    if not answer.in_scope:
        return _card("out", "Outside what I advise on",
                     [("Scope", "This assistant advises on co-production of public services.")])
    v: Verdict = answer.verdict
    if v.coproduction is None:
        return _card("general", "General question",
                     [("Answer", "Answered from the sources; describe a situation to get a verdict.")])
    title, detail = COPRODUCTION.get(v.coproduction, (v.coproduction, ""))
    rows = [("Co-production?", f"<strong>{escape(title)}</strong>. {escape(detail)}")]
    for label, table, value in (("Obligatory or optional?", MODE, v.mode),
                                ("Recommendation", RECOMMENDATION, v.recommendation),
                                ("Value produced", VALUE, v.value)):
        if value:
            head, text = table.get(value, (value, ""))
            rows.append((label, f"<strong>{escape(head)}</strong>. {escape(text)}"))
    return _card(TONE.get(v.coproduction, "general"), "Verdict", rows, raw=True)


def _card(tone: str, title: str, rows: list[tuple[str, str]], raw: bool = False) -> str:
    items = "".join(f"<dt>{escape(label)}</dt><dd>{value if raw else escape(value)}</dd>" for label, value in rows)
    return (f'<section class="cp-card cp-{tone}" aria-label="{escape_attr(title)}">'
            f'<h3 class="cp-card-title">{escape(title)}</h3><dl>{items}</dl></section>')


# -- sources --------------------------------------------------------------------------------------------
def sources_html(answer: Answer) -> str:
    """Each cited passage: ``[n]`` title, locator, and the passage text (expandable)."""
    if not answer.citations:
        return ""
    items = []
    for c in sorted(answer.citations, key=lambda c: c.marker):
        items.append(
            f'<li class="cp-source" id="cp-src-{c.marker}"><details><summary>'
            f'<span class="cp-marker">[{c.marker}]</span> <span class="cp-src-title">{escape(c.title)}</span>'
            f' <span class="cp-locator">({escape(c.locator)})</span></summary>'
            f'<blockquote class="cp-passage">{escape(c.text)}</blockquote></details></li>')
    return (f'<details class="cp-sources" open><summary><strong>Sources ({len(answer.citations)})</strong>'
            f' <span class="cp-hint">open one to read the passage</span></summary>'
            f'<ol class="cp-source-list">{"".join(items)}</ol></details>')


# -- why this verdict -----------------------------------------------------------------------------------
def _get(entry: dict[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if entry.get(name) not in (None, ""):
            return entry[name]
    return default


def _plain(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "not known"
    if isinstance(value, (list, tuple, set)):
        return " or ".join(_plain(v) for v in value)
    return str(value).replace("_", " ")


def _fact_name(name: Any) -> str:
    return str(name or "").replace("_", " ").strip()


def condition_line(cond: dict[str, Any]) -> str:
    """One condition of a rule in plain words (HTML)."""
    fact = _fact_name(_get(cond, "fact", "name", "id"))
    expected = _get(cond, "expected", "value", "equals")
    actual = _get(cond, "actual", "found", "observed")
    negated = bool(cond.get("negated") or cond.get("not"))
    origin = _get(cond, "origin", "source", "provenance")
    span = _get(cond, "span", "text", "evidence")
    met = _get(cond, "result", "met", "holds", "satisfied", "passed")
    mark = {True: "✔", False: "✘"}.get(met if isinstance(met, bool) else None, "?")  # "?": not known yet
    if isinstance(met, str):
        mark = {"true": "✔", "false": "✘"}.get(met.lower(), "?")
    wanted = f"{'not ' if negated else ''}{_plain(expected)}" if expected is not None else "set"
    text = f"{escape(fact)}: needs <em>{escape(wanted)}</em>, found <em>{escape(_plain(actual))}</em>"
    if isinstance(origin, str) and origin:
        text += f" ({escape(ORIGIN.get(origin, origin))}"
        text += f': “{escape(str(span))}”)' if span and isinstance(span, str) else ")"
    return f'<li><span aria-hidden="true">{mark}</span> {text}</li>'


def _source_quote(source: Any) -> str:
    if not source:
        return ""
    if isinstance(source, str):
        return f'<p class="cp-rule-src">Source: {escape(source)}</p>'
    document = _get(source, "document", "source_id", "id", default="")
    locator = _get(source, "locator", default="")
    quote = _get(source, "quote", "text", default="")
    where = escape(" ".join(p for p in (str(document), f"({locator})" if locator else "") if p))
    html = f'<p class="cp-rule-src">Source: {where}</p>'
    if quote:
        html += f'<blockquote class="cp-quote">“{escape(str(quote))}”</blockquote>'
    return html


def rule_item(entry: dict[str, Any]) -> str:
    """One evaluated rule: did it apply, what it means, its conditions and its source quote."""
    rule_id = _get(entry, "rule", "rule_id", "id", default="rule")
    fired = bool(entry.get("fired"))
    explanation = _get(entry, "explanation", "text", "description", default="")
    conclusion = _get(entry, "conclusion", "then", default="")
    status = "Applies" if fired else "Does not apply"
    head = f'<span class="cp-rule-status cp-{"fired" if fired else "idle"}">{status}</span> '
    head += f"{escape(str(explanation))}" if explanation else f"<code>{escape(str(rule_id))}</code>"
    conditions = entry.get("conditions") or []
    cond_html = ""
    if isinstance(conditions, list) and conditions:
        cond_html = '<ul class="cp-conditions">' + "".join(
            condition_line(c) if isinstance(c, dict) else f"<li>{escape(str(c))}</li>" for c in conditions) + "</ul>"
    decision, value = entry.get("decision"), entry.get("value")
    if decision and value:
        conclusion = f"{_plain(decision)}: {_plain(value)}"
    concl = ""
    if conclusion:
        concl = f'<p class="cp-rule-id">Rule <code>{escape(str(rule_id))}</code> → {escape(_plain(conclusion))}</p>'
    else:
        concl = f'<p class="cp-rule-id">Rule <code>{escape(str(rule_id))}</code></p>'
    return f'<li class="cp-rule">{head}{concl}{cond_html}{_source_quote(entry.get("source"))}</li>'


def trace_html(answer: Answer) -> str:
    """"Why this verdict": the rules that applied, each with its source quote; the others folded away."""
    if not answer.trace:
        return ""
    fired = [e for e in answer.trace if isinstance(e, dict) and e.get("fired")]
    other = [e for e in answer.trace if isinstance(e, dict) and not e.get("fired")]
    html = ('<details class="cp-why"><summary><strong>Why this verdict</strong>'
            f' <span class="cp-hint">{len(fired)} rule(s) applied, {len(other)} checked and not applicable</span>'
            '</summary>')
    if fired:
        html += '<ol class="cp-rules">' + "".join(rule_item(e) for e in fired) + "</ol>"
    else:
        html += "<p>No rule applied yet: the facts needed to decide are missing.</p>"
    if other:
        html += ('<details class="cp-other-rules"><summary>Rules checked that did not apply</summary>'
                 '<ol class="cp-rules">' + "".join(rule_item(e) for e in other) + "</ol></details>")
    return html + "</details>"


# -- the whole message ----------------------------------------------------------------------------------
def answer_markdown(answer: Answer) -> str:
    """The chat message for one answer: card, the answer's Markdown, sources, why (blocks separated)."""
    blocks = [verdict_card(answer), answer.answer.strip(), sources_html(answer), trace_html(answer)]
    return "\n\n".join(b for b in blocks if b)


def follow_up_prompt(answer: Answer | None) -> str:
    """The clarifying question shown above the one-click replies (Markdown), or an empty string."""
    if answer is None or not answer.follow_up:
        return ""
    return f"**To decide, I need to know:** {answer.follow_up[0]}"


def error_markdown(message: str) -> str:
    """A user-facing error as a chat message."""
    return f'<div class="cp-error" role="alert"><strong>⚠ Could not answer.</strong> {escape(message)}</div>'
