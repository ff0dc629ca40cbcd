"""The evaluation report over HTTP, for keys holding the admin scope (linked from the web app's Admin page): one
HTML page built from the `faceatlas eval` results in the server's FACEATLAS_EVAL_RESULTS folder, as `faceatlas eval
report` builds it (files there that are not eval results are left out)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from faceatlas.config import get_settings
from faceatlas.eval.report import build_report
from faceatlas.eval.results import read_result
from faceatlas.service.auth import Administering
from faceatlas.service.schemas import problems

REPORT_HEADERS = {  # the page's own styles and embedded plots, nothing else
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def router() -> APIRouter:
    routes = APIRouter(tags=["reports"], responses=problems(401, 403, 404))

    @routes.get("/v1/reports", response_class=HTMLResponse,
                responses={200: {"content": {"text/html": {}}, "description": "The report page."}})
    async def report(_: Administering) -> HTMLResponse:
        """The evaluation report of the results in FACEATLAS_EVAL_RESULTS (404 when none is set or found)."""
        folder = get_settings().eval_results
        results = [] if folder is None else _results(folder)
        if not results:
            raise HTTPException(404, "no evaluation results to report (set FACEATLAS_EVAL_RESULTS to a folder of "
                                     "`faceatlas eval` JSON results)")
        return HTMLResponse(build_report(results), headers=REPORT_HEADERS)

    return routes


def _results(folder: Path) -> list[dict]:
    found = []
    for path in sorted(Path(folder).expanduser().glob("*.json")):
        try:
            found.append(read_result(path))
        except ValueError:  # a benchmark's JSON beside them
            continue
    return found
