"""Combine what NVD, the CVE list, KEV and EPSS say about one CVE into one record."""

from __future__ import annotations

import dataclasses

from rampart_threat.knowledge.model import Cve5Record, CveRecord, EpssScore, KevEntry, SourceRef


def merge(
    nvd: CveRecord | None,
    cve5: Cve5Record | None = None,
    kev: KevEntry | None = None,
    epss: EpssScore | None = None,
    provenance: tuple[SourceRef, ...] = (),
) -> CveRecord:
    """One record: NVD's fields, plus the CVE 5 affected data, CNA/ADP scores, CWE and SSVC, KEV, EPSS.

    NVD's own metrics and weaknesses stay first; CVE 5 metrics/CWE are added only when NVD does not
    already carry the same (version, vector) or CWE from the same kind of source. Without an NVD record
    (the CVE list publishes before NVD) the record is built from the CVE 5 data alone.
    """
    if nvd is None and cve5 is None:
        raise ValueError("merge needs an NVD or a CVE 5 record")
    if nvd is not None:
        cve_id = nvd.id
    else:
        assert cve5 is not None
        cve_id = cve5.cve_id
    for other in (cve5.cve_id if cve5 else None, kev.cve_id if kev else None, epss.cve_id if epss else None):
        if other is not None and other != cve_id:
            raise ValueError(f"merge of {cve_id} with data for {other}")
    base = nvd if nvd is not None else CveRecord(id=cve_id)
    if cve5 is None:
        return dataclasses.replace(base, kev=kev, epss=epss, provenance=base.provenance + provenance)
    seen_metrics = {(m.version, m.vector) for m in base.metrics}
    metrics = base.metrics + tuple(m for m in cve5.metrics if (m.version, m.vector) not in seen_metrics)
    seen_cwes = {w.cwe_id for w in base.weaknesses}
    weaknesses = base.weaknesses + tuple(w for w in cve5.weaknesses if w.cwe_id not in seen_cwes)
    seen_urls = {r.url for r in base.references}
    references = base.references + tuple(r for r in cve5.references if r.url not in seen_urls)
    return dataclasses.replace(
        base,
        published=base.published,
        descriptions=base.descriptions or cve5.descriptions,
        metrics=metrics,
        weaknesses=weaknesses,
        references=references,
        affected=cve5.affected,
        ssvc=cve5.ssvc,
        kev=kev,
        epss=epss,
        cve5_assigner=cve5.assigner,
        cve5_updated=cve5.date_updated,
        provenance=base.provenance + provenance,
    )
