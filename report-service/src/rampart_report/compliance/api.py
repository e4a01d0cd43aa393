"""The compliance RPCs of ReportService: decode, call the compliance service, encode."""

from __future__ import annotations

from rampart.common.v1 import common_pb2
from rampart.lib.grpcserver import Context
from rampart.report.v1 import report_pb2, report_pb2_grpc
from rampart_report.compliance import mappers
from rampart_report.compliance.service import ComplianceService, ControlFilter

DEFAULT_PER_PAGE = 50


class ComplianceRpcs(report_pb2_grpc.ReportServiceServicer):
    """Mixed into ReportServicer; answers UNIMPLEMENTED when report-service was assembled without it."""

    _compliance: ComplianceService | None = None

    async def GetCompliance(
        self, request: report_pb2.GetComplianceRequest, context: Context
    ) -> report_pb2.CompliancePosture:
        service = self._service(context)
        posture = await service.posture(mappers.tenant(request.owner), tuple(request.frameworks))
        return mappers.posture_message(service.catalogue, posture)

    async def ListControls(
        self, request: report_pb2.ListControlsRequest, context: Context
    ) -> report_pb2.ListControlsResponse:
        service = self._service(context)
        status = mappers.STATUS_FROM_PROTO.get(request.status, "")
        per_page = request.page.per_page or DEFAULT_PER_PAGE
        page = request.page.page or 1
        controls, total = await service.controls(
            mappers.tenant(request.owner),
            ControlFilter(request.framework, status, request.search),
            page,
            per_page,
        )
        per_page = min(per_page, 100)
        return report_pb2.ListControlsResponse(
            controls=[mappers.control_message(service.catalogue, c) for c in controls],
            page=common_pb2.PageInfo(total=total, page=page, per_page=per_page, pages=-(-total // per_page)),
        )

    async def GetControl(
        self, request: report_pb2.GetControlRequest, context: Context
    ) -> report_pb2.ControlDetail:
        service = self._service(context)
        detail = await service.control(mappers.tenant(request.owner), request.control_id)
        return mappers.detail_message(service.catalogue, detail)

    async def UpdateControl(
        self, request: report_pb2.UpdateControlRequest, context: Context
    ) -> report_pb2.ControlDetail:
        service = self._service(context)
        status = mappers.STATUS_FROM_PROTO.get(request.status) if request.status else None
        owner = request.owner_user_id if request.HasField("owner_user_id") else None
        detail = await service.update_control(
            mappers.tenant(request.owner), request.control_id, status, request.note, owner
        )
        return mappers.detail_message(service.catalogue, detail)

    async def AddControlEvidence(
        self, request: report_pb2.AddControlEvidenceRequest, context: Context
    ) -> report_pb2.ControlEvidence:
        service = self._service(context)
        evidence = await service.add_evidence(
            mappers.tenant(request.owner), request.control_id, request.filename, request.content
        )
        return mappers.evidence_message(evidence)

    async def GetComplianceHistory(
        self, request: report_pb2.GetComplianceHistoryRequest, context: Context
    ) -> report_pb2.ComplianceHistory:
        service = self._service(context)
        return mappers.history_message(
            await service.history(mappers.tenant(request.owner), request.days or 30)
        )

    def _service(self, context: Context) -> ComplianceService:
        if self._compliance is None:
            raise NotConfigured("compliance is not assembled in this report-service")
        return self._compliance


class NotConfigured(Exception):
    """report-service was assembled without its compliance part (only in narrow unit tests)."""
