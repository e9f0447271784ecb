"""The HTML frame of the report and comparison pages: style, tables, target status, footer."""

from __future__ import annotations

from html import escape as e

from allocator.outputs.labels import cjk_font, translate
from allocator.solve.run_info import ATTRIBUTION

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC","Noto Sans",sans-serif;
max-width:1000px;margin:24px auto;padding:0 16px;color:#1f2933;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:2px solid #e4e7eb;padding-bottom:.2em}
h3{margin-top:1.2em}.sub{color:#52606d;margin-top:0}
.summary{background:#f0f4f8;border-left:4px solid #1565c0;padding:10px 16px 10px 34px;border-radius:4px}
.summary li{margin:4px 0}table{border-collapse:collapse;margin:8px 0 16px;font-size:.92em}
th,td{border-bottom:1px solid #e4e7eb;padding:4px 10px;text-align:right}td{white-space:nowrap}th{background:#f5f7fa}
td:first-child,th:first-child{text-align:left}.met{color:#2e7d32;font-weight:600}
.miss{color:#c62828;font-weight:600}.na{color:#7b8794}.figs{display:flex;flex-wrap:wrap;gap:12px}
.figs figure{margin:0}.figs img{max-width:100%;border:1px solid #e4e7eb}
.scroll{max-height:420px;overflow:auto}footer{margin-top:2em;color:#52606d;font-size:.85em;
border-top:1px solid #e4e7eb;padding-top:8px}
.decision h2{border-bottom-color:#1565c0}.lead{font-size:1.1em;background:#f0f4f8;padding:8px 12px;border-radius:4px}
.note{color:#52606d;font-size:.85em}.cols{display:flex;gap:24px;flex-wrap:wrap}.cols>div{flex:1 1 300px}
table.sites td:nth-child(2),table.sites td:nth-child(3){text-align:left;white-space:normal}
table.sites th:nth-child(2),table.sites th:nth-child(3){text-align:left}table.sites small{color:#52606d}
table.text td,table.text th{text-align:left;white-space:normal}
td.best{background:#e3f2e6;font-weight:600}.flag{color:#c62828}
@page{size:A4;margin:14mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt}.scroll{max-height:none;overflow:visible}
table{font-size:8.5pt;page-break-inside:auto}tr,figure,li{page-break-inside:avoid}h2,h3{page-break-after:avoid}
td{white-space:normal}.figs img{max-width:88mm}section.decision{page-break-after:always}a{color:inherit}}
"""



def html_table(headers: list[str], rows: list[list[str]], raw_cells: bool = False, cls: str = "") -> str:
    """An HTML table; cells are escaped unless ``raw_cells`` (then the caller escaped them)."""
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c if raw_cells else e(c)}</td>" for c in row) + "</tr>" for row in rows)
    klass = f" class='{e(cls)}'" if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def status_html(lang: str, met) -> str:
    if met is None:
        return f'<span class="na">{e(translate(lang, "n_a"))}</span>'
    return f'<span class="{"met" if met else "miss"}">{e(translate(lang, "met" if met else "not_met"))}</span>'


def html_page(title: str, subtitle: str, body: str, lang: str, footer: list[str]) -> str:
    return (f"<!DOCTYPE html>\n<html lang='{'zh-Hans' if lang == 'zh' else 'en'}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{e(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{e(title)}</h1><p class='sub'>{e(subtitle)}</p>\n{body}\n"
            "<footer>" + "".join(f"<p>{e(x)}</p>" for x in footer) + "</footer></body></html>\n")


def footer_lines(lang: str, credits: list[str] | None = None) -> list[str]:
    """The page's footer: the credit lines of the data used (``RunInfo.attributions``; OpenStreetMap when none)."""
    lines = [translate(lang, "data_credit", credits="; ".join(credits or [ATTRIBUTION]))]
    if lang == "zh" and cjk_font() is None:
        lines.insert(0, translate(lang, "font_note"))
    return lines
