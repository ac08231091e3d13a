"""Merges result documents of several `python -m bench` sessions into one (e.g. a size measured
later, once the host could run it). Runs keep their session number, so same-run ratios still pair
only runs that were measured side by side; a size refused for capacity in one session is dropped
when another session measured it. Each session baked ours' image once; every bake is kept."""

from __future__ import annotations

from typing import Any


def _measured(results: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {(r["approach"], r["n"]) for r in results if not r.get("skipped")}


def merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    if len(documents) == 1:
        return documents[0]
    tagged = [dict(r, session=index) for index, doc in enumerate(documents, 1) for r in doc["results"]]
    measured = _measured(tagged)
    results = [r for r in tagged if not (r.get("skipped") and (r["approach"], r["n"]) in measured)]
    merged = dict(documents[0])
    merged.update(
        sizes=sorted({n for doc in documents for n in doc["sizes"]}),
        runs=max(doc["runs"] for doc in documents),
        runs_at={},
        started=min(doc["started"] for doc in documents),
        finished=max(doc["finished"] for doc in documents),
        interrupted=any(doc.get("interrupted") for doc in documents),
        results=results,
        sessions=[{key: doc.get(key) for key in ("started", "finished", "sizes", "runs", "runs_at", "floor_workers",
                                                 "seed_workers")}
                  for doc in documents],
        bakes=[bake for doc in documents for bake in session_bakes(doc)],
    )
    merged.pop("bake", None)
    registry = [doc["registry"] for doc in documents
                if {"serving_s", "vip_failover_gap_s"} & {k for k, v in (doc.get("registry") or {}).items() if v}]
    if registry:
        merged["registry"] = registry[-1]  # the latest session that measured the registry
    merged.pop("summary", None)
    return merged


def session_bakes(document: dict[str, Any]) -> list[dict[str, Any]]:
    """ours' bake of every session in the document (one per `python -m bench` that ran ours)."""
    if "bakes" in document:
        return list(document["bakes"])
    return [document["bake"]] if document.get("bake") else []
