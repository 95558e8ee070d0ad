"""The navigation of each role: which pages a role may open.

A page not listed for a role is not registered for its sessions, so its URL does not resolve;
the services check permissions again on every call.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent / "pages"

# role -> section -> (file in pages/, title, icon)
PAGES: dict[str, dict[str, list[tuple[str, str, str]]]] = {
    "manager": {
        "Call": [
            ("manager_overview.py", "Overview", ":material/dashboard:"),
            ("manager_import.py", "Import", ":material/upload_file:"),
            ("manager_conflicts.py", "Conflicts", ":material/block:"),
            ("manager_assignment.py", "Assignment", ":material/hub:"),
            ("manager_followup.py", "Follow-up", ":material/checklist:"),
            ("proposal.py", "Proposal", ":material/article:"),
            ("manager_people.py", "Experts and deadlines", ":material/schedule:"),
        ],
        "Results": [
            ("manager_consolidation.py", "Consolidation", ":material/handshake:"),
            ("manager_ranking.py", "Ranking", ":material/leaderboard:"),
            ("manager_reliability.py", "Reliability", ":material/query_stats:"),
            ("manager_results.py", "Reports and release", ":material/description:"),
            ("manager_exports.py", "Exports and audit", ":material/download:"),
        ],
    },
    "expert": {
        "Evaluation": [
            ("expert_queue.py", "My queue", ":material/inbox:"),
            ("expert_evaluate.py", "Scoring form", ":material/edit_note:"),
            ("expert_consolidation.py", "Consolidation", ":material/handshake:"),
            ("proposal.py", "Proposal", ":material/article:"),
        ],
    },
    "applicant": {
        "Mock evaluation": [
            ("applicant_rehearsals.py", "Rehearsals", ":material/science:"),
            ("applicant_score.py", "Score a rehearsal", ":material/edit_note:"),
            ("applicant_report.py", "Report", ":material/analytics:"),
        ],
        "Results": [
            ("applicant_results.py", "Evaluation results", ":material/verified:"),
        ],
    },
}


def pages_for(role: str) -> dict[str, list[st.Page]]:
    """The ``st.navigation`` sections of ``role`` (unknown roles get nothing)."""
    return {
        section: [st.Page(str(PAGES_DIR / file), title=title, icon=icon)
                  for file, title, icon in entries]
        for section, entries in PAGES.get(role, {}).items()
    }
