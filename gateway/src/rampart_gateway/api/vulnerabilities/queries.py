"""Query parameters of the catalog operations."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from rampart_gateway.inputs import Params


class CatalogQuery(Params):
    """A CPE 2.3 name, or a product and a version (the banner refines distribution builds)."""

    cpe: str | None = Field(
        default=None,
        min_length=8,
        max_length=512,
        pattern=r"^cpe:2\.3:",
        description="CPE 2.3 formatted string",
        examples=["cpe:2.3:a:openbsd:openssh:9.2:p1:*:*:*:*:*:*"],
    )
    product: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description='"vendor:product" or a product name',
        examples=["OpenSSH"],
    )
    version: str | None = Field(default=None, min_length=1, max_length=64, examples=["9.2p1"])
    banner: str = Field(
        default="",
        max_length=512,
        description="the service banner, e.g. SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
    )

    @model_validator(mode="after")
    def _cpe_or_product_and_version(self) -> Self:
        if self.cpe is None and (self.product is None or self.version is None):
            raise ValueError("give cpe, or product and version")
        return self
