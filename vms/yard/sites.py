"""Sites and their bays, and which cameras cover each bay."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from vms.db.models import Bay, Camera, InspectionBatch, Site
from vms.yard.changes import diff
from vms.yard.errors import Conflict, Invalid, NotFound
from vms.yard.fields import Code, Name
from vms.yard.service import YardService


class SiteFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Name = ""


class SitePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code | None = None
    name: Name | None = None


class BayFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Name = ""
    cameras: list[Code] = Field(default_factory=list, description="codes of the cameras covering the bay")


class BayPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Code | None = None
    name: Name | None = None


class BayCoverage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cameras: list[Code] = Field(description="codes of the cameras covering the bay; replaces the list")


class CameraRef(BaseModel):
    id: int
    code: str
    name: str


class BayView(BaseModel):
    id: int
    code: str
    name: str
    cameras: list[str]


class SiteView(BaseModel):
    id: int
    code: str
    name: str
    bays: list[BayView]


def bay_view(bay: Bay) -> BayView:
    return BayView(id=bay.id, code=bay.code, name=bay.name, cameras=[c.code for c in bay.cameras])


def site_view(site: Site) -> SiteView:
    return SiteView(id=site.id, code=site.code, name=site.name, bays=[bay_view(b) for b in site.bays])


def _site_query() -> Select[Site]:
    return select(Site).options(selectinload(Site.bays).selectinload(Bay.cameras))


def cameras_by_code(s: Session, codes: list[str], field: str = "cameras") -> list[Camera]:
    """The cameras with these codes, in the given order; Invalid names the unknown ones."""
    wanted = list(dict.fromkeys(codes))
    found = {c.code: c for c in s.execute(select(Camera).where(Camera.code.in_(wanted))).scalars()}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise Invalid(field, f"unknown camera code(s): {', '.join(unknown)} (add the cameras first)")
    return [found[c] for c in wanted]


def _in_use(what: str, batches: int) -> str:
    return f"{what} is used by {batches} inspection batch(es) and cannot be deleted"


class SiteService(YardService):
    def tree(self) -> list[SiteView]:
        """Every site with its bays and their camera codes."""
        with self.core.db.sessions() as s:
            sites = s.execute(_site_query().order_by(Site.code)).scalars().all()
            return [site_view(x) for x in sites]

    def get(self, site_id: int) -> SiteView:
        with self.core.db.sessions() as s:
            return site_view(self._site(s, site_id))

    def create(self, fields: SiteFields) -> SiteView:
        with self.core.db.session() as s:
            self._code_free(s, fields.code)
            site = Site(code=fields.code, name=fields.name)
            s.add(site)
            s.flush()
            view = SiteView(id=site.id, code=site.code, name=site.name, bays=[])
        self.audit("site.create", "site", view.code, {"fields": fields.model_dump()})
        return view

    def update(self, site_id: int, patch: SitePatch) -> SiteView:
        with self.core.db.session() as s:
            site = self._site(s, site_id)
            before = {"code": site.code, "name": site.name}
            values = patch.model_dump(exclude_unset=True, exclude_none=True)
            if "code" in values and values["code"] != site.code:
                self._code_free(s, values["code"])
            for key, value in values.items():
                setattr(site, key, value)
            changes = diff(before, {"code": site.code, "name": site.name})
            s.flush()
            view = site_view(site)
        if changes:
            self.audit("site.update", "site", view.code, {"changes": changes})
        return view

    def delete(self, site_id: int) -> None:
        with self.core.db.session() as s:
            site = self._site(s, site_id)
            batches = s.scalar(select(func.count()).where(InspectionBatch.site_id == site.id)) or 0
            if batches:
                raise Conflict(_in_use(f"site {site.code}", batches))
            cameras = s.scalar(select(func.count()).where(Camera.site_id == site.id)) or 0
            if cameras:
                raise Conflict(
                    f"site {site.code} has {cameras} camera(s); move or remove them before deleting the site"
                )
            code = site.code
            s.delete(site)
        self.audit("site.delete", "site", code, {})

    def create_bay(self, site_id: int, fields: BayFields) -> BayView:
        with self.core.db.session() as s:
            site = self._site(s, site_id)
            self._bay_code_free(s, site, fields.code)
            bay = Bay(site_id=site.id, code=fields.code, name=fields.name)
            bay.cameras = cameras_by_code(s, fields.cameras)
            s.add(bay)
            s.flush()
            view = bay_view(bay)
            object_id = f"{site.code}/{bay.code}"
        self.audit("bay.create", "bay", object_id, {"fields": fields.model_dump()})
        return view

    def update_bay(self, site_id: int, bay_id: int, patch: BayPatch) -> BayView:
        with self.core.db.session() as s:
            site, bay = self._bay(s, site_id, bay_id)
            before = {"code": bay.code, "name": bay.name}
            values = patch.model_dump(exclude_unset=True, exclude_none=True)
            if "code" in values and values["code"] != bay.code:
                self._bay_code_free(s, site, values["code"])
            for key, value in values.items():
                setattr(bay, key, value)
            changes = diff(before, {"code": bay.code, "name": bay.name})
            s.flush()
            view = bay_view(bay)
            object_id = f"{site.code}/{bay.code}"
        if changes:
            self.audit("bay.update", "bay", object_id, {"changes": changes})
        return view

    def delete_bay(self, site_id: int, bay_id: int) -> None:
        with self.core.db.session() as s:
            site, bay = self._bay(s, site_id, bay_id)
            batches = s.scalar(select(func.count()).where(InspectionBatch.bay_id == bay.id)) or 0
            if batches:
                raise Conflict(_in_use(f"bay {site.code}/{bay.code}", batches))
            object_id = f"{site.code}/{bay.code}"
            s.delete(bay)
        self.audit("bay.delete", "bay", object_id, {})

    def bay_cameras(self, site_id: int, bay_id: int) -> list[CameraRef]:
        with self.core.db.sessions() as s:
            _, bay = self._bay(s, site_id, bay_id)
            return [CameraRef(id=c.id, code=c.code, name=c.name) for c in bay.cameras]

    def set_bay_cameras(self, site_id: int, bay_id: int, codes: list[str]) -> list[CameraRef]:
        with self.core.db.session() as s:
            site, bay = self._bay(s, site_id, bay_id)
            before = [c.code for c in bay.cameras]
            bay.cameras = cameras_by_code(s, codes)
            after = [c.code for c in bay.cameras]
            refs = [CameraRef(id=c.id, code=c.code, name=c.name) for c in bay.cameras]
            object_id = f"{site.code}/{bay.code}"
        if sorted(before) != sorted(after):
            self.audit("bay.cameras", "bay", object_id, {"changes": {"cameras": [before, after]}})
        return refs

    # -- lookups -----------------------------------------------------------------------------------

    @staticmethod
    def _site(s: Session, site_id: int) -> Site:
        site = s.execute(_site_query().where(Site.id == site_id)).scalar_one_or_none()
        if site is None:
            raise NotFound(f"site {site_id}")
        return site

    @classmethod
    def _bay(cls, s: Session, site_id: int, bay_id: int) -> tuple[Site, Bay]:
        site = cls._site(s, site_id)
        for bay in site.bays:
            if bay.id == bay_id:
                return site, bay
        raise NotFound(f"bay {bay_id} of site {site.code}")

    @staticmethod
    def _code_free(s: Session, code: str) -> None:
        if s.execute(select(Site.id).where(Site.code == code)).first() is not None:
            raise Conflict(f"a site with code {code} already exists")

    @staticmethod
    def _bay_code_free(s: Session, site: Site, code: str) -> None:
        if any(b.code == code for b in site.bays):
            raise Conflict(f"site {site.code} already has a bay with code {code}")


__all__ = [
    "BayCoverage",
    "BayFields",
    "BayPatch",
    "BayView",
    "CameraRef",
    "SiteFields",
    "SitePatch",
    "SiteService",
    "SiteView",
]
