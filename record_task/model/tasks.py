"""One `CreateRecordTask` call, as the plan makes it, the ledger keeps it and the API adapter sends it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordTaskRequest:
    """One `CreateRecordTask` call: its parameters by API name, plus the region it is sent to."""

    stream_name: str
    domain_name: str
    app_name: str
    start_time: int
    end_time: int
    stream_type: int = 0
    template_id: int | None = None
    extension: str = ""
    region: str = "ap-singapore"

    def to_params(self) -> dict[str, Any]:
        """The request body; `Region` travels in the signed header, not here."""
        params: dict[str, Any] = {
            "StreamName": self.stream_name,
            "DomainName": self.domain_name,
            "AppName": self.app_name,
            "StartTime": self.start_time,
            "EndTime": self.end_time,
            "StreamType": self.stream_type,
        }
        if self.template_id is not None:
            params["TemplateId"] = self.template_id
        if self.extension:
            params["Extension"] = self.extension
        return params

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, **self.to_params()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordTaskRequest:
        template = data.get("TemplateId")
        return cls(
            stream_name=str(data["StreamName"]),
            domain_name=str(data["DomainName"]),
            app_name=str(data["AppName"]),
            start_time=int(data["StartTime"]),
            end_time=int(data["EndTime"]),
            stream_type=int(data.get("StreamType", 0)),
            template_id=None if template is None else int(template),
            extension=str(data.get("Extension", "")),
            region=str(data["region"]),
        )
