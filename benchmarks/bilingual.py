"""Bilingual call benchmark: do proposals written in French or German find experts who read
them and work in their field?

Usage (from the repository root)::

    PYTHONPATH=$PWD python benchmarks/bilingual.py [--method tfidf|embeddings|hybrid]

A generated call in four ISCED-F fields: 60 proposals (20 each in English, French and German,
title and abstract in their language) and 40 experts (per field: 4 reading English only with an
English profile, 3 reading French and English with a French profile, 3 reading German and
English with a German profile). Language conflicts (:func:`assignment.find_conflicts`) leave a
proposal only the experts who read it. Two measures per text model, on the non-English
proposals:

- *text alone*: with the fields removed, is the eligible expert whose profile text is most
  similar in the proposal's field (precision at 1)? This is what the text model contributes;
- *assignment*: the full affinity (fields, keywords, text) and the max-total assignment with 2
  experts per proposal: the share of panels whose experts all read the proposal's language and
  the share with an expert in the proposal's field.

Both with the profiles in the experts' own languages and with every profile in English (an
expert who reads French but describes their work in English: the cross-lingual case).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

import numpy as np
import polars as pl

import assignment
from assignment.affinity import tfidf_similarity
from assignment.text import hybrid_similarity

TEXTS = {  # field: (English, French, German) sentences; each text draws three of them
    "0714": (["Power electronics for electric drives.", "Embedded sensors and control systems.",
              "Automation of production lines with robots.", "Semiconductor circuit design."],
             ["Électronique de puissance pour les moteurs électriques.",
              "Capteurs embarqués et systèmes de commande.",
              "Automatisation des lignes de production avec des robots.",
              "Conception de circuits à semi-conducteurs."],
             ["Leistungselektronik für elektrische Antriebe.",
              "Eingebettete Sensoren und Steuerungssysteme.",
              "Automatisierung von Fertigungslinien mit Robotern.",
              "Entwurf von Halbleiterschaltungen."]),
    "0913": (["Nursing care for elderly patients.", "Training nurses in hospitals.",
              "Midwifery and maternal health services.", "Patient safety in clinical wards."],
             ["Soins infirmiers pour les patients âgés.", "Formation des infirmières à l'hôpital.",
              "Sages-femmes et santé maternelle.", "Sécurité des patients dans les services."],
             ["Pflege älterer Patienten.", "Ausbildung von Pflegekräften im Krankenhaus.",
              "Hebammen und Gesundheit von Müttern.", "Patientensicherheit auf Stationen."]),
    "0521": (["Biodiversity of wetlands and rivers.", "Ecosystem restoration and soil quality.",
              "Monitoring birds and pollinators.", "Climate change impact on forests."],
             ["Biodiversité des zones humides et des rivières.",
              "Restauration des écosystèmes et qualité des sols.",
              "Suivi des oiseaux et des pollinisateurs.",
              "Impact du changement climatique sur les forêts."],
             ["Biodiversität von Feuchtgebieten und Flüssen.",
              "Renaturierung von Ökosystemen und Bodenqualität.",
              "Beobachtung von Vögeln und Bestäubern.",
              "Auswirkungen des Klimawandels auf Wälder."]),
    "0613": (["Software engineering for web applications.", "Databases and cloud services.",
              "Testing and continuous integration of code.", "Mobile apps for small firms."],
             ["Génie logiciel pour les applications web.", "Bases de données et services cloud.",
              "Tests et intégration continue du code.",
              "Applications mobiles pour les petites entreprises."],
             ["Softwaretechnik für Webanwendungen.", "Datenbanken und Cloud-Dienste.",
              "Testen und kontinuierliche Integration von Code.",
              "Mobile Apps für kleine Unternehmen."]),
}
LANGS = ("en", "fr", "de")


def generate(seed: int = 0, *, cross: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The call; ``cross``: every expert's profile is in English, whatever they read."""
    rng = np.random.default_rng(seed)
    fields = list(TEXTS)

    def text(field: str, lang: int) -> str:
        pool = TEXTS[field][lang]
        return " ".join(pool[i] for i in rng.choice(len(pool), 3, replace=False))

    props = []
    for lang in range(3):
        for i in range(20):
            field = fields[i % 4]
            props.append({"proposal_id": f"P-{LANGS[lang]}-{i:02d}", "language": LANGS[lang],
                          "title": TEXTS[field][lang][0], "abstract": text(field, lang),
                          "fields": [field], "keywords": []})
    exps = []
    for field in fields:
        for j, lang in enumerate([0, 0, 0, 0, 1, 1, 1, 2, 2, 2]):
            reads = ["en"] if lang == 0 else ["en", LANGS[lang]]
            exps.append({"expert_id": f"X-{field}-{j}", "org_id": f"O{field}{j}",
                         "org_name": f"Org {field}{j}", "country": "BE", "languages": reads,
                         "profile": text(field, 0 if cross else lang), "fields": [field],
                         "keywords": [],
                         "max_load": 6})
    lists = {c: pl.List(pl.String) for c in ("fields", "keywords")}
    return (pl.DataFrame(props, schema_overrides=lists),
            pl.DataFrame(exps, schema_overrides={**lists, "languages": pl.List(pl.String)}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", choices=("tfidf", "embeddings", "hybrid"), default=None)
    args = ap.parse_args(argv)
    from evalpanel.planning import default_text_model

    method = args.method or default_text_model()
    for cross in (False, True):
        print(f"text model {method}, profiles "
              + ("all in English (cross-lingual)" if cross else "in the experts' languages"))
        measure(method, *generate(cross=cross))
    return 0


def measure(method: str, proposals: pl.DataFrame, experts: pl.DataFrame) -> None:
    from evalpanel import embeddings

    partners = pl.DataFrame(schema={"proposal_id": pl.String, "org_id": pl.String,
                                    "org_name": pl.String, "country": pl.String,
                                    "role": pl.String})
    conflicts = assignment.find_conflicts(proposals, partners, experts, today=date(2026, 1, 1))
    lexical = tfidf_similarity(proposals, experts)
    text = lexical
    if method != "tfidf":
        dense = embeddings.expert_similarity(proposals, experts)
        text = dense if method == "embeddings" else hybrid_similarity(lexical, dense)
    eligible = np.ones(text.shape, dtype=bool)
    p_index = {p: i for i, p in enumerate(proposals["proposal_id"])}
    e_index = {e: j for j, e in enumerate(experts["expert_id"])}
    for p, e in conflicts.select("proposal_id", "expert_id").iter_rows():
        eligible[p_index[p], e_index[e]] = False
    p_field = np.array([f[0] for f in proposals["fields"]])
    e_field = np.array([f[0] for f in experts["fields"]])
    foreign = proposals["language"].to_numpy() != "en"
    best = np.where(eligible, text, -1.0).argmax(axis=1)
    text_hit = e_field[best] == p_field
    affinity = assignment.compute_affinity(proposals, experts, text_similarity=text)
    inst = assignment.build_instance(proposals, experts, affinity, conflicts, k=2)
    pairs = assignment.assign(inst, "max-total").pairs
    langs = dict(zip(experts["expert_id"], experts["languages"], strict=True))
    plang = dict(zip(proposals["proposal_id"], proposals["language"], strict=True))
    pf = dict(zip(proposals["proposal_id"], p_field, strict=True))
    ef = dict(zip(experts["expert_id"], e_field, strict=True))
    panels = pairs.group_by("proposal_id").agg("expert_id")
    reads = in_field = total = 0
    for pid, panel in panels.iter_rows():
        if plang[pid] == "en":
            continue
        total += 1
        reads += all(plang[pid] in langs[e] for e in panel)
        in_field += any(ef[e] == pf[pid] for e in panel)
    print(f"  text alone, most similar eligible expert in the field: "
          f"{text_hit[foreign].mean():.0%}  (English proposals: {text_hit[~foreign].mean():.0%})")
    print(f"  assignment: panels reading the language {reads / total:.0%}, "
          f"with an expert in the field {in_field / total:.0%} ({total} French and German "
          "proposals)")


if __name__ == "__main__":
    sys.exit(main())
