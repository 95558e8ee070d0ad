"""A small valid call folder written from Python, for tests that break one thing at a time."""

from __future__ import annotations

from pathlib import Path

CALL_TOML = """\
[call]
id = "TEST-CALL"
title = "Test call"
scheme = "erasmus-afi"
experts_per_proposal = 2
deadline = "2026-02-26"

[lots.L1]
title = "Lot one"
budget_eur = 2000000

[lots.L2]
title = "Lot two"
budget_eur = 3000000
one_per = "ecosystem"
"""

PROPOSALS = """\
proposal_id,lot,title,abstract,language,fields,ecosystems,keywords,requested_eur
P01,L1,Green skills for SMEs,"Training for green skills.
A second line of abstract.",en,0714;0521,Digital,green;skills,1000000
P02,L1,Digital teachers,Teacher training in digital tools,en,0114,,digital,900000
P03,L2,Battery skills,Skills for battery production,de,0713,Renewable energy,battery,1500000
P04,L2,Textile futures,Circular textiles,fr,0723,Textile,circular,1400000
"""

PARTNERS = """\
proposal_id,org_id,org_name,country,role
P01,900000001,Ghent University,BE,coordinator
P01,900000002,Tallinn Tech,EE,partner
P02,900000003,Universidad de Sevilla,ES,coordinator
P02,900000001,Ghent University,BE,partner
P03,900000004,Wien Energie Akademie,AT,coordinator
P03,,Small Battery Cluster,DE,associated
P04,900000005,Lyon Textile Lab,FR,coordinator
P04,900000006,Prato Weavers,IT,partner
"""

EXPERTS = """\
expert_id,name,email,org_id,org_name,country,nationality,gender,languages,fields,ecosystems,keywords,profile,max_load,min_load
X01,Ana Silva,ana@example.eu,900000001,Ghent University,BE,PT,F,en;pt,0714,Digital,green,Green skills,3,0
X02,Ben Maes,ben@example.eu,,Independent,BE,BE,M,en;fr;de,0713;0723,Textile,battery,Batteries,3,1
X03,Cara Novak,cara@example.eu,900000009,Prague Institute,CZ,CZ,F,en;de,0114,,digital,Teachers,2,
X04,Dan Popescu,dan@example.eu,,Independent,RO,RO,,en;fr,0521;0713,Renewable energy,,Energy,4,0
"""

CONFLICTS = """\
expert_id,proposal_id,org_id,kind,since,note
X02,P03,,declared,,advised the applicant
X04,,900000003,employment,2025-06-30,left in 2025
"""

AFFINITY = """\
proposal_id,expert_id,affinity
P01,X01,0.9
P01,X02,0.1
P03,X04,0.55
"""

SCORES = """\
proposal_id,expert_id,criterion,score,comment
P01,X02,relevance,20,Clear needs analysis
P01,X02,quality,24,
P01,X02,partnership,15,
P01,X02,impact,19,
"""

FILES = {
    "call.toml": CALL_TOML,
    "proposals.csv": PROPOSALS,
    "partners.csv": PARTNERS,
    "experts.csv": EXPERTS,
    "conflicts.csv": CONFLICTS,
    "affinity.csv": AFFINITY,
    "scores.csv": SCORES,
}


def write_call(folder: Path, **replace: str | bytes | None) -> Path:
    """Write the valid call into ``folder``; ``replace`` maps a file name (dots as ``_``) to new
    content, or None to leave the file out."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        key = name.replace(".", "_")
        content = replace.get(key, text)
        if content is None:
            continue
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def replace_line(text: str, line: int, new: str) -> str:
    """``text`` with its 1-based ``line`` replaced by ``new``."""
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"
